using System;

namespace Avtomat.Ec2;

/// <summary>Where one snapshot stands, for copies, creations and waits alike. Completed, Failed, TimedOut and DryRun
/// are final; Pending is final too for -NoWait results, for work stopped after EC2 accepted it, and for work EC2 accepted
/// whose outcome could not be known (the credentials or the endpoint failed, or it never became visible): it may still
/// complete, so it is never called Failed (the error says why it is not known).</summary>
public enum SnapshotState
{
    /// <summary>Waiting for its source or volume to be checked, or for a free slot (copy window, volume rules).</summary>
    Queued,
    /// <summary>EC2 accepted it (the new snapshot id is known) and it is in progress, or was when last seen.</summary>
    Pending,
    Completed,
    /// <summary>It (or its source) ended in error, or EC2 refused it (or it could not be started); see StatusMessage.
    /// Not said of a snapshot EC2 accepted unless EC2 reports it in the error state (or the engine itself failed:
    /// UnexpectedEngineError).</summary>
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
