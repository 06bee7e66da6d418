using System.Text;

namespace Avtomat.Ec2.Engine.Copy;

/// <summary>Expands description templates: a copy's {SourceSnapshotId}, {SourceRegion}, {SourceDescription}; a new
/// snapshot's {VolumeId}, {VolumeName}, {InstanceId}.</summary>
public static class DescriptionTemplate
{
    /// <summary>EC2 rejects descriptions longer than 255 characters (CreateSnapshot answers InvalidParameterValue "…for
    /// parameter description is invalid. It exceeds 255 characters", as reported in
    /// https://github.com/aws-samples/bottlerocket-images-cache/issues/8; the EC2 API reference for CreateSnapshot and
    /// CopySnapshot states no length, the EBS direct API's StartSnapshot states "Maximum length of 255" for the same
    /// snapshot description: https://docs.aws.amazon.com/ebs/latest/APIReference/API_StartSnapshot.html).</summary>
    public const int MaxLength = 255;

    public static string Expand(string? template, string sourceSnapshotId, string sourceRegion, string? sourceDescription) =>
        Truncate(Fill(template, sourceSnapshotId, sourceRegion, sourceDescription));

    /// <summary>A copy's description before it is cut to <see cref="MaxLength"/> (the cmdlets check its length up front).</summary>
    public static string Fill(string? template, string sourceSnapshotId, string sourceRegion, string? sourceDescription) =>
        new StringBuilder(template ?? SnapshotCopyRequest.DefaultDescriptionTemplate)
            .Replace("{SourceSnapshotId}", sourceSnapshotId)
            .Replace("{SourceRegion}", sourceRegion)
            .Replace("{SourceDescription}", sourceDescription ?? "")
            .ToString();

    /// <summary>A new snapshot's description before it is cut to <see cref="MaxLength"/>: {VolumeId}, {VolumeName} (Name
    /// tag), {InstanceId}; an empty "()" left by a missing value is removed.</summary>
    public static string FillForSnapshot(string template, string volumeId, string? volumeName, string? instanceId) =>
        new StringBuilder(template)
            .Replace("{VolumeId}", volumeId)
            .Replace("{VolumeName}", volumeName ?? "")
            .Replace("{InstanceId}", instanceId ?? "")
            .ToString()
            .Replace(" ()", "").Replace("()", "").Trim();

    public static string Truncate(string text) => text.Length <= MaxLength ? text : text.Substring(0, MaxLength);
}
