using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using Avtomat.Ec2.Engine;

namespace Avtomat.Ec2.Progress;

/// <summary>A create or wait job's progress as <see cref="ProgressNode"/>s: one parent per region ("Creating 120
/// snapshots in us-east-1", "Waiting for 3 snapshots in us-west-2") with counts, and one child per snapshot in flight.</summary>
internal static class SnapshotProgressView
{
    /// <summary>New-AvSnapshot: children "vol-… → snap-…" (the volume alone until EC2 accepted the snapshot).</summary>
    public static IReadOnlyList<ProgressNode> ForCreate(IReadOnlyList<RegionProgress> progress) =>
        progress.Select(region => Node(region, "Creating {0} {1} in {2}", "{0} completed, {1} in progress, {2} queued, {3} failed",
            leaf => string.IsNullOrEmpty(leaf.SnapshotId) ? leaf.SourceId : $"{leaf.SourceId} → {leaf.SnapshotId}")).ToList();

    /// <summary>Wait-AvSnapshot: children are the snapshots.</summary>
    public static IReadOnlyList<ProgressNode> ForWait(IReadOnlyList<RegionProgress> progress) =>
        progress.Select(region => Node(region, "Waiting for {0} {1} in {2}", "{0} completed, {1} pending, {2} not seen yet, {3} failed",
            leaf => string.IsNullOrEmpty(leaf.SnapshotId) ? leaf.SourceId : leaf.SnapshotId)).ToList();

    private static ProgressNode Node(RegionProgress region, string activity, string status, System.Func<InFlightItem, string> label) => new()
    {
        Key = region.Region,
        Activity = string.Format(CultureInfo.InvariantCulture, activity, region.Total, region.Total == 1 ? "snapshot" : "snapshots", region.Region),
        Status = string.Format(CultureInfo.InvariantCulture, status, region.Completed, region.InProgress, region.Queued, region.Failed),
        PercentComplete = region.PercentComplete,
        EstimatedRemaining = region.EstimatedRemaining,
        Children = region.InFlight.Select(item => new ProgressLeaf
        {
            Key = string.IsNullOrEmpty(item.SnapshotId) ? "source:" + item.SourceId : item.SnapshotId,
            Activity = label(item),
            Percent = item.Progress,
        }).ToList(),
    };
}
