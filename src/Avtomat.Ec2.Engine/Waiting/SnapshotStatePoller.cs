using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Amazon.EC2;
using Amazon.EC2.Model;
using Avtomat.Ec2.Engine.Internal;

namespace Avtomat.Ec2.Engine.Waiting;

/// <summary>One job's membership in a shared poller: its client, counters, poll interval, visibility grace and verbose
/// sink. The poller calls EC2 with the client of one subscriber that currently has ids in the batch.</summary>
internal sealed class PollSubscriber
{
    public PollSubscriber(Func<IAmazonEC2> client, Ec2Calls calls, TimeSpan interval, TimeSpan visibilityGrace,
        Action<string> verbose, CancellationToken stop, TimeSpan? maxInterval = null)
    {
        Client = client;
        Calls = calls;
        Interval = interval > TimeSpan.Zero ? interval : TimeSpan.FromMilliseconds(100);
        MaxInterval = maxInterval is { } max && max > Interval ? max : Interval > JobOptions.DefaultMaxPollInterval ? Interval : JobOptions.DefaultMaxPollInterval;
        VisibilityGrace = visibilityGrace >= TimeSpan.Zero ? visibilityGrace : TimeSpan.FromSeconds(30);
        Verbose = verbose;
        Stop = stop;
    }

    public Func<IAmazonEC2> Client { get; }
    public Ec2Calls Calls { get; }
    /// <summary>The shortest time between two polls (the floor).</summary>
    public TimeSpan Interval { get; }
    /// <summary>The longest time between two polls while something is watched (the ceiling).</summary>
    public TimeSpan MaxInterval { get; }
    public TimeSpan VisibilityGrace { get; }
    public Action<string> Verbose { get; }
    /// <summary>The job's stop: once cancelled its client is not used any more.</summary>
    public CancellationToken Stop { get; }
}

/// <summary>
/// The process-wide poller of one (endpoint, account, region): every snapshot that any job in the process
/// waits for there is covered by ONE DescribeSnapshots call per tick (the <c>snapshot-id</c> filter, up to 200 ids per
/// call; a missing id only returns fewer items, where <c>SnapshotId.N</c> would fail the whole batch). No Owner filter,
/// so snapshots shared with the account (copy sources) are covered too. It polls when the earliest watched snapshot is
/// expected to be finished (<see cref="PollSchedule"/>), no sooner than the smallest poll interval of the jobs it serves
/// and no later than their smallest ceiling. The call goes out with the client of a job that has ids in the batch (the same one while it stays;
/// another once it ends) and is counted in every such job's statistics. A snapshot not visible yet is waited for
/// within its job's grace period (eventual consistency). What a failed Describe means is the failure policy's call:
/// what it retries, the next tick tries again (backing off while it keeps failing); anything else (expired credentials,
/// not authorized, region not enabled) ends the waits of the job whose call failed with a <see cref="RegionFailedException"/>,
/// and the next tick goes on with another job's client. Pending snapshots are waited for as long as their job waits.
/// </summary>
internal sealed class SnapshotStatePoller
{
    /// <summary>EC2 accepts up to 200 values per filter.</summary>
    public const int MaxIdsPerCall = 200;

    private readonly TimeProvider _time;
    private readonly object _gate = new();
    private readonly Dictionary<string, List<Watch>> _watches = new(StringComparer.Ordinal);
    private readonly PollSchedule _schedule = new();
    private PollSubscriber? _current;
    private bool _running;
    private int _consecutiveFailures;
    private DateTimeOffset _lastPoll;
    private TaskCompletionSource<bool> _wake = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public SnapshotStatePoller(string key, string region, TimeProvider time)
    {
        Key = key;
        Region = region;
        _time = time;
    }

    public string Key { get; }
    public string Region { get; }

    /// <summary>Distinct snapshot ids being watched.</summary>
    public int Watching { get { lock (_gate) return _watches.Count; } }

