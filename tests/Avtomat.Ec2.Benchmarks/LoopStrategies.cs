using Amazon.EC2;
using Amazon.EC2.Model;

namespace Avtomat.Ec2.Benchmarks;

/// <summary>What the two hand-written loops share: the copy call, the sources ready to copy per destination, and
/// (create-then-copy) a creation loop and the batched look-up that finds created snapshots completed.</summary>
internal sealed class SourceFeed
{
    private readonly RunContext _c;
    private readonly object _gate = new();
    private readonly LinkedList<(int Index, string SnapshotId)>[] _ready;
    private readonly Dictionary<string, int> _pendingCreated = new(StringComparer.Ordinal);
    private bool _allCreated;

    public SourceFeed(RunContext c)
    {
        _c = c;
        _ready = c.Workload.Destinations.Select(_ => new LinkedList<(int, string)>()).ToArray();
        if (!c.Workload.CreatesSnapshots)
        {
            for (var i = 0; i < c.SourceIds.Count; i++)
                foreach (var queue in _ready) queue.AddLast((i, c.SourceIds[i]));
            _allCreated = true;
        }
    }

    /// <summary>Every source is known completed (nothing more will become ready).</summary>
    public bool AllSourcesReady { get { lock (_gate) return _allCreated && _pendingCreated.Count == 0; } }

    /// <summary>Nothing left to copy to <paramref name="destination"/>, now or later.</summary>
    public bool Exhausted(int destination) { lock (_gate) return _allCreated && _pendingCreated.Count == 0 && _ready[destination].Count == 0; }

    public bool TryTake(int destination, out (int Index, string SnapshotId) item)
    {
        lock (_gate)
        {
            item = default;
            if (_ready[destination].First is not { } first) return false;
            item = first.Value;
            _ready[destination].RemoveFirst();
            return true;
        }
    }

    /// <summary>Back to the front (its turn comes first next time).</summary>
    public void PutBack(int destination, (int Index, string SnapshotId) item) { lock (_gate) _ready[destination].AddFirst(item); }

    /// <summary>Create-then-copy: CreateSnapshot for every volume in order, paced at EC2's documented CreateSnapshot rate
    /// (100 at once, then 5 a second; a careful script author's pacing, so the comparison is about copying), retrying a
    /// throttled call after 1 s.</summary>
    public async Task CreateAllAsync()
    {
        var client = _c.Clients.For(Workload.SourceRegion);
        for (var k = 0; k < _c.VolumeIds.Count; k++)
        {
            var earliest = _c.Start + TimeSpan.FromSeconds(Math.Max(0, k + 1 - Workload.CreateBurst) / Workload.CreatePerSecond);
            var now = _c.Clock.GetUtcNow();
            if (earliest > now) await Task.Delay(earliest - now, _c.Clock);
            while (true)
            {
                try
                {
                    var response = await client.CreateSnapshotAsync(new CreateSnapshotRequest { VolumeId = _c.VolumeIds[k], Description = "benchmark" });
                    lock (_gate) _pendingCreated[response.Snapshot.SnapshotId] = k;
                    break;
                }
                catch (Exception e)
                {
                    if (!RunContext.IsCode(e, "RequestLimitExceeded")) _c.Problem($"CreateSnapshot failed: {e.Message}");
                    await Task.Delay(TimeSpan.FromSeconds(1), _c.Clock);
                }
            }
        }
        lock (_gate) _allCreated = true;
    }

