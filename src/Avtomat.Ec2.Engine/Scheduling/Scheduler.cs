using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;
using Amazon.EC2;
using Avtomat.Ec2.Engine.Internal;

namespace Avtomat.Ec2.Engine.Scheduling;

/// <summary>
/// The single owner of everything the engine shares in one (endpoint, account, region): the copy window (EC2's 20
/// pending copies), the per-volume rules, the request buckets and their adaptive rates, every batched lookup (source
/// checks, earlier copies, request tokens, volumes, completion polls: <see cref="Lookups"/>), the watched snapshots and
/// the one duration model. Its state changes only on its own loop: commands are posted to an inbox and applied one at a
/// time on a pool thread (never two at once), then the loop launches what is due (EC2 calls run concurrently and post
/// their outcome back as a command) and arms one timer, on the engine's <see cref="TimeProvider"/>, for the next due
/// time. Nothing runs while nothing is due: no loop, no timer. Jobs submit items and read their own events; a job's end
/// is a command too, so nothing it made outlives it.
/// </summary>
/// <remarks>
/// Every op and item is always in a state that has either a due time or a call in flight, so none can wait for ever;
/// the job's bounds (timeout, stop, unreachable endpoint, credentials) are commands or due times like any other.
/// </remarks>
internal sealed partial class Scheduler
{
    private readonly ConcurrentQueue<Command> _inbox = new();
    private readonly Dictionary<EngineJob, JobLink> _links = new();
    private readonly ITimer _timer;
    private int _running;
    private DateTimeOffset _armedFor = DateTimeOffset.MaxValue;
    private int _callsInFlight;
    private DateTimeOffset? _lastSuccess;

