using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;
using Avtomat.Ec2.Engine.Copy;
using Avtomat.Ec2.Engine.Internal;

namespace Avtomat.Ec2.Engine;

/// <summary>The part every create and wait job shares: the event queue, the job's stop (Ctrl+C or timeout), the count
/// of outstanding work and the end of the job. Thread-safe; events are meant to be taken on one thread.</summary>
public abstract class SnapshotJob : IDisposable
{
    private readonly BlockingCollection<SnapshotEvent> _events = new(new ConcurrentQueue<SnapshotEvent>());
    private readonly CancellationTokenSource _cancel;
    private readonly CancellationTokenSource? _timeout;
    private readonly CancellationTokenSource _stop;
    private readonly CancellationTokenSource _background = new();
    private readonly object _countGate = new();
    private int _outstanding;
    private bool _addingCompleted;
    private int _finalizing;
    private int _disposed;

    private protected SnapshotJob(CopyEngine engine, IEc2ClientSource clients, TimeSpan? timeout, int maxRetries, CancellationToken cancellationToken)
    {
        Engine = engine;
        Clients = clients;
        Time = engine.TimeProvider;
        StartedAt = Time.GetUtcNow();
        Timeout = timeout is { } t && t > TimeSpan.Zero && t != System.Threading.Timeout.InfiniteTimeSpan ? t : null;
        _cancel = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        if (Timeout is { } limit) _timeout = Time.CreateCancellationTokenSource(limit);
        _stop = _timeout is null
            ? CancellationTokenSource.CreateLinkedTokenSource(_cancel.Token)
            : CancellationTokenSource.CreateLinkedTokenSource(_cancel.Token, _timeout.Token);
        Counters = new JobCounters();
        Calls = new Ec2Calls(Time, Counters, maxRetries, message => Verbose(message));
    }

    internal CopyEngine Engine { get; }
    internal IEc2ClientSource Clients { get; }
    internal TimeProvider Time { get; }
    internal DateTimeOffset StartedAt { get; }
    internal TimeSpan? Timeout { get; }
    internal JobCounters Counters { get; }
    internal Ec2Calls Calls { get; }
    internal CancellationToken StopToken => _stop.Token;
    /// <summary>Cancelled when the job ends: background watches (NoWait) stop then.</summary>
    internal CancellationToken BackgroundToken => _background.Token;
    internal bool TimedOut => _timeout is not null && _timeout.IsCancellationRequested && !_cancel.IsCancellationRequested;
    internal bool AddingCompleted { get { lock (_countGate) return _addingCompleted; } }
    internal bool IsDisposed => Volatile.Read(ref _disposed) == 1;

    /// <summary>No more requests will be added.</summary>
    public void CompleteAdding()
    {
        lock (_countGate)
        {
            if (_addingCompleted) return;
            _addingCompleted = true;
        }
        FinalizeIfDone();
    }

    /// <summary>Takes the next event, waiting up to <paramref name="timeout"/> (zero: do not wait). False when none
    /// arrived in time, or when the job has finished and every event was taken (then <see cref="IsFinished"/> is true).</summary>
    public bool TryTake(out SnapshotEvent? snapshotEvent, TimeSpan timeout)
    {
        snapshotEvent = null;
        try
        {
            if (_events.TryTake(out var item, timeout))
            {
                snapshotEvent = item;
                return true;
            }
        }
        catch (ObjectDisposedException) { }
        return false;
    }

    /// <summary>Adding is complete, every request reached its final state and every event was taken.</summary>
    public bool IsFinished => _events.IsCompleted;

    /// <summary>The latest state per region (coalesced; cheap to call every 250–500 ms). For creates
    /// <see cref="InFlightCopy.SourceSnapshotId"/> holds the volume id; for waits, the snapshot id.</summary>
    public abstract IReadOnlyList<RegionProgress> GetProgress();

    public JobStatistics Statistics => Counters.Snapshot();

    /// <summary>Stops waiting and starting snapshots. Snapshots EC2 already accepted keep running.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1) return;
        SafeCancel(_cancel);
        lock (_countGate) _addingCompleted = true;
        FinalizeIfDone();
    }

    // ------------------------------------------------------------------ for the derived jobs

    /// <summary>Throws after CompleteAdding; false (nothing to do) after Dispose.</summary>
    private protected bool TryBeginRequest(int count = 1)
    {
        if (IsDisposed) return false;
        lock (_countGate)
        {
            if (_addingCompleted) throw new InvalidOperationException("CompleteAdding was called: no more requests can be added.");
            _outstanding += count;
        }
        return true;
    }

    /// <summary>More finished events are owed by a request (an instance set learns its volume count late).</summary>
    private protected void AddOutstanding(int count)
    {
        lock (_countGate) _outstanding += count;
    }

    /// <summary>One owed finished event went out (or will never be owed).</summary>
    private protected void EndOutstanding(int count = 1)
    {
        bool done;
        lock (_countGate)
        {
            _outstanding -= count;
            done = _outstanding <= 0 && _addingCompleted;
        }
        if (done) FinalizeIfDone();
    }

    internal void Verbose(string message, object? request = null) => Emit(new SnapshotMessageEvent(MessageLevel.Verbose, message, request));

    internal void Warn(string message, object? request = null) => Emit(new SnapshotMessageEvent(MessageLevel.Warning, message, request));

    internal void Emit(SnapshotEvent snapshotEvent)
    {
        try { _events.Add(snapshotEvent); }
        catch (InvalidOperationException) { } // the job already finished (a straggler message); also ObjectDisposedException
    }

    /// <summary>Runs once when the job is over (before the event stream closes): summaries, sweeps.</summary>
    private protected virtual Task OnFinishingAsync() => Task.CompletedTask;

    /// <summary>Ends the event stream now (used by Wait -Any).</summary>
    private protected void FinishEarly()
    {
        lock (_countGate) _addingCompleted = true;
        if (Interlocked.Exchange(ref _finalizing, 1) == 1) return;
        _ = Task.Run(FinalizeAsync);
    }

    private void FinalizeIfDone()
    {
        lock (_countGate)
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
            await OnFinishingAsync().ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            try { Warn($"Finishing the job failed: {ex.GetType().Name}: {ex.Message}"); } catch { }
        }
        finally
        {
            SafeCancel(_background);
            try { _events.CompleteAdding(); } catch (ObjectDisposedException) { }
            _timeout?.Dispose();
        }
    }

    internal static void SafeCancel(CancellationTokenSource cts)
    {
        try { cts.Cancel(); }
        catch (ObjectDisposedException) { }
        catch (AggregateException) { }
    }
}
