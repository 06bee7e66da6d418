using System;

namespace Avtomat.Ec2.Engine.Waiting;

/// <summary>Settings of one Wait-AvSnapshot invocation (MaxRetries: retries of each poll's DescribeSnapshots).</summary>
public sealed class WaitJobOptions : JobOptions
{
    /// <summary>Finish the job when the first snapshot finishes (completed or error); the others are not reported.</summary>
    public bool Any { get; set; }
}

/// <summary>One snapshot to wait for.</summary>
public sealed class SnapshotWaitRequest
{
    public string SnapshotId { get; set; } = "";
    public string Region { get; set; } = "";

    public override string ToString() => $"{SnapshotId} ({Region})";
}
