using System;
using System.Collections.Generic;

namespace Avtomat.Ec2.Engine.Copy;

/// <summary>One snapshot to copy to one destination. Validated by the caller (ids, regions, Outpost rules).</summary>
public sealed class SnapshotCopyRequest
{
    public const string DefaultDescriptionTemplate = "Copy of {SourceSnapshotId} from {SourceRegion}";

    public string SourceSnapshotId { get; set; } = "";
    public string SourceRegion { get; set; } = "";
    public string DestinationRegion { get; set; } = "";
    public string? DestinationOutpostArn { get; set; }
    public string? DestinationAvailabilityZone { get; set; }
    /// <summary>Encrypt the copy (with <see cref="KmsKeyId"/>, or the destination's default EBS key).</summary>
    public bool Encrypted { get; set; }
    public string? KmsKeyId { get; set; }
    /// <summary>Placeholders: {SourceSnapshotId}, {SourceRegion}, {SourceDescription}.</summary>
    public string DescriptionTemplate { get; set; } = DefaultDescriptionTemplate;
    public IDictionary<string, string> Tags { get; set; } = new Dictionary<string, string>(StringComparer.Ordinal);
    /// <summary>Copy the source's tags onto the copy (reserved aws: keys skipped; explicit Tags win).</summary>
    public bool CopyTags { get; set; }
    /// <summary>Time-based copy: 15..2880 in steps of 15.</summary>
    public int? CompletionDurationMinutes { get; set; }

    public override string ToString() => $"{SourceSnapshotId} ({SourceRegion} → {DestinationOutpostArn ?? DestinationRegion})";
}