    /// <summary>Describe calls made by this poller (all jobs together).</summary>
    public int Polls { get; private set; }

    /// <summary>Completes with the snapshot once it is <c>completed</c> or <c>error</c>; <paramref name="onUpdate"/> sees
    /// every observation (progress). Throws <see cref="SnapshotNotVisibleException"/> when it stays invisible past the
    /// subscriber's grace; cancelled by <paramref name="cancellationToken"/>.</summary>
    /// <param name="kind">What the snapshot is ("copy", "snapshot"): durations are learned per kind.</param>
    public Task<Snapshot> WaitForFinalStateAsync(string snapshotId, PollSubscriber subscriber, Action<Snapshot>? onUpdate,
        CancellationToken cancellationToken, string kind = "snapshot")
    {
        if (cancellationToken.IsCancellationRequested) return Task.FromCanceled<Snapshot>(cancellationToken);
        var watch = new Watch(snapshotId, subscriber, onUpdate, _time.GetUtcNow(), kind);
        lock (_gate)
        {
            if (!_watches.TryGetValue(snapshotId, out var list)) _watches[snapshotId] = list = new List<Watch>();
            list.Add(watch);
            if (!_running)
            {
                _running = true;
                _lastPoll = _time.GetUtcNow();
                _ = Task.Run(RunAsync);
            }
            else
            {
                // It may be due before the poller's next look (nothing learned about it yet).
                _wake.TrySetResult(true);
            }
        }
        if (cancellationToken.CanBeCanceled)
        {
            watch.Registration = cancellationToken.Register(() =>
            {
                Remove(watch);
                watch.Completion.TrySetCanceled(cancellationToken);
            });
        }
        return watch.Completion.Task;
    }

    private void Remove(Watch watch)
    {
        lock (_gate)
        {
            if (_watches.TryGetValue(watch.SnapshotId, out var list) && list.Remove(watch) && list.Count == 0)
                _watches.Remove(watch.SnapshotId);
        }
    }

    private async Task RunAsync()
    {
        while (true)
        {
            try
            {
                DateTimeOffset due;
                Task wake;
                lock (_gate)
                {
                    if (_watches.Count == 0) { _running = false; return; }
                    due = NextPollLocked();
                    if (_wake.Task.IsCompleted) _wake = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
                    wake = _wake.Task;
                }
                var wait = due - _time.GetUtcNow();
                if (wait > TimeSpan.Zero)
                {
                    using var sleep = new CancellationTokenSource();
                    var delay = _time.Delay(wait, sleep.Token);
                    if (await Task.WhenAny(delay, wake).ConfigureAwait(false) != delay)
                    {
                        sleep.Cancel();
                        continue; // a new watch: work out the next look again
                    }
                }
                List<string> ids;
                lock (_gate)
                {
                    if (_watches.Count == 0) { _running = false; return; }
                    ids = _watches.Keys.ToList();
                }
                _lastPoll = _time.GetUtcNow();
                for (var i = 0; i < ids.Count; i += MaxIdsPerCall)
                    await PollAsync(ids.Skip(i).Take(MaxIdsPerCall).ToList()).ConfigureAwait(false);
            }
            catch (Exception)
            {
                // A bug must not leave waiters hanging forever nor kill the process: look again after the floor.
                await _time.Delay(TimeSpan.FromSeconds(1)).ConfigureAwait(false);
            }
        }
    }

