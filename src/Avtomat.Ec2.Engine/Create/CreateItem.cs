using Amazon.EC2.Model;
using Avtomat.Ec2.Engine.Internal;

namespace Avtomat.Ec2.Engine.Create;

/// <summary>One snapshot in a create job (one per volume; an instance set has one per volume of the set).</summary>
internal sealed class CreateItem : JobItem
{
    public CreateItem(CreateJob job, object request, string region, string? volumeId, string? instanceId, int sequence)
        : base(job, request, region, sequence)
    {
        Result = new SnapshotResult { Region = region, VolumeId = volumeId, InstanceId = instanceId, State = SnapshotState.Queued };
    }

    public CreateJob CreateJob => (CreateJob)Job;
    public SnapshotResult Result { get; }
    public override ISnapshotOutcome Outcome => Result;
    public string? VolumeId { get { lock (Gate) return Result.VolumeId; } }
    public override string SourceId { get { lock (Gate) return Result.VolumeId ?? Result.InstanceId ?? ""; } }

    public override object CloneResult()
    {
        lock (Gate) return Result.Clone();
    }

    public override void Apply(Snapshot snapshot) => SnapshotResults.Apply(Result, snapshot);
}
