using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Amazon.EC2;
using Amazon.EC2.Model;
using Avtomat.Ec2.Engine.Internal;
using Avtomat.Ec2.Engine.Waiting;

namespace Avtomat.Ec2.Engine.Copy;

/// <summary>The outcome of checking one source snapshot: usable (completed) or an error of its own.</summary>
internal sealed class SourceCheck
{
    private SourceCheck(Snapshot? snapshot, EngineError? error)
    {
        Snapshot = snapshot;
        Error = error;
    }

    public Snapshot? Snapshot { get; }
    public EngineError? Error { get; }

    public static SourceCheck Usable(Snapshot snapshot) => new(snapshot, null);
    public static SourceCheck Failed(EngineError error) => new(null, error);
}

/// <summary>
/// Checks source snapshots in batches per source region (DescribeSnapshots with the <c>snapshot-id</c> filter, up to
/// 200 ids per call). Ids are collected for a short moment so a pipeline's ids batch up without holding the first
/// copies back. Ids not found are looked for again each poll within the visibility grace (a new snapshot can be
/// invisible for a while), then fail alone like sources in <c>error</c> and sources on an Outpost; <c>pending</c> sources are
/// waited for on the process-wide shared poller (no timeout of their own) and fail with their own error if they end in
/// <c>error</c>. Each id is checked once even when it goes to several destinations.
/// </summary>
internal sealed class SourceChecker
{
    /// <summary>How long the first id waits for others to join its batch.</summary>
    public static readonly TimeSpan CollectDelay = TimeSpan.FromMilliseconds(100);

    private readonly CopyJob _job;
    private readonly object _gate = new();
    private readonly Dictionary<string, RegionQueue> _regions = new(StringComparer.Ordinal);

    public SourceChecker(CopyJob job) => _job = job;

    private TimeProvider Time => _job.Time;
    private CancellationToken Stop => _job.StopToken;

    public Task<SourceCheck> CheckAsync(string region, string snapshotId)
    {
        lock (_gate)
        {
            if (!_regions.TryGetValue(region, out var queue)) _regions[region] = queue = new RegionQueue(region);
            if (queue.Results.TryGetValue(snapshotId, out var known)) return known.Task;
            var item = new TaskCompletionSource<SourceCheck>(TaskCreationOptions.RunContinuationsAsynchronously);
            queue.Results[snapshotId] = item;
            queue.Due[snapshotId] = Time.GetUtcNow() + CollectDelay;
            queue.Wake.TrySetResult(true);
            if (!queue.Running)
            {
                queue.Running = true;
                _ = Task.Run(() => RunAsync(queue));
            }
            return item.Task;
        }
    }

    private async Task RunAsync(RegionQueue queue)
    {
        try
        {
            while (true)
            {
                Task wake;
                DateTimeOffset? nextDue;
                List<string> batch;
                lock (_gate)
                {
                    if (queue.Due.Count == 0) { queue.Running = false; return; }
                    var now = Time.GetUtcNow();
                    // Everything new joins once the oldest new id has waited its collect delay; pending sources join when due.
                    batch = queue.Due.Where(p => p.Value <= now).Select(p => p.Key).ToList();
                    if (batch.Count > 0)
                        batch = queue.Due.Where(p => p.Value <= now + CollectDelay).OrderBy(p => p.Value)
                            .Select(p => p.Key).Take(SnapshotStatePoller.MaxIdsPerCall).ToList();
                    nextDue = batch.Count == 0 ? queue.Due.Values.Min() : null;
                    if (queue.Wake.Task.IsCompleted) queue.Wake = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
                    wake = queue.Wake.Task;
                }
                if (batch.Count == 0)
                {
                    var delay = nextDue!.Value - Time.GetUtcNow();
                    if (delay > TimeSpan.Zero)
                        await Task.WhenAny(Time.Delay(delay, Stop), wake).ConfigureAwait(false);
                    Stop.ThrowIfCancellationRequested();
                    continue;
                }
                await CheckBatchAsync(queue, batch).ConfigureAwait(false);
            }
        }
        catch (Exception ex)
        {
            List<TaskCompletionSource<SourceCheck>> left;
            lock (_gate)
            {
                left = queue.Due.Keys.Select(id => queue.Results[id]).ToList();
                queue.Due.Clear();
                queue.Running = false;
            }
            foreach (var item in left)
            {
                if (ex is OperationCanceledException) item.TrySetCanceled();
                else item.TrySetException(ex);
            }
        }
    }

