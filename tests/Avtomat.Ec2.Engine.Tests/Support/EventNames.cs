// Short names for the engine's events as each kind of job reports them (copies: requests and results of their own;
// creations and waits: requests as objects, SnapshotResult).
global using CopyEvent = Avtomat.Ec2.Engine.JobEvent<Avtomat.Ec2.Engine.Copy.SnapshotCopyRequest>;
global using CopyAcceptedEvent = Avtomat.Ec2.Engine.ItemAcceptedEvent<Avtomat.Ec2.Engine.Copy.SnapshotCopyRequest, Avtomat.Ec2.SnapshotCopyResult>;
global using CopyFinishedEvent = Avtomat.Ec2.Engine.ItemFinishedEvent<Avtomat.Ec2.Engine.Copy.SnapshotCopyRequest, Avtomat.Ec2.SnapshotCopyResult>;
global using EngineMessageEvent = Avtomat.Ec2.Engine.JobMessageEvent<Avtomat.Ec2.Engine.Copy.SnapshotCopyRequest>;
global using SnapshotEvent = Avtomat.Ec2.Engine.JobEvent<object>;
global using SnapshotAcceptedEvent = Avtomat.Ec2.Engine.ItemAcceptedEvent<object, Avtomat.Ec2.SnapshotResult>;
global using SnapshotFinishedEvent = Avtomat.Ec2.Engine.ItemFinishedEvent<object, Avtomat.Ec2.SnapshotResult>;
global using SnapshotMessageEvent = Avtomat.Ec2.Engine.JobMessageEvent<object>;
