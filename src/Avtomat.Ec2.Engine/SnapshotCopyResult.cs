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
