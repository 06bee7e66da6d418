using System;

namespace Avtomat.Ec2.Engine;

/// <summary>Settings every job has (one cmdlet invocation).</summary>
public abstract class JobOptions
{
    /// <summary>How long to wait for the job overall; null (or ≤ 0) waits as long as it takes. What is still unfinished
    /// then finishes TimedOut with an OperationTimeout error (and keeps running in EC2 if it started).</summary>
    public TimeSpan? Timeout { get; set; }
    /// <summary>The ceiling's default: long copies are looked at at least this often (their progress keeps the estimates
    /// of their end current).</summary>
    public static readonly TimeSpan DefaultMaxPollInterval = TimeSpan.FromMinutes(5);

    /// <summary>The shortest interval between batched DescribeSnapshots calls per region (the floor). The shared poller
    /// looks when the earliest watched snapshot is expected to be finished, within the floor and the ceiling
    /// (<see cref="MaxPollInterval"/>) of the jobs it serves.</summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(1);
    /// <summary>The longest interval between batched DescribeSnapshots calls while something is watched (the ceiling).</summary>
    public TimeSpan MaxPollInterval { get; set; } = DefaultMaxPollInterval;
    /// <summary>How long a new snapshot (or one found after a lost response) may stay invisible to DescribeSnapshots.</summary>
    public TimeSpan VisibilityGrace { get; set; } = TimeSpan.FromSeconds(30);
    /// <summary>Engine retries per call after 5xx or I/O errors (on top of the SDK's own). Throttling is retried for as
    /// long as the job runs.</summary>
    public int MaxRetries { get; set; } = 8;
    /// <summary>How long calls to a region's endpoint may fail to connect (refused, TLS, unreachable) before its items end
    /// with EndpointUnreachable. A host name that does not resolve ends them at once.</summary>
    public TimeSpan UnreachableAfter { get; set; } = TimeSpan.FromMinutes(2);
}

/// <summary>Settings of jobs that make snapshots (copies, creations).</summary>
public abstract class StartJobOptions : JobOptions
{
    /// <summary>Ask EC2 to check each call (DryRun=true) and make nothing.</summary>
    public bool DryRun { get; set; }
    /// <summary>Finish each item (State Pending) as soon as EC2 accepted it instead of waiting for completion. The limits
    /// still apply, so the job runs until the last one is started.</summary>
    public bool NoWait { get; set; }
}
