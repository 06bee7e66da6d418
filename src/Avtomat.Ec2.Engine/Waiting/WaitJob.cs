using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Amazon.EC2.Model;
using Avtomat.Ec2.Engine.Copy;
using Avtomat.Ec2.Engine.Internal;

namespace Avtomat.Ec2.Engine.Waiting;

/// <summary>Waits for snapshots (any snapshot, not only the module's) on the process-wide shared poller: one
/// SnapshotFinishedEvent per snapshot when it is completed (State Completed), in error (Failed, SnapshotFailed with EC2's
/// statusMessage), not found (Failed, SnapshotNotFound) or when the timeout runs out (TimedOut, WaitTimedOut). With
/// <see cref="WaitJobOptions.Any"/> the job ends at the first completed or failed snapshot; the others are not reported.</summary>
public sealed class WaitJob : SnapshotJob
{
    private readonly object _gate = new();
    private readonly List<WaitOperation> _operations = new();
    private readonly ConcurrentDictionary<string, PollSubscriber> _subscribers = new(StringComparer.Ordinal);
    private int _anyDone;

    internal WaitJob(CopyEngine engine, IEc2ClientSource clients, WaitJobOptions options, CancellationToken cancellationToken)
        : base(engine, clients, options.Timeout, 8, cancellationToken)
    {
        Options = new WaitJobOptions
        {
            Timeout = Timeout,
            Any = options.Any,
            PollInterval = options.PollInterval > TimeSpan.Zero ? options.PollInterval : TimeSpan.FromSeconds(2),
            VisibilityGrace = options.VisibilityGrace >= TimeSpan.Zero ? options.VisibilityGrace : TimeSpan.FromSeconds(30),
        };
    }

    internal WaitJobOptions Options { get; }

    /// <summary>Waits for <paramref name="snapshotId"/> in <paramref name="region"/>; never blocks.</summary>
    public void Add(string snapshotId, string region) => Add(new SnapshotWaitRequest { SnapshotId = snapshotId, Region = region });

    /// <summary>Waits for one snapshot; never blocks. Ignored after an -Any job already finished.</summary>
    public void Add(SnapshotWaitRequest request)
    {
        if (request is null) throw new ArgumentNullException(nameof(request));
        if (Volatile.Read(ref _anyDone) == 1) return;
        if (!TryBeginRequest()) return;
        var op = new WaitOperation(request);
        lock (_gate) _operations.Add(op);
        _ = Task.Run(() => RunAsync(op));
    }

    public override IReadOnlyList<RegionProgress> GetProgress()
    {
        List<WaitOperation> operations;
        lock (_gate) operations = _operations.ToList();
        return operations.GroupBy(o => o.Request.Region, StringComparer.Ordinal).Select(g =>
        {
            var results = g.Select(o => o.CloneResult()).ToList();
            var inFlight = results.Where(r => r.State == SnapshotCopyState.Pending).Select(r => new InFlightCopy
            {
                SourceSnapshotId = r.SnapshotId ?? "",
                SnapshotId = r.SnapshotId ?? "",
                Progress = r.Progress,
                StartTime = r.StartTime ?? default,
            }).ToList();
            var completed = results.Count(r => r.State == SnapshotCopyState.Completed);
            var failed = results.Count(r => r.State == SnapshotCopyState.Failed || r.State == SnapshotCopyState.TimedOut);
            var total = results.Count;
            return new RegionProgress
            {
                DestinationRegion = g.Key,
                SourceRegions = new[] { g.Key },
                Total = total,
                Queued = 0,
                Copying = inFlight.Count,
                Completed = completed,
                Failed = failed,
                PercentComplete = RegionProgress.PercentDone(total, completed + failed, inFlight),
                EstimatedRemaining = inFlight.Count == 0 ? TimeSpan.Zero : null,
                InFlight = inFlight,
            };
        }).ToList();
    }