    /// <summary>The earliest time any watch is due, within the floor and the ceiling of the jobs served.</summary>
    private DateTimeOffset NextPollLocked()
    {
        var watches = _watches.Values.SelectMany(l => l).ToList();
        var floor = watches.Min(w => w.Subscriber.Interval);
        var ceiling = watches.Min(w => w.Subscriber.MaxInterval);
        var now = _time.GetUtcNow();
        var due = _lastPoll + ceiling;
        foreach (var watch in watches)
        {
            var expected = _schedule.ExpectedDuration(watch.Kind, watch.SizeGiB, watch.Progress, watch.ObservedAt - watch.Started);
            watch.ExpectedEnd = expected.Duration is { } total ? (watch.Started ?? watch.Since) + total : null;
            var at = PollSchedule.Due(watch.Started ?? watch.Since, expected, watch.OverdueLooks, _lastPoll, now, floor);
            if (at < due) due = at;
        }
        var earliest = _lastPoll + floor;
        return due < earliest ? earliest : due;
    }

    private async Task PollAsync(List<string> ids)
    {
        List<Watch> batch;
        lock (_gate) batch = ids.Where(_watches.ContainsKey).SelectMany(id => _watches[id]).ToList();
        var live = batch.Where(w => !w.Subscriber.Stop.IsCancellationRequested).ToList();
        if (live.Count == 0) return;
        var subscribers = live.Select(w => w.Subscriber).Distinct().ToList();
        var chosen = _current is { } current && subscribers.Contains(current) ? current : subscribers[0];
        _current = chosen;
        var request = new DescribeSnapshotsRequest
        {
            Filters = new List<Filter> { new() { Name = "snapshot-id", Values = live.Select(w => w.SnapshotId).Distinct(StringComparer.Ordinal).ToList() } },
        };
        DescribeSnapshotsResponse response;
        try
        {
            foreach (var other in subscribers.Where(s => s != chosen)) other.Calls.Counters.Call("DescribeSnapshots", Region);
            Polls++;
            // One attempt per tick: the next tick is the retry, so a failing Describe never stalls or aborts a job.
            response = await chosen.Calls.OnceAsync("DescribeSnapshots", Region,
                ct => chosen.Client().DescribeSnapshotsAsync(request, ct), chosen.Stop, request /* pacing: the request picks the filtered bucket */).ConfigureAwait(false);
            _consecutiveFailures = 0;
        }
        catch (Exception ex)
        {
            if (chosen.Stop.IsCancellationRequested) return; // that job ended mid-call; another client is used next tick
            if (FailurePolicy.Decide(ex, "DescribeSnapshots") != FailureAction.Retry)
            {
                // Nothing this job's credentials ask can succeed here: end its waits (the job fails its items and frees
                // their slots); other jobs' waits go on with their own clients.
                var error = FailurePolicy.Decide(ex, "DescribeSnapshots") == FailureAction.FailAccountRegion
                    ? FailurePolicy.RegionError(ex, Region, Region, "DescribeSnapshots")
                    : EngineErrors.DescribeFailed(Region, Region, "DescribeSnapshots", ex);
                foreach (var watch in live.Where(w => w.Subscriber == chosen))
                    Finish(watch, () => watch.Completion.TrySetException(new RegionFailedException(Region, error.For(watch.SnapshotId))));
                if (_current == chosen) _current = null;
                return;
            }
            _consecutiveFailures++;
            if (FailurePolicy.IsThrottle(ex)) chosen.Calls.Counters.Throttled();
            chosen.Verbose($"DescribeSnapshots in {Region} failed ({FailurePolicy.Describe(ex)}); trying again on the next poll" +
                           (_consecutiveFailures > 1 ? $" ({_consecutiveFailures} failures in a row)." : "."));
            // Back off a little more when EC2 keeps failing (throttling).
            if (_consecutiveFailures > 1)
                await _time.Delay(Backoff.Delay(_consecutiveFailures - 2, chosen.Interval, TimeSpan.FromSeconds(30))).ConfigureAwait(false);
            return;
        }

        var seen = new Dictionary<string, Snapshot>(StringComparer.Ordinal);
        foreach (var s in response.Snapshots ?? new List<Snapshot>())
            if (s.SnapshotId is not null) seen[s.SnapshotId] = s;
        var now = _time.GetUtcNow();
        foreach (var watch in live)
        {
            if (seen.TryGetValue(watch.SnapshotId, out var snapshot))
            {
                watch.LastSeen = now;
                if (watch.ExpectedEnd is { } end && now >= end) watch.OverdueLooks++;
                var lastRunning = watch.ObservedAt;
                watch.Observe(snapshot, now);
                try { watch.OnUpdate?.Invoke(snapshot); }
                catch { /* an observer's bug must not stop the poller */ }
                var state = snapshot.State?.Value;
                // It ended between the last look that saw it running and this one: take the middle.
                if (state == "completed" && watch.Started is { } started)
                    _schedule.Finished(watch.Kind, watch.SizeGiB, (lastRunning is { } before ? before + TimeSpan.FromTicks((now - before).Ticks / 2) : now) - started);
                if (state == "completed" || state == "error") Finish(watch, () => watch.Completion.TrySetResult(snapshot));
            }
            else if (now - (watch.LastSeen ?? watch.Since) > watch.Subscriber.VisibilityGrace)
            {
                Finish(watch, () => watch.Completion.TrySetException(
                    new SnapshotNotVisibleException(watch.SnapshotId, Region, watch.LastSeen is not null)));
            }
        }
    }

