using System;
using System.Collections.Generic;
using System.Linq;
using Avtomat.Ec2.Engine.Copy;

namespace Avtomat.Ec2.Engine.Planning;

/// <summary>
/// The prices a plan uses, in one place: dated, with their source, overridable by the user. Defaults are us-east-1 list
/// prices as of <see cref="DefaultDate"/>: snapshot storage from the Amazon EBS pricing page
/// (https://aws.amazon.com/ebs/pricing/), the time-based copy surcharge tiers from the same page, and cross-region data
/// transfer from Amazon EC2 on-demand pricing, data transfer (https://aws.amazon.com/ec2/pricing/on-demand/; about
/// $0.02 per GB between most regions, billed in the source region — region pairs differ: override them).
/// Prices are applied per GiB of data (the emulator and the plan count bytes / 2^30).
/// </summary>
public sealed class PriceTable
{
    public const string DefaultDate = "2026-12-07";
    public const string DefaultSource = "https://aws.amazon.com/ebs/pricing/ and https://aws.amazon.com/ec2/pricing/on-demand/ (data transfer), us-east-1";

    public string Date { get; set; } = DefaultDate;
    public string Source { get; set; } = DefaultSource;
    /// <summary>Cross-region transfer per GiB where no pair is listed.</summary>
    public decimal CrossRegionTransferPerGiB { get; set; } = 0.02m;
    /// <summary>Per region pair ("us-east-1>eu-west-1").</summary>
    public Dictionary<string, decimal> TransferPerGiB { get; } = new(StringComparer.OrdinalIgnoreCase);
    /// <summary>Snapshot storage per GiB-month (standard tier).</summary>
    public decimal StoragePerGiBMonth { get; set; } = 0.05m;
    /// <summary>Time-based copy surcharge per GiB by the shortest completion duration (minutes) of its tier.</summary>
    public SortedDictionary<int, decimal> TimeBasedPerGiB { get; } = new()
    {
        [15] = 0.020m, [30] = 0.018m, [60] = 0.016m, [120] = 0.014m, [240] = 0.012m, [480] = 0.010m, [960] = 0.005m,
    };

    public decimal TransferPrice(string sourceRegion, string destinationRegion) =>
        sourceRegion == destinationRegion ? 0m
        : TransferPerGiB.TryGetValue(sourceRegion + ">" + destinationRegion, out var price) ? price
        : CrossRegionTransferPerGiB;

    public decimal TimeBasedPrice(int? minutes)
    {
        if (minutes is not { } m) return 0m;
        var price = 0m;
        foreach (var tier in TimeBasedPerGiB) if (m >= tier.Key) price = tier.Value;
        return price;
    }
}

/// <summary>One copy of a plan: a source and a destination.</summary>
public sealed class CopyPlanRow
{
    public string SourceSnapshotId { get; set; } = "";
    public string SourceRegion { get; set; } = "";
    public string Region { get; set; } = "";
    public string? SourceVolumeId { get; set; }
    /// <summary>Full or Incremental.</summary>
    public CopyKind Kind { get; set; }
    public string Reason { get; set; } = "";
    public int SizeGiB { get; set; }
    /// <summary>Expected GiB transferred: the size for a full copy (an upper bound: EC2 copies written blocks), the
    /// model's incremental share of it for an incremental one.</summary>
    public double TransferGiB { get; set; }
    /// <summary>The least and most that may be transferred.</summary>
    public double TransferGiBLow { get; set; }
    public double TransferGiBHigh { get; set; }
    public TimeSpan ExpectedDuration { get; set; }
    public bool DurationLearned { get; set; }
    public int? CompletionDurationMinutes { get; set; }
    public decimal TransferCostUsd { get; set; }
    public decimal TimeBasedCostUsd { get; set; }
    public decimal MonthlyStorageUsd { get; set; }
    public decimal CostUsd { get; set; }
}

