using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Amazon.EC2;
using Amazon.EC2.Model;
using Amazon.Runtime;
using Avtomat.Ec2.Engine.Internal;

namespace Avtomat.Ec2.Engine.Scheduling;

/// <summary>
/// A kind of batched Describe call: one filter takes the keys (up to 200 values, EC2's limit per filter), the rest of
/// the request is fixed. Snapshots by id, copies of sources (by the source tag), snapshots by request token, volumes,
/// instances, a volume's pending and errored snapshots. What comes back goes to the shape's owner, key by key (a key
/// without items: EC2 listed nothing for it).
/// </summary>
internal abstract class LookupShape
{
    /// <summary>EC2 accepts up to 200 values per filter.</summary>
    public const int MaxKeysPerCall = 200;

    /// <summary>Unique within a scheduler (e.g. "snapshot-id", "copies-of:us-east-1").</summary>
    public abstract string Id { get; }
    public abstract string Action { get; }

    /// <summary>One page of the call for <paramref name="keys"/>.</summary>
    public abstract AmazonWebServiceRequest Build(IReadOnlyList<string> keys, string? nextToken);

    /// <summary>Sends one page; returns its items and the next page's token.</summary>
    public abstract Task<(IReadOnlyList<object> Items, string? NextToken)> SendAsync(IAmazonEC2 client, AmazonWebServiceRequest request,
        CancellationToken cancellationToken);

    /// <summary>The keys an item answers (a snapshot's id, its source tag, its token tag, a volume's id).</summary>
    public abstract IEnumerable<string> KeysOf(object item);

    /// <summary>What EC2 listed for <paramref name="key"/> in a call sent at <paramref name="at"/> (on the loop).</summary>
    public abstract void Answered(Scheduler scheduler, string key, IReadOnlyList<object> items, DateTimeOffset at);

    /// <summary>The call failed for these keys in a way no retry mends (the failure policy's FailItem).</summary>
    public abstract void Failed(Scheduler scheduler, IReadOnlyList<string> keys, Exception error);

    /// <summary>Keys worth adding to a call that goes anyway, when it has room (most useful first), with the job whose
    /// statistics count them.</summary>
    public virtual IEnumerable<(string Key, JobLink Link)> Fill(Scheduler scheduler, DateTimeOffset now) =>
        Enumerable.Empty<(string, JobLink)>();
}

/// <summary>A DescribeSnapshots lookup: the keys in one filter (<paramref name="keyFilter"/>), beside the shape's fixed
/// filters; Owner self unless the shape lists snapshots shared with the account too. Filters, not SnapshotId.N: a
/// missing key only lists fewer items, where SnapshotId.N would fail the whole call.</summary>
internal abstract class SnapshotsShape(string keyFilter, bool ownOnly) : LookupShape
{
    public sealed override string Action => "DescribeSnapshots";

    /// <summary>The filters besides the keys' (made anew for each request).</summary>
    protected virtual IEnumerable<Filter> FixedFilters => Enumerable.Empty<Filter>();

    public sealed override AmazonWebServiceRequest Build(IReadOnlyList<string> keys, string? nextToken) => new DescribeSnapshotsRequest
    {
        OwnerIds = ownOnly ? new List<string> { "self" } : null,
        Filters = new List<Filter> { new() { Name = keyFilter, Values = keys.ToList() } }.Concat(FixedFilters).ToList(),
        NextToken = nextToken,
    };

    public sealed override async Task<(IReadOnlyList<object> Items, string? NextToken)> SendAsync(IAmazonEC2 client, AmazonWebServiceRequest request,
        CancellationToken cancellationToken)
    {
        var response = await client.DescribeSnapshotsAsync((DescribeSnapshotsRequest)request, cancellationToken).ConfigureAwait(false);
        return ((IReadOnlyList<object>?)response.Snapshots ?? Array.Empty<object>(), response.NextToken);
    }

    public sealed override IEnumerable<string> KeysOf(object item) =>
        KeyOf((Snapshot)item) is { } key ? new[] { key } : Array.Empty<string>();

