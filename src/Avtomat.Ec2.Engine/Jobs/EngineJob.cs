using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using Amazon.EC2.Model;
using Avtomat.Ec2.Engine.Internal;
using Avtomat.Ec2.Engine.Scheduling;

namespace Avtomat.Ec2.Engine;

/// <summary>
/// What every job (one cmdlet invocation: copy, create or wait) is, whatever it reports: its items, its stop (the
/// caller's token, Dispose, -Timeout) with a grace for calls already sent, its results (exactly one finished event per
/// item) and its end. A job owns no loop and no shared state: it hands each item to the scheduler of the item's
/// account and region, and the schedulers report back through <see cref="Finish"/>, <see cref="Accept"/> and the
/// message methods. Its stop and its end are commands to those schedulers; when the last of them has closed the job
/// (duplicates swept, the job detached) the job writes its summary and its event stream completes. Nothing it made
/// outlives it: no timer, no registration on the caller's token, no lease.
/// </summary>
public abstract class EngineJob : IDisposable
{
    /// <summary>How long a call that creates a snapshot, already sent, may still run after a stop, so its id is not lost.</summary>
    internal static readonly TimeSpan SentCallGrace = TimeSpan.FromSeconds(20);

    /// <summary>New snapshots show up in DescribeSnapshots within seconds: how long to wait before looking for twins.</summary>
    internal static readonly TimeSpan TwinVisibility = TimeSpan.FromSeconds(5);

    private readonly object _gate = new();
    private readonly List<JobItem> _items = new();
    /// <summary>Its schedulers by account and region: the destination account's, and in a vault copy the source
    /// account's too.</summary>
    private readonly Dictionary<string, Scheduler> _schedulers = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, EngineError> _failedRegions = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _sentCalls = new();
    private readonly CancellationTokenSource _end = new();
    private CancellationTokenRegistration _callerRegistration;
    private ITimer? _timeoutTimer;
    private ITimer? _graceTimer;
    private int _open;
    private bool _addingCompleted;
    private int _stopped;
    private int _timedOut;
    private int _closing;
    private int _pendingCloses;
    private int _ended;
    private int _disposed;
    private long _lastResendTicks;

    private protected EngineJob(SnapshotEngine engine, IEc2ClientSource clients, JobOptions options, CancellationToken cancellationToken,
        IEc2ClientSource? sourceClients = null)
    {
        Engine = engine;
        Clients = clients;
        // Learned once, here (on the caller's thread): the key of everything shared per account and region.
        Account = clients.Account;
        if (sourceClients is not null && sourceClients.Account != Account)
        {
            SourceClients = sourceClients;
            SourceAccount = sourceClients.Account;
        }
        Time = engine.TimeProvider;
        StartedAt = Time.GetUtcNow();
        Timeout = options.Timeout is { } t && t > TimeSpan.Zero && t != System.Threading.Timeout.InfiniteTimeSpan ? t : null;
        PollInterval = options.PollInterval > TimeSpan.Zero ? options.PollInterval : TimeSpan.FromSeconds(1);
        MaxPollInterval = options.MaxPollInterval > PollInterval ? options.MaxPollInterval : PollInterval;
        VisibilityGrace = options.VisibilityGrace >= TimeSpan.Zero ? options.VisibilityGrace : TimeSpan.FromSeconds(30);
        MaxRetries = Math.Max(0, options.MaxRetries);
        UnreachableAfter = options.UnreachableAfter > TimeSpan.Zero ? options.UnreachableAfter : TimeSpan.FromMinutes(2);
        DryRun = options is StartJobOptions { DryRun: true } || options is Copy.CopyJobOptions { Plan: true };
        NoWait = options is StartJobOptions { NoWait: true };
        SweepsDuplicates = options is StartJobOptions && !DryRun;
        Counters = new JobCounters();
        if (Timeout is { } limit) _timeoutTimer = Time.CreateTimer(static s => ((EngineJob)s!).Stop(timedOut: true), this, limit, System.Threading.Timeout.InfiniteTimeSpan);
        if (cancellationToken.CanBeCanceled)
            _callerRegistration = cancellationToken.Register(static s => ((EngineJob)s!).Stop(timedOut: false), this);
    }