    private void Finish(Watch watch, Action complete)
    {
        Remove(watch);
        watch.Registration.Dispose();
        complete();
    }

    private sealed class Watch
    {
        public Watch(string snapshotId, PollSubscriber subscriber, Action<Snapshot>? onUpdate, DateTimeOffset since, string kind)
        {
            SnapshotId = snapshotId;
            Subscriber = subscriber;
            OnUpdate = onUpdate;
            Since = since;
            Kind = kind;
        }

        public string Kind { get; }
        /// <summary>EC2's StartTime once seen.</summary>
        public DateTimeOffset? Started { get; private set; }
        public int? SizeGiB { get; private set; }
        /// <summary>EC2's progress (percent) at <see cref="ObservedAt"/>.</summary>
        public double? Progress { get; private set; }
        public DateTimeOffset? ObservedAt { get; private set; }
        /// <summary>When the schedule last expected it to end, and how many looks since found it still running.</summary>
        public DateTimeOffset? ExpectedEnd { get; set; }
        public int OverdueLooks { get; set; }

        public void Observe(Snapshot snapshot, DateTimeOffset now)
        {
            if (snapshot.StartTime is { } start) Started = new DateTimeOffset(DateTime.SpecifyKind(start, DateTimeKind.Utc));
            if (snapshot.VolumeSize is > 0) SizeGiB = snapshot.VolumeSize;
            if (snapshot.Progress is { } text && double.TryParse(text.TrimEnd('%', ' '), System.Globalization.NumberStyles.Float,
                    System.Globalization.CultureInfo.InvariantCulture, out var percent))
                Progress = percent;
            ObservedAt = now;
        }

        public string SnapshotId { get; }
        public PollSubscriber Subscriber { get; }
        public Action<Snapshot>? OnUpdate { get; }
        public DateTimeOffset Since { get; }
        public DateTimeOffset? LastSeen { get; set; }
        public CancellationTokenRegistration Registration { get; set; }
        public TaskCompletionSource<Snapshot> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}

/// <summary>A snapshot stayed invisible to DescribeSnapshots for longer than the grace period (or disappeared).</summary>
internal sealed class SnapshotNotVisibleException : Exception
{
    public SnapshotNotVisibleException(string snapshotId, string region, bool disappeared)
        : base(disappeared
            ? $"The snapshot '{snapshotId}' in {region} is no longer returned by DescribeSnapshots (deleted?)."
            : $"The snapshot '{snapshotId}' in {region} did not become visible to DescribeSnapshots.")
    {
        SnapshotId = snapshotId;
        Disappeared = disappeared;
    }

    public string SnapshotId { get; }
    public bool Disappeared { get; }
}