    /// <summary>Create-then-copy: one DescribeSnapshots (snapshot-id filter, 200 ids a call) over the created snapshots
    /// not yet seen completed; the completed ones become ready for every destination.</summary>
    public async Task RefreshAsync()
    {
        List<string> ids;
        lock (_gate) ids = _pendingCreated.Keys.ToList();
        var client = _c.Clients.For(Workload.SourceRegion);
        foreach (var chunk in ids.Chunk(200))
        {
            DescribeSnapshotsResponse response;
            try
            {
                response = await client.DescribeSnapshotsAsync(new DescribeSnapshotsRequest
                {
                    Filters = [new Filter { Name = "snapshot-id", Values = chunk.ToList() }],
                });
            }
            catch (Exception e)
            {
                if (!RunContext.IsCode(e, "RequestLimitExceeded")) _c.Problem($"DescribeSnapshots failed: {e.Message}");
                continue;
            }
            foreach (var s in response.Snapshots ?? [])
            {
                if (s.State?.Value != "completed") continue;
                lock (_gate)
                {
                    if (!_pendingCreated.Remove(s.SnapshotId, out var index)) continue;
                    foreach (var queue in _ready) queue.AddLast((index, s.SnapshotId));
                }
            }
        }
    }

    /// <summary>One CopySnapshot. Null when EC2 refused it for now (the window is full, or the call was throttled): the
    /// caller puts the item back.</summary>
    public async Task<(string? CopyId, bool WindowFull)> StartCopyAsync(int destination, string sourceId)
    {
        try
        {
            var response = await _c.Clients.ForCopy(_c.Workload.Destinations[destination]).CopySnapshotAsync(new CopySnapshotRequest
            {
                SourceRegion = Workload.SourceRegion, SourceSnapshotId = sourceId, Description = $"Copy of {sourceId}",
            });
            return (response.SnapshotId, false);
        }
        catch (Exception e)
        {
            if (RunContext.IsCode(e, "ResourceLimitExceeded")) return (null, true);
            if (!RunContext.IsCode(e, "RequestLimitExceeded")) _c.Problem($"CopySnapshot failed: {e.Message}");
            return (null, false);
        }
    }
}

/// <summary>
/// The fixed-batch baseline, per destination: take the next 20 sources, start a copy of each, wait until all of them
/// have completed, repeat. It waits as <c>aws ec2 wait snapshot-completed</c> does: one DescribeSnapshots of the batch's
/// pending copies (SnapshotId.N) every 15 s (without that waiter's 10-minute give-up). A copy refused with
/// ResourceLimitExceeded (outside copies hold slots) goes back to the front of the queue for the next batch.
/// Create-then-copy: a creation loop paced at EC2's rate, and a batched look-up of the created snapshots every 15 s;
/// a batch takes the sources ready then (up to 20).
/// </summary>
public sealed class FixedBatchStrategy : IStrategy
{
    public static readonly TimeSpan PollInterval = TimeSpan.FromSeconds(15);

    public string Name => "fixed-batch";

    public void Run(RunContext c)
    {
        var task = Task.Run(() => RunAsync(c));
        c.Driver.Run(() => false, () => task.IsCompleted, c.MaxVirtual);
        task.GetAwaiter().GetResult();
    }

    private static async Task RunAsync(RunContext c)
    {
        var feed = new SourceFeed(c);
        var tasks = new List<Task>();
        if (c.Workload.CreatesSnapshots)
        {
            tasks.Add(feed.CreateAllAsync());
            tasks.Add(Task.Run(async () =>
            {
                while (!feed.AllSourcesReady)
                {
                    await Task.Delay(PollInterval, c.Clock);
                    await feed.RefreshAsync();
                }
            }));
        }
        for (var d = 0; d < c.Workload.Destinations.Count; d++)
        {
            var destination = d;
            tasks.Add(Task.Run(() => BatchesAsync(c, feed, destination)));
        }
        await Task.WhenAll(tasks);
    }

