using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Amazon.EC2;
using Amazon.EC2.Model;
using Avtomat.Ec2.Engine.Internal;

namespace Avtomat.Ec2.Engine.Waiting;

/// <summary>
/// Waits for snapshots in one region to finish with ONE DescribeSnapshots call per tick for all of them, using the
/// <c>snapshot-id</c> filter (a missing id only returns fewer items; <c>SnapshotId.N</c> would fail the whole batch).
/// A snapshot not visible yet is waited for within a grace period (eventual consistency). Describe failures never end
/// the wait: the next tick tries again. Built to be shared by the copy engine and, later, New-/Wait-AvSnapshot.
/// </summary>
internal sealed class SnapshotStatePoller
{
    /// <summary>EC2 accepts up to 200 values per filter.</summary>
    public const int MaxIdsPerCall = 200;

    private readonly Func<IAmazonEC2> _client;
    private readonly Ec2Calls _calls;
    private readonly TimeProvider _time;
    private readonly TimeSpan _interval;
    private readonly TimeSpan _visibilityGrace;
    private readonly Action<string> _verbose;
    private readonly CancellationToken _stop;
    private readonly object _gate = new();
    private readonly Dictionary<string, Watch> _watches = new(StringComparer.Ordinal);
    private bool _running;
    private int _consecutiveFailures;

    public SnapshotStatePoller(string region, Func<IAmazonEC2> client, Ec2Calls calls, TimeProvider time, TimeSpan interval,
        TimeSpan visibilityGrace, Action<string> verbose, CancellationToken stop)
    {
        Region = region;
        _client = client;
        _calls = calls;
        _time = time;
        _interval = interval > TimeSpan.Zero ? interval : TimeSpan.FromMilliseconds(100);
        _visibilityGrace = visibilityGrace;
        _verbose = verbose;
        _stop = stop;
    }

    public string Region { get; }

    public int Watching { get { lock (_gate) return _watches.Count; } }

    /// <summary>Completes with the snapshot once it is <c>completed</c> or <c>error</c>; <paramref name="onUpdate"/> sees
    /// every observation (progress). Throws <see cref="SnapshotNotVisibleException"/> when it stays invisible past the grace.</summary>
    public Task<Snapshot> WaitForFinalStateAsync(string snapshotId, Action<Snapshot>? onUpdate, CancellationToken cancellationToken)
    {
        var watch = new Watch(snapshotId, onUpdate, _time.GetUtcNow());
        lock (_gate)
        {
            if (_watches.TryGetValue(snapshotId, out var existing)) return existing.Completion.Task;
            _watches[snapshotId] = watch;
            if (!_running)
            {
                _running = true;
                _ = Task.Run(RunAsync);
            }
        }
        if (cancellationToken.CanBeCanceled)
        {
            cancellationToken.Register(() =>
            {
                lock (_gate) if (_watches.TryGetValue(snapshotId, out var w) && w == watch) _watches.Remove(snapshotId);
                watch.Completion.TrySetCanceled(cancellationToken);
            });
        }
        return watch.Completion.Task;
    }

    private async Task RunAsync()
    {
        try
        {
            while (true)
            {
                await _time.Delay(_interval, _stop).ConfigureAwait(false);
                List<Watch> batch;
                lock (_gate)
                {
                    if (_watches.Count == 0) { _running = false; return; }
                    batch = _watches.Values.ToList();
                }
                for (var i = 0; i < batch.Count; i += MaxIdsPerCall)
                    await PollAsync(batch.Skip(i).Take(MaxIdsPerCall).ToList()).ConfigureAwait(false);
            }
        }
        catch (Exception ex)
        {
            // Stopped (or an unexpected bug): release every waiter instead of leaving it hanging.
            List<Watch> left;
            lock (_gate)
            {
                left = _watches.Values.ToList();
                _watches.Clear();
                _running = false;
            }
            foreach (var w in left)
            {
                if (ex is OperationCanceledException) w.Completion.TrySetCanceled();
                else w.Completion.TrySetException(ex);
            }
        }
    }

    private async Task PollAsync(List<Watch> batch)
    {
        DescribeSnapshotsResponse response;
        try
        {
            var request = new DescribeSnapshotsRequest
            {
                OwnerIds = new List<string> { "self" },
                Filters = new List<Filter> { new() { Name = "snapshot-id", Values = batch.Select(w => w.SnapshotId).ToList() } },
            };
            // One attempt per tick: the next tick is the retry, so a failing Describe never stalls or aborts the job.
            response = await _calls.OnceAsync("DescribeSnapshots", Region,
                ct => _client().DescribeSnapshotsAsync(request, ct), _stop).ConfigureAwait(false);
            _consecutiveFailures = 0;
        }
        catch (Exception ex) when (!_stop.IsCancellationRequested)
        {
            _consecutiveFailures++;
            if (Ec2Failure.Classify(ex) == FailureKind.Throttled) _calls.Counters.Throttled();
            _verbose($"DescribeSnapshots in {Region} failed ({Ec2Failure.Describe(ex)}); trying again on the next poll" +
                     (_consecutiveFailures > 1 ? $" ({_consecutiveFailures} failures in a row)." : "."));
            // Back off a little more when EC2 keeps failing (throttling), without ever giving up.
            if (_consecutiveFailures > 1)
                await _time.Delay(Backoff.Delay(_consecutiveFailures - 2, _interval, TimeSpan.FromSeconds(30)), _stop).ConfigureAwait(false);
            return;
        }

        var seen = new Dictionary<string, Snapshot>(StringComparer.Ordinal);
        foreach (var s in response.Snapshots ?? new List<Snapshot>())
            if (s.SnapshotId is not null) seen[s.SnapshotId] = s;
        var now = _time.GetUtcNow();
        foreach (var watch in batch)
        {
            if (seen.TryGetValue(watch.SnapshotId, out var snapshot))
            {
                watch.LastSeen = now;
                try { watch.OnUpdate?.Invoke(snapshot); }
                catch { /* an observer's bug must not stop the poller */ }
                var state = snapshot.State?.Value;
                if (state == "completed" || state == "error") Finish(watch, () => watch.Completion.TrySetResult(snapshot));
            }
            else if (now - (watch.LastSeen ?? watch.Since) > _visibilityGrace)
            {
                Finish(watch, () => watch.Completion.TrySetException(
                    new SnapshotNotVisibleException(watch.SnapshotId, Region, watch.LastSeen is not null)));
            }
        }
    }

    private void Finish(Watch watch, Action complete)
    {
        lock (_gate) if (_watches.TryGetValue(watch.SnapshotId, out var w) && w == watch) _watches.Remove(watch.SnapshotId);
        complete();
    }

    private sealed class Watch
    {
        public Watch(string snapshotId, Action<Snapshot>? onUpdate, DateTimeOffset since)
        {
            SnapshotId = snapshotId;
            OnUpdate = onUpdate;
            Since = since;
        }

        public string SnapshotId { get; }
        public Action<Snapshot>? OnUpdate { get; }
        public DateTimeOffset Since { get; }
        public DateTimeOffset? LastSeen { get; set; }
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