    public Scheduler(SnapshotEngine engine, string key, string endpointKey, string account, string region)
    {
        Engine = engine;
        Key = key;
        EndpointKey = endpointKey;
        Account = account;
        Region = region;
        Time = engine.TimeProvider;
        Buckets = new RequestBuckets(engine.PacingMargin);
        Lookups = new Lookups(this);
        Window = new CopyWindow(engine.RegionCopyLimit);
        _timer = Time.CreateTimer(static s => ((Scheduler)s!).Post(Tick.Instance), this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
    }

    public SnapshotEngine Engine { get; }
    /// <summary>endpoint|account|region.</summary>
    public string Key { get; }
    public string EndpointKey { get; }
    public string Account { get; }
    public string Region { get; }
    public TimeProvider Time { get; }
    public DateTimeOffset Now => Time.GetUtcNow();

    /// <summary>What is due when (op steps, lookup batches, the next poll).</summary>
    internal Agenda Agenda { get; } = new();
    internal RequestBuckets Buckets { get; }
    internal Lookups Lookups { get; }
    internal CopyWindow Window { get; }
    /// <summary>Time-based copies' throughput per source region (EC2's quotas).</summary>
    internal CopyThroughput Throughput { get; } = new();
    /// <summary>How long things take here, learned from EC2's StartTime and CompletionTime: one model for the start order,
    /// the poll schedule and the progress estimates. Kept for the life of the process (bounded).</summary>
    internal DurationModel Durations { get; } = new();

    /// <summary>Jobs attached here (guarded by the engine's registry lock, not by the loop).</summary>
    internal int Attached { get; set; }
    /// <summary>When a job last detached (the registry evicts the longest unused first).</summary>
    internal DateTimeOffset LastUsed { get; set; }

    /// <summary>What the loop last published about the copy window (for tests and progress; read from any thread).</summary>
    internal SchedulerView View { get; private set; } = new(0, 0, 0, 0, 0);

    /// <summary>Nothing is held or under way here: no job, no op, no call, no unapplied command.</summary>
    internal bool IsDormant => Volatile.Read(ref _dormant);
    private bool _dormant = true;

    // ------------------------------------------------------------------ the inbox and the loop

    public void Post(Command command)
    {
        Engine.Activity.Add();
        Volatile.Write(ref _dormant, false);
        _inbox.Enqueue(command);
        if (Interlocked.CompareExchange(ref _running, 1, 0) == 0)
            ThreadPool.QueueUserWorkItem(static s => ((Scheduler)s!).RunLoop(), this);
    }

    /// <summary>Posts <paramref name="action"/> to run on the loop (replies between schedulers and from jobs).</summary>
    public void Post(Action<Scheduler> action) => Post(new Run(action));

    private void RunLoop()
    {
        while (true)
        {
            var applied = 0;
            while (_inbox.TryDequeue(out var command))
            {
                applied++;
                try { command.Apply(this); }
                catch (Exception ex) { Bug(ex, command); }
            }
            try { Step(); }
            catch (Exception ex) { Bug(ex, null); }
            Arm();
            Publish();
            Engine.Activity.Done(applied);
            Volatile.Write(ref _running, 0);
            if (_inbox.IsEmpty || Interlocked.CompareExchange(ref _running, 1, 0) != 0) return;
        }
    }

    private void Arm()
    {
        var due = Agenda.Next ?? DateTimeOffset.MaxValue;
        if (due == _armedFor) return;
        _armedFor = due;
        if (due == DateTimeOffset.MaxValue)
        {
            _timer.Change(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
            return;
        }
        var wait = due - Now;
        // A due time already here: a tick at once (the timer fires on its own thread, never inline).
        _timer.Change(wait > TimeSpan.Zero ? wait : TimeSpan.FromTicks(1), Timeout.InfiniteTimeSpan);
    }

    /// <summary>Set when something changed that the admission of copies (or creations, or the poll plan) depends on;
    /// handled once at the end of the turn, after every command of the turn was applied.</summary>
    internal bool CopiesChanged { get; set; }
    internal bool CreatesChanged { get; set; }
    internal bool WatchesChanged { get; set; }

    /// <summary>One turn: everything due now is done or launched (what that makes due now too), then the next due time
    /// is the agenda's earliest.</summary>
    private void Step()
    {
        var now = Now;
        for (var rounds = 0; rounds < 10_000; rounds++)
        {
            var any = false;
            while (Agenda.TryPopDue(now, out var due))
            {
                any = true;
                due.OnDue(this, now);
            }
            if (CopiesChanged)
            {
                any = true;
                CopiesChanged = false;
                AdmitCopies(now);
            }
            if (CreatesChanged)
            {
                any = true;
                CreatesChanged = false;
                AdmitCreates(now);
            }
            if (WatchesChanged)
            {
                any = true;
                WatchesChanged = false;
                PlanPoll(now);
            }
            if (!any) return;
        }
    }

    private void Publish()
    {
        View = new SchedulerView(Window.InUse, Window.Current, Window.Limit, QueuedCopies, _callsInFlight);
        Volatile.Write(ref _dormant, _links.Count == 0 && _callsInFlight == 0 && !HasWork);
    }

    private bool HasWork => Agenda.Count > 0 || _copyOps.Count > 0 || _createOps.Count > 0 || _watches.Count > 0 || _sourceChecks.Count > 0;

    /// <summary>A bug in the engine must neither kill the process nor leave an item waiting for ever: the items the
    /// command was about end with UnexpectedEngineError; the jobs here are told.</summary>
    private void Bug(Exception exception, Command? command)
    {
        try
        {
            if (command is IItemCommand itemCommand)
            {
                foreach (var item in itemCommand.Items)
                    item.Job.Finish(item, SnapshotState.Failed, EngineErrors.Unexpected(item.TargetId, exception));
            }
            foreach (var link in _links.Values)
                link.Job.Warn($"Unexpected engine failure in {Region}: {exception.GetType().Name}: {exception.Message}");
        }
        catch
        {
            // Reporting must not throw either.
        }
    }

    // ------------------------------------------------------------------ jobs

    /// <summary>The job's link here, created on its first item (the registry counted the attach already).</summary>
    internal JobLink Link(EngineJob job)
    {
        if (!_links.TryGetValue(job, out var link))
        {
            _links[job] = link = new JobLink(job, Now, job.ClientsFor(Account));
        }
        return link;
    }

    internal bool TryLink(EngineJob job, out JobLink link) => _links.TryGetValue(job, out link!);

    internal IEnumerable<JobLink> Links => _links.Values;

    /// <summary>Hands <paramref name="item"/> to this scheduler (from any thread).</summary>
    internal void Submit(JobItem item) => Post(new SubmitCommand(item));

    private void Accept(JobItem item)
    {
        var link = Link(item.Job);
        item.Link = link;
        link.Items.Add(item);
        if (link.Stopped)
        {
            item.Job.FinishStopped(item);
            Forget(item);
            return;
        }
        if ((link.Failed ?? item.Job.FailedRegion(item.SourceRegion)) is { } failed)
        {
            Finish(item, SnapshotState.Failed, failed.For(item.TargetId), endSeen: false);
            Forget(item);
            return;
        }
        switch (item)
        {
            case Copy.CopyItem copy:
                SubmitCopy(copy);
                break;
            case Create.CreateItem create:
                SubmitCreate(create);
                break;
            case Waiting.WaitItem wait:
                SubmitWait(wait);
                break;
            default:
                throw new InvalidOperationException($"Unknown item {item.GetType().Name}.");
        }
    }

    /// <summary>Sends the item's finished event (its job decides what it says).</summary>
    internal static void Finish(JobItem item, SnapshotState state, EngineError? error, string? statusMessage = null, bool endSeen = true) =>
        item.Job.Finish(item, state, error, statusMessage, endSeen);

    /// <summary>Ends an item its job can no longer follow here, because its credentials or the endpoint failed
    /// (<paramref name="error"/>, one per account and region). A copy or new snapshot EC2 had started may still complete:
    /// it is Pending, its outcome not known, never Failed (only EC2 says that, with the error state). One never started is
    /// Failed. A wait did not start its snapshot and may not even have seen it: Failed, as before.</summary>
    internal static void EndUnfollowable(JobItem item, EngineError error)
    {
        if (item.IsFinished) return;
        if (item is not Waiting.WaitItem && item.SnapshotId is { } started)
            Finish(item, SnapshotState.Pending, EngineErrors.OutcomeNotKnown(error, started, item.SourceId, item.Region, item is Copy.CopyItem), endSeen: false);
        else
            Finish(item, SnapshotState.Failed, error.For(item.TargetId), endSeen: false);
    }

    /// <summary>The item no longer belongs here (finished and let go, stopped, failed, closed).</summary>
    private static void Forget(JobItem item) => item.Link?.Items.Remove(item);

    /// <summary>An op ends: each of its items not finished yet is finished by <paramref name="finish"/>, and all are let go.</summary>
    private static void EndItems<T>(List<T> items, Action<T> finish) where T : JobItem
    {
        foreach (var item in new List<T>(items))
        {
            if (!item.IsFinished) finish(item);
            Forget(item);
        }
        items.Clear();
    }

    /// <summary>The job stopped (Ctrl+C, Dispose) or timed out: its items here end now, except those waiting for a call
    /// that may create something (it has the job's grace to return, so the id is not lost).</summary>
    internal void StopJob(EngineJob job)
    {
        if (!_links.TryGetValue(job, out var link) || link.Stopped) return;
        link.Stopped = true;
        StopCopies(link);
        StopCreates(link);
        StopWatches(link);
        StopSourceChecks(link);
        Lookups.Forget(link);
        AbandonClose(link);
    }

    /// <summary>Nothing more can succeed for <paramref name="job"/> with its credentials in <paramref name="region"/>:
    /// every item of the job here that touches that region ends with <paramref name="error"/>.</summary>
    internal void FailJobRegion(EngineJob job, string region, EngineError error)
    {
        if (!_links.TryGetValue(job, out var link)) return;
        if (region == Region) link.Failed ??= error;
        FailCopies(link, region, error);
        FailCreates(link, region, error);
        FailWatches(link, region, error);
        FailSourceChecks(link, region, error);
        if (region != Region) return;
        Lookups.Forget(link);
        AbandonClose(link);
    }

    /// <summary>A call made with <paramref name="link"/>'s credentials failed for good here (the failure policy's
    /// FailAccountRegion): the job learns it and ends its items in this region, here and in its other schedulers.</summary>
    internal void AccountRegionFailed(JobLink link, EngineError error)
    {
        if (link.Failed is not null) return;
        link.Job.RegionFailed(Region, error); // broadcasts to every scheduler of the job, this one included (a command)
        FailJobRegion(link.Job, Region, error);
    }

    // ------------------------------------------------------------------ EC2 calls

    /// <summary>Takes a token of <paramref name="bucket"/> now, or schedules <paramref name="waker"/> for when one will
    /// be there and returns false.</summary>
    internal bool Pace(string bucket, DateTimeOffset now, Due waker)
    {
        if (Buckets.TryTake(bucket, now, out var next)) return true;
        Agenda.NoLaterThan(waker, next);
        return false;
    }

    /// <summary>Sends <paramref name="call"/> with <paramref name="client"/>'s credentials (its bucket token was taken)
    /// and counts it in the statistics of <paramref name="counted"/> (every job it serves). Its outcome comes back as a
    /// command; the loop never waits for it.</summary>
    internal void Launch(Call call, JobLink client, IEnumerable<JobLink>? counted = null)
    {
        call.Client = client;
        call.SentAt = Now;
        if (counted is null) client.Job.Counters.Call(call.Action, Region);
        else foreach (var link in counted) link.Job.Counters.Call(call.Action, Region);
        _callsInFlight++;
        Engine.Activity.Add();
        var token = call.Creates ? client.Job.SentCallToken : client.Job.EndToken;
        var clients = client.Clients;
        var region = Region;
        _ = Task.Run(async () =>
        {
            object? response = null;
            Exception? error = null;
            try
            {
                response = await call.SendAsync(clients, region, token).ConfigureAwait(false);
            }
            catch (Exception ex)
            {
                error = ex;
            }
            Post(new CallDone(call, response, error));
            Engine.Activity.Done();
        });
    }

    /// <summary>The outcome of a call, on the loop: the bucket's rate learns from it, the endpoint's health too, then the
    /// call's owner decides what it means.</summary>
    private void Completed(Call call, object? response, Exception? error)
    {
        _callsInFlight--;
        var now = Now;
        var bucket = Ec2Buckets.NameOf(call.Action, call.Request);
        if (error is null)
        {
            Buckets.Succeeded(bucket);
            _lastSuccess = now;
        }
        else if (FailurePolicy.IsThrottle(error))
        {
            // Someone else in the account draws from the same bucket: start again from empty, and slow down.
            Buckets.Throttled(bucket, now);
        }
        else if (FailurePolicy.ConnectFailure(error) is not null && Unreachable(call.Client!, error, now) is { } unreachable)
        {
            error = unreachable;
        }
        call.Done(this, response, error);
    }

    /// <summary>After a connection failure: the error that ends the job's items here (the endpoint has not answered for
    /// the job's bound, or its host name does not resolve), or null to retry.</summary>
    private RegionFailedException? Unreachable(JobLink link, Exception exception, DateTimeOffset now)
    {
        var since = _lastSuccess is { } last && last > link.AttachedAt ? last : link.AttachedAt;
        var quiet = now - since;
        var hostNotFound = FailurePolicy.HostNotFound(exception);
        if (!hostNotFound && quiet < link.Job.UnreachableAfter) return null;
        return new RegionFailedException(Region,
            EngineErrors.EndpointUnreachable(Region, Region, link.Clients.EndpointKey(Region), hostNotFound, quiet, exception));
    }

    /// <summary>Copies queued for the window (for the published view).</summary>
    private int QueuedCopies => _admission.Count;

    public override string ToString() => Key;

    // ------------------------------------------------------------------ commands

    internal abstract class Command
    {
        public abstract void Apply(Scheduler scheduler);
    }

    /// <summary>A command about items: a bug while applying it ends them (never leaves them waiting).</summary>
    internal interface IItemCommand
    {
        IEnumerable<JobItem> Items { get; }
    }

    private sealed class SubmitCommand(JobItem item) : Command, IItemCommand
    {
        public IEnumerable<JobItem> Items => new[] { item };
        public override void Apply(Scheduler scheduler) => scheduler.Accept(item);
    }

    private sealed class Tick : Command
    {
        public static readonly Tick Instance = new();
        public override void Apply(Scheduler scheduler) => scheduler._armedFor = DateTimeOffset.MaxValue;
    }

    private sealed class Run(Action<Scheduler> action) : Command
    {
        public override void Apply(Scheduler scheduler) => action(scheduler);
    }

    private sealed class CallDone(Call call, object? response, Exception? error) : Command, IItemCommand
    {
        public IEnumerable<JobItem> Items => call.Items;
        public override void Apply(Scheduler scheduler) => scheduler.Completed(call, response, error);
    }
}

/// <summary>What the scheduler's loop last published (any thread may read it).</summary>
internal sealed class SchedulerView(int windowInUse, int window, int windowLimit, int queuedCopies, int callsInFlight)
{
    public int WindowInUse { get; } = windowInUse;
    public int Window { get; } = window;
    public int WindowLimit { get; } = windowLimit;
    public int QueuedCopies { get; } = queuedCopies;
    public int CallsInFlight { get; } = callsInFlight;
}

/// <summary>One job as a scheduler knows it: its credentials, whether it stopped or failed here, and what it holds.</summary>
internal sealed class JobLink
{
    public JobLink(EngineJob job, DateTimeOffset attachedAt, IEc2ClientSource clients)
    {
        Job = job;
        AttachedAt = attachedAt;
        Clients = clients;
    }

    public EngineJob Job { get; }
    /// <summary>The job's credentials in this scheduler's account (a vault copy has two accounts).</summary>
    public IEc2ClientSource Clients { get; }
    public DateTimeOffset AttachedAt { get; }
    /// <summary>The job stopped (Ctrl+C, timeout, Dispose): nothing more starts for it.</summary>
    public bool Stopped { get; set; }
    /// <summary>Its account and region failed for good here (expired credentials, access denied, unreachable).</summary>
    public EngineError? Failed { get; set; }
    /// <summary>Copy window slots its copies hold here (its ThrottleLimit applies to them).</summary>
    public int SlotsHeld { get; set; }
    /// <summary>Its items here that are not let go yet (unfinished, or lingering: -NoWait, stopped on a call).</summary>
    public HashSet<JobItem> Items { get; } = new();
    public int Open => Items.Count;
    /// <summary>Request tokens of what EC2 made for it here, with the id reported (the final sweep's duplicates).</summary>
    public Dictionary<string, string> AcceptedTokens { get; } = new(StringComparer.Ordinal);
    /// <summary>Duplicates being deleted for it here (its end waits for them unless it stopped or failed).</summary>
    public HashSet<string> Deleting { get; } = new(StringComparer.Ordinal);
    /// <summary>Permissions on sources being removed for it here (vault copies): its end waits for them, also after a stop.</summary>
    public int Sharing { get; set; }
    /// <summary>Sources here left shared with a vault account because a copy was still pending when the job stopped
    /// (said in one warning when the job ends here).</summary>
    public List<(string SourceId, string Grantee)> KeptShared { get; } = new();
    /// <summary>Reused copies here that differ from the job's requests (one warning when it ends here).</summary>
    public List<ReuseDifference> Differences { get; } = new();
    /// <summary>CreateTags batches for reused copies still on their way (its end waits for them unless it stopped or failed).</summary>
    public int Tagging { get; set; }
    /// <summary>KMS keys its copies here ask for, by the key as given (or the default key), each resolved once for the job.</summary>
    public Dictionary<string, KeyResolution> Keys { get; } = new(StringComparer.Ordinal);
    /// <summary>EC2's EBS encryption settings here as its copies need them (asked once each for the job).</summary>
    public EbsSettings? Ebs { get; set; }
    /// <summary>Every item reported: it ends here once its sweep and its deletes are done.</summary>
    public bool Closing { get; set; }

    /// <summary>Its credentials may be used for a call.</summary>
    public bool Usable => !Job.Ended && Failed is null;
}

/// <summary>One EC2 call the scheduler sends. It runs off the loop; <see cref="Done"/> runs on the loop.</summary>
internal abstract class Call
{
    public abstract string Action { get; }
    /// <summary>The request (its shape picks the bucket: a filtered Describe draws from the larger one).</summary>
    public abstract object Request { get; }
    /// <summary>CopySnapshot, CreateSnapshot(s): sent once, with the client that never re-sends, under the job's grace.</summary>
    public bool Creates => Action is "CopySnapshot" or "CreateSnapshot" or "CreateSnapshots";
    /// <summary>Whose credentials it went with.</summary>
    public JobLink? Client { get; set; }
    public DateTimeOffset SentAt { get; set; }
    /// <summary>Items whose fate depends on it (ended with UnexpectedEngineError if handling its outcome throws).</summary>
    public virtual IEnumerable<JobItem> Items => Array.Empty<JobItem>();

    public abstract Task<object?> SendAsync(IAmazonEC2 client, CancellationToken cancellationToken);

    /// <summary>Sends it with the client it needs (EC2's by default: the one that never re-sends for calls that create).</summary>
    public virtual Task<object?> SendAsync(IEc2ClientSource clients, string region, CancellationToken cancellationToken) =>
        SendAsync(Creates ? clients.ForCopy(region) : clients.For(region), cancellationToken);

    public abstract void Done(Scheduler scheduler, object? response, Exception? error);
}
