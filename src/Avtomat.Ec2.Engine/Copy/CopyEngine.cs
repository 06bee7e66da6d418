using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Amazon.EC2.Model;
using Avtomat.Ec2.Engine.Internal;
using Avtomat.Ec2.Engine.Waiting;

namespace Avtomat.Ec2.Engine.Copy;

/// <summary>The process-wide copy engine: one copy window per destination region and endpoint shared by every job,
/// so concurrent invocations never exceed EC2's 20 pending copies per region together.</summary>
public sealed class CopyEngine
{
    private readonly ConcurrentDictionary<string, CopyWindow> _windows = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, SnapshotStatePoller> _pollers = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, RequestPacer> _pacers = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, Create.VolumeGate> _volumes = new(StringComparer.Ordinal);
    private static readonly System.Runtime.CompilerServices.ConditionalWeakTable<IEc2ClientSource, string> AnonymousIdentities = new();

    /// <summary>The engine every cmdlet invocation in this process uses.</summary>
    public static CopyEngine Shared { get; } = new(TimeProvider.System);

    /// <param name="timeProvider">Clock for waits, polls, timeouts and timestamps (tests pass a FakeTimeProvider).</param>
    /// <param name="regionCopyLimit">Pending copies EC2 allows per destination region (20).</param>
    public CopyEngine(TimeProvider timeProvider, int regionCopyLimit = 20)
    {
        if (regionCopyLimit < 1) throw new ArgumentOutOfRangeException(nameof(regionCopyLimit), regionCopyLimit, "Must be at least 1.");
        TimeProvider = timeProvider ?? throw new ArgumentNullException(nameof(timeProvider));
        RegionCopyLimit = regionCopyLimit;
    }

    public TimeProvider TimeProvider { get; }

    public int RegionCopyLimit { get; }

    /// <summary>The shared window for copies to <paramref name="region"/> through <paramref name="endpointKey"/>.
    /// Keyed by endpoint and region only: no credentials are kept here.</summary>
    public CopyWindow GetWindow(string endpointKey, string region)
        => _windows.GetOrAdd(endpointKey + "|" + region, key => new CopyWindow(key, RegionCopyLimit));

