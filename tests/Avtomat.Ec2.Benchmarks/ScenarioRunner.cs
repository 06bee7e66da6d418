using System.Diagnostics;
using Amazon.EC2.Model;
using Avtomat.Ec2.Emulator;

namespace Avtomat.Ec2.Benchmarks;

/// <summary>Runs one strategy on one workload: a fresh in-process emulator with EC2's limits on a fresh virtual clock,
/// the sources (or volumes) seeded, outside copies started if the scenario has them, then the strategy; every figure
/// is taken from the emulator (calls, throttles, what it accepted and when each copy ends) or from the clock.</summary>
public static class ScenarioRunner
{
    public const string AccessKey = "AKIDBENCHMARK0EXAMPLE";
    public const string OutsideAccessKey = "AKIDOUTSIDE000EXAMPLE";
    public static readonly DateTimeOffset Epoch = new(2026, 1, 5, 8, 0, 0, TimeSpan.Zero);

    /// <summary>EC2's documented limits (EC2-FACTS.md): the emulator must enforce exactly these.</summary>
    public static readonly IReadOnlyDictionary<string, (int Burst, double Refill)> Ec2Buckets = new Dictionary<string, (int, double)>
    {
        ["CopySnapshot"] = (50, 5),
        ["DescribeSnapshots"] = (100, 20),
        ["DescribeSnapshots.Unfiltered"] = (50, 10),
        ["CreateSnapshot"] = (100, 5),
        ["DeleteSnapshot"] = (100, 5),
        ["CreateTags"] = (100, 10),
    };

    /// <summary>Throws when the emulator's defaults are not EC2's limits (nothing here raises any of them).</summary>
    public static void CheckLimits(LimitConfig limits)
    {
        var problems = new List<string>();
        if (limits.MaxPendingCopiesPerRegion != 20) problems.Add($"MaxPendingCopiesPerRegion {limits.MaxPendingCopiesPerRegion}");
        if (!limits.RequestRateLimits) problems.Add("RequestRateLimits off");
        foreach (var (action, (burst, refill)) in Ec2Buckets)
            if (!limits.Buckets.TryGetValue(action, out var b) || b.Burst != burst || b.RefillPerSecond != refill)
                problems.Add($"{action} bucket {(b is null ? "missing" : $"{b.Burst}/{b.RefillPerSecond}")}, EC2 has {burst}/{refill}");
        if (problems.Count > 0) throw new InvalidOperationException("The emulator does not enforce EC2's limits: " + string.Join("; ", problems));
    }

    public static RunResult Run(Workload w, IStrategy strategy, int emulatorSeed = 20261123)
    {
        if (!Thread.CurrentThread.IsThreadPoolThread) return RunHere(w, strategy, emulatorSeed);
        // The driver counts busy pool threads, so it must not be one.
        RunResult? result = null;
        Exception? error = null;
        var thread = new Thread(() =>
        {
            try { result = RunHere(w, strategy, emulatorSeed); }
            catch (Exception e) { error = e; }
        }) { IsBackground = true, Name = "virtual-time driver" };
        thread.Start();
        thread.Join();
        if (error is not null) System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(error);
        return result!;
    }