/// <summary>What copying would do: totals and one row per source and destination.</summary>
public sealed class CopyPlan
{
    /// <summary>Copies to make (Full + Incremental).</summary>
    public int CopyCount { get; set; }
    public int Full { get; set; }
    public int Incremental { get; set; }
    /// <summary>Sources already copied with the same encryption (reused, nothing to transfer).</summary>
    public int Reused { get; set; }
    public double TransferGiB { get; set; }
    public double TransferGiBLow { get; set; }
    public double TransferGiBHigh { get; set; }
    /// <summary>Largest-first over EC2's window of 20 per destination and account (the throttle limit, less the copies
    /// already pending there), destinations side by side.</summary>
    public TimeSpan PredictedMakespan { get; set; }
    /// <summary>Time-based copies that wait for the region pair's throughput quota (not the window) before they start:
    /// none finishes late, they start later.</summary>
    public int WaitingForThroughput { get; set; }
    public decimal TransferCostUsd { get; set; }
    public decimal TimeBasedCostUsd { get; set; }
    public decimal MonthlyStorageUsd { get; set; }
    /// <summary>Transfer and time-based charges, one-off (storage is monthly, beside it).</summary>
    public decimal CostUsd { get; set; }
    public string PriceDate { get; set; } = "";
    public string PriceSource { get; set; } = "";
    /// <summary>One row per source and destination.</summary>
    public IReadOnlyList<CopyPlanRow> Copies { get; set; } = Array.Empty<CopyPlanRow>();

    /// <summary>The plan of a plan job's results (<see cref="CopyJobOptions.Plan"/>): failed and reused sources are not
    /// copies. <paramref name="completionMinutes"/> and <paramref name="throttleLimit"/> as the copy would be asked.</summary>
    public static CopyPlan From(IEnumerable<SnapshotCopyResult> results, PriceTable prices, int? completionMinutes = null, int throttleLimit = 20,
        int windowPerDestination = 20, double throughputQuota = CopyJobOptions.DefaultTimeBasedThroughputQuota)
    {
        var plan = new CopyPlan { PriceDate = prices.Date, PriceSource = prices.Source };
        var rows = new List<CopyPlanRow>();
        foreach (var r in results)
        {
            if (r.State != SnapshotState.DryRun) continue;
            if (r.Kind is null || r.ExpectedDuration is null) { plan.Reused++; continue; }
            var size = Math.Max(0, r.SourceSizeGiB ?? 0);
            var incremental = r.Kind == CopyKind.Incremental;
            var samePlace = r.SourceRegion == r.Region && incremental;
            var row = new CopyPlanRow
            {
                SourceSnapshotId = r.SourceSnapshotId, SourceRegion = r.SourceRegion, Region = r.Region, SourceVolumeId = r.SourceVolumeId,
                Kind = r.Kind.Value, Reason = r.KindReason ?? "", SizeGiB = size,
                TransferGiB = samePlace ? 0 : incremental ? size * Scheduling.DurationModel.IncrementalShare : size,
                TransferGiBLow = samePlace ? 0 : incremental ? 0 : size,
                TransferGiBHigh = samePlace ? 0 : size,
                ExpectedDuration = r.ExpectedDuration.Value, DurationLearned = r.ExpectedDurationLearned,
                CompletionDurationMinutes = completionMinutes,
            };
            var gib = (decimal)row.TransferGiB;
            row.TransferCostUsd = Math.Round(gib * prices.TransferPrice(row.SourceRegion, row.Region), 4);
            row.TimeBasedCostUsd = Math.Round(gib * prices.TimeBasedPrice(completionMinutes), 4);
            row.MonthlyStorageUsd = Math.Round(gib * prices.StoragePerGiBMonth, 4);
            row.CostUsd = row.TransferCostUsd + row.TimeBasedCostUsd;
            rows.Add(row);
        }
        plan.Copies = rows;
        plan.CopyCount = rows.Count;
        plan.Full = rows.Count(r => r.Kind == CopyKind.Full);
        plan.Incremental = rows.Count(r => r.Kind == CopyKind.Incremental);
        plan.TransferGiB = rows.Sum(r => r.TransferGiB);
        plan.TransferGiBLow = rows.Sum(r => r.TransferGiBLow);
        plan.TransferGiBHigh = rows.Sum(r => r.TransferGiBHigh);
        plan.TransferCostUsd = rows.Sum(r => r.TransferCostUsd);
        plan.TimeBasedCostUsd = rows.Sum(r => r.TimeBasedCostUsd);
        plan.MonthlyStorageUsd = rows.Sum(r => r.MonthlyStorageUsd);
        plan.CostUsd = plan.TransferCostUsd + plan.TimeBasedCostUsd;
        var pending = results.Where(r => r.PendingInDestination is not null).GroupBy(r => r.Region).ToDictionary(g => g.Key, g => g.Max(r => r.PendingInDestination!.Value));
        if (completionMinutes is { } minutes)
        {
            // Time-based: each copy takes its completion duration and holds its size over it (at most 500 MiB/s) of the
            // region pair's quota; the copy job starts one only while that fits, so the quota, not the window, may
            // bound how many run at once (Scheduling.CopyThroughput).
            foreach (var row in rows) row.ExpectedDuration = TimeSpan.FromMinutes(minutes);
            plan.WaitingForThroughput = 0;
            plan.PredictedMakespan = rows.GroupBy(r => (r.SourceRegion, r.Region))
                .Select(g => TimeBasedMakespan(g.ToList(), minutes,
                    Math.Max(1, Math.Min(throttleLimit, windowPerDestination) - (pending.TryGetValue(g.Key.Region, out var p) ? p : 0)), throughputQuota, plan))
                .DefaultIfEmpty(TimeSpan.Zero).Max();
            return plan;
        }
        plan.PredictedMakespan = rows.GroupBy(r => r.Region)
            .Select(g => Makespan(g.Select(r => r.ExpectedDuration), Math.Max(1, Math.Min(throttleLimit, windowPerDestination) - (pending.TryGetValue(g.Key, out var p) ? p : 0))))
            .DefaultIfEmpty(TimeSpan.Zero).Max();
        return plan;
    }

