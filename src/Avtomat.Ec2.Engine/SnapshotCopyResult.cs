using System;
using System.Collections.Generic;

namespace Avtomat.Ec2;

/// <summary>One snapshot copy, as the module reports it. <c>SnapshotId</c> is the copy; <c>Region</c> is where it lives.</summary>
public sealed class SnapshotCopyResult : ISnapshotOutcome
{
    /// <summary>The new snapshot (the copy). Null when EC2 never accepted the copy.</summary>
    public string? SnapshotId { get; set; }
    /// <summary>The destination region: where the copy lives.</summary>
    public string Region { get; set; } = "";
    public string SourceSnapshotId { get; set; } = "";
    public string SourceRegion { get; set; } = "";
    public SnapshotState State { get; set; }
    /// <summary>0..100, as EC2 reports it (coarse).</summary>
    public int Progress { get; set; }
    /// <summary>True or False as EC2 reports it; null until known. A copy is certainly encrypted when encryption was asked
    /// for, its source is encrypted or it goes to an Outpost; otherwise only EC2 can say (encryption by default).</summary>
    public bool? Encrypted { get; set; }
    /// <summary>The key EC2 encrypted the copy with (an ARN), once it was seen.</summary>
    public string? KmsKeyId { get; set; }
    public string? Description { get; set; }
    public string? DestinationOutpostArn { get; set; }
    /// <summary>Tags given to the copy at creation (including the avtomat: provenance tags).</summary>
    public IDictionary<string, string> Tags { get; set; } = new Dictionary<string, string>(StringComparer.Ordinal);
    /// <summary>When EC2 accepted the copy (UTC).</summary>
    public DateTime? StartTime { get; set; }
    /// <summary>When the copy was seen completed or failed (UTC).</summary>
    public DateTime? CompletionTime { get; set; }
    public TimeSpan? Duration => StartTime is { } start && CompletionTime is { } end ? end - start : null;
    /// <summary>True when this run made no copy because this module had already copied the source to the destination
    /// with the same encryption (an earlier run, or another process): <see cref="SnapshotId"/> is that copy, completed
    /// or, when it was still pending, waited for.</summary>
    public bool Reused { get; set; }
    /// <summary>Full or Incremental, by EC2's rules applied to what the destination holds of the source volume's lineage
    /// (null when the copy was reused, or before the lineage was looked up).</summary>
    public Engine.Copy.CopyKind? Kind { get; set; }
    /// <summary>Why <see cref="Kind"/> (e.g. "first copy of vol-… to eu-west-1", "incremental against snap-…").</summary>
    public string? KindReason { get; set; }
    /// <summary>The source's size (GiB), once checked.</summary>
    public int? SourceSizeGiB { get; set; }
    /// <summary>The source's volume (the lineage).</summary>
    public string? SourceVolumeId { get; set; }
    /// <summary>A plan's expected duration of the copy (the destination's duration model, or the stated default).</summary>
    public TimeSpan? ExpectedDuration { get; set; }
    /// <summary>True when <see cref="ExpectedDuration"/> was learned from EC2's StartTime/CompletionTime in the destination.</summary>
    public bool ExpectedDurationLearned { get; set; }
    /// <summary>A plan's count of copies already pending in the destination (account-wide, made by anyone).</summary>
    public int? PendingInDestination { get; set; }
    /// <summary>EC2's statusMessage for a failed copy, or why the module gave up.</summary>
    public string? StatusMessage { get; set; }

    public SnapshotCopyResult Clone()
    {
        var clone = (SnapshotCopyResult)MemberwiseClone();
        clone.Tags = new Dictionary<string, string>(Tags, StringComparer.Ordinal);
        return clone;
    }

    public override string ToString() => SnapshotId ?? $"{SourceSnapshotId} ({State})";
}