    private static RunResult RunHere(Workload w, IStrategy strategy, int emulatorSeed)
    {
        var wall = Stopwatch.StartNew();
        var clock = new VirtualClock(Epoch);
        var driver = new VirtualTimeDriver(clock);
        var ledger = new Ledger(w);
        // No call log: nothing here reads it, and its last 10,000 calls (every parameter of each) would count as memory the
        // strategy retains. The per-action counts the figures come from go on without it.
        var options = new EmulatorOptions
        {
            TimeProvider = clock, RandomSeed = emulatorSeed, DurationOf = ledger.DurationOf, CallLogCapacity = 0,
        };
        options.Accounts[OutsideAccessKey] = options.DefaultAccountId; // someone else in the same account
        CheckLimits(options.Config.Limits);
        var ec2 = Ec2Emulator.CreateInProcess(options);
        try
        {
            var sourceIds = new List<string>();
            var volumeIds = new List<string>();
            if (w.CreatesSnapshots)
            {
                volumeIds = ec2.Seed(new SeedRequest { Region = Workload.SourceRegion, Volumes = w.Count, SizesGiB = w.SizesGiB.ToList(), VolumeType = "gp3" }).VolumeIds;
                for (var i = 0; i < volumeIds.Count; i++) ledger.MapVolume(volumeIds[i], i);
            }
            else
            {
                sourceIds = ec2.Seed(new SeedRequest { Region = Workload.SourceRegion, Snapshots = w.Count, SizesGiB = w.SizesGiB.ToList(), Description = "benchmark source" }).SnapshotIds;
                for (var i = 0; i < sourceIds.Count; i++) ledger.MapSource(sourceIds[i], i);
            }

            if (w.OutsideCopies > 0)
            {
                // Someone else in the account copies huge snapshots to each destination, before the run: they stay pending
                // throughout and hold their slots of EC2's 20. Then 10 minutes pass (their calls' tokens come back).
                using var outside = new InProcessClients(ec2, driver, OutsideAccessKey, new EmulatorCost());
                var outsideSources = ec2.Seed(new SeedRequest
                {
                    Region = Workload.SourceRegion, Snapshots = w.OutsideCopies * w.Destinations.Count, SizeGiB = 16384, Description = "outside",
                }).SnapshotIds;
                foreach (var id in outsideSources) ledger.MapOutsideSource(id);
                var next = 0;
                foreach (var destination in w.Destinations)
                    for (var k = 0; k < w.OutsideCopies; k++)
                        outside.ForCopy(destination).CopySnapshotAsync(new CopySnapshotRequest
                        {
                            SourceRegion = Workload.SourceRegion, SourceSnapshotId = outsideSources[next++], Description = "outside copy",
                        }).GetAwaiter().GetResult();
                clock.AdvanceTo(clock.GetUtcNow() + TimeSpan.FromMinutes(10));
            }

            var cost = new EmulatorCost();
            using var clients = new InProcessClients(ec2, driver, AccessKey, cost);
            var context = new RunContext
            {
                Workload = w, Clock = clock, Driver = driver, Emulator = ec2, Clients = clients, Ledger = ledger,
                SourceIds = sourceIds, VolumeIds = volumeIds, Start = clock.GetUtcNow(),
            };
            context.Initialize();

            context.HeapBeforeBytes = RunContext.FullHeap();
            var before = ec2.GetStats();
            var cpu0 = Environment.CpuUsage.TotalTime;
            var bytes0 = GC.GetTotalAllocatedBytes(precise: true);
            var driverCpu0 = ThreadCpu.Now();
            var driverBytes0 = GC.GetAllocatedBytesForCurrentThread();
            var (gcPause0, gen0, gen1, gen2) = (GC.GetTotalPauseDuration(), GC.CollectionCount(0), GC.CollectionCount(1), GC.CollectionCount(2));
            var (emuCpu0, emuBytes0) = (Interlocked.Read(ref cost.CpuTicks), Interlocked.Read(ref cost.Bytes));

            Exception? failure = null;
            try { strategy.Run(context); }
            catch (Exception e) { failure = e; }
            var strategyEnd = clock.GetUtcNow();

            var cpu = Environment.CpuUsage.TotalTime - cpu0;
            var bytes = GC.GetTotalAllocatedBytes(precise: true) - bytes0;
            var driverCpu = ThreadCpu.Now() - driverCpu0;
            var driverBytes = GC.GetAllocatedBytesForCurrentThread() - driverBytes0;
            var emuCpu = TimeSpan.FromTicks(Interlocked.Read(ref cost.CpuTicks) - emuCpu0);
            var emuBytes = Interlocked.Read(ref cost.Bytes) - emuBytes0;
            var after = ec2.GetStats();
            var gcPause = GC.GetTotalPauseDuration() - gcPause0;
            var collections = new[] { GC.CollectionCount(0) - gen0, GC.CollectionCount(1) - gen1, GC.CollectionCount(2) - gen2 };

            // The peak measurement's GC (RunContext.MeasureRetained) is not the strategy's: its share on the driver's thread
            // goes with the driver's, the rest is taken out here.
            var measureCpu = context.MeasurementCpuElsewhere;
            var measureBytes = context.MeasurementBytesElsewhere;

            return Measure(w, strategy.Name, context, ledger, before, after, strategyEnd, failure,
                cpu - driverCpu - emuCpu - measureCpu, bytes - driverBytes - emuBytes - measureBytes,
                new CostBreakdown(cpu.TotalMilliseconds, driverCpu.TotalMilliseconds, emuCpu.TotalMilliseconds, bytes, driverBytes, emuBytes,
                    cost.Calls, cost.Asynchronous, ThreadCpu.IsThreadCpuTime, measureCpu.TotalMilliseconds, measureBytes,
                    context.StrategyCpuOnDriver.TotalMilliseconds, context.StrategyBytesOnDriver, gcPause.TotalMilliseconds, collections),
                wall.Elapsed, context.Steps ?? driver.Steps);
        }
        finally
        {
            ec2.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }
    }

