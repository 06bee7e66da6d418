using System.Runtime;
using Amazon.EC2;
using Avtomat.Ec2.Emulator;

namespace Avtomat.Ec2.Benchmarks;

/// <summary>One strategy's run of one workload: the emulator, the clock, the clients, and what the strategy noticed.</summary>
public sealed class RunContext
{
    public required Workload Workload { get; init; }
    public required VirtualClock Clock { get; init; }
    public required VirtualTimeDriver Driver { get; init; }
    public required Ec2Emulator Emulator { get; init; }
    public required InProcessClients Clients { get; init; }
    public required Ledger Ledger { get; init; }
    /// <summary>Copy scenarios: the source snapshot of each index.</summary>
    public IReadOnlyList<string> SourceIds { get; init; } = [];
    /// <summary>Create-then-copy: the volume of each index.</summary>
    public IReadOnlyList<string> VolumeIds { get; init; } = [];
    /// <summary>Virtual time the strategy got its input.</summary>
    public required DateTimeOffset Start { get; init; }
    /// <summary>Longest virtual time a run may take before it is called stuck.</summary>
    public TimeSpan MaxVirtual { get; init; } = TimeSpan.FromDays(200);

    /// <summary>[source][destination]: when the strategy first knew the copy had completed.</summary>
    public DateTimeOffset?[][] Noticed { get; private set; } = [];
    public List<string> Problems { get; } = new();
    /// <summary>Virtual instants a strategy's own driver moved the clock to (when it does not use <see cref="Driver"/>).</summary>
    public long? Steps { get; set; }

    /// <summary>The managed heap after a full compacting GC just before the strategy started (<see cref="FullHeap"/>).</summary>
    public long HeapBeforeBytes { get; set; }
    /// <summary>What <see cref="MeasureRetained"/> found; null until the strategy called it.</summary>
    public RetainedMeasurement? Retained { get; private set; }
    /// <summary>CPU and allocations of <see cref="MeasureRetained"/> off the calling thread (the driver's thread, whose own
    /// share the run takes out already): taken out of the strategy's figures.</summary>
    public TimeSpan MeasurementCpuElsewhere { get; private set; }
    public long MeasurementBytesElsewhere { get; private set; }

    /// <summary>The strategy calls this once, at its peak (every request handed over and the first copies running): the
    /// managed heap after a full blocking compacting GC, less <see cref="HeapBeforeBytes"/>, is what the strategy retains
    /// (the engine with its requests, the SDK clients, and whatever EC2 — the emulator — holds for what it accepted by
    /// then). Later calls do nothing. Call it where nothing runs (between the driver's steps), on the driver's thread.</summary>
    public void MeasureRetained()
    {
        if (Retained is not null) return;
        var cpu0 = Environment.CpuUsage.TotalTime;
        var thread0 = ThreadCpu.Now();
        var bytes0 = GC.GetTotalAllocatedBytes(precise: true);
        var threadBytes0 = GC.GetAllocatedBytesForCurrentThread();
        var wall = System.Diagnostics.Stopwatch.StartNew();
        var heap = FullHeap();
        var wallMs = wall.Elapsed.TotalMilliseconds;
        var threadCpu = ThreadCpu.Now() - thread0;
        var threadBytes = GC.GetAllocatedBytesForCurrentThread() - threadBytes0;
        MeasurementCpuElsewhere = (Environment.CpuUsage.TotalTime - cpu0) - threadCpu;
        MeasurementBytesElsewhere = (GC.GetTotalAllocatedBytes(precise: true) - bytes0) - threadBytes;
        _measurementThreadCpu += threadCpu;
        _measurementThreadBytes += threadBytes;
        Retained = new RetainedMeasurement(HeapBeforeBytes, heap, heap - HeapBeforeBytes,
            Math.Round((Clock.GetUtcNow() - Start).TotalSeconds, 3), Ledger.CopiesStarted, Math.Round(wallMs, 1));
    }

