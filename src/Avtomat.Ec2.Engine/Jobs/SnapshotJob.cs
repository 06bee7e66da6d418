using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Amazon.EC2.Model;
using Avtomat.Ec2.Engine.Accounts;
using Avtomat.Ec2.Engine.Copy;
using Avtomat.Ec2.Engine.Internal;
using Avtomat.Ec2.Engine.Waiting;

namespace Avtomat.Ec2.Engine;

/// <summary>
/// What every job (copy, create, wait) is: its items, the event queue the cmdlet drains on the pipeline thread, the
/// job's stop (Ctrl+C or timeout) with a grace for calls already sent, the count of outstanding work, results
/// (accepted, observed, finished — exactly one finished event per item), the end of an account and region that failed
/// for good, duplicate removal by request token, progress and the end of the job. Thread-safe; events are meant to be
/// taken on one thread.
/// </summary>
/// <typeparam name="TRequest">What the caller asks for (the events' Request).</typeparam>
/// <typeparam name="TResult">What the job reports per item.</typeparam>
public abstract class SnapshotJob<TRequest, TResult> : IDisposable, IStartingJob where TRequest : class where TResult : class
{
    /// <summary>How long a call that creates a snapshot, already sent, may still run after a stop, so its id is not lost.</summary>
    internal static readonly TimeSpan SentCallGrace = TimeSpan.FromSeconds(20);

    /// <summary>New snapshots show up in DescribeSnapshots within seconds: how long to wait before looking for twins.</summary>
    internal static readonly TimeSpan TwinVisibility = TimeSpan.FromSeconds(5);

    private readonly BlockingCollection<JobEvent<TRequest>> _events = new(new ConcurrentQueue<JobEvent<TRequest>>());
    private readonly CancellationTokenSource _cancel;
    private readonly CancellationTokenSource? _timeout;
    private readonly CancellationTokenSource _stop;
    private readonly CancellationTokenSource _sentCalls = new();
    private readonly CancellationTokenSource _background = new();
    private readonly object _gate = new();
    private readonly List<JobItem> _items = new();
    private readonly Dictionary<string, AccountRegionLease> _leases = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, PollSubscriber> _subscribers = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, EngineError> _failedRegions = new(StringComparer.Ordinal);
    /// <summary>Jobs that make snapshots look for duplicates by request token when they end.</summary>
    private readonly bool _sweepsDuplicates;
    private readonly TokenLookups _tokenLookups;
    private ITimer? _sentCallTimer;
    private int _outstanding;
    private bool _addingCompleted;
    private int _finalizing;
    private int _finalized;
    private int _running;
    private int _leasesReleased;
    private int _disposed;
    private int _callsInFlight;
    private long _lastResendTicks;

    private protected SnapshotJob(SnapshotEngine engine, IEc2ClientSource clients, JobOptions options, CancellationToken cancellationToken)
    {
        Engine = engine;
        Clients = clients;
        // Learned once, here (on the caller's thread): the key of everything shared per account and region.
        Account = clients.Account;
        Time = engine.TimeProvider;
        StartedAt = Time.GetUtcNow();
        Timeout = options.Timeout is { } t && t > TimeSpan.Zero && t != System.Threading.Timeout.InfiniteTimeSpan ? t : null;
        PollInterval = options.PollInterval > TimeSpan.Zero ? options.PollInterval : TimeSpan.FromSeconds(1);
        MaxPollInterval = options.MaxPollInterval > PollInterval ? options.MaxPollInterval : PollInterval;
        VisibilityGrace = options.VisibilityGrace >= TimeSpan.Zero ? options.VisibilityGrace : TimeSpan.FromSeconds(30);
        MaxRetries = Math.Max(0, options.MaxRetries);
        DryRun = options is StartJobOptions { DryRun: true };
        NoWait = options is StartJobOptions { NoWait: true };
        _sweepsDuplicates = options is StartJobOptions && !DryRun;
        _cancel = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        if (Timeout is { } limit) _timeout = Time.CreateCancellationTokenSource(limit);
        _stop = _timeout is null
            ? CancellationTokenSource.CreateLinkedTokenSource(_cancel.Token)
            : CancellationTokenSource.CreateLinkedTokenSource(_cancel.Token, _timeout.Token);
        // After a stop, calls already sent get a bounded grace to finish (the ids they return must not be lost).
        _stop.Token.Register(() =>
        {
            try { _sentCallTimer = Time.CreateTimer(_ => SafeCancel(_sentCalls), null, SentCallGrace, System.Threading.Timeout.InfiniteTimeSpan); }
            catch (ObjectDisposedException) { }
        });
        _tokenLookups = new TokenLookups(this);
        Counters = new JobCounters();
        Calls = new Ec2Calls(Time, Counters, MaxRetries, message => Verbose(message), Shared,
            new EndpointHealth(Time, options.UnreachableAfter > TimeSpan.Zero ? options.UnreachableAfter : TimeSpan.FromMinutes(2), clients.EndpointKey));
    }

