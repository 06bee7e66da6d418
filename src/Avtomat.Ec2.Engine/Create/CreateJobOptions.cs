using System;

namespace Avtomat.Ec2.Engine.Create;

/// <summary>Settings of one New-AvSnapshot invocation.</summary>
public sealed class CreateJobOptions
{
    /// <summary>How long to wait for the job overall; null waits as long as it takes.</summary>
    public TimeSpan? Timeout { get; set; }
    /// <summary>Ask EC2 to check each snapshot (DryRun=true) and create nothing.</summary>
    public bool DryRun { get; set; }
    /// <summary>Finish each snapshot as soon as EC2 accepted it (State Pending) instead of waiting for completion.</summary>
    public bool NoWait { get; set; }
    /// <summary>Interval between batched DescribeSnapshots calls per region (the shared poller ticks at the smallest
    /// interval of the jobs it serves).</summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(2);
    /// <summary>How long a new snapshot (or one after a lost response) may stay invisible to DescribeSnapshots.</summary>
    public TimeSpan VisibilityGrace { get; set; } = TimeSpan.FromSeconds(30);
    /// <summary>Engine retries per call after throttling, 5xx or I/O errors (on top of the SDK's own).</summary>
    public int MaxRetries { get; set; } = 8;
}