    /// <summary>CPU time and allocations of the strategy's own work on the driver's thread (what it ran through
    /// <see cref="OnDriverThread"/>, the peak measurement excluded): the engine's Add, CompleteAdding and event draining,
    /// which the pipeline thread does for Copy-AvSnapshot. The run's CPU and allocation figures leave the driver's thread
    /// out, this with it; it is reported apart (<see cref="CostBreakdown.StrategyOnDriverCpuMs"/>).</summary>
    public TimeSpan StrategyCpuOnDriver { get; private set; }
    public long StrategyBytesOnDriver { get; private set; }
    private TimeSpan _measurementThreadCpu;
    private long _measurementThreadBytes;

    public void OnDriverThread(Action work) => OnDriverThread(() => { work(); return true; });

    /// <summary>Runs <paramref name="work"/> (the strategy's own work, on the driver's thread) and adds its thread CPU and
    /// allocations to <see cref="StrategyCpuOnDriver"/> and <see cref="StrategyBytesOnDriver"/>.</summary>
    public T OnDriverThread<T>(Func<T> work)
    {
        var (cpu0, bytes0) = (ThreadCpu.Now(), GC.GetAllocatedBytesForCurrentThread());
        var (measuredCpu0, measuredBytes0) = (_measurementThreadCpu, _measurementThreadBytes);
        try { return work(); }
        finally
        {
            StrategyCpuOnDriver += ThreadCpu.Now() - cpu0 - (_measurementThreadCpu - measuredCpu0);
            StrategyBytesOnDriver += GC.GetAllocatedBytesForCurrentThread() - bytes0 - (_measurementThreadBytes - measuredBytes0);
        }
    }

    /// <summary>The managed heap in use after a full, blocking, compacting collection (the large object heap compacted
    /// too) and the finalizers it queued.</summary>
    public static long FullHeap()
    {
        GCSettings.LargeObjectHeapCompactionMode = GCLargeObjectHeapCompactionMode.CompactOnce;
        GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
        GC.WaitForPendingFinalizers();
        return GC.GetTotalMemory(forceFullCollection: true);
    }

    public void Initialize() => Noticed = Workload.CopySeconds.Select(c => new DateTimeOffset?[c.Length]).ToArray();

    public void Notice(int source, int destination)
    {
        if (source < 0 || destination < 0) { Problem("a completion the run cannot place"); return; }
        lock (Noticed) Noticed[source][destination] ??= Clock.GetUtcNow();
    }

    public void Problem(string text)
    {
        lock (Problems) if (Problems.Count < 20 && !Problems.Contains(text)) Problems.Add(text);
    }

    public static bool IsCode(Exception e, string code) => e is AmazonEC2Exception ec2 && ec2.ErrorCode == code;
}

/// <summary>A way to copy (and create) the workload's snapshots. Runs on the driver's thread and returns when the
/// strategy itself is done (which for the peer's loop is before its last copies complete).</summary>
public interface IStrategy
{
    string Name { get; }
    void Run(RunContext context);
}

/// <summary>The heap a strategy retained at its peak (<see cref="RunContext.MeasureRetained"/>).</summary>
/// <param name="HeapBeforeBytes">After a full GC just before the strategy started.</param>
/// <param name="HeapAtPeakBytes">After a full GC at the peak.</param>
/// <param name="RetainedBytes">The difference.</param>
/// <param name="AtSeconds">Virtual seconds from the start to the peak.</param>
/// <param name="CopiesStartedByThen">Copies EC2 had accepted by then.</param>
/// <param name="GcWallMs">Real time the measurement took (outside the run's CPU figures).</param>
public sealed record RetainedMeasurement(long HeapBeforeBytes, long HeapAtPeakBytes, long RetainedBytes, double AtSeconds,
    int CopiesStartedByThen, double GcWallMs);