    internal SnapshotEngine Engine { get; }
    internal IEc2ClientSource Clients { get; }
    internal string Account { get; }
    internal TimeProvider Time { get; }
    internal DateTimeOffset StartedAt { get; }
    internal TimeSpan? Timeout { get; }
    internal TimeSpan PollInterval { get; }
    internal TimeSpan MaxPollInterval { get; }
    internal TimeSpan VisibilityGrace { get; }
    internal int MaxRetries { get; }
    /// <summary>Check each call with EC2 and make nothing (jobs that make snapshots).</summary>
    internal bool DryRun { get; }
    /// <summary>Finish each item Pending as soon as EC2 accepted it (jobs that make snapshots).</summary>
    internal bool NoWait { get; }
    internal JobCounters Counters { get; }
    internal Ec2Calls Calls { get; }
    internal ObservedDurations Durations { get; } = new();
    internal CancellationToken StopToken => _stop.Token;
    /// <summary>For calls that create snapshots once sent: cancelled <see cref="SentCallGrace"/> after a stop.</summary>
    internal CancellationToken SentCallToken => _sentCalls.Token;
    /// <summary>Cancelled when the job ends: background watches (NoWait) stop then.</summary>
    internal CancellationToken BackgroundToken => _background.Token;
    internal bool TimedOut => _timeout is not null && _timeout.IsCancellationRequested && !_cancel.IsCancellationRequested;

    // ------------------------------------------------------------------ public surface

    /// <summary>No more requests will be added.</summary>
    public void CompleteAdding()
    {
        lock (_gate)
        {
            if (_addingCompleted) return;
            _addingCompleted = true;
        }
        FinalizeIfDone();
    }

    /// <summary>Takes the next event, waiting up to <paramref name="timeout"/> (zero: do not wait). False when none
    /// arrived in time, or when the job has finished and every event was taken (then <see cref="IsFinished"/> is true).</summary>
    public bool TryTake(out JobEvent<TRequest>? jobEvent, TimeSpan timeout)
    {
        jobEvent = null;
        try
        {
            if (_events.TryTake(out var item, timeout))
            {
                jobEvent = item;
                return true;
            }
        }
        catch (ObjectDisposedException) { }
        return false;
    }

    /// <summary>Adding is complete, every request reached its final state and every event was taken.</summary>
    public bool IsFinished => _events.IsCompleted;

    /// <summary>The latest state per region (coalesced; cheap to call every 250–500 ms).</summary>
    public IReadOnlyList<RegionProgress> GetProgress() =>
        Items().GroupBy(i => i.Region, StringComparer.Ordinal).Select(g => ProgressOf(g.Key, g.ToList())).ToList();

    public JobStatistics Statistics => Counters.Snapshot();

    /// <summary>After a stop: waits until every item has ended — at once, except where a call that may have created
    /// something is still on the wire: that one gets the job's grace (then it is cut off) — so what EC2 made is in the
    /// events before the caller disposes the clients. True when everything ended.</summary>
    public bool WaitForStoppedWork()
    {
        bool Ended() { lock (_gate) return _outstanding <= 0; }
        return SpinWait.SpinUntil(() => Ended() || (_sentCalls.IsCancellationRequested && Volatile.Read(ref _callsInFlight) == 0),
            SentCallGrace + TimeSpan.FromSeconds(1)) && Ended();
    }