    private async Task CheckBatchAsync(RegionQueue queue, List<string> batch)
    {
        DescribeSnapshotsResponse response;
        try
        {
            // No Owner filter: sources may be shared with this account.
            var request = new DescribeSnapshotsRequest
            {
                Filters = new List<Filter> { new() { Name = "snapshot-id", Values = batch } },
            };
            response = await _job.Calls.WithRetriesAsync("DescribeSnapshots", queue.Region,
                ct => _job.Clients.For(queue.Region).DescribeSnapshotsAsync(request, ct), Stop, request).ConfigureAwait(false);
        }
        catch (Exception ex) when (!Stop.IsCancellationRequested)
        {
            switch (FailurePolicy.Decide(ex, "DescribeSnapshots"))
            {
                case FailureAction.Retry:
                    // Retries ran out on a transient failure: try the same ids again on the next tick.
                    _job.Verbose($"Checking {batch.Count} source snapshot(s) in {queue.Region} failed ({FailurePolicy.Describe(ex)}); trying again.");
                    lock (_gate) foreach (var id in batch) queue.Due[id] = Time.GetUtcNow() + _job.PollInterval;
                    return;
                case FailureAction.FailAccountRegion:
                    foreach (var id in batch)
                        Fail(queue, id, new RegionFailedException(queue.Region, FailurePolicy.RegionError(ex, id, queue.Region, "DescribeSnapshots")));
                    return;
                default:
                    foreach (var id in batch) Resolve(queue, id, SourceCheck.Failed(EngineErrors.DescribeFailed(id, queue.Region, "DescribeSnapshots", ex)));
                    return;
            }
        }

        var found = new Dictionary<string, Snapshot>(StringComparer.Ordinal);
        foreach (var s in response.Snapshots ?? new List<Snapshot>())
            if (s.SnapshotId is not null) found[s.SnapshotId] = s;
        var stillPending = new List<string>();
        foreach (var id in batch)
        {
            if (!found.TryGetValue(id, out var snapshot))
            {
                // A snapshot EC2 has only just accepted (New-AvSnapshot -NoWait | Copy-AvSnapshot) may not be listed yet:
                // look again each poll, and call it missing only once the visibility grace has passed.
                var now = Time.GetUtcNow();
                bool gone;
                lock (_gate)
                {
                    if (!queue.MissingSince.TryGetValue(id, out var since)) queue.MissingSince[id] = since = now;
                    gone = now - since >= _job.VisibilityGrace;
                    if (!gone) queue.Due[id] = now + _job.PollInterval;
                }
                if (gone) Resolve(queue, id, SourceCheck.Failed(EngineErrors.SnapshotNotFound(id, queue.Region)));
                continue;
            }
            if (!string.IsNullOrEmpty(snapshot.OutpostArn))
            {
                Resolve(queue, id, SourceCheck.Failed(EngineErrors.SourceOnOutpost(id, snapshot.OutpostArn)));
                continue;
            }
            switch (snapshot.State?.Value)
            {
                case "completed":
                    Resolve(queue, id, SourceCheck.Usable(snapshot));
                    break;
                case "error":
                    Resolve(queue, id, SourceCheck.Failed(EngineErrors.SourceSnapshotFailed(id, queue.Region, snapshot.StateMessage)));
                    break;
                default: // pending, recoverable, recovering: wait until it can be copied
                    stillPending.Add(id);
                    break;
            }
        }
        foreach (var id in stillPending)
        {
            var snapshot = found[id];
            lock (_gate) queue.Due.Remove(id);
            _job.Verbose($"Source snapshot {id} in {queue.Region} is {snapshot.State?.Value} ({snapshot.Progress}); waiting for it to complete before copying.");
            _ = WaitForPendingAsync(queue, id);
        }
    }

    /// <summary>A pending source is waited for on the shared poller, as long as the job waits (no timeout of its own);
    /// one that ends in <c>error</c> fails with its own statusMessage.</summary>
    private async Task WaitForPendingAsync(RegionQueue queue, string id)
    {
        try
        {
            // Ends with the job too: once every copy waiting for this source ended (their region failed), nobody needs it.
            using var watch = CancellationTokenSource.CreateLinkedTokenSource(Stop, _job.BackgroundToken);
            var final = await _job.WaitForFinalStateAsync(queue.Region, id, null, watch.Token).ConfigureAwait(false);
            Resolve(queue, id, final.State?.Value == "completed"
                ? SourceCheck.Usable(final)
                : SourceCheck.Failed(EngineErrors.SourceSnapshotFailed(id, queue.Region, final.StateMessage)));
        }
        catch (SnapshotNotVisibleException)
        {
            Resolve(queue, id, SourceCheck.Failed(EngineErrors.SnapshotNotFound(id, queue.Region)));
        }
        catch (Exception ex)
        {
            Fail(queue, id, ex);
        }
    }

    /// <summary>Ends a check with an exception (cancelled by the stop; the account and region failed).</summary>
    private void Fail(RegionQueue queue, string id, Exception exception)
    {
        TaskCompletionSource<SourceCheck> item;
        lock (_gate)
        {
            queue.Due.Remove(id);
            item = queue.Results[id];
        }
        if (exception is OperationCanceledException) item.TrySetCanceled();
        else item.TrySetException(exception);
    }

    private void Resolve(RegionQueue queue, string id, SourceCheck check)
    {
        TaskCompletionSource<SourceCheck> item;
        lock (_gate)
        {
            queue.Due.Remove(id);
            item = queue.Results[id];
        }
        item.TrySetResult(check);
    }

    private sealed class RegionQueue
    {
        public RegionQueue(string region) => Region = region;
        public string Region { get; }
        public Dictionary<string, TaskCompletionSource<SourceCheck>> Results { get; } = new(StringComparer.Ordinal);
        /// <summary>Unresolved ids and when each should be (re)checked.</summary>
        public Dictionary<string, DateTimeOffset> Due { get; } = new(StringComparer.Ordinal);
        /// <summary>When each id was first not found (it may not be visible yet).</summary>
        public Dictionary<string, DateTimeOffset> MissingSince { get; } = new(StringComparer.Ordinal);
        public TaskCompletionSource<bool> Wake { get; set; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public bool Running { get; set; }
    }
}
