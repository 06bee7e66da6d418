namespace Avtomat.Ec2.Engine.Copy;

/// <summary>Settings of one invocation (one Copy-AvSnapshot call).</summary>
public sealed class CopyJobOptions : StartJobOptions
{
    /// <summary>Concurrent copies per destination region for this job (1..100). The process-wide window per account and
    /// destination (EC2 allows 20) applies on top.</summary>
    public int ThrottleLimit { get; set; } = 20;
    /// <summary>Copy even when this module already copied the source to the destination (no resume): Copy-AvSnapshot's
    /// -CopyAgain. (Its -Force only skips the confirmation prompt, as in AWS.Tools, and never reaches the engine.)</summary>
    public bool CopyAgain { get; set; }
    /// <summary>A vault copy: the sources belong to the account of these credentials (read, and shared with the
    /// destination account for the copy, with them); the copies are made with the job's own clients, in their account.
    /// Null: the sources are read with the job's clients.</summary>
    public IEc2ClientSource? SourceClients { get; set; }
    /// <summary>Time-based copies: the account's cumulative snapshot copy throughput quota per source and destination
    /// region, MiB/s (EC2's default 2,000; adjustable with Service Quotas, code L-E137849C).</summary>
    public double TimeBasedThroughputQuota { get; set; } = DefaultTimeBasedThroughputQuota;

    /// <summary>EC2's default cumulative snapshot copy throughput quota per source and destination region, MiB/s.</summary>
    public const double DefaultTimeBasedThroughputQuota = 2000;

    /// <summary>Plan only (Measure-AvSnapshotCopy): read-only calls (DescribeSnapshots), no CopySnapshot at all. Each copy
    /// finishes in state DryRun with its <see cref="SnapshotCopyResult.Kind"/>, reason, size and expected duration, as the
    /// scheduler of its destination determines them through its lookups. Implies <see cref="StartJobOptions.DryRun"/>.</summary>
    public bool Plan { get; set; }
}