    /// <summary>Stops waiting and starting work. What EC2 already accepted keeps running.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1) return;
        SafeCancel(_cancel);
        lock (_gate) _addingCompleted = true;
        FinalizeIfDone();
    }

    // ------------------------------------------------------------------ what a job type supplies

    /// <summary>The error of an item the caller stopped (it keeps running in EC2 when it has an id).</summary>
    private protected abstract EngineError StoppedError(JobItem item);
    /// <summary>The error of an item the job's timeout ended.</summary>
    private protected abstract EngineError TimedOutError(JobItem item);
    /// <summary>The verbose line that ends the job for one region.</summary>
    private protected abstract string Summary(string region, IReadOnlyList<JobItem> items);
    /// <summary>"copy", "snapshot": what a duplicate is called in messages.</summary>
    private protected virtual string DuplicateNoun => "snapshot";
    /// <summary>"a re-sent CopySnapshot": why duplicates appear.</summary>
    private protected virtual string DuplicateCause => "a re-sent create call";

    /// <summary>Time until the last item in <paramref name="region"/> finishes; null when it cannot be estimated yet.</summary>
    private protected virtual TimeSpan? Estimate(string region, List<InFlightItem> inFlight, int queued) =>
        inFlight.Count == 0 && queued == 0 ? TimeSpan.Zero : null;

    /// <summary>False: the item's finished event is not sent (Wait -Any after the answer).</summary>
    private protected virtual bool ShouldReport(JobItem item) => true;

    /// <summary>Runs after an item's finished event was queued.</summary>
    private protected virtual void Reported(JobItem item)
    {
    }

    // ------------------------------------------------------------------ items

    /// <summary>Adds an item and starts <paramref name="work"/> for it on the thread pool, unless the job was stopped
    /// (then it finishes at once) or its region already failed for good. Never blocks. False after Dispose.</summary>
    private protected bool Admit(JobItem item, Func<Task> work)
    {
        if (Volatile.Read(ref _disposed) == 1) return false; // stopped: the caller is winding down, nothing more starts
        lock (_gate)
        {
            if (_addingCompleted) throw new InvalidOperationException("CompleteAdding was called: no more requests can be added.");
            _items.Add(item);
            _outstanding++;
        }
        if (StopToken.IsCancellationRequested) FinishStopped(item);
        else if (FailedRegionOf(item) is { } failed) Finish(item, SnapshotState.Failed, failed.For(item.TargetId));
        else Run(work);
        return true;
    }

    /// <summary>A new item learned late (an instance set's volumes): owes its own finished event. Its work runs in the
    /// worker that found it.</summary>
    internal void AddLate(JobItem item)
    {
        lock (_gate)
        {
            _items.Add(item);
            _outstanding++;
        }
    }

    internal int NextSequence { get { lock (_gate) return _items.Count; } }

    /// <summary>Runs work on the thread pool; the job's account-region leases are released only after the last of it ended.</summary>
    internal void Run(Func<Task> work)
    {
        Interlocked.Increment(ref _running);
        _ = Task.Run(async () =>
        {
            try { await work().ConfigureAwait(false); }
            catch (Exception ex) { Warn($"Unexpected engine failure: {ex.GetType().Name}: {ex.Message}"); } // never let it escape: it would take the process down
            finally
            {
                if (Interlocked.Decrement(ref _running) == 0 && Volatile.Read(ref _finalized) == 1) ReleaseLeases();
            }
        });
    }

    private List<JobItem> Items()
    {
        lock (_gate) return _items.ToList();
    }

    /// <summary>EC2 accepted the snapshot (or it was found by its token after a lost response): report its id at once.</summary>
    internal void Accept(JobItem item, string snapshotId, DateTime? startTime, bool adopted)
    {
        lock (item.Gate)
        {
            item.Outcome.SnapshotId = snapshotId;
            item.Outcome.State = SnapshotState.Pending;
            item.Outcome.StartTime = startTime is { } s ? DateTime.SpecifyKind(s, DateTimeKind.Utc) : Time.GetUtcNow().UtcDateTime;
        }
        Emit(new ItemAcceptedEvent<TRequest, TResult>((TRequest)item.Request, (TResult)item.CloneResult()));
        // The accepted event itself carries the id to the caller; only the unusual path needs its own message.
        if (adopted)
            Verbose($"Found the {DuplicateNoun} of {item.SourceId} by its request token after a lost response: {snapshotId} in {item.Region} " +
                    $"(adopted, not made again).", item.Request);
    }

    /// <summary>Takes what DescribeSnapshots said about the item's snapshot.</summary>
    internal void Observe(JobItem item, Snapshot snapshot)
    {
        lock (item.Gate) item.Apply(snapshot);
    }

    /// <summary>Sends the item's single finished event. <paramref name="endSeen"/> false: the job did not see the snapshot
    /// end just now (it stopped following one that goes on in EC2, or reused one that ended long ago): no completion time.</summary>
    internal void Finish(JobItem item, SnapshotState state, EngineError? error, string? statusMessage = null, bool endSeen = true)
    {
        if (!item.TryMarkFinished()) return;
        if (!ShouldReport(item))
        {
            EndOutstanding();
            return;
        }
        var now = Time.GetUtcNow().UtcDateTime;
        lock (item.Gate)
        {
            var outcome = item.Outcome;
            outcome.State = state;
            if (endSeen && (state == SnapshotState.Completed || (state == SnapshotState.Failed && outcome.SnapshotId is not null)))
                outcome.CompletionTime = now;
            if (statusMessage is not null || error is not null) outcome.StatusMessage = statusMessage ?? error!.Message;
            if (state == SnapshotState.Completed && outcome.Duration is { } duration) Durations.Add(item.Region, duration);
        }
        Emit(new ItemFinishedEvent<TRequest, TResult>((TRequest)item.Request, (TResult)item.CloneResult(), error));
        Reported(item);
        EndOutstanding();
    }

    /// <summary>Ends an item without an event (Wait -Any after the answer).</summary>
    internal void Drop(JobItem item)
    {
        if (item.TryMarkFinished()) EndOutstanding();
    }

    /// <summary>Stopped by the timeout (TimedOut) or by the caller (Queued, or Pending once EC2 accepted it).</summary>
    internal void FinishStopped(JobItem item)
    {
        if (TimedOut) Finish(item, SnapshotState.TimedOut, TimedOutError(item));
        else Finish(item, item.SnapshotId is null ? SnapshotState.Queued : SnapshotState.Pending, StoppedError(item));
    }

    // ------------------------------------------------------------------ an account and region that failed for good

    /// <summary>Nothing more can succeed in <paramref name="region"/> for this job (the failure policy's
    /// FailAccountRegion): every item there ends Failed with <paramref name="error"/>, its work is cancelled and what it
    /// holds (window slots, volume slots, watches) is freed; items added later fail at once. One warning per region.</summary>
    internal void FailRegion(string region, EngineError error)
    {
        // One at a time: the warning goes out before any item of the region ends (and so before the job can end).
        lock (_failedRegions)
        {
            var first = _failedRegions.TryAdd(region, error);
            error = _failedRegions[region];
            var affected = Items().Where(i => i.Touches(region)).ToList();
            if (first)
                Warn($"{error.Message} {affected.Count(i => !i.IsFinished)} item(s) of this call in {region} were ended. {error.RecommendedAction}");
            foreach (var item in affected)
            {
                if (!item.IsFinished) Finish(item, SnapshotState.Failed, error.For(item.TargetId), endSeen: false);
                item.Cancel();
            }
        }
    }

    /// <summary>Hands a failure to the policy: true when it ended the item's account and region (then the item ended too).</summary>
    internal bool TryFailRegion(Exception exception, string region, string action, JobItem item)
    {
        if (exception is RegionFailedException failed)
        {
            FailRegion(failed.Region, failed.Error);
            return true;
        }
        if (FailurePolicy.Decide(exception, action) != FailureAction.FailAccountRegion) return false;
        FailRegion(region, FailurePolicy.RegionError(exception, item.TargetId, region, action));
        return true;
    }

    private EngineError? FailedRegionOf(JobItem item) =>
        _failedRegions.TryGetValue(item.Region, out var e) || _failedRegions.TryGetValue(item.SourceRegion, out e) ? e : null;

    // ------------------------------------------------------------------ shared state, polling, request tokens

    /// <summary>What every job in the process shares in <paramref name="region"/> for this job's account, leased for
    /// as long as the job's work runs.</summary>
    internal AccountRegion Shared(string region)
    {
        lock (_leases)
        {
            if (!_leases.TryGetValue(region, out var lease))
                _leases[region] = lease = Engine.Registry.Lease(Clients.EndpointKey(region), Account, region);
            return lease.Shared;
        }
    }

    /// <summary>What this job leases in <paramref name="region"/>, without leasing it (progress reads it after the end).</summary>
    private protected AccountRegion? LeasedShared(string region)
    {
        lock (_leases) return _leases.TryGetValue(region, out var lease) ? lease.Shared : null;
    }

    /// <summary>Waits on the process-wide poller of <paramref name="region"/> (one batched Describe per tick for every
    /// job in the process in the same account). Throws <see cref="RegionFailedException"/> when this job's calls there
    /// cannot succeed any more.</summary>
    /// <param name="kind">"copy" or "snapshot": the poller learns how long each kind takes apart.</param>
    internal Task<Snapshot> WaitForFinalStateAsync(string region, string snapshotId, Action<Snapshot>? onUpdate, CancellationToken cancellationToken,
        string kind = "snapshot")
    {
        var subscriber = _subscribers.GetOrAdd(region, r => new PollSubscriber(() => Clients.For(r), Calls,
            PollInterval, VisibilityGrace, message => Verbose(message), StopToken, MaxPollInterval));
        return Shared(region).Poller.WaitForFinalStateAsync(snapshotId, subscriber, onUpdate, cancellationToken, kind);
    }

    /// <summary>Snapshots in <paramref name="region"/> tagged with any of <paramref name="tokens"/> (Owner self). Null
    /// when the lookup failed (callers retry on their own loop).</summary>
    internal Task<List<Snapshot>?> FindByTokenAsync(string region, IReadOnlyList<string> tokens, CancellationToken cancellationToken) =>
        RequestTokenLookup.FindAsync(Calls, Clients, region, tokens, cancellationToken,
            why => Verbose($"Looking up snapshots by request token in {region} failed ({why})."));

    /// <summary>Several snapshots carry one request's token (a re-sent call): keep the reported one, else the oldest,
    /// and delete the others. Returns the kept snapshot.</summary>
    internal async Task<Snapshot> KeepOneAsync(string region, string? reportedId, List<Snapshot> found)
    {
        var keep = RequestTokenLookup.ChooseKept(found, reportedId);
        var subject = keep.Tags?.FirstOrDefault(t => t.Key == CopyTagNames.SourceSnapshotId)?.Value ?? keep.VolumeId;
        foreach (var extra in RequestTokenLookup.Extras(found, keep))
        {
            var (outcome, failure) = await RequestTokenLookup.DeleteAsync(Calls, Clients, region, extra, SentCallToken).ConfigureAwait(false);
            if (outcome == DuplicateDeletion.Deleted)
            {
                Counters.DuplicateRemoved();
                Verbose($"Deleted duplicate {DuplicateNoun} {extra} of {subject} in {region} ({DuplicateCause}; kept {keep.SnapshotId}).");
            }
            else if (outcome == DuplicateDeletion.Failed)
            {
                Warn($"Could not delete the duplicate {DuplicateNoun} {extra} of {subject} in {region} ({FailurePolicy.Describe(failure!)}); " +
                     $"delete it yourself (kept {keep.SnapshotId}).");
            }
        }
        return keep;
    }

    /// <summary>One last look for snapshots sharing a request token (and volume): the HTTP stack can re-send a call on a
    /// new connection without telling anyone. One batched call per 200 tokens.</summary>
    private async Task SweepDuplicatesAsync(string region, IReadOnlyList<JobItem> items)
    {
        var accepted = items.Select(i => i.SnapshotId).Where(id => id is not null).ToList();
        if (accepted.Count == 0) return;
        var tokens = items.Where(i => i.SnapshotId is not null).Select(i => i.Token).Distinct(StringComparer.Ordinal).ToList();
        var found = await FindByTokenAsync(region, tokens, SentCallToken).ConfigureAwait(false);
        if (found is null) return;
        var reported = new HashSet<string>(accepted!, StringComparer.Ordinal);
        foreach (var group in found.GroupBy(s => (Token: s.Tags?.FirstOrDefault(t => t.Key == CopyTagNames.RequestToken)?.Value ?? "", s.VolumeId)))
        {
            if (group.Count() < 2) continue;
            var keep = group.FirstOrDefault(s => reported.Contains(s.SnapshotId))?.SnapshotId;
            await KeepOneAsync(region, keep, group.ToList()).ConfigureAwait(false);
        }
    }

    // ------------------------------------------------------------------ progress and summary

    private RegionProgress ProgressOf(string region, List<JobItem> items)
    {
        var states = items.Select(i => (i.IsFinished, Item: i, Result: (ISnapshotOutcome)i.CloneResult())).ToList();
        var inFlight = states.Where(s => !s.IsFinished && s.Result.State == SnapshotState.Pending && s.Result.SnapshotId is not null && s.Result.CompletionTime is null)
            .Select(s => new InFlightItem
            {
                SourceId = s.Item.SourceId,
                SnapshotId = s.Result.SnapshotId!,
                Progress = s.Result.Progress,
                StartTime = s.Result.StartTime ?? default,
            }).ToList();
        var total = states.Count;
        var completed = states.Count(s => s.Result.State is SnapshotState.Completed or SnapshotState.DryRun
                                          || (s.IsFinished && s.Result.State == SnapshotState.Pending && NoWait));
        var failed = states.Count(s => s.Result.State is SnapshotState.Failed or SnapshotState.TimedOut);
        var queued = states.Count(s => s.Result.State == SnapshotState.Queued && !s.IsFinished);
        return new RegionProgress
        {
            Region = region,
            SourceRegions = items.Select(i => i.SourceRegion).Distinct(StringComparer.Ordinal).ToList(),
            Total = total,
            Queued = queued,
            InProgress = inFlight.Count,
            Completed = completed,
            Failed = failed,
            PercentComplete = RegionProgress.PercentDone(total, completed + failed, inFlight),
            EstimatedRemaining = Estimate(region, inFlight, queued),
            InFlight = inFlight,
        };
    }

    /// <summary>How many of <paramref name="items"/> ended in <paramref name="state"/>.</summary>
    private protected static int Count(IReadOnlyList<JobItem> items, SnapshotState state) =>
        items.Count(i => ((ISnapshotOutcome)i.CloneResult()).State == state);

    /// <summary>" in hh:mm:ss; API calls in REGION: A 1, B 2" for a summary.</summary>
    private protected string CallsIn(string region) => $" in {DurationText.Of(Time.GetUtcNow() - StartedAt)}; API calls in {region}: " + CallsText(region);

    /// <summary>"A 1, B 2" (or "none"): the job's calls in <paramref name="region"/>.</summary>
    private protected string CallsText(string region) =>
        Counters.CallsIn(region) is { Count: > 0 } calls ? string.Join(", ", calls.OrderBy(p => p.Key).Select(p => $"{p.Key} {p.Value}")) : "none";

    // ------------------------------------------------------------------ messages and the end of the job

    internal void Verbose(string message, object? request = null) => Emit(new JobMessageEvent<TRequest>(MessageLevel.Verbose, message, request as TRequest));

    internal void Warn(string message, object? request = null) => Emit(new JobMessageEvent<TRequest>(MessageLevel.Warning, message, request as TRequest));

    private void Emit(JobEvent<TRequest> jobEvent)
    {
        try { _events.Add(jobEvent); }
        catch (InvalidOperationException) { } // the job already finished (a straggler message); also ObjectDisposedException
    }

    private void EndOutstanding()
    {
        bool done;
        lock (_gate) done = --_outstanding <= 0 && _addingCompleted;
        if (done) FinalizeIfDone();
    }

    /// <summary>Ends the event stream now (Wait -Any): the rest is not reported.</summary>
    private protected void FinishEarly()
    {
        lock (_gate) _addingCompleted = true;
        if (Interlocked.Exchange(ref _finalizing, 1) == 1) return;
        _ = Task.Run(FinalizeAsync);
    }

    private void FinalizeIfDone()
    {
        lock (_gate)
        {
            if (!_addingCompleted || _outstanding > 0) return;
        }
        if (Interlocked.Exchange(ref _finalizing, 1) == 1) return;
        _ = Task.Run(FinalizeAsync);
    }

    private async Task FinalizeAsync()
    {
        try
        {
            // A call sent again after a lookup found nothing, or an earlier run's copy taken over, may have a twin that is
            // not visible yet: the sweep waits until it would be (only then, at most 5 s, and never after a stop).
            var resent = new DateTimeOffset(Interlocked.Read(ref _lastResendTicks), TimeSpan.Zero);
            var visibleAt = resent + (VisibilityGrace < TwinVisibility ? VisibilityGrace : TwinVisibility);
            if (_sweepsDuplicates && resent.UtcTicks > 0 && visibleAt > Time.GetUtcNow() && !StopToken.IsCancellationRequested)
            {
                try { await Time.Delay(visibleAt - Time.GetUtcNow(), StopToken).ConfigureAwait(false); }
                catch (OperationCanceledException) { }
            }
            foreach (var group in Items().GroupBy(i => i.Region, StringComparer.Ordinal))
            {
                var items = group.ToList();
                if (_sweepsDuplicates && !StopToken.IsCancellationRequested && !_failedRegions.ContainsKey(group.Key))
                    await SweepDuplicatesAsync(group.Key, items).ConfigureAwait(false);
                Verbose(Summary(group.Key, items));
            }
        }
        catch (Exception ex)
        {
            try { Warn($"Finishing the job failed: {ex.GetType().Name}: {ex.Message}"); } catch { }
        }
        finally
        {
            SafeCancel(_background);
            try { _events.CompleteAdding(); } catch (ObjectDisposedException) { }
            _sentCallTimer?.Dispose();
            _timeout?.Dispose();
            Volatile.Write(ref _finalized, 1);
            if (Volatile.Read(ref _running) == 0) ReleaseLeases();
        }
    }

    private void ReleaseLeases()
    {
        if (Interlocked.Exchange(ref _leasesReleased, 1) == 1) return;
        List<AccountRegionLease> leases;
        lock (_leases)
        {
            leases = _leases.Values.ToList();
            _leases.Clear();
        }
        foreach (var lease in leases) lease.Dispose();
    }

    // What the one tokened start uses of its job.
    TimeProvider IStartingJob.Time => Time;
    Ec2Calls IStartingJob.Calls => Calls;
    JobCounters IStartingJob.Counters => Counters;
    int IStartingJob.MaxRetries => MaxRetries;
    TimeSpan IStartingJob.PollInterval => PollInterval;
    TimeSpan IStartingJob.VisibilityGrace => VisibilityGrace;
    CancellationToken IStartingJob.SentCallToken => SentCallToken;
    void IStartingJob.CallSent() => Interlocked.Increment(ref _callsInFlight);
    TokenLookups IStartingJob.TokenLookups => _tokenLookups;
    void IStartingJob.Resending() => MayHaveHiddenTwins();

    /// <summary>Something this job reports may have a twin EC2 does not list yet: the final sweep waits a little.</summary>
    internal void MayHaveHiddenTwins() => Interlocked.Exchange(ref _lastResendTicks, Time.GetUtcNow().UtcTicks);
    void IStartingJob.RunLater(TimeSpan delay, Func<Task> work) => Run(async () =>
    {
        try { await Time.Delay(delay, BackgroundToken).ConfigureAwait(false); }
        catch (OperationCanceledException) { return; } // the job ended: its final sweep looked already
        await work().ConfigureAwait(false);
    });
    void IStartingJob.CallReturned() => Interlocked.Decrement(ref _callsInFlight);
    void IStartingJob.Verbose(string message, object? request) => Verbose(message, request);
    void IStartingJob.Warn(string message, object? request) => Warn(message, request);
    Task<List<Snapshot>?> IStartingJob.FindByTokenAsync(string region, IReadOnlyList<string> tokens, CancellationToken cancellationToken) =>
        FindByTokenAsync(region, tokens, cancellationToken);
    Task<Snapshot> IStartingJob.KeepOneAsync(string region, string? reportedId, List<Snapshot> found) => KeepOneAsync(region, reportedId, found);

    internal static void SafeCancel(CancellationTokenSource cts)
    {
        try { cts.Cancel(); }
        catch (ObjectDisposedException) { }
        catch (AggregateException) { } // a callback threw; the workers handle their own cancellation
    }
}
