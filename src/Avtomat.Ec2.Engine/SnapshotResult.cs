using System;
using System.Collections.Generic;

namespace Avtomat.Ec2;

/// <summary>One snapshot as New-AvSnapshot and Wait-AvSnapshot report it. <c>State</c> uses the same values as copies
/// (<see cref="SnapshotState"/>): Queued, Pending, Completed, Failed, TimedOut, DryRun.</summary>
public sealed class SnapshotResult : ISnapshotOutcome
{
    /// <summary>The snapshot. Null when EC2 never created it (refused, dry run, stopped while queued).</summary>
    public string? SnapshotId { get; set; }
    /// <summary>Where the snapshot lives.</summary>
    public string Region { get; set; } = "";
    /// <summary>The volume it is a snapshot of (for copies EC2 reports the arbitrary vol-ffffffff).</summary>
    public string? VolumeId { get; set; }
    /// <summary>The instance the volume was attached to (or the instance of a CreateSnapshots set), if known.</summary>
    public string? InstanceId { get; set; }
    /// <summary>The device name of the volume on that instance (e.g. /dev/xvda), if known.</summary>
    public string? DeviceName { get; set; }
    public SnapshotState State { get; set; }
    /// <summary>0..100, as EC2 reports it (coarse).</summary>
    public int Progress { get; set; }
    /// <summary>When EC2 started the snapshot (UTC).</summary>
    public DateTime? StartTime { get; set; }
    /// <summary>When the snapshot was seen completed or failed (UTC).</summary>
    public DateTime? CompletionTime { get; set; }
    public TimeSpan? Duration => StartTime is { } start && CompletionTime is { } end ? end - start : null;
    public bool Encrypted { get; set; }
    bool? ISnapshotOutcome.Encrypted { get => Encrypted; set => Encrypted = value == true; }
    public string? KmsKeyId { get; set; }
    /// <summary>Size of the volume in GiB.</summary>
    public int? VolumeSize { get; set; }
    public string? Description { get; set; }
    public string? OutpostArn { get; set; }
    /// <summary>The snapshot's tags (including the avtomat: provenance tags for snapshots this module created).</summary>
    public IDictionary<string, string> Tags { get; set; } = new Dictionary<string, string>(StringComparer.Ordinal);
    /// <summary>EC2's statusMessage for a failed snapshot, or why the module gave up.</summary>
    public string? StatusMessage { get; set; }

    public SnapshotResult Clone()
    {
        var clone = (SnapshotResult)MemberwiseClone();
        clone.Tags = new Dictionary<string, string>(Tags, StringComparer.Ordinal);
        return clone;
    }

    public override string ToString() => SnapshotId ?? $"{VolumeId ?? InstanceId} ({State})";
}
