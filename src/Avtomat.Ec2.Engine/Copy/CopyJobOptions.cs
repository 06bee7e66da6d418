using System;

namespace Avtomat.Ec2.Engine.Copy;

/// <summary>Settings of one invocation (one Copy-AvSnapshot call).</summary>
public sealed class CopyJobOptions
{
    /// <summary>Concurrent copies per destination region for this job (1..100). The process-wide window per
    /// destination (EC2 allows 20) applies on top.</summary>
    public int ThrottleLimit { get; set; } = 20;
    /// <summary>How long to wait for the job overall; null waits as long as it takes.</summary>
    public TimeSpan? Timeout { get; set; }
    /// <summary>Ask EC2 to check each copy (DryRun=true) and copy nothing.</summary>
    public bool DryRun { get; set; }
    /// <summary>Finish each copy (CopyFinishedEvent, State Pending) as soon as EC2 accepted it. The windows still apply,
    /// so the job runs until the last copy is started; its slots are released when the job ends (copies still pending
    /// in EC2 are then covered by the window's shrink on ResourceLimitExceeded).</summary>
    public bool NoWait { get; set; }
    /// <summary>Interval between batched DescribeSnapshots calls per destination region.</summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(2);
    /// <summary>How long a new copy (or a copy after a lost response) may stay invisible to DescribeSnapshots.</summary>
    public TimeSpan VisibilityGrace { get; set; } = TimeSpan.FromSeconds(30);
    /// <summary>Engine retries per call after throttling, 5xx or I/O errors (on top of the SDK's own).</summary>
    public int MaxRetries { get; set; } = 8;
}
