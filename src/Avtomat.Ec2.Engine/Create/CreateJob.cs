using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Amazon.EC2.Model;
using Avtomat.Ec2.Engine.Copy;
using Avtomat.Ec2.Engine.Internal;
using Avtomat.Ec2.Engine.Waiting;

namespace Avtomat.Ec2.Engine.Create;

/// <summary>
/// One New-AvSnapshot invocation's snapshots. Volumes are described in batches first (DescribeVolumes, their pending and
/// errored snapshots, DescribeInstances for attachments); EC2's per-volume rules are respected by queueing on the
/// process-wide <see cref="VolumeGate"/>s; CreateSnapshot/CreateSnapshots calls are paced under EC2's token bucket by a
/// process-wide <see cref="RequestPacer"/>; snapshots are created through no-retry clients with a provenance token and
/// looked up by it after an uncertain outcome; completion is watched on the process-wide shared poller.
/// </summary>
public sealed class CreateJob : SnapshotJob
{
    internal static readonly TimeSpan CollectDelay = TimeSpan.FromMilliseconds(100);

    private readonly object _gate = new();
    private readonly List<CreateOperation> _operations = new();
    private readonly ConcurrentDictionary<string, KeyBatcher<VolumeInfo>> _volumes = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, KeyBatcher<Instance>> _instances = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, PollSubscriber> _subscribers = new(StringComparer.Ordinal);
    private readonly ObservedDurations _durations = new();
    private readonly CreateWorker _worker;
    private int _rootWarned;

    internal CreateJob(CopyEngine engine, IEc2ClientSource clients, CreateJobOptions options, CancellationToken cancellationToken)
        : base(engine, clients, options.Timeout, Math.Max(0, options.MaxRetries), cancellationToken)
    {
        Options = new CreateJobOptions
        {
            Timeout = Timeout,
            DryRun = options.DryRun,
            NoWait = options.NoWait,
            PollInterval = options.PollInterval > TimeSpan.Zero ? options.PollInterval : TimeSpan.FromSeconds(2),
            VisibilityGrace = options.VisibilityGrace >= TimeSpan.Zero ? options.VisibilityGrace : TimeSpan.FromSeconds(30),
            MaxRetries = Math.Max(0, options.MaxRetries),
        };
        _worker = new CreateWorker(this);
    }

    internal CreateJobOptions Options { get; }

    /// <summary>Queues a volume snapshot; never blocks.</summary>
    public void Add(SnapshotCreateRequest request)
    {
        if (request is null) throw new ArgumentNullException(nameof(request));
        if (!TryBeginRequest()) return;
        var op = NewOperation(request, request.Region, request.VolumeId, null);
        if (StopToken.IsCancellationRequested) { FinishStopped(op); return; }
        _ = Task.Run(() => _worker.RunVolumeAsync(op, request));
    }

    /// <summary>Queues an instance set (CreateSnapshots); never blocks. One result per volume.</summary>
    public void Add(InstanceSnapshotRequest request)
    {
        if (request is null) throw new ArgumentNullException(nameof(request));
        if (!TryBeginRequest()) return;
        var op = NewOperation(request, request.Region, null, request.InstanceId);
        if (StopToken.IsCancellationRequested) { FinishStopped(op); return; }
        _ = Task.Run(() => _worker.RunInstanceAsync(op, request));
    }

    public override IReadOnlyList<RegionProgress> GetProgress()
    {
        List<CreateOperation> operations;
        lock (_gate) operations = _operations.ToList();
        return operations.GroupBy(o => o.Region, StringComparer.Ordinal).Select(g => ProgressOf(g.Key, g.ToList())).ToList();
    }

    // ------------------------------------------------------------------ used by the worker

    internal CreateOperation NewOperation(object request, string region, string? volumeId, string? instanceId)
    {
        lock (_gate)
        {
            var op = new CreateOperation(request, region, volumeId, instanceId, _operations.Count);
            _operations.Add(op);
            return op;
        }
    }