    /// <summary>EC2's token bucket for CreateSnapshot and CreateSnapshots per account and region (100 burst, 5/s). The
    /// client-side bucket keeps <see cref="PacingMargin"/> tokens in reserve for network jitter.</summary>
    internal int CreateBurst { get; set; } = 100;
    internal double CreateRefillPerSecond { get; set; } = 5;
    internal int PacingMargin { get; set; } = 5;
    /// <summary>EC2's per-volume rules: pending (and error) snapshots per volume, 1 for st1/sc1, and the spacing.</summary>
    internal int MaxPendingPerVolume { get; set; } = 5;
    internal int MaxPendingPerThroughputVolume { get; set; } = 1;
    internal TimeSpan VolumeSnapshotSpacing { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>(endpoint, region, credential identity): the key of everything shared per account and region. The
    /// identity is non-secret (see <see cref="IEc2CredentialIdentity"/>); a source without one gets its own.</summary>
    internal static string AccountKey(IEc2ClientSource clients, string region)
    {
        var identity = clients is IEc2CredentialIdentity known && !string.IsNullOrEmpty(known.CredentialIdentity)
            ? "id:" + known.CredentialIdentity
            : "src:" + AnonymousIdentities.GetValue(clients, _ => Guid.NewGuid().ToString("N"));
        return clients.EndpointKey(region) + "|" + region + "|" + identity;
    }

    /// <summary>The process-wide poller of <paramref name="region"/> for these clients' endpoint and account.</summary>
    internal SnapshotStatePoller Poller(IEc2ClientSource clients, string region)
    {
        var key = AccountKey(clients, region);
        return _pollers.GetOrAdd(key, k => new SnapshotStatePoller(k, region, TimeProvider));
    }

    /// <summary>The process-wide client-side token bucket for <paramref name="action"/> in the account and region.</summary>
    internal RequestPacer Pacer(IEc2ClientSource clients, string region, string action)
        => _pacers.GetOrAdd(AccountKey(clients, region) + "|" + action,
            k => new RequestPacer(k, TimeProvider, Math.Max(1, CreateBurst - PacingMargin), CreateRefillPerSecond));

    /// <summary>The process-wide per-volume rule keeper (pending count, spacing) of one volume.</summary>
    internal Create.VolumeGate Volume(IEc2ClientSource clients, string region, string volumeId)
        => _volumes.GetOrAdd(AccountKey(clients, region) + "|" + volumeId,
            k => new Create.VolumeGate(volumeId, TimeProvider, MaxPendingPerVolume, VolumeSnapshotSpacing));

    /// <summary>Starts a job. Requests may be added while the caller's pipeline is still producing.</summary>
    public CopyJob StartJob(IEc2ClientSource clients, CopyJobOptions options, CancellationToken cancellationToken)
    {
        if (clients is null) throw new ArgumentNullException(nameof(clients));
        if (options is null) throw new ArgumentNullException(nameof(options));
        return new CopyJob(this, clients, options, cancellationToken);
    }

    /// <summary>Starts a snapshot creation job (New-AvSnapshot). Requests may be added while the pipeline is producing.</summary>
    public Create.CreateJob StartCreateJob(IEc2ClientSource clients, Create.CreateJobOptions options, CancellationToken cancellationToken)
    {
        if (clients is null) throw new ArgumentNullException(nameof(clients));
        if (options is null) throw new ArgumentNullException(nameof(options));
        return new Create.CreateJob(this, clients, options, cancellationToken);
    }

    /// <summary>Starts a wait job (Wait-AvSnapshot) on the shared poller.</summary>
    public WaitJob StartWaitJob(IEc2ClientSource clients, WaitJobOptions options, CancellationToken cancellationToken)
    {
        if (clients is null) throw new ArgumentNullException(nameof(clients));
        if (options is null) throw new ArgumentNullException(nameof(options));
        return new WaitJob(this, clients, options, cancellationToken);
    }
}

/// <summary>One invocation's copies. Thread-safe; events are meant to be taken on one thread (the pipeline thread).</summary>
public sealed class CopyJob : IDisposable
{
    /// <summary>How long a CopySnapshot call already sent may still run after a stop, so its copy id is not lost.</summary>
    internal static readonly TimeSpan CopyCallGrace = TimeSpan.FromSeconds(20);

    private readonly BlockingCollection<CopyEvent> _events = new(new ConcurrentQueue<CopyEvent>());
    private readonly object _gate = new();
    private readonly List<CopyOperation> _operations = new();
    private readonly ConcurrentDictionary<string, PollSubscriber> _subscribers = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, CopyWindow> _jobWindows = new(StringComparer.Ordinal);
    private readonly ObservedDurations _durations = new();
    private readonly CancellationTokenSource _cancel;
    private readonly CancellationTokenSource? _timeout;
    private readonly CancellationTokenSource _stop;
    private readonly CancellationTokenSource _copyCalls = new();
    private readonly CancellationTokenSource _background = new();
    private readonly CopyWorker _worker;
    private readonly DateTimeOffset _startedAt;
    private ITimer? _copyCallTimer;
    private int _outstanding;
    private bool _addingCompleted;
    private int _finalizing;
    private int _disposed;

    internal CopyJob(CopyEngine engine, IEc2ClientSource clients, CopyJobOptions options, CancellationToken cancellationToken)
    {
        Engine = engine;
        Clients = clients;
        Options = Normalize(options);
        Time = engine.TimeProvider;
        _startedAt = Time.GetUtcNow();
        _cancel = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        if (Options.Timeout is { } timeout && timeout > TimeSpan.Zero && timeout != Timeout.InfiniteTimeSpan)
            _timeout = Time.CreateCancellationTokenSource(timeout);
        _stop = _timeout is null
            ? CancellationTokenSource.CreateLinkedTokenSource(_cancel.Token)
            : CancellationTokenSource.CreateLinkedTokenSource(_cancel.Token, _timeout.Token);
        // After a stop, CopySnapshot calls in flight get a bounded grace to finish (their ids must not be lost).
        _stop.Token.Register(() =>
        {
            try { _copyCallTimer = Time.CreateTimer(_ => SafeCancel(_copyCalls), null, CopyCallGrace, Timeout.InfiniteTimeSpan); }
            catch (ObjectDisposedException) { }
        });
        Counters = new JobCounters();
        Calls = new Ec2Calls(Time, Counters, Options.MaxRetries, message => Verbose(message));
        Sources = new SourceChecker(region => Clients.For(region), Calls, Time, Options.PollInterval, message => Verbose(message), StopToken,
            (region, id) => WaitForFinalStateAsync(region, id, null, StopToken));
        _worker = new CopyWorker(this);
    }

