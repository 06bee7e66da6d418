using System;

namespace Avtomat.Ec2;

/// <summary>Where one snapshot stands, for copies, creations and waits alike. Completed, Failed, TimedOut and DryRun
/// are final; Pending is final too for -NoWait results and for work stopped after EC2 accepted it.</summary>
public enum SnapshotState
{
    /// <summary>Waiting for its source or volume to be checked, or for a free slot (copy window, volume rules).</summary>
    Queued,
    /// <summary>EC2 accepted it (the new snapshot id is known) and it is in progress.</summary>
    Pending,
    Completed,
    /// <summary>It (or its source) ended in error, or EC2 refused it; see StatusMessage.</summary>
    Failed,
    /// <summary>The wait ran out; the snapshot (if it started) keeps running in EC2.</summary>
    TimedOut,
    /// <summary>-DryRun: EC2 said the call would have succeeded. Nothing was created.</summary>
    DryRun,
}

/// <summary>What every result type has, so one job base can keep any of them (copies, creations, waits).</summary>
internal interface ISnapshotOutcome
{
    string? SnapshotId { get; set; }
    SnapshotState State { get; set; }
    int Progress { get; set; }
    DateTime? StartTime { get; set; }
    DateTime? CompletionTime { get; set; }
    System.TimeSpan? Duration { get; }
    /// <summary>Null until known: only what EC2 said, or what its rules make certain.</summary>
    bool? Encrypted { get; set; }
    string? KmsKeyId { get; set; }
    string? StatusMessage { get; set; }
}
