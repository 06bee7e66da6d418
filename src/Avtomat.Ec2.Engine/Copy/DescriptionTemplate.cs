using System.Text;

namespace Avtomat.Ec2.Engine.Copy;

/// <summary>Expands the description template: {SourceSnapshotId}, {SourceRegion}, {SourceDescription}.</summary>
public static class DescriptionTemplate
{
    /// <summary>EC2 rejects descriptions longer than 255 characters.</summary>
    public const int MaxLength = 255;

    public static string Expand(string? template, string sourceSnapshotId, string sourceRegion, string? sourceDescription)
    {
        var text = new StringBuilder(template ?? SnapshotCopyRequest.DefaultDescriptionTemplate)
            .Replace("{SourceSnapshotId}", sourceSnapshotId)
            .Replace("{SourceRegion}", sourceRegion)
            .Replace("{SourceDescription}", sourceDescription ?? "")
            .ToString();
        return text.Length <= MaxLength ? text : text.Substring(0, MaxLength);
    }
}
