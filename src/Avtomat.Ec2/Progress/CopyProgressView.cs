using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using Avtomat.Ec2.Engine;

namespace Avtomat.Ec2.Progress;

/// <summary>A copy job's progress as <see cref="ProgressNode"/>s: one parent per destination region ("Copying 120
/// snapshots us-east-1 → us-west-2", with completed / copying / queued / failed counts) and one child per copy in flight.</summary>
internal static class CopyProgressView
{
    public static IReadOnlyList<ProgressNode> From(IReadOnlyList<RegionProgress> progress) =>
        progress.Select(ToNode).ToList();

    private static ProgressNode ToNode(RegionProgress region)
    {
        var sources = region.SourceRegions.Count == 0 ? "?" : string.Join(", ", region.SourceRegions);
        var noun = region.Total == 1 ? "snapshot" : "snapshots";
        return new ProgressNode
        {
            Key = region.Region,
            Activity = string.Format(CultureInfo.InvariantCulture, "Copying {0} {1} {2} → {3}", region.Total, noun, sources, region.Region),
            Status = string.Format(CultureInfo.InvariantCulture, "{0} completed, {1} copying, {2} queued, {3} failed",
                region.Completed, region.InProgress, region.Queued, region.Failed),
            PercentComplete = region.PercentComplete,
            EstimatedRemaining = region.EstimatedRemaining,
            Children = region.InFlight.Select(copy => new ProgressLeaf
            {
                Key = string.IsNullOrEmpty(copy.SnapshotId) ? "source:" + copy.SourceId : copy.SnapshotId,
                Activity = string.IsNullOrEmpty(copy.SnapshotId)
                    ? $"{copy.SourceId} → {region.Region}"
                    : $"{copy.SourceId} → {copy.SnapshotId}",
                Percent = copy.Progress,
            }).ToList(),
        };
    }
}