    internal SnapshotEngine Engine { get; }
    /// <summary>The credentials of the account the job makes snapshots in (and reads its sources with, unless
    /// <see cref="SourceClients"/>).</summary>
    internal IEc2ClientSource Clients { get; }
    internal string Account { get; }
    /// <summary>A vault copy: the sources belong to this other account, read (and shared with <see cref="Account"/>)
    /// with these credentials; null otherwise.</summary>
    internal IEc2ClientSource? SourceClients { get; }
    internal string? SourceAccount { get; }
    /// <summary>The credentials the job uses in <paramref name="account"/>'s schedulers.</summary>
    internal IEc2ClientSource ClientsFor(string account) => SourceClients is not null && account == SourceAccount ? SourceClients : Clients;
    internal TimeProvider Time { get; }
    internal DateTimeOffset StartedAt { get; }
    internal TimeSpan? Timeout { get; }
    internal TimeSpan PollInterval { get; }
    internal TimeSpan MaxPollInterval { get; }
    internal TimeSpan VisibilityGrace { get; }
    internal int MaxRetries { get; }
    internal TimeSpan UnreachableAfter { get; }
    /// <summary>Check each call with EC2 and make nothing (jobs that make snapshots).</summary>
    internal bool DryRun { get; }
    /// <summary>Finish each item Pending as soon as EC2 accepted it (jobs that make snapshots).</summary>
    internal bool NoWait { get; }
    /// <summary>Jobs that make snapshots look for duplicates by request token when they end.</summary>
    internal bool SweepsDuplicates { get; }
    internal JobCounters Counters { get; }

    /// <summary>For calls that create snapshots once sent: cancelled <see cref="SentCallGrace"/> after a stop.</summary>
    internal CancellationToken SentCallToken => _sentCalls.Token;
    /// <summary>Cancelled when the job has ended: a lookup still on its way with this job's credentials stops.</summary>
    internal CancellationToken EndToken => _end.Token;

    /// <summary>Stopped by the caller or by the timeout: nothing more starts for it.</summary>
    internal bool Stopped => Volatile.Read(ref _stopped) == 1;
    internal bool TimedOut => Volatile.Read(ref _timedOut) == 1;
    /// <summary>Its events are complete (its clients may be disposed by now).</summary>
    internal bool Ended => Volatile.Read(ref _ended) == 1;

    // ------------------------------------------------------------------ public surface

    /// <summary>No more requests will be added.</summary>
    public void CompleteAdding()
    {
        lock (_gate)
        {
            if (_addingCompleted) return;
            _addingCompleted = true;
        }
        CloseIfDone();
    }

    /// <summary>Adding is complete, every request reached its final state and every event was taken.</summary>
    public abstract bool IsFinished { get; }

    /// <summary>The latest state per region (coalesced; cheap to call every 250–500 ms).</summary>
    public IReadOnlyList<RegionProgress> GetProgress() =>
        Items().GroupBy(i => i.Region, StringComparer.Ordinal).Select(g => ProgressOf(g.Key, g.ToList())).ToList();

    public JobStatistics Statistics => Counters.Snapshot();

    /// <summary>After a stop: waits until every item has ended — at once, except where a call that may have created
    /// something is still on the wire: that one gets the job's grace (then it is cut off) — so what EC2 made is in the
    /// events before the caller disposes the clients. True when everything ended.</summary>
    public bool WaitForStoppedWork()
    {
        bool Ended() { lock (_gate) return _open <= 0; }
        return SpinWait.SpinUntil(Ended, SentCallGrace + TimeSpan.FromSeconds(1));
    }

    /// <summary>Stops waiting and starting work. What EC2 already accepted keeps running. Does nothing once the job ended.</summary>
    public void Dispose()
    {
        Volatile.Write(ref _disposed, 1);
        if (Ended) return;
        Stop(timedOut: false);
        lock (_gate) _addingCompleted = true;
        CloseIfDone();
    }

    // ------------------------------------------------------------------ what a job type supplies

    private protected abstract void EmitAccepted(JobItem item);
    private protected abstract void EmitFinished(JobItem item, EngineError? error);
    private protected abstract void EmitMessage(MessageLevel level, string message, object? request);
    /// <summary>No more events.</summary>
    private protected abstract void CompleteEvents();