    /// <summary>Time-based copies of one region pair admitted as the copy job admits them: largest first, while a slot is
    /// free and the copy's throughput fits the quota; each runs its completion duration. Copies that cannot start at once
    /// are counted in <see cref="WaitingForThroughput"/> when the quota (not the window) held them back.</summary>
    private static TimeSpan TimeBasedMakespan(List<CopyPlanRow> rows, int minutes, int slots, double quota, CopyPlan plan)
    {
        var (starts, end) = Simulate(rows, minutes, slots, quota);
        // Waiting for throughput: starting later than the window alone would let it.
        var (windowOnly, _) = Simulate(rows, minutes, slots, double.PositiveInfinity);
        plan.WaitingForThroughput += rows.Count(r => starts[r] > windowOnly[r] + 1e-9);
        return TimeSpan.FromSeconds(end);
    }

    private static (Dictionary<CopyPlanRow, double> Starts, double End) Simulate(List<CopyPlanRow> rows, int minutes, int slots, double quota)
    {
        var duration = minutes * 60.0;
        var queue = new Queue<CopyPlanRow>(rows.OrderByDescending(r => r.SizeGiB));
        var running = new List<(double End, double MiBps)>();
        var starts = new Dictionary<CopyPlanRow, double>();
        var now = 0.0;
        var end = 0.0;
        while (queue.Count > 0)
        {
            var next = queue.Peek();
            var need = Scheduling.CopyThroughput.Held(next.SizeGiB, minutes);
            if (running.Count < slots && (running.Count == 0 || running.Sum(r => r.MiBps) + need <= quota + 1e-9))
            {
                queue.Dequeue();
                starts[next] = now;
                running.Add((now + duration, need));
                end = Math.Max(end, now + duration);
                continue;
            }
            now = running.Min(r => r.End);
            running.RemoveAll(r => r.End <= now + 1e-9);
        }
        return (starts, end);
    }

    /// <summary>The engine's admission: longest expected first, each into the slot that frees first.</summary>
    public static TimeSpan Makespan(IEnumerable<TimeSpan> durations, int slots)
    {
        var free = new double[Math.Max(1, slots)];
        foreach (var d in durations.OrderByDescending(d => d))
        {
            var i = Array.IndexOf(free, free.Min());
            free[i] += d.TotalSeconds;
        }
        return TimeSpan.FromSeconds(free.Max());
    }
}
