using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using Avtomat.Ec2.Engine.Internal;

namespace Avtomat.Ec2.Engine.Create;

/// <summary>
/// One New-AvSnapshot invocation's snapshots. Each request goes to the scheduler of its region, which describes volumes
/// (and instances) in batches, respects EC2's per-volume rules for every job in the process by queueing on them, paces
/// CreateSnapshot/CreateSnapshots under EC2's token bucket, starts each without ever leaving a second one behind, and
/// follows the snapshots to their end.
/// </summary>
public sealed class CreateJob : SnapshotJob<object, SnapshotResult>
{
    private int _rootWarned;

    internal CreateJob(SnapshotEngine engine, IEc2ClientSource clients, CreateJobOptions options, CancellationToken cancellationToken)
        : base(engine, clients, options, cancellationToken)
    {
    }

    /// <summary>Queues a volume snapshot; never blocks.</summary>
    public void Add(SnapshotCreateRequest request)
    {
        if (request is null) throw new ArgumentNullException(nameof(request));
        Submit(new CreateItem(this, request, request.Region, request.VolumeId, null, NextSequence));
    }

    /// <summary>Queues an instance set (CreateSnapshots); never blocks. One result per volume.</summary>
    public void Add(InstanceSnapshotRequest request)
    {
        if (request is null) throw new ArgumentNullException(nameof(request));
        Submit(new CreateItem(this, request, request.Region, null, request.InstanceId, NextSequence));
    }

    /// <summary>The root-volume-of-a-running-instance warning, once per job; later ones go to Verbose.</summary>
    internal void RootVolumeWarning(string volumeId, string instanceId, object request)
    {
        var text = $"{volumeId} is the root volume of the running instance {instanceId}. A snapshot holds only what was written to the " +
                   "disk: for a consistent snapshot stop the instance or freeze its file systems first, or snapshot the instance with " +
                   "-InstanceId (all its volumes together, crash-consistent).";
        if (Interlocked.Exchange(ref _rootWarned, 1) == 0) Warn(text + " (Warned once per call.)", request);
        else Verbose(text, request);
    }

    // ------------------------------------------------------------------ what a create job reports

    private protected override EngineError StoppedError(JobItem item) => EngineErrors.CreateStopped(item.SourceId, item.SnapshotId, item.Region);

    private protected override EngineError TimedOutError(JobItem item) =>
        EngineErrors.CreateTimedOut(item.SourceId, item.SnapshotId, item.Region, Timeout!.Value);

    private protected override string Summary(string region, IReadOnlyList<JobItem> items)
    {
        var total = items.Count;
        var failed = Count(items, SnapshotState.Failed);
        var started = NoWait ? Count(items, SnapshotState.Pending) : 0;
        var stopped = Count(items, SnapshotState.Queued) + Count(items, SnapshotState.Pending) - started;
        var notKnown = NotKnownText(items, started, out var unknown);
        stopped -= unknown;
        var text = DryRun
            ? $"{region}: dry run of {total} snapshots: {Count(items, SnapshotState.DryRun)} would succeed, {failed} failed"
            : $"{region}: {Count(items, SnapshotState.Completed)} snapshots completed" + (NoWait ? $", {started} started (not waited for)" : "") +
              $", {failed} failed, {Count(items, SnapshotState.TimedOut)} timed out" + (stopped > 0 ? $", {stopped} stopped" : "") + notKnown + $" of {total}";
        return text + CallsIn(region) + ".";
    }

    /// <summary>From the duration model of the region: the slowest snapshot in flight, or the queue paced at EC2's rate
    /// plus one expected duration, whichever is longer.</summary>
    private protected override TimeSpan? Estimate(string region, List<InFlightItem> inFlight, int queued)
    {
        if (inFlight.Count == 0 && queued == 0) return TimeSpan.Zero;
        var perSecond = Ec2Buckets.Of("CreateSnapshot").RefillPerSecond;
        if (NoWait) return queued == 0 ? TimeSpan.Zero : TimeSpan.FromSeconds(queued / perSecond);
        if (SchedulerIfAttached(region)?.Durations.Predict(Scheduling.SnapshotKind.Snapshot, null) is not { } expected) return null;
        var average = expected.MedianSeconds;
        var now = Time.GetUtcNow().UtcDateTime;
        var inFlightLeft = inFlight.Select(c => Math.Max(average * (1 - c.Progress / 100.0), average - (now - c.StartTime).TotalSeconds)).DefaultIfEmpty(0).Max();
        var queueLeft = queued == 0 ? 0 : queued / perSecond + average;
        return TimeSpan.FromSeconds(Math.Max(0, Math.Max(inFlightLeft, queueLeft)));
    }
}