    /// <summary>The error of an item the caller stopped (it keeps running in EC2 when it has an id).</summary>
    private protected abstract EngineError StoppedError(JobItem item);
    /// <summary>The error of an item the job's timeout ended.</summary>
    private protected abstract EngineError TimedOutError(JobItem item);
    /// <summary>The verbose line that ends the job for one region.</summary>
    private protected abstract string Summary(string region, IReadOnlyList<JobItem> items);
    /// <summary>How to resume what EC2 had started when the job's credentials or endpoint failed in <paramref name="region"/>.</summary>
    private protected virtual string ResumeHint(string region) =>
        $"Once this is fixed, wait for them: Wait-AvSnapshot -SnapshotId <id> -Region {region}.";

    /// <summary>"copy", "snapshot": what a duplicate is called in messages.</summary>
    internal virtual string DuplicateNoun => "snapshot";
    /// <summary>"a re-sent CopySnapshot": why duplicates appear.</summary>
    internal virtual string DuplicateCause => "a re-sent create call";

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

    /// <summary>Adds an item and hands it to the scheduler of its region (and attaches the job to its source's region),
    /// unless the job was stopped (then it finishes at once) or a region it touches already failed for good. Never
    /// blocks. False after Dispose.</summary>
    private protected bool Submit(JobItem item)
    {
        if (Volatile.Read(ref _disposed) == 1) return false; // stopped: the caller is winding down, nothing more starts
        lock (_gate)
        {
            if (_addingCompleted) throw new InvalidOperationException("CompleteAdding was called: no more requests can be added.");
            _items.Add(item);
            _open++;
        }
        if (Stopped) FinishStopped(item);
        else if (FailedRegionOf(item) is { } failed) Finish(item, SnapshotState.Failed, failed.For(item.TargetId));
        else
        {
            if (item.SourceRegion != item.Region || SourceClients is not null) SourceScheduler(item.SourceRegion);
            BeforeSubmit(item);
            Scheduler(item.Region).Submit(item);
        }
        return true;
    }

    /// <summary>A new item learned late (an instance set's volumes, added by the scheduler that handles the set): owes
    /// its own finished event.</summary>
    internal void AddLate(JobItem item)
    {
        lock (_gate)
        {
            _items.Add(item);
            _open++;
        }
    }

    internal int NextSequence { get { lock (_gate) return _items.Count; } }

    /// <summary>Runs before an item goes to its scheduler (a vault copy registers its source's share first).</summary>
    private protected virtual void BeforeSubmit(JobItem item)
    {
    }

    /// <summary>The scheduler of <paramref name="region"/> for this job's endpoint and account, attached on first use.</summary>
    internal Scheduler Scheduler(string region) => SchedulerOf(Clients, Account, region);

    /// <summary>Where sources in <paramref name="region"/> are read: the source account's scheduler in a vault copy,
    /// else <see cref="Scheduler"/>.</summary>
    internal Scheduler SourceScheduler(string region) =>
        SourceClients is { } source ? SchedulerOf(source, SourceAccount!, region) : Scheduler(region);

    private Scheduler SchedulerOf(IEc2ClientSource clients, string account, string region)
    {
        var key = account + "|" + region;
        lock (_gate)
        {
            if (_schedulers.TryGetValue(key, out var scheduler)) return scheduler;
            scheduler = Engine.Attach(clients.EndpointKey(region), account, region);
            _schedulers[key] = scheduler;
            return scheduler;
        }
    }

    private List<JobItem> Items()
    {
        lock (_gate) return _items.ToList();
    }

    /// <summary>Every item so far (progress estimates).</summary>
    private protected List<JobItem> AllItems() => Items();

    private List<Scheduler> Schedulers()
    {
        lock (_gate) return _schedulers.Values.ToList();
    }

    /// <summary>EC2 accepted the snapshot (or it was found by its token after a lost response, or an earlier copy is
    /// taken over): report its id at once.</summary>
    internal void Accept(JobItem item, string snapshotId, DateTime? startTime, bool adopted)
    {
        lock (item.Gate)
        {
            item.Outcome.SnapshotId = snapshotId;
            item.Outcome.State = SnapshotState.Pending;
            item.Outcome.StartTime = startTime is { } s ? DateTime.SpecifyKind(s, DateTimeKind.Utc) : Time.GetUtcNow().UtcDateTime;
        }
        EmitAccepted(item);
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
        if (ShouldReport(item))
        {
            var now = Time.GetUtcNow().UtcDateTime;
            lock (item.Gate)
            {
                var outcome = item.Outcome;
                outcome.State = state;
                if (endSeen && (state == SnapshotState.Completed || (state == SnapshotState.Failed && outcome.SnapshotId is not null)))
                    outcome.CompletionTime = now;
                if (statusMessage is not null || error is not null) outcome.StatusMessage = statusMessage ?? error!.Message;
            }
            EmitFinished(item, error);
            Reported(item);
        }
        EndOne();
    }