    public sealed override void Answered(Scheduler scheduler, string key, IReadOnlyList<object> items, DateTimeOffset at) =>
        Answered(scheduler, key, items.Cast<Snapshot>().ToList(), at);

    /// <summary>The key a snapshot answers (its id, a tag, its volume).</summary>
    protected abstract string? KeyOf(Snapshot snapshot);

    /// <summary>What EC2 listed for <paramref name="key"/> in a call sent at <paramref name="at"/> (on the loop).</summary>
    protected abstract void Answered(Scheduler scheduler, string key, IReadOnlyList<Snapshot> snapshots, DateTimeOffset at);
}

/// <summary>
/// The one batching mechanism: every Describe the scheduler makes goes through here. A want asks for a key to be
/// looked at within a window: not before <c>notBefore</c> (an answer from an earlier call would be stale), at the latest
/// at <c>dueBy</c>. A shape's call goes when its earliest want is due, and takes every key whose window has opened
/// (most urgent first, up to 200), then what its shape adds where there is room (<see cref="LookupShape.Fill"/>): so a
/// poll also answers the source checks, earlier-copy lookups and token lookups that are not due yet. A key is in one
/// call at a time. Throttling and transient failures are retried (backing off while they go on) for as long as someone
/// wants the key; a failure of the credentials ends the job whose credentials the call used, and the others go on with
/// their own. Owned by the scheduler's loop.
/// </summary>
internal sealed class Lookups
{
    private static readonly TimeSpan RetryBase = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan RetryMax = TimeSpan.FromSeconds(30);

    private readonly Scheduler _scheduler;
    private readonly Dictionary<string, Batch> _batches = new(StringComparer.Ordinal);

    public Lookups(Scheduler scheduler) => _scheduler = scheduler;

    /// <summary>Asks for <paramref name="key"/> to be looked at in [<paramref name="notBefore"/>, <paramref name="dueBy"/>]
    /// with <paramref name="link"/>'s credentials (or those of another job that wants it too).</summary>
    public void Want(LookupShape shape, string key, DateTimeOffset notBefore, DateTimeOffset dueBy, JobLink link)
    {
        var batch = BatchOf(shape);
        // A call already on its way, sent within the window, answers it.
        if (batch.InFlight.TryGetValue(key, out var call) && call.SentAt >= notBefore) return;
        if (!batch.Pending.TryGetValue(key, out var wants)) batch.Pending[key] = wants = new List<Wish>(1);
        wants.Add(new Wish(notBefore, dueBy, link));
        Reschedule(batch, dueBy < notBefore ? notBefore : dueBy);
    }

    /// <summary>Whether a call for <paramref name="key"/> is on its way or asked for.</summary>
    public bool IsWanted(LookupShape shape, string key) =>
        _batches.TryGetValue(shape.Id, out var batch) && (batch.Pending.ContainsKey(key) || batch.InFlight.ContainsKey(key));

    /// <summary>The job stopped, ended or failed here: its wants go (a key nobody else wants is not looked at).</summary>
    public void Forget(JobLink link)
    {
        foreach (var batch in _batches.Values)
        {
            List<string>? empty = null;
            foreach (var pair in batch.Pending)
            {
                pair.Value.RemoveAll(w => w.Link == link);
                if (pair.Value.Count == 0) (empty ??= new List<string>()).Add(pair.Key);
            }
            if (empty is not null) foreach (var key in empty) batch.Pending.Remove(key);
            if (batch.LastClient == link) batch.LastClient = null;
        }
    }

    /// <summary>Drops what <paramref name="key"/> waits for (its owner no longer needs it).</summary>
    public void Unwant(LookupShape shape, string key)
    {
        if (_batches.TryGetValue(shape.Id, out var batch)) batch.Pending.Remove(key);
    }

    private Batch BatchOf(LookupShape shape)
    {
        if (!_batches.TryGetValue(shape.Id, out var batch)) _batches[shape.Id] = batch = new Batch(this, shape);
        return batch;
    }

    private void Reschedule(Batch batch, DateTimeOffset at)
    {
        if (at < batch.RetryAt) at = batch.RetryAt;
        _scheduler.Agenda.NoLaterThan(batch, at);
    }