    internal CopyEngine Engine { get; }
    internal IEc2ClientSource Clients { get; }
    internal CopyJobOptions Options { get; }
    internal TimeProvider Time { get; }
    internal JobCounters Counters { get; }
    internal Ec2Calls Calls { get; }
    internal SourceChecker Sources { get; }
    internal CancellationToken StopToken => _stop.Token;
    internal CancellationToken CopyCallToken => _copyCalls.Token;
    /// <summary>Cancelled when the job ends: NoWait copies stop being watched (and release their slots) then.</summary>
    internal CancellationToken BackgroundToken => _background.Token;

    /// <summary>Queues a copy; never blocks. Source checks and copying start at once.</summary>
    public void Add(SnapshotCopyRequest request)
    {
        if (request is null) throw new ArgumentNullException(nameof(request));
        if (Volatile.Read(ref _disposed) == 1) return; // stopped: the caller is winding down, nothing more starts
        CopyOperation op;
        lock (_gate)
        {
            if (_addingCompleted) throw new InvalidOperationException("CompleteAdding was called: no more requests can be added.");
            op = new CopyOperation(request, _operations.Count);
            _operations.Add(op);
            _outstanding++;
        }
        if (StopToken.IsCancellationRequested)
        {
            FinishStopped(op);
            return;
        }
        _ = Task.Run(() => _worker.RunAsync(op));
    }

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
    public bool TryTake(out CopyEvent? copyEvent, TimeSpan timeout)
    {
        copyEvent = null;
        try
        {
            if (_events.TryTake(out var item, timeout))
            {
                copyEvent = item;
                return true;
            }
        }
        catch (ObjectDisposedException) { }
        return false;
    }

    /// <summary>Adding is complete, every request reached its final state and every event was taken.</summary>
    public bool IsFinished => _events.IsCompleted;

    /// <summary>The latest state per destination region (coalesced; cheap to call every 250–500 ms).</summary>
    public IReadOnlyList<RegionProgress> GetProgress()
    {
        List<CopyOperation> operations;
        lock (_gate) operations = _operations.ToList();
        return operations.GroupBy(o => o.Request.DestinationRegion, StringComparer.Ordinal)
            .Select(g => ProgressOf(g.Key, g.ToList())).ToList();
    }

    public JobStatistics Statistics => Counters.Snapshot();

    /// <summary>Stops waiting and starting copies. Copies EC2 already accepted keep running.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1) return;
        SafeCancel(_cancel);
        lock (_gate) _addingCompleted = true;
        FinalizeIfDone();
    }

    // ------------------------------------------------------------------ used by the workers

    internal CopyWindow JobWindow(string destination)
        => _jobWindows.GetOrAdd(destination, region => new CopyWindow("job|" + region, Options.ThrottleLimit));

    /// <summary>Waits on the process-wide poller of <paramref name="region"/> (one batched Describe per tick for every
    /// job in the process using the same endpoint and account).</summary>
    internal Task<Snapshot> WaitForFinalStateAsync(string region, string snapshotId, Action<Snapshot>? onUpdate, CancellationToken cancellationToken)
    {
        var subscriber = _subscribers.GetOrAdd(region, r => new PollSubscriber(() => Clients.For(r), Calls,
            Options.PollInterval, Options.VisibilityGrace, message => Verbose(message), StopToken));
        return Engine.Poller(Clients, region).WaitForFinalStateAsync(snapshotId, subscriber, onUpdate, cancellationToken);
    }

    internal void Verbose(string message, SnapshotCopyRequest? request = null)
        => Emit(new EngineMessageEvent(MessageLevel.Verbose, message, request));

    internal void Warn(string message, SnapshotCopyRequest? request = null)
        => Emit(new EngineMessageEvent(MessageLevel.Warning, message, request));