    /// <summary>Ends an item without an event (Wait -Any after the answer).</summary>
    internal void Drop(JobItem item)
    {
        if (item.TryMarkFinished()) EndOne();
    }

    /// <summary>Stopped by the timeout (TimedOut) or by the caller (Queued, or Pending once EC2 accepted it).</summary>
    internal void FinishStopped(JobItem item)
    {
        if (TimedOut) Finish(item, SnapshotState.TimedOut, TimedOutError(item));
        else Finish(item, item.SnapshotId is null ? SnapshotState.Queued : SnapshotState.Pending, StoppedError(item));
    }

    private void EndOne()
    {
        bool done;
        lock (_gate) done = --_open <= 0 && _addingCompleted;
        if (done) CloseIfDone();
    }

    // ------------------------------------------------------------------ stop, failed regions, the end

    /// <summary>The caller stopped (Ctrl+C, Dispose) or the timeout ran out: every scheduler of the job ends its items
    /// (a call already on the wire gets <see cref="SentCallGrace"/> to return, so its id is not lost).</summary>
    private void Stop(bool timedOut)
    {
        if (Ended) return;
        if (timedOut)
        {
            // The caller's stop wins when both happen: the items are reported stopped, not timed out.
            if (Stopped) return;
            Volatile.Write(ref _timedOut, 1);
        }
        if (Interlocked.Exchange(ref _stopped, 1) == 1) return;
        lock (_gate)
        {
            if (_open > 0)
                _graceTimer = Time.CreateTimer(static s => SafeCancel(((EngineJob)s!)._sentCalls), this, SentCallGrace, System.Threading.Timeout.InfiniteTimeSpan);
        }
        foreach (var scheduler in Schedulers()) scheduler.Post(s => s.StopJob(this));
    }

    /// <summary>Nothing more can succeed for this job in <paramref name="region"/> (its credentials there): every item
    /// that touches the region ends with <paramref name="error"/>, in every scheduler of the job; items added later fail
    /// at once. One warning per region, emitted after every scheduler ended its items, so the cmdlet writes the items'
    /// errors before the warning about them (under -Debug PowerShell asks after each warning; a host that cannot ask
    /// must still see the errors themselves first). Called by the scheduler whose call failed.</summary>
    internal void RegionFailed(string region, EngineError error)
    {
        if (!_failedRegions.TryAdd(region, error)) return;
        var open = Items().Where(i => i.Touches(region) && !i.IsFinished).ToList();
        // What EC2 had started is not called failed (Scheduler.EndUnfollowable): say which may still complete.
        var started = open.Where(i => i is not Waiting.WaitItem && i.SnapshotId is not null).Select(i => i.SnapshotId!).ToList();
        var warning = $"{error.Message} {open.Count} item(s) of this call in {region} were ended" +
                      (started.Count == 0 ? "." : $"; EC2 had started {started.Count} of them, which may still complete (their outcome is not known): " +
                                                  ListText.Of(started, 20) + ". " +
                                                  ResumeHint(region)) +
                      $" {error.RecommendedAction}";
        // The warning goes out once every scheduler has ended its items, so their errors come first.
        var schedulers = Schedulers().ToList();
        var remaining = schedulers.Count;
        if (remaining == 0) Warn(warning);
        foreach (var scheduler in schedulers)
            scheduler.Post(s =>
            {
                try { s.FailJobRegion(this, region, error); }
                finally { if (Interlocked.Decrement(ref remaining) == 0) Warn(warning); }
            });
    }

    internal EngineError? FailedRegion(string region) => _failedRegions.TryGetValue(region, out var error) ? error : null;

    private EngineError? FailedRegionOf(JobItem item) => FailedRegion(item.Region) ?? FailedRegion(item.SourceRegion);

    /// <summary>A call is sent again after a lookup found nothing, or an earlier run's copy is taken over: something this
    /// job reports may have a twin EC2 does not list yet, so the final sweep waits until it would be listed.</summary>
    internal void MayHaveHiddenTwins() => Interlocked.Exchange(ref _lastResendTicks, Time.GetUtcNow().UtcTicks);