    private static async Task BatchesAsync(RunContext c, SourceFeed feed, int d)
    {
        var client = c.Clients.For(c.Workload.Destinations[d]);
        while (!feed.Exhausted(d))
        {
            var started = new Dictionary<string, int>(StringComparer.Ordinal);
            var taken = 0;
            while (taken < Workload.Ec2CopyLimit && feed.TryTake(d, out var item))
            {
                taken++;
                var (copyId, _) = await feed.StartCopyAsync(d, item.SnapshotId);
                if (copyId is not null) { started[copyId] = item.Index; continue; }
                feed.PutBack(d, item); // refused: this batch is what EC2 took
                break;
            }
            if (started.Count == 0)
            {
                await Task.Delay(PollInterval, c.Clock);
                continue;
            }
            while (started.Count > 0)
            {
                await Task.Delay(PollInterval, c.Clock);
                DescribeSnapshotsResponse response;
                try
                {
                    response = await client.DescribeSnapshotsAsync(new DescribeSnapshotsRequest { SnapshotIds = started.Keys.ToList() });
                }
                catch (Exception e)
                {
                    if (!RunContext.IsCode(e, "RequestLimitExceeded")) c.Problem($"DescribeSnapshots failed: {e.Message}");
                    continue;
                }
                foreach (var s in response.Snapshots ?? [])
                {
                    var state = s.State?.Value;
                    if (state is not ("completed" or "error") || !started.Remove(s.SnapshotId, out var index)) continue;
                    if (state == "completed") c.Notice(index, d);
                    else c.Problem($"a copy ended in error: {s.StateMessage}");
                }
            }
        }
    }
}

/// <summary>
/// The peer's strategy: a window of 20 copies per destination. Each round checks every pending copy with a
/// DescribeSnapshots call of its own (SnapshotId.1 = that copy), starts new copies until 20 are pending (stopping at the
/// first ResourceLimitExceeded), then sleeps 30 s. It ends as soon as it has started its last copy: it does not wait for
/// the copies still pending then (the benchmark measures until they complete). Create-then-copy: a creation loop paced
/// at EC2's rate, and each round first looks the created snapshots up (batched) so the completed ones can be copied.
/// </summary>
public sealed class PeerStrategy : IStrategy
{
    public static readonly TimeSpan RoundInterval = TimeSpan.FromSeconds(30);

    public string Name => "peer";

    public void Run(RunContext c)
    {
        var task = Task.Run(() => RunAsync(c));
        c.Driver.Run(() => false, () => task.IsCompleted, c.MaxVirtual);
        task.GetAwaiter().GetResult();
    }

    private static async Task RunAsync(RunContext c)
    {
        var feed = new SourceFeed(c);
        var creating = c.Workload.CreatesSnapshots ? feed.CreateAllAsync() : Task.CompletedTask;
        var destinations = c.Workload.Destinations.Count;
        var pending = Enumerable.Range(0, destinations).Select(_ => new Dictionary<string, int>(StringComparer.Ordinal)).ToArray();
        while (true)
        {
            for (var d = 0; d < destinations; d++)
            {
                var client = c.Clients.For(c.Workload.Destinations[d]);
                foreach (var (copyId, index) in pending[d].ToList())
                {
                    try
                    {
                        var response = await client.DescribeSnapshotsAsync(new DescribeSnapshotsRequest { SnapshotIds = [copyId] });
                        var state = response.Snapshots?.FirstOrDefault()?.State?.Value;
                        if (state is not ("completed" or "error")) continue;
                        pending[d].Remove(copyId);
                        if (state == "completed") c.Notice(index, d);
                        else c.Problem("a copy ended in error");
                    }
                    catch (Exception e)
                    {
                        if (!RunContext.IsCode(e, "RequestLimitExceeded")) c.Problem($"DescribeSnapshots failed: {e.Message}");
                    }
                }
            }
            if (c.Workload.CreatesSnapshots) await feed.RefreshAsync();
            for (var d = 0; d < destinations; d++)
            {
                while (pending[d].Count < Workload.Ec2CopyLimit && feed.TryTake(d, out var item))
                {
                    var (copyId, _) = await feed.StartCopyAsync(d, item.SnapshotId);
                    if (copyId is not null) { pending[d][copyId] = item.Index; continue; }
                    feed.PutBack(d, item); // refused (window full, or throttled): next round
                    break;
                }
            }
            if (Enumerable.Range(0, destinations).All(feed.Exhausted)) break;
            await Task.Delay(RoundInterval, c.Clock);
        }
        await creating;
    }
}