    /// <summary>An instance set turned out to have more volumes: each owes its own finished event.</summary>
    internal CreateOperation AddSetMember(CreateOperation first, string volumeId)
    {
        AddOutstanding(1);
        var op = NewOperation(first.Request, first.Region, volumeId, first.Result.InstanceId);
        op.Token = first.Token;
        return op;
    }

    internal Task<VolumeInfo?> DescribeVolumeAsync(string region, string volumeId)
        => _volumes.GetOrAdd(region, r => new KeyBatcher<VolumeInfo>(Time, CollectDelay, SnapshotStatePoller.MaxIdsPerCall,
            ids => VolumeInfo.FetchAsync(this, r, ids), StopToken)).GetAsync(volumeId);

    internal Task<Instance?> DescribeInstanceAsync(string region, string instanceId)
        => _instances.GetOrAdd(region, r => new KeyBatcher<Instance>(Time, CollectDelay, SnapshotStatePoller.MaxIdsPerCall,
            ids => VolumeInfo.FetchInstancesAsync(this, r, ids), StopToken)).GetAsync(instanceId);

    internal Task<Snapshot> WaitForFinalStateAsync(string region, string snapshotId, Action<Snapshot>? onUpdate, CancellationToken cancellationToken)
    {
        var subscriber = _subscribers.GetOrAdd(region, r => new PollSubscriber(() => Clients.For(r), Calls,
            Options.PollInterval, Options.VisibilityGrace, message => Verbose(message), StopToken));
        return Engine.Poller(Clients, region).WaitForFinalStateAsync(snapshotId, subscriber, onUpdate, cancellationToken);
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

    internal void Accept(CreateOperation op, string snapshotId, DateTime? startTime, bool adopted)
    {
        lock (op.Gate)
        {
            op.Result.SnapshotId = snapshotId;
            op.Result.State = SnapshotCopyState.Pending;
            op.Result.StartTime = startTime is { } s ? DateTime.SpecifyKind(s, DateTimeKind.Utc) : Time.GetUtcNow().UtcDateTime;
        }
        Emit(new SnapshotAcceptedEvent(op.Request, op.CloneResult()));
        if (adopted)
            Verbose($"Found the snapshot of {op.TargetId} by its request token after a lost response: {snapshotId} in {op.Region} (adopted, not created again).", op.Request);
    }

    internal void Observe(CreateOperation op, Snapshot snapshot)
    {
        lock (op.Gate)
        {
            var volumeId = op.Result.VolumeId;
            SnapshotResults.Apply(op.Result, snapshot);
            op.Result.VolumeId = volumeId ?? op.Result.VolumeId;
        }
    }

    /// <summary>Sends the snapshot's single SnapshotFinishedEvent.</summary>
    internal void Finish(CreateOperation op, SnapshotCopyState state, EngineError? error, string? statusMessage = null)
    {
        if (!op.TryMarkFinished()) return;
        var now = Time.GetUtcNow().UtcDateTime;
        lock (op.Gate)
        {
            op.Result.State = state;
            if (state == SnapshotCopyState.Completed || (state == SnapshotCopyState.Failed && op.Result.SnapshotId is not null))
                op.Result.CompletionTime = now;
            if (statusMessage is not null || error is not null) op.Result.StatusMessage = statusMessage ?? error!.Message;
            if (state == SnapshotCopyState.Completed && op.Result.Duration is { } duration)
                _durations.Add(op.Region, duration);
        }
        Emit(new SnapshotFinishedEvent(op.Request, op.CloneResult(), error));
        EndOutstanding();
    }

    /// <summary>Stopped by the timeout (TimedOut) or by the caller (Queued, or Pending once EC2 accepted it).</summary>
    internal void FinishStopped(CreateOperation op)
    {
        var id = op.SnapshotId;
        if (TimedOut) Finish(op, SnapshotCopyState.TimedOut, EngineErrors.CreateTimedOut(op.TargetId, id, op.Region, Timeout!.Value));
        else Finish(op, id is null ? SnapshotCopyState.Queued : SnapshotCopyState.Pending, EngineErrors.CreateStopped(op.TargetId, id, op.Region));
    }

    /// <summary>Snapshots in <paramref name="region"/> tagged with any of <paramref name="tokens"/> (Owner self). Null
    /// when the lookup failed.</summary>
    internal Task<List<Snapshot>?> FindByTokenAsync(string region, IReadOnlyList<string> tokens, CancellationToken cancellationToken) =>
        RequestTokenLookup.FindAsync(Calls, Clients, region, tokens, cancellationToken,
            why => Verbose($"Looking up snapshots by request token in {region} failed ({why})."));

    /// <summary>Several snapshots of one volume carry one request's token (a re-sent call): keep the reported one, else
    /// the oldest, delete the others. Returns the kept snapshot.</summary>
    internal async Task<Snapshot> KeepOneAsync(string region, string? reportedId, List<Snapshot> found)
    {
        var keep = RequestTokenLookup.ChooseKept(found, reportedId);
        foreach (var extra in RequestTokenLookup.Extras(found, keep))
        {
            var (outcome, failure) = await RequestTokenLookup.DeleteAsync(Calls, Clients, region, extra, CancellationToken.None).ConfigureAwait(false);
            if (outcome == DuplicateDeletion.Deleted)
            {
                Counters.DuplicateRemoved();
                Verbose($"Deleted duplicate snapshot {extra} of {keep.VolumeId} in {region} (a re-sent create call; kept {keep.SnapshotId}).");
            }
            else if (outcome == DuplicateDeletion.Failed)
            {
                Warn($"Could not delete the duplicate snapshot {extra} of {keep.VolumeId} in {region} ({Ec2Failure.Describe(failure!)}); delete it yourself (kept {keep.SnapshotId}).");
            }
        }
        return keep;
    }

    // ------------------------------------------------------------------ end of the job

    private protected override async Task OnFinishingAsync()
    {
        List<CreateOperation> operations;
        lock (_gate) operations = _operations.ToList();
        foreach (var group in operations.GroupBy(o => o.Region, StringComparer.Ordinal))
        {
            if (!StopToken.IsCancellationRequested && !Options.DryRun) await SweepDuplicatesAsync(group.Key, group.ToList()).ConfigureAwait(false);
            Verbose(Summary(group.Key, group.ToList()));
        }
    }

    /// <summary>One last look for snapshots sharing a request token and volume (the HTTP stack may re-send silently).</summary>
    private async Task SweepDuplicatesAsync(string region, List<CreateOperation> operations)
    {
        var accepted = operations.Where(o => o.SnapshotId is not null).ToList();
        if (accepted.Count == 0) return;
        var tokens = accepted.Select(o => o.Token).Distinct(StringComparer.Ordinal).ToList();
        var found = await FindByTokenAsync(region, tokens, CancellationToken.None).ConfigureAwait(false);
        if (found is null) return;
        var reported = new HashSet<string>(accepted.Select(o => o.SnapshotId!), StringComparer.Ordinal);
        foreach (var group in found.GroupBy(s => (Token: s.Tags?.FirstOrDefault(t => t.Key == CreateTagNames.RequestToken)?.Value ?? "", s.VolumeId)))
        {
            if (group.Count() < 2) continue;
            var keep = group.FirstOrDefault(s => reported.Contains(s.SnapshotId))?.SnapshotId;
            await KeepOneAsync(region, keep, group.ToList()).ConfigureAwait(false);
        }
    }

    private string Summary(string region, List<CreateOperation> operations)
    {
        var results = operations.Select(o => o.CloneResult()).ToList();
        int Count(SnapshotCopyState state) => results.Count(r => r.State == state);
        var elapsed = Time.GetUtcNow() - StartedAt;
        var calls = Counters.CallsIn(region);
        var started = Options.NoWait ? Count(SnapshotCopyState.Pending) : 0;
        var stopped = results.Count(r => r.State is SnapshotCopyState.Queued or SnapshotCopyState.Pending) - started;
        var text = Options.DryRun
            ? $"{region}: dry run of {results.Count} snapshots: {Count(SnapshotCopyState.DryRun)} would succeed, {Count(SnapshotCopyState.Failed)} failed"
            : $"{region}: {Count(SnapshotCopyState.Completed)} snapshots completed" + (Options.NoWait ? $", {started} started (not waited for)" : "") +
              $", {Count(SnapshotCopyState.Failed)} failed, {Count(SnapshotCopyState.TimedOut)} timed out" +
              (stopped > 0 ? $", {stopped} stopped" : "") + $" of {results.Count}";
        return text + $" in {elapsed:hh\\:mm\\:ss}; API calls in {region}: " +
               (calls.Count == 0 ? "none" : string.Join(", ", calls.OrderBy(p => p.Key).Select(p => $"{p.Key} {p.Value}"))) + ".";
    }

    // ------------------------------------------------------------------ progress

    private RegionProgress ProgressOf(string region, List<CreateOperation> operations)
    {
        var finished = operations.Select(o => (o.IsFinished, Result: o.CloneResult())).ToList();
        var inFlight = finished.Where(f => !f.IsFinished && f.Result.State == SnapshotCopyState.Pending && f.Result.SnapshotId is not null)
            .Select(f => new InFlightCopy
            {
                SourceSnapshotId = f.Result.VolumeId ?? f.Result.InstanceId ?? "",
                SnapshotId = f.Result.SnapshotId!,
                Progress = f.Result.Progress,
                StartTime = f.Result.StartTime ?? default,
            }).ToList();
        var total = finished.Count;
        var completed = finished.Count(f => f.Result.State is SnapshotCopyState.Completed or SnapshotCopyState.DryRun
                                            || (f.IsFinished && f.Result.State == SnapshotCopyState.Pending && Options.NoWait));
        var failed = finished.Count(f => f.Result.State is SnapshotCopyState.Failed or SnapshotCopyState.TimedOut);
        var queued = finished.Count(f => f.Result.State == SnapshotCopyState.Queued && !f.IsFinished);
        return new RegionProgress
        {
            DestinationRegion = region,
            SourceRegions = new[] { region },
            Total = total,
            Queued = queued,
            Copying = inFlight.Count,
            Completed = completed,
            Failed = failed,
            PercentComplete = RegionProgress.PercentDone(total, completed + failed, inFlight),
            EstimatedRemaining = Estimate(region, inFlight, queued),
            InFlight = inFlight,
        };
    }

    /// <summary>From the average observed duration: the slowest snapshot in flight, or the queue paced at EC2's rate
    /// plus one average duration, whichever is longer.</summary>
    private TimeSpan? Estimate(string region, List<InFlightCopy> inFlight, int queued)
    {
        if (inFlight.Count == 0 && queued == 0) return TimeSpan.Zero;
        if (Options.NoWait) return queued == 0 ? TimeSpan.Zero : TimeSpan.FromSeconds(queued / Engine.CreateRefillPerSecond);
        if (_durations.AverageSeconds(region) is not { } average) return null;
        var now = Time.GetUtcNow().UtcDateTime;
        var inFlightLeft = inFlight.Select(c => ObservedDurations.RemainingSeconds(average, c, now)).DefaultIfEmpty(0).Max();
        var queueLeft = queued == 0 ? 0 : queued / Engine.CreateRefillPerSecond + average;
        return TimeSpan.FromSeconds(Math.Max(0, Math.Max(inFlightLeft, queueLeft)));
    }
}