    private static RunResult Measure(Workload w, string strategy, RunContext c, Ledger ledger, EmulatorStats before, EmulatorStats after,
        DateTimeOffset strategyEnd, Exception? failure, TimeSpan engineCpu, long engineBytes, CostBreakdown costs, TimeSpan wall, long steps)
    {
        var problems = new List<string>(c.Problems);
        if (failure is not null) problems.Insert(0, $"{failure.GetType().Name}: {failure.Message}");
        if (ledger.Strays > 0) problems.Add($"{ledger.Strays} snapshot(s) or copies the workload does not know");

        // What EC2 accepted: exactly one copy per source and destination (and one snapshot per volume), all completed.
        // Per destination, the queued phase lasts until EC2 started the last copy to it: a completion at an instant when some
        // copy to that destination had not been started before that instant (it starts then or later, or never) was
        // waited for by a queue, so noticing it late holds up the next start; the completions after it are the tail.
        var queuedUntil = new DateTimeOffset[w.Destinations.Count];
        for (var d = 0; d < w.Destinations.Count; d++)
        {
            queuedUntil[d] = DateTimeOffset.MinValue;
            for (var i = 0; i < w.Count; i++)
            {
                var starts = ledger.CopyStarts[i][d];
                var first = starts.Count == 0 ? DateTimeOffset.MaxValue : starts.Min();
                if (first > queuedUntil[d]) queuedUntil[d] = first;
            }
        }
        int missing = 0, duplicates = 0, unnoticed = 0, queuedUnnoticed = 0, tailUnnoticed = 0;
        var lastEnd = DateTimeOffset.MinValue;
        var lags = new List<double>();
        var queuedLags = new List<double>();
        var tailLags = new List<double>();
        for (var i = 0; i < w.Count; i++)
            for (var d = 0; d < w.Destinations.Count; d++)
            {
                var ends = ledger.CopyEnds[i][d];
                if (ends.Count == 0) { missing++; continue; }
                if (ends.Count > 1) duplicates += ends.Count - 1;
                var end = ends.Min();
                if (ends.Max() > lastEnd) lastEnd = ends.Max();
                var queued = end <= queuedUntil[d];
                if (c.Noticed[i][d] is { } noticed)
                {
                    var lag = (noticed - end).TotalSeconds;
                    if (lag < -1e-6) problems.Add($"a copy was reported completed {-lag:0.0} s before it was");
                    lags.Add(Math.Max(0, lag));
                    (queued ? queuedLags : tailLags).Add(Math.Max(0, lag));
                }
                else
                {
                    unnoticed++;
                    if (queued) queuedUnnoticed++; else tailUnnoticed++;
                }
            }
        if (w.CreatesSnapshots)
        {
            var snapshotsMade = ledger.SnapshotEnds.Values.Sum(l => l.Count);
            var snapshotted = ledger.SnapshotEnds.Values.Count(l => l.Count > 0);
            if (snapshotsMade != w.Count || snapshotted != w.Count)
                problems.Add($"{snapshotsMade} snapshots made for {w.Count} volumes ({snapshotted} volumes snapshotted)");
        }
        if (missing > 0) problems.Add($"{missing} copies never made");
        if (duplicates > 0) problems.Add($"{duplicates} duplicate copies");
        var makespanEnd = lastEnd > strategyEnd ? lastEnd : strategyEnd;
        var makespan = (makespanEnd - c.Start).TotalSeconds;
        var (lb, lbHow) = w.LowerBound();

        var calls = after.TotalCalls - before.TotalCalls;
        var byAction = Delta(after.Calls, before.Calls);
        var throttles = Delta(after.Throttled, before.Throttled).Values.Sum();
        var made = w.Copies + (w.CreatesSnapshots ? w.Count : 0);
        var median = w.MedianCopy;
        var p50 = Workload.Percentile(lags, 0.5); // NaN when nothing was noticed
        var p95 = Workload.Percentile(lags, 0.95);
        var (queuedP50, queuedP95) = (Workload.Percentile(queuedLags, 0.5), Workload.Percentile(queuedLags, 0.95));
        var (tailP50, tailP95) = (Workload.Percentile(tailLags, 0.5), Workload.Percentile(tailLags, 0.95));

        return new RunResult
        {
            Scenario = Scenarios.Name(w.Scenario), N = w.Count, Seed = w.Seed, Strategy = strategy, Destinations = w.Destinations.ToList(),
            OutsideCopiesPerDestination = w.OutsideCopies, Copies = w.Copies, SnapshotsCreated = w.CreatesSnapshots ? w.Count : 0,
            Tracked = w.Tracked,
            MakespanSeconds = Math.Round(makespan, 3), LowerBoundSeconds = Math.Round(lb, 3), LowerBound = lbHow,
            MakespanOverLowerBound = Math.Round(makespan / lb, 4),
            StrategyEndedSeconds = Math.Round((strategyEnd - c.Start).TotalSeconds, 3),
            LastCopyCompletedSeconds = lastEnd == DateTimeOffset.MinValue ? null : Math.Round((lastEnd - c.Start).TotalSeconds, 3),
            Calls = calls, CallsByAction = byAction.OrderByDescending(p => p.Value).ToDictionary(p => p.Key, p => p.Value),
            CallsPerSnapshotMade = Math.Round((double)calls / made, 3), Throttles = throttles,
            MedianCopySeconds = Math.Round(median, 1), LongestCopySeconds = Math.Round(w.LongestCopy, 1),
            LagP50Seconds = Math.Round(p50, 3), LagP95Seconds = Math.Round(p95, 3),
            LagP50PercentOfMedianCopy = Math.Round(100 * p50 / median, 3), LagP95PercentOfMedianCopy = Math.Round(100 * p95 / median, 3),
            QueuedLagP50Seconds = Math.Round(queuedP50, 3), QueuedLagP95Seconds = Math.Round(queuedP95, 3),
            QueuedLagP50PercentOfMedianCopy = Math.Round(100 * queuedP50 / median, 3),
            QueuedLagP95PercentOfMedianCopy = Math.Round(100 * queuedP95 / median, 3),
            TailLagP50Seconds = Math.Round(tailP50, 3), TailLagP95Seconds = Math.Round(tailP95, 3),
            TailLagP50PercentOfMedianCopy = Math.Round(100 * tailP50 / median, 3),
            TailLagP95PercentOfMedianCopy = Math.Round(100 * tailP95 / median, 3),
            QueuedNoticed = queuedLags.Count, TailNoticed = tailLags.Count, QueuedUnnoticed = queuedUnnoticed, TailUnnoticed = tailUnnoticed,
            QueuedPhaseEndsSeconds = queuedUntil.Select(t => t == DateTimeOffset.MinValue || t == DateTimeOffset.MaxValue
                ? (double?)null : Math.Round((t - c.Start).TotalSeconds, 3)).ToList(),
            Noticed = lags.Count, Unnoticed = unnoticed, Missing = missing, Duplicates = duplicates,
            AllCompleted = missing == 0 && duplicates == 0 && failure is null && problems.Count == 0,
            CpuMsPerTracked = Math.Round(engineCpu.TotalMilliseconds / w.Tracked, 4),
            BytesPerTracked = Math.Round((double)engineBytes / w.Tracked, 0),
            Retained = c.Retained,
            RetainedBytesPerTracked = c.Retained is { } retained ? Math.Round((double)retained.RetainedBytes / w.Tracked, 0) : null,
            Costs = costs,
            Problems = problems,
            WallSeconds = Math.Round(wall.TotalSeconds, 2), VirtualSteps = steps,
        };
    }