    /// <summary>EC2 accepted the copy (or it was found by its token after a lost response): report its id at once.</summary>
    internal void Accept(CopyOperation op, string copyId, bool adopted)
    {
        lock (op.Gate)
        {
            op.Result.SnapshotId = copyId;
            op.Result.State = SnapshotCopyState.Pending;
            op.Result.StartTime = Time.GetUtcNow().UtcDateTime;
        }
        Emit(new CopyAcceptedEvent(op.Request, op.CloneResult()));
        // The accepted event itself carries the id to the caller; only the unusual path needs its own message.
        if (adopted)
            Verbose($"Found the copy of {op.Request.SourceSnapshotId} by its request token after a lost response: {copyId} in {op.Request.DestinationRegion} (adopted, not copied again).", op.Request);
    }

    /// <summary>Takes what DescribeSnapshots said about a copy in flight (progress, key, encryption).</summary>
    internal void Observe(CopyOperation op, Snapshot snapshot)
    {
        lock (op.Gate)
        {
            var progress = SnapshotResults.ParseProgress(snapshot.Progress);
            if (progress > op.Result.Progress) op.Result.Progress = progress;
            if (snapshot.State?.Value == "completed") op.Result.Progress = 100;
            if (!string.IsNullOrEmpty(snapshot.KmsKeyId)) op.Result.KmsKeyId = snapshot.KmsKeyId;
            if (snapshot.Encrypted == true) op.Result.Encrypted = true;
        }
    }