    /// <summary>Sends the calls that are due for <paramref name="batch"/>, then schedules its next.</summary>
    private void Fire(Batch batch, DateTimeOffset now)
    {
        if (now < batch.RetryAt)
        {
            _scheduler.Agenda.At(batch, batch.RetryAt);
            return;
        }
        while (true)
        {
            // Keys whose window is open and that are not on their way; drop wants whose job can no longer call.
            var open = new List<(string Key, DateTimeOffset DueBy, JobLink Link)>();
            var earliestClosed = DateTimeOffset.MaxValue;
            List<string>? empty = null;
            foreach (var pair in batch.Pending)
            {
                pair.Value.RemoveAll(w => !w.Link.Usable);
                if (pair.Value.Count == 0) { (empty ??= new List<string>()).Add(pair.Key); continue; }
                if (batch.InFlight.ContainsKey(pair.Key)) continue;
                var due = DateTimeOffset.MaxValue;
                JobLink? link = null;
                foreach (var want in pair.Value)
                {
                    if (want.NotBefore > now)
                    {
                        if (want.NotBefore < earliestClosed) earliestClosed = want.NotBefore;
                        continue;
                    }
                    if (want.DueBy < due) { due = want.DueBy; link = want.Link; }
                }
                if (link is not null) open.Add((pair.Key, due, link));
            }
            if (empty is not null) foreach (var key in empty) batch.Pending.Remove(key);
            var urgent = open.Count > 0 ? open.Min(o => o.DueBy) : DateTimeOffset.MaxValue;
            if (urgent > now)
            {
                var next = urgent < earliestClosed ? urgent : earliestClosed;
                if (next != DateTimeOffset.MaxValue) _scheduler.Agenda.At(batch, next);
                return;
            }

            var keys = open.OrderBy(o => o.DueBy).Take(LookupShape.MaxKeysPerCall).ToList();
            var counted = new HashSet<JobLink>(keys.Select(k => k.Link));
            var chosen = new List<string>(keys.Select(k => k.Key));
            if (chosen.Count < LookupShape.MaxKeysPerCall)
            {
                var taken = new HashSet<string>(chosen, StringComparer.Ordinal);
                foreach (var (key, link) in batch.Shape.Fill(_scheduler, now))
                {
                    if (chosen.Count >= LookupShape.MaxKeysPerCall) break;
                    if (!link.Usable || batch.InFlight.ContainsKey(key) || !taken.Add(key)) continue;
                    chosen.Add(key);
                    counted.Add(link);
                }
            }
            // The same credentials as last time while they can still be used: one job's client, not one per call.
            var client = batch.LastClient is { Usable: true } last && counted.Contains(last) ? last : keys[0].Link;
            var call = new LookupCall(this, batch, chosen);
            if (!_scheduler.Pace(Ec2Buckets.NameOf(batch.Shape.Action, call.Request), now, batch)) return;
            batch.LastClient = client;
            foreach (var key in chosen) batch.InFlight[key] = call;
            _scheduler.Launch(call, client, counted);
        }
    }