    private static Dictionary<string, long> Delta(Dictionary<string, Dictionary<string, long>> after, Dictionary<string, Dictionary<string, long>> before)
    {
        var result = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var (region, actions) in after)
            foreach (var (action, n) in actions)
            {
                var was = before.TryGetValue(region, out var b) ? b.GetValueOrDefault(action) : 0;
                if (n - was != 0) result[action] = result.GetValueOrDefault(action) + n - was;
            }
        return result;
    }
}

/// <summary>Where the process's CPU and allocations during a run went: the strategy's share is the total less the
/// driver's thread, the emulator's handling of calls, and the peak measurement's GC off the driver's thread.
/// <see cref="StrategyOnDriverCpuMs"/> and <see cref="StrategyOnDriverBytes"/>: the part of the driver's thread that was
/// the strategy's own work (the engine's Add, CompleteAdding and event draining), inside DriverCpuMs and DriverBytes and
/// so left out of the strategy's figures too. <see cref="GcPauseMs"/> and <see cref="Collections"/> (gen 0, 1, 2, the peak
/// measurement's included): the GC's pauses during the run, whoever's allocations or heap caused them; the GC's CPU is
/// in ProcessCpuMs and counts as the strategy's unless it ran on the driver's thread or inside an emulator call.</summary>
public sealed record CostBreakdown(double ProcessCpuMs, double DriverCpuMs, double EmulatorCpuMs, long ProcessBytes, long DriverBytes,
    long EmulatorBytes, long EmulatorCalls, long EmulatorCallsNotSeparated, bool ThreadCpuTime, double PeakMeasurementCpuMs = 0,
    long PeakMeasurementBytes = 0, double StrategyOnDriverCpuMs = 0, long StrategyOnDriverBytes = 0, double GcPauseMs = 0,
    int[]? Collections = null);

