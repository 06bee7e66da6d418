using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using Avtomat.Ec2.Engine.Internal;

namespace Avtomat.Ec2.Engine.Copy;

/// <summary>One Copy-AvSnapshot invocation's copies: sources checked in batches, copies started through the
/// process-wide window of each destination (and this job's ThrottleLimit), watched on the shared poller.</summary>
public sealed class CopyJob : SnapshotJob<SnapshotCopyRequest, SnapshotCopyResult>
{
    private readonly ConcurrentDictionary<string, CopyWindow> _jobWindows = new(StringComparer.Ordinal);
    private readonly CopyWorker _worker;

    internal CopyJob(SnapshotEngine engine, IEc2ClientSource clients, CopyJobOptions options, CancellationToken cancellationToken)
        : base(engine, clients, options, cancellationToken)
    {
        ThrottleLimit = Math.Max(1, Math.Min(100, options.ThrottleLimit));
        Force = options.Force;
        Earlier = new EarlierCopies(this);
        Sources = new SourceChecker(this);
        _worker = new CopyWorker(this);
    }

    /// <summary>Concurrent copies per destination for this job.</summary>
    internal int ThrottleLimit { get; }
    /// <summary>Copy even when an earlier copy of the source exists (no resume).</summary>
    internal bool Force { get; }
    /// <summary>The copies earlier runs made, for resuming.</summary>
    internal EarlierCopies Earlier { get; }
    internal SourceChecker Sources { get; }

    /// <summary>Queues a copy; never blocks. Source checks and copying start at once.</summary>
    public void Add(SnapshotCopyRequest request)
    {
        if (request is null) throw new ArgumentNullException(nameof(request));
        var item = new CopyItem(request, NextSequence, StopToken) { InputOrder = Engine.NextInputOrder() };
        Admit(item, () => _worker.RunAsync(item));
    }

    /// <summary>This job's own window towards a destination (its ThrottleLimit).</summary>
    internal CopyWindow JobWindow(string destination)
        => _jobWindows.GetOrAdd(destination, region => new CopyWindow("job|" + region, ThrottleLimit, Time, collect: Engine.CopyOrderingDelay));

    // ------------------------------------------------------------------ what a copy job reports

    private protected override EngineError StoppedError(JobItem item) => EngineErrors.CopyStopped(item.SourceId, item.SnapshotId, item.Region);

    private protected override EngineError TimedOutError(JobItem item) =>
        EngineErrors.CopyTimedOut(item.SourceId, item.SnapshotId, item.Region, Timeout!.Value);

    private protected override string DuplicateNoun => "copy";
    private protected override string DuplicateCause => "a re-sent CopySnapshot";

    private protected override string Summary(string region, IReadOnlyList<JobItem> items)
    {
        var total = items.Count;
        var reused = items.Select(i => (SnapshotCopyResult)i.CloneResult()).Count(r => r.Reused && r.State == SnapshotState.Completed);
        var completed = Count(items, SnapshotState.Completed) - reused;
        var failed = Count(items, SnapshotState.Failed);
        var timedOut = Count(items, SnapshotState.TimedOut);
        var started = NoWait ? Count(items, SnapshotState.Pending) : 0;
        var stopped = Count(items, SnapshotState.Queued) + Count(items, SnapshotState.Pending) - started;
        var text = DryRun
            ? $"{region}: dry run of {total} copies: {Count(items, SnapshotState.DryRun)} would succeed, {failed} failed"
            : NoWait
            ? $"{region}: {started} copies started (not waited for), {completed} already completed, {failed} failed, {timedOut} timed out" +
              (stopped > 0 ? $", {stopped} stopped" : "") + $" of {total}"
            : $"{region}: {completed} copied, {failed} failed, {timedOut} timed out" + (stopped > 0 ? $", {stopped} stopped" : "") + $" of {total}";
        if (reused > 0) text += $" ({reused} more reused from earlier runs)";
        text += CallsIn(region);
        var sourceCalls = items.Select(i => i.SourceRegion).Distinct(StringComparer.Ordinal).Where(r => r != region)
            .SelectMany(r => Counters.CallsIn(r)).GroupBy(p => p.Key).Select(g => $"{g.Key} {g.Sum(p => p.Value)}").ToList();
        if (sourceCalls.Count > 0) text += "; in the source region(s): " + string.Join(", ", sourceCalls);
        return text + ".";
    }

    /// <summary>From the average observed copy duration and the current window: the work left (queued copies plus the
    /// unfinished share of copies in flight) spread over the window, but never less than the slowest copy in flight.</summary>
    private protected override TimeSpan? Estimate(string region, List<InFlightItem> inFlight, int queued)
    {
        if (inFlight.Count == 0 && queued == 0) return TimeSpan.Zero;
        if (Durations.AverageSeconds(region) is not { } average) return null;
        var window = Math.Max(1, Math.Min(ThrottleLimit, LeasedShared(region)?.CopyWindow.Window ?? Engine.RegionCopyLimit));
        var now = Time.GetUtcNow().UtcDateTime;
        var inFlightLeft = inFlight.Select(c => ObservedDurations.RemainingSeconds(average, c, now)).ToList();
        var work = inFlightLeft.Sum() + queued * average;
        var seconds = Math.Max(inFlightLeft.DefaultIfEmpty(0).Max(), work / window);
        return TimeSpan.FromSeconds(Math.Max(0, seconds));
    }
}