    private async Task RunAsync(WaitOperation op)
    {
        var region = op.Request.Region;
        var id = op.Request.SnapshotId;
        try
        {
            var subscriber = _subscribers.GetOrAdd(region, r => new PollSubscriber(() => Clients.For(r), Calls,
                Options.PollInterval, Options.VisibilityGrace, message => Verbose(message), StopToken));
            using var watch = CancellationTokenSource.CreateLinkedTokenSource(StopToken, BackgroundToken);
            var final = await Engine.Poller(Clients, region).WaitForFinalStateAsync(id, subscriber, s => op.Observe(s), watch.Token)
                .ConfigureAwait(false);
            op.Observe(final);
            if (final.State?.Value == "completed") Finish(op, SnapshotCopyState.Completed, null, anyTrigger: true);
            else Finish(op, SnapshotCopyState.Failed, EngineErrors.SnapshotFailed(id, region, final.StateMessage), anyTrigger: true, final.StateMessage);
        }
        catch (SnapshotNotVisibleException)
        {
            Finish(op, SnapshotCopyState.Failed, EngineErrors.SnapshotNotFound(id, region), anyTrigger: true);
        }
        catch (OperationCanceledException) when (StopToken.IsCancellationRequested || BackgroundToken.IsCancellationRequested)
        {
            if (BackgroundToken.IsCancellationRequested && !StopToken.IsCancellationRequested) Skip(op); // -Any: another one finished
            else if (TimedOut) Finish(op, SnapshotCopyState.TimedOut, EngineErrors.WaitTimedOut(id, region, Timeout!.Value), anyTrigger: false);
            else Finish(op, SnapshotCopyState.Pending, EngineErrors.WaitStopped(id, region), anyTrigger: false);
        }
        catch (Exception ex)
        {
            Finish(op, SnapshotCopyState.Failed, EngineErrors.Unexpected(id, ex), anyTrigger: false);
        }
    }

    private void Finish(WaitOperation op, SnapshotCopyState state, EngineError? error, bool anyTrigger, string? statusMessage = null)
    {
        if (!op.TryMarkFinished()) return;
        if (Options.Any && Volatile.Read(ref _anyDone) == 1)
        {
            EndOutstanding(); // -Any already answered: the rest are not reported
            return;
        }
        var result = op.Complete(state, state is SnapshotCopyState.Completed or SnapshotCopyState.Failed ? Time.GetUtcNow().UtcDateTime : null,
            statusMessage ?? error?.Message);
        if (Options.Any && anyTrigger)
        {
            if (Interlocked.Exchange(ref _anyDone, 1) == 1) { EndOutstanding(); return; }
            Emit(new SnapshotFinishedEvent(op.Request, result, error));
            FinishEarly();
            EndOutstanding();
            return;
        }
        Emit(new SnapshotFinishedEvent(op.Request, result, error));
        EndOutstanding();
    }

    private void Skip(WaitOperation op)
    {
        if (op.TryMarkFinished()) EndOutstanding();
    }

    private protected override Task OnFinishingAsync()
    {
        List<WaitOperation> operations;
        lock (_gate) operations = _operations.ToList();
        foreach (var group in operations.GroupBy(o => o.Request.Region, StringComparer.Ordinal))
        {
            var results = group.Select(o => o.CloneResult()).ToList();
            int Count(SnapshotCopyState s) => results.Count(r => r.State == s);
            var calls = Counters.CallsIn(group.Key);
            Verbose($"{group.Key}: waited for {results.Count} snapshot(s): {Count(SnapshotCopyState.Completed)} completed, " +
                    $"{Count(SnapshotCopyState.Failed)} failed, {Count(SnapshotCopyState.TimedOut)} timed out in {Time.GetUtcNow() - StartedAt:hh\\:mm\\:ss}; " +
                    "API calls: " + (calls.Count == 0 ? "none" : string.Join(", ", calls.OrderBy(p => p.Key).Select(p => $"{p.Key} {p.Value}"))) + ".");
        }
        return Task.CompletedTask;
    }

    private sealed class WaitOperation
    {
        private readonly object _gate = new();
        private readonly SnapshotResult _result;
        private int _finished;

        public WaitOperation(SnapshotWaitRequest request)
        {
            Request = request;
            _result = new SnapshotResult { SnapshotId = request.SnapshotId, Region = request.Region, State = SnapshotCopyState.Pending };
        }

        public SnapshotWaitRequest Request { get; }

        public bool TryMarkFinished() => Interlocked.Exchange(ref _finished, 1) == 0;

        public void Observe(Snapshot s)
        {
            lock (_gate) SnapshotResults.Apply(_result, s);
        }

        public SnapshotResult Complete(SnapshotCopyState state, DateTime? completedAt, string? statusMessage)
        {
            lock (_gate)
            {
                _result.State = state;
                if (completedAt is not null) _result.CompletionTime = completedAt;
                if (state != SnapshotCopyState.Completed && statusMessage is not null) _result.StatusMessage = statusMessage;
                return _result.Clone();
            }
        }

        public SnapshotResult CloneResult()
        {
            lock (_gate) return _result.Clone();
        }
    }
}