    /// <summary>Sends the request's single CopyFinishedEvent.</summary>
    internal void Finish(CopyOperation op, SnapshotCopyState state, EngineError? error, string? statusMessage = null)
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
                _durations.Add(op.Request.DestinationRegion, duration);
        }
        Emit(new CopyFinishedEvent(op.Request, op.CloneResult(), error));
        bool done;
        lock (_gate) done = --_outstanding == 0 && _addingCompleted;
        if (done) FinalizeIfDone();
    }

    /// <summary>Stopped by timeout (TimedOut) or by the caller (CopyStopped). Accepted copies keep their new id.</summary>
    internal void FinishStopped(CopyOperation op)
    {
        var copyId = op.CopyId;
        var request = op.Request;
        if (_timeout is not null && _timeout.IsCancellationRequested && !_cancel.IsCancellationRequested)
            Finish(op, SnapshotCopyState.TimedOut, EngineErrors.CopyTimedOut(request.SourceSnapshotId, copyId, request.DestinationRegion, Options.Timeout!.Value));
        else
            Finish(op, copyId is null ? SnapshotCopyState.Queued : SnapshotCopyState.Pending,
                EngineErrors.CopyStopped(request.SourceSnapshotId, copyId, request.DestinationRegion));
    }

    /// <summary>Copies in <paramref name="region"/> tagged with any of <paramref name="tokens"/> (Owner self). Null when
    /// the lookup failed (it is retried by the caller's loop).</summary>
    internal Task<List<Snapshot>?> FindCopiesByTokenAsync(string region, IReadOnlyList<string> tokens) =>
        // The copy-call token: a lookup after a lost response may finish after a stop, like the call itself.
        RequestTokenLookup.FindAsync(Calls, Clients, region, tokens, CopyCallToken,
            why => Verbose($"Looking up copies by request token in {region} failed ({why})."));

    /// <summary>Several copies carry one request's token (a re-sent CopySnapshot): keep the one already reported, else
    /// the oldest, and delete the others. Returns the kept id.</summary>
    internal async Task<string> KeepOneAsync(CopyOperation op, List<Snapshot> found)
    {
        var keep = RequestTokenLookup.ChooseKept(found, op.CopyId);
        var region = op.Request.DestinationRegion;
        foreach (var extra in RequestTokenLookup.Extras(found, keep))
        {
            var (outcome, failure) = await RequestTokenLookup.DeleteAsync(Calls, Clients, region, extra, CopyCallToken).ConfigureAwait(false);
            if (outcome == DuplicateDeletion.Deleted)
            {
                Counters.DuplicateRemoved();
                Verbose($"Deleted duplicate copy {extra} of {op.Request.SourceSnapshotId} in {region} (a re-sent CopySnapshot; kept {keep.SnapshotId}).", op.Request);
            }
            else if (outcome == DuplicateDeletion.Failed)
            {
                Warn($"Could not delete the duplicate copy {extra} of {op.Request.SourceSnapshotId} in {region} ({Ec2Failure.Describe(failure!)}); " +
                     $"delete it yourself (kept {keep.SnapshotId}).", op.Request);
            }
        }
        return keep.SnapshotId;
    }

    // ------------------------------------------------------------------ end of the job

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
            List<CopyOperation> operations;
            lock (_gate) operations = _operations.ToList();
            foreach (var group in operations.GroupBy(o => o.Request.DestinationRegion, StringComparer.Ordinal))
            {
                if (!StopToken.IsCancellationRequested && !Options.DryRun) await SweepDuplicatesAsync(group.Key, group.ToList()).ConfigureAwait(false);
                Verbose(Summary(group.Key, group.ToList()));
            }
        }
        catch (Exception ex)
        {
            try { Warn($"Finishing the copy job failed: {ex.GetType().Name}: {ex.Message}"); } catch { }
        }
        finally
        {
            SafeCancel(_background);
            try { _events.CompleteAdding(); } catch (ObjectDisposedException) { }
            _copyCallTimer?.Dispose();
            _timeout?.Dispose();
        }
    }

    /// <summary>One last look for copies sharing a request token: the HTTP stack can re-send a CopySnapshot on a new
    /// connection without telling anyone. One batched call per destination (200 tokens per call).</summary>
    private async Task SweepDuplicatesAsync(string region, List<CopyOperation> operations)
    {
        var byToken = operations.Where(o => o.CopyId is not null).ToDictionary(o => o.Token, StringComparer.Ordinal);
        if (byToken.Count == 0) return;
        var found = await FindCopiesByTokenAsync(region, byToken.Keys.ToList()).ConfigureAwait(false);
        if (found is null) return;
        foreach (var group in found.GroupBy(s => s.Tags?.FirstOrDefault(t => t.Key == CopyTagNames.RequestToken)?.Value ?? "", StringComparer.Ordinal))
        {
            if (group.Count() < 2 || !byToken.TryGetValue(group.Key, out var op)) continue;
            await KeepOneAsync(op, group.ToList()).ConfigureAwait(false);
        }
    }

    private string Summary(string region, List<CopyOperation> operations)
    {
        var results = operations.Select(o => o.CloneResult()).ToList();
        int Count(SnapshotCopyState state) => results.Count(r => r.State == state);
        var elapsed = Time.GetUtcNow() - _startedAt;
        var calls = Counters.CallsIn(region);
        var sourceRegions = operations.Select(o => o.Request.SourceRegion).Distinct(StringComparer.Ordinal).Where(r => r != region);
        var sourceCalls = sourceRegions.Select(r => Counters.CallsIn(r)).SelectMany(d => d)
            .GroupBy(p => p.Key).Select(g => $"{g.Key} {g.Sum(p => p.Value)}").ToList();
        var started = Options.NoWait ? Count(SnapshotCopyState.Pending) : 0;
        var stopped = results.Count(r => r.State == SnapshotCopyState.Queued || r.State == SnapshotCopyState.Pending) - started;
        var text = Options.DryRun
            ? $"{region}: dry run of {results.Count} copies: {Count(SnapshotCopyState.DryRun)} would succeed, {Count(SnapshotCopyState.Failed)} failed"
            : Options.NoWait
            ? $"{region}: {started} copies started (not waited for), {Count(SnapshotCopyState.Completed)} already completed, {Count(SnapshotCopyState.Failed)} failed, {Count(SnapshotCopyState.TimedOut)} timed out" +
              (stopped > 0 ? $", {stopped} stopped" : "") + $" of {results.Count}"
            : $"{region}: {Count(SnapshotCopyState.Completed)} copied, {Count(SnapshotCopyState.Failed)} failed, {Count(SnapshotCopyState.TimedOut)} timed out" +
              (stopped > 0 ? $", {stopped} stopped" : "") + $" of {results.Count}";
        text += $" in {elapsed:hh\\:mm\\:ss}; API calls in {region}: " +
                (calls.Count == 0 ? "none" : string.Join(", ", calls.OrderBy(p => p.Key).Select(p => $"{p.Key} {p.Value}")));
        if (sourceCalls.Count > 0) text += "; in the source region(s): " + string.Join(", ", sourceCalls);
        return text + ".";
    }

    // ------------------------------------------------------------------ progress

    private RegionProgress ProgressOf(string region, List<CopyOperation> operations)
    {
        var results = operations.Select(o => o.CloneResult()).ToList();
        var noWaitStarted = Options.NoWait ? operations.Count(o => o.IsFinished && o.CloneResult().State == SnapshotCopyState.Pending) : 0;
        var inFlight = operations.Where(o => !o.IsFinished).Select(o => o.CloneResult())
            .Where(r => r.State == SnapshotCopyState.Pending && r.SnapshotId is not null && r.CompletionTime is null)
            .Select(r => new InFlightCopy
            {
                SourceSnapshotId = r.SourceSnapshotId,
                SnapshotId = r.SnapshotId!,
                Progress = r.Progress,
                StartTime = r.StartTime ?? default,
            }).ToList();
        var finishedIds = new HashSet<int>(operations.Where(o => o.IsFinished).Select(o => o.Sequence));
        var total = results.Count;
        var completed = results.Count(r => r.State == SnapshotCopyState.Completed || r.State == SnapshotCopyState.DryRun) + noWaitStarted;
        var failed = results.Count(r => r.State == SnapshotCopyState.Failed || r.State == SnapshotCopyState.TimedOut);
        var queued = results.Count(r => r.State == SnapshotCopyState.Queued);
        var copying = inFlight.Count;
        return new RegionProgress
        {
            DestinationRegion = region,
            SourceRegions = operations.Select(o => o.Request.SourceRegion).Distinct(StringComparer.Ordinal).ToList(),
            Total = total,
            Queued = queued,
            Copying = copying,
            Completed = completed,
            Failed = failed,
            PercentComplete = RegionProgress.PercentDone(total, completed + failed, inFlight),
            EstimatedRemaining = Estimate(region, inFlight, queued),
            InFlight = inFlight,
        };
    }

    /// <summary>From the average observed copy duration and the current window: the work left (queued copies plus the
    /// unfinished share of copies in flight) spread over the window, but never less than the slowest copy in flight.</summary>
    private TimeSpan? Estimate(string region, List<InFlightCopy> inFlight, int queued)
    {
        if (inFlight.Count == 0 && queued == 0) return TimeSpan.Zero;
        if (_durations.AverageSeconds(region) is not { } average) return null;
        var window = Math.Max(1, Math.Min(Options.ThrottleLimit, Engine.GetWindow(Clients.EndpointKey(region), region).Window));
        var now = Time.GetUtcNow().UtcDateTime;
        var inFlightLeft = inFlight.Select(c => ObservedDurations.RemainingSeconds(average, c, now)).ToList();
        var work = inFlightLeft.Sum() + queued * average;
        var seconds = Math.Max(inFlightLeft.DefaultIfEmpty(0).Max(), work / window);
        return TimeSpan.FromSeconds(Math.Max(0, seconds));
    }

    // ------------------------------------------------------------------ helpers

    private void Emit(CopyEvent copyEvent)
    {
        try { _events.Add(copyEvent); }
        catch (InvalidOperationException) { } // the job already finished (a straggler message); also ObjectDisposedException
    }

    private static void SafeCancel(CancellationTokenSource cts)
    {
        try { cts.Cancel(); }
        catch (ObjectDisposedException) { }
        catch (AggregateException) { } // a callback threw; the workers handle their own cancellation
    }

    private static CopyJobOptions Normalize(CopyJobOptions options) => new()
    {
        ThrottleLimit = Math.Max(1, Math.Min(100, options.ThrottleLimit)),
        Timeout = options.Timeout is { } t && t > TimeSpan.Zero ? t : null,
        DryRun = options.DryRun,
        NoWait = options.NoWait,
        PollInterval = options.PollInterval > TimeSpan.Zero ? options.PollInterval : TimeSpan.FromSeconds(2),
        VisibilityGrace = options.VisibilityGrace >= TimeSpan.Zero ? options.VisibilityGrace : TimeSpan.FromSeconds(30),
        MaxRetries = Math.Max(0, options.MaxRetries),
    };
}

