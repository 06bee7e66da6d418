using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Amazon.EC2.Model;
using Avtomat.Ec2.Engine.Internal;
using Avtomat.Ec2.Engine.Waiting;

namespace Avtomat.Ec2.Engine.Create;

/// <summary>
/// One New-AvSnapshot invocation's snapshots. Volumes are described in batches first (DescribeVolumes, their pending and
/// errored snapshots, DescribeInstances for attachments); EC2's per-volume rules are respected by queueing on the
/// process-wide <see cref="VolumeGate"/>s; CreateSnapshot/CreateSnapshots calls are paced under EC2's token bucket by a
/// process-wide <see cref="RequestPacer"/> and started through the tokened start; completion is watched on the
/// process-wide shared poller.
/// </summary>
public sealed class CreateJob : SnapshotJob<object, SnapshotResult>
{
    internal static readonly TimeSpan CollectDelay = TimeSpan.FromMilliseconds(100);

    private readonly ConcurrentDictionary<string, KeyBatcher<VolumeInfo>> _volumes = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, KeyBatcher<Instance>> _instances = new(StringComparer.Ordinal);
    private readonly CreateWorker _worker;
    private int _rootWarned;

    internal CreateJob(SnapshotEngine engine, IEc2ClientSource clients, CreateJobOptions options, CancellationToken cancellationToken)
        : base(engine, clients, options, cancellationToken)
    {
        _worker = new CreateWorker(this);
    }

    /// <summary>Queues a volume snapshot; never blocks.</summary>
    public void Add(SnapshotCreateRequest request)
    {
        if (request is null) throw new ArgumentNullException(nameof(request));
        var item = new CreateItem(request, request.Region, request.VolumeId, null, NextSequence, StopToken);
        Admit(item, () => _worker.RunVolumeAsync(item, request));
    }

    /// <summary>Queues an instance set (CreateSnapshots); never blocks. One result per volume.</summary>
    public void Add(InstanceSnapshotRequest request)
    {
        if (request is null) throw new ArgumentNullException(nameof(request));
        var item = new CreateItem(request, request.Region, null, request.InstanceId, NextSequence, StopToken);
        Admit(item, () => _worker.RunInstanceAsync(item, request));
    }

    // ------------------------------------------------------------------ used by the worker

    /// <summary>An instance set turned out to have more volumes: each owes its own finished event.</summary>
    internal CreateItem AddSetMember(CreateItem first, string volumeId)
    {
        var item = new CreateItem(first.Request, first.Region, volumeId, first.Result.InstanceId, NextSequence, StopToken) { Token = first.Token };
        AddLate(item);
        return item;
    }

    internal Task<VolumeInfo?> DescribeVolumeAsync(string region, string volumeId)
        => _volumes.GetOrAdd(region, r => new KeyBatcher<VolumeInfo>(Time, CollectDelay, SnapshotStatePoller.MaxIdsPerCall,
            ids => VolumeInfo.FetchAsync(this, r, ids), StopToken)).GetAsync(volumeId);

    internal Task<Instance?> DescribeInstanceAsync(string region, string instanceId)
        => _instances.GetOrAdd(region, r => new KeyBatcher<Instance>(Time, CollectDelay, SnapshotStatePoller.MaxIdsPerCall,
            ids => VolumeInfo.FetchInstancesAsync(this, r, ids), StopToken)).GetAsync(instanceId);

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
        var text = DryRun
            ? $"{region}: dry run of {total} snapshots: {Count(items, SnapshotState.DryRun)} would succeed, {failed} failed"
            : $"{region}: {Count(items, SnapshotState.Completed)} snapshots completed" + (NoWait ? $", {started} started (not waited for)" : "") +
              $", {failed} failed, {Count(items, SnapshotState.TimedOut)} timed out" + (stopped > 0 ? $", {stopped} stopped" : "") + $" of {total}";
        return text + CallsIn(region) + ".";
    }

    /// <summary>From the average observed duration: the slowest snapshot in flight, or the queue paced at EC2's rate
    /// plus one average duration, whichever is longer.</summary>
    private protected override TimeSpan? Estimate(string region, List<InFlightItem> inFlight, int queued)
    {
        if (inFlight.Count == 0 && queued == 0) return TimeSpan.Zero;
        var perSecond = Ec2Buckets.Of("CreateSnapshot").RefillPerSecond;
        if (NoWait) return queued == 0 ? TimeSpan.Zero : TimeSpan.FromSeconds(queued / perSecond);
        if (Durations.AverageSeconds(region) is not { } average) return null;
        var now = Time.GetUtcNow().UtcDateTime;
        var inFlightLeft = inFlight.Select(c => ObservedDurations.RemainingSeconds(average, c, now)).DefaultIfEmpty(0).Max();
        var queueLeft = queued == 0 ? 0 : queued / perSecond + average;
        return TimeSpan.FromSeconds(Math.Max(0, Math.Max(inFlightLeft, queueLeft)));
    }
}