    /// <summary>When the final sweep may look (after a resend: once a twin would be visible), or now.</summary>
    internal DateTimeOffset SweepNotBefore
    {
        get
        {
            var ticks = Interlocked.Read(ref _lastResendTicks);
            if (ticks == 0) return DateTimeOffset.MinValue;
            var grace = VisibilityGrace < TwinVisibility ? VisibilityGrace : TwinVisibility;
            return new DateTimeOffset(ticks, TimeSpan.Zero) + grace;
        }
    }

    /// <summary>Ends the event stream now (Wait -Any): the rest is not reported.</summary>
    private protected void FinishEarly()
    {
        lock (_gate) _addingCompleted = true;
        foreach (var item in Items()) Drop(item);
        CloseIfDone();
    }

    private void CloseIfDone()
    {
        lock (_gate)
        {
            if (!_addingCompleted || _open > 0) return;
        }
        if (Interlocked.Exchange(ref _closing, 1) == 1) return;
        var schedulers = Schedulers();
        Volatile.Write(ref _pendingCloses, schedulers.Count);
        if (schedulers.Count == 0)
        {
            End();
            return;
        }
        // Each scheduler detaches the job's lingering items, sweeps duplicates and answers with Closed.
        foreach (var scheduler in schedulers) scheduler.Post(s => s.CloseJob(this));
    }

    /// <summary>A scheduler is done with the job (called on its loop): the job is detached there.</summary>
    internal void Closed(Scheduler scheduler)
    {
        Engine.Detach(scheduler);
        if (Interlocked.Decrement(ref _pendingCloses) == 0) End();
    }

    private void End()
    {
        try
        {
            foreach (var group in Items().GroupBy(i => i.Region, StringComparer.Ordinal))
                Verbose(Summary(group.Key, group.ToList()));
        }
        catch (Exception ex)
        {
            try { Warn($"Finishing the job failed: {ex.GetType().Name}: {ex.Message}"); } catch { }
        }
        finally
        {
            Volatile.Write(ref _ended, 1);
            _callerRegistration.Dispose();
            _timeoutTimer?.Dispose();
            _graceTimer?.Dispose();
            SafeCancel(_end);
            CompleteEvents();
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

    /// <summary>The scheduler of <paramref name="region"/> if the job uses it (progress reads its model and window).</summary>
    private protected Scheduler? SchedulerIfAttached(string region)
    {
        lock (_gate) return _schedulers.TryGetValue(Account + "|" + region, out var scheduler) ? scheduler : null;
    }

    /// <summary>How many of <paramref name="items"/> ended in <paramref name="state"/>.</summary>
    private protected static int Count(IReadOnlyList<JobItem> items, SnapshotState state) =>
        items.Count(i => ((ISnapshotOutcome)i.CloneResult()).State == state);

    /// <summary>How many of <paramref name="items"/> ended Pending in a job nobody stopped, besides
    /// <paramref name="startedNoWait"/> (-NoWait's): EC2 started them, then they could no longer be followed (credentials,
    /// endpoint, visibility), so they may still complete. For a summary: ", N started but not known (…)", or "".</summary>
    private protected string NotKnownText(IReadOnlyList<JobItem> items, int startedNoWait, out int notKnown)
    {
        notKnown = Stopped ? 0 : Count(items, SnapshotState.Pending) - startedNoWait;
        return notKnown > 0 ? $", {notKnown} started but not known (they may still complete)" : "";
    }

    /// <summary>" in hh:mm:ss; API calls in REGION: A 1, B 2" for a summary.</summary>
    private protected string CallsIn(string region) => $" in {DurationText.Of(Time.GetUtcNow() - StartedAt)}; API calls in {region}: " + CallsText(region);

    /// <summary>"A 1, B 2" (or "none"): the job's calls in <paramref name="region"/>.</summary>
    private protected string CallsText(string region) =>
        Counters.CallsIn(region) is { Count: > 0 } calls ? string.Join(", ", calls.OrderBy(p => p.Key).Select(p => $"{p.Key} {p.Value}")) : "none";

    // ------------------------------------------------------------------ messages

    internal void Verbose(string message, object? request = null) => EmitMessage(MessageLevel.Verbose, message, request);

    internal void Warn(string message, object? request = null) => EmitMessage(MessageLevel.Warning, message, request);

    internal static void SafeCancel(CancellationTokenSource cts)
    {
        try { cts.Cancel(); }
        catch (ObjectDisposedException) { }
        catch (AggregateException) { } // a callback threw; its owner handles its own cancellation
    }
}
