using System;
using System.Collections.Generic;
using Avtomat.Ec2.Engine.Copy;

namespace Avtomat.Ec2.Engine.Create;

/// <summary>One volume to snapshot (CreateSnapshot). Validated by the caller (ids, region).</summary>
public sealed class SnapshotCreateRequest
{
    public const string DefaultDescriptionTemplate = "Snapshot of {VolumeId} ({VolumeName})";

    public string VolumeId { get; set; } = "";
    public string Region { get; set; } = "";
    /// <summary>Placeholders: {VolumeId}, {VolumeName} (the volume's Name tag, empty when none), {InstanceId} (the
    /// instance it is attached to, empty when none). "()" left empty by a missing name is removed.</summary>
    public string? DescriptionTemplate { get; set; }
    public IDictionary<string, string> Tags { get; set; } = new Dictionary<string, string>(StringComparer.Ordinal);
    /// <summary>Copy the volume's tags onto the snapshot (reserved aws: keys skipped; explicit Tags win).</summary>
    public bool CopyVolumeTags { get; set; }
    /// <summary>Create the snapshot on this Outpost (for a volume on an Outpost).</summary>
    public string? OutpostArn { get; set; }
    /// <summary>"regional" or "local" (Local Zones / Outposts); null leaves it to EC2.</summary>
    public string? Location { get; set; }

    public override string ToString() => $"{VolumeId} ({Region})";
}

/// <summary>All volumes of one instance, snapshotted together and crash-consistent (CreateSnapshots): one result per volume.</summary>
public sealed class InstanceSnapshotRequest
{
    public const string DefaultDescriptionTemplate = "Snapshot of {InstanceId}";

    public string InstanceId { get; set; } = "";
    public string Region { get; set; } = "";
    /// <summary>Leave the root (boot) volume out.</summary>
    public bool ExcludeBootVolume { get; set; }
    /// <summary>One description for the whole set: {InstanceId} is expanded; {VolumeId} and {VolumeName} become empty
    /// (EC2 takes one description for all snapshots of a CreateSnapshots call).</summary>
    public string? DescriptionTemplate { get; set; }
    public IDictionary<string, string> Tags { get; set; } = new Dictionary<string, string>(StringComparer.Ordinal);
    /// <summary>Copy each volume's tags onto its snapshot (CreateSnapshots CopyTagsFromSource=volume).</summary>
    public bool CopyVolumeTags { get; set; }
    public string? OutpostArn { get; set; }
    public string? Location { get; set; }

    public override string ToString() => $"{InstanceId} ({Region})";
}

/// <summary>Provenance tags every snapshot the module creates gets at creation.</summary>
public static class CreateTagNames
{
    public const string SourceVolumeId = "avtomat:source-volume-id";
    public const string SourceInstanceId = "avtomat:source-instance-id";
    /// <summary>The same tag key as copies use: finds a snapshot again after a lost response.</summary>
    public const string RequestToken = CopyTagNames.RequestToken;
}