    private void Completed(LookupCall call, object? response, Exception? error)
    {
        var batch = call.Batch;
        foreach (var key in call.Keys)
            if (batch.InFlight.TryGetValue(key, out var current) && current == call) batch.InFlight.Remove(key);
        var now = _scheduler.Now;
        if (error is null)
        {
            batch.Failures = 0;
            batch.RetryAt = DateTimeOffset.MinValue;
            var items = (IReadOnlyList<object>)response!;
            var byKey = new Dictionary<string, List<object>>(StringComparer.Ordinal);
            foreach (var item in items)
                foreach (var key in batch.Shape.KeysOf(item))
                {
                    if (!byKey.TryGetValue(key, out var list)) byKey[key] = list = new List<object>(1);
                    list.Add(item);
                }
            foreach (var key in call.Keys)
            {
                // Answered: the wants whose window had opened when the call went.
                if (batch.Pending.TryGetValue(key, out var wants))
                {
                    wants.RemoveAll(w => w.NotBefore <= call.SentAt);
                    if (wants.Count == 0) batch.Pending.Remove(key);
                }
                batch.Shape.Answered(_scheduler, key, byKey.TryGetValue(key, out var found) ? found : (IReadOnlyList<object>)Array.Empty<object>(), call.SentAt);
            }
            Reschedule(batch, now);
            return;
        }

        var client = call.Client!;
        if (error is OperationCanceledException && client.Job.Ended)
        {
            // The job whose credentials it used ended meanwhile: the others go on with theirs.
            Reschedule(batch, now);
            return;
        }
        switch (FailurePolicy.Decide(error, batch.Shape.Action))
        {
            case FailureAction.Retry:
            case FailureAction.LookUpToken:
                batch.Failures++;
                if (FailurePolicy.IsThrottle(error)) client.Job.Counters.Throttled();
                client.Job.Counters.Retry();
                var delay = Backoff.Delay(batch.Failures - 1, RetryBase, RetryMax);
                batch.RetryAt = now + delay;
                foreach (var link in WantersOf(batch, call.Keys))
                    link.Job.Verbose($"{batch.Shape.Action} in {_scheduler.Region} failed ({FailurePolicy.Describe(error)}); trying again in {delay.TotalSeconds:0.0} s" +
                                     (batch.Failures > 1 ? $" ({batch.Failures} failures in a row)." : "."));
                Reschedule(batch, batch.RetryAt);
                return;
            case FailureAction.FailAccountRegion:
                _scheduler.AccountRegionFailed(client, FailurePolicy.RegionError(error, _scheduler.Region, _scheduler.Region, batch.Shape.Action));
                Reschedule(batch, now);
                return;
            default:
                foreach (var key in call.Keys) batch.Pending.Remove(key);
                batch.Shape.Failed(_scheduler, call.Keys, error);
                Reschedule(batch, now);
                return;
        }
    }

    private static IEnumerable<JobLink> WantersOf(Batch batch, IEnumerable<string> keys)
    {
        var links = new HashSet<JobLink>();
        foreach (var key in keys)
            if (batch.Pending.TryGetValue(key, out var wants))
                foreach (var want in wants) links.Add(want.Link);
        return links;
    }

    private readonly struct Wish(DateTimeOffset notBefore, DateTimeOffset dueBy, JobLink link)
    {
        public DateTimeOffset NotBefore { get; } = notBefore;
        public DateTimeOffset DueBy { get; } = dueBy;
        public JobLink Link { get; } = link;
    }

    private sealed class Batch(Lookups owner, LookupShape shape) : Due
    {
        public LookupShape Shape { get; } = shape;
        public Dictionary<string, List<Wish>> Pending { get; } = new(StringComparer.Ordinal);
        public Dictionary<string, LookupCall> InFlight { get; } = new(StringComparer.Ordinal);
        public int Failures { get; set; }
        public DateTimeOffset RetryAt { get; set; } = DateTimeOffset.MinValue;
        public JobLink? LastClient { get; set; }

        public override void OnDue(Scheduler scheduler, DateTimeOffset now) => owner.Fire(this, now);
    }

    private sealed class LookupCall : Call
    {
        private readonly Lookups _owner;

        public LookupCall(Lookups owner, Batch batch, List<string> keys)
        {
            _owner = owner;
            Batch = batch;
            Keys = keys;
            Request = batch.Shape.Build(keys, null);
        }

        public Batch Batch { get; }
        public List<string> Keys { get; }
        public override string Action => Batch.Shape.Action;
        public override object Request { get; }

        public override async Task<object?> SendAsync(IAmazonEC2 client, CancellationToken cancellationToken)
        {
            var items = new List<object>();
            var request = (AmazonWebServiceRequest)Request;
            while (true)
            {
                var (page, next) = await Batch.Shape.SendAsync(client, request, cancellationToken).ConfigureAwait(false);
                items.AddRange(page);
                if (string.IsNullOrEmpty(next)) return items;
                request = Batch.Shape.Build(Keys, next);
            }
        }

        public override void Done(Scheduler scheduler, object? response, Exception? error) => _owner.Completed(this, response, error);
    }
}