public sealed class RunResult
{
    public string Scenario { get; init; } = "";
    public int N { get; init; }
    /// <summary>The workload's seed (sizes and durations).</summary>
    public int Seed { get; init; }
    public string Strategy { get; init; } = "";
    public List<string> Destinations { get; init; } = new();
    public int OutsideCopiesPerDestination { get; init; }
    public int Copies { get; init; }
    public int SnapshotsCreated { get; init; }
    public int Tracked { get; init; }
    public double MakespanSeconds { get; init; }
    public double LowerBoundSeconds { get; init; }
    public string LowerBound { get; init; } = "";
    public double MakespanOverLowerBound { get; init; }
    public double StrategyEndedSeconds { get; init; }
    public double? LastCopyCompletedSeconds { get; init; }
    public long Calls { get; init; }
    public Dictionary<string, long> CallsByAction { get; init; } = new();
    public double CallsPerSnapshotMade { get; init; }
    public long Throttles { get; init; }
    public double MedianCopySeconds { get; init; }
    public double LongestCopySeconds { get; init; }
    public double LagP50Seconds { get; init; }
    public double LagP95Seconds { get; init; }
    public double LagP50PercentOfMedianCopy { get; init; }
    public double LagP95PercentOfMedianCopy { get; init; }
    /// <summary>Lag of the copies that completed in their destination's queued phase: while some copy to it had not been
    /// started by EC2 (<see cref="QueuedPhaseEndsSeconds"/>). The lag target is on these.</summary>
    public double QueuedLagP50Seconds { get; init; }
    public double QueuedLagP95Seconds { get; init; }
    public double QueuedLagP50PercentOfMedianCopy { get; init; }
    public double QueuedLagP95PercentOfMedianCopy { get; init; }
    /// <summary>Lag of the copies that completed after their destination's last copy started (nothing waits for them).</summary>
    public double TailLagP50Seconds { get; init; }
    public double TailLagP95Seconds { get; init; }
    public double TailLagP50PercentOfMedianCopy { get; init; }
    public double TailLagP95PercentOfMedianCopy { get; init; }
    /// <summary>Copies noticed that completed in the queued phase, and in the tail: together <see cref="Noticed"/>.</summary>
    public int QueuedNoticed { get; init; }
    public int TailNoticed { get; init; }
    /// <summary>Copies not noticed (the peer's last ones), by phase: together <see cref="Unnoticed"/>.</summary>
    public int QueuedUnnoticed { get; init; }
    public int TailUnnoticed { get; init; }
    /// <summary>Per destination (in <see cref="Destinations"/>' order), seconds from the start until EC2 started the last
    /// copy to it: a completion up to then is in the queued phase. Null when a copy was never made.</summary>
    public List<double?> QueuedPhaseEndsSeconds { get; init; } = new();
    public int Noticed { get; init; }
    public int Unnoticed { get; init; }
    public int Missing { get; init; }
    public int Duplicates { get; init; }
    public bool AllCompleted { get; init; }
    public double CpuMsPerTracked { get; init; }
    public double BytesPerTracked { get; init; }
    /// <summary>The managed heap retained at the strategy's peak per tracked snapshot (<see cref="Retained"/>); null when
    /// the strategy does not measure it (only the engine does).</summary>
    public double? RetainedBytesPerTracked { get; init; }
    public RetainedMeasurement? Retained { get; init; }
    public CostBreakdown? Costs { get; init; }
    public List<string> Problems { get; init; } = new();
    public List<TargetCheck> Targets { get; set; } = new();
    public double WallSeconds { get; init; }
    public long VirtualSteps { get; init; }
}

public sealed record TargetCheck(string Name, string Limit, double Value, bool Met);
