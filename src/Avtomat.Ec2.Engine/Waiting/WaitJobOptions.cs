using System;

namespace Avtomat.Ec2.Engine.Waiting;

/// <summary>Settings of one Wait-AvSnapshot invocation.</summary>
public sealed class WaitJobOptions
{
    /// <summary>How long to wait overall; null (or ≤ 0) waits as long as it takes. Each snapshot still unfinished then
    /// finishes TimedOut with an OperationTimeout error.</summary>
    public TimeSpan? Timeout { get; set; }
    /// <summary>Finish the job when the first snapshot finishes (completed or error); the others are not reported.</summary>
    public bool Any { get; set; }
    /// <summary>Interval between batched DescribeSnapshots calls per region.</summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(2);
    /// <summary>How long a snapshot may stay invisible to DescribeSnapshots before it is reported as not found.</summary>
    public TimeSpan VisibilityGrace { get; set; } = TimeSpan.FromSeconds(30);
}

/// <summary>One snapshot to wait for.</summary>
public sealed class SnapshotWaitRequest
{
    public string SnapshotId { get; set; } = "";
    public string Region { get; set; } = "";

    public override string ToString() => $"{SnapshotId} ({Region})";
}
