namespace Avtomat.Ec2.Testing;

/// <summary>A <see cref="TimeProvider"/> whose time moves only when the driver says so, and which knows when its next
/// timer is due (FakeTimeProvider keeps that to itself, so a driver on it can only step blindly). Timers are due at a
/// virtual instant; <see cref="AdvanceToNextTimer"/> moves the clock to the earliest one and fires every callback due
/// then: queued on the thread pool (the default), or run inline on the thread that advances the clock
/// (<see cref="InlineCallbacks"/>). It counts the callbacks it fired that have not returned yet (<see cref="Running"/>),
/// so a driver can tell when the work a step started has been handed on. The engine, the emulator and the baseline loops
/// all read this one clock.</summary>
public sealed class VirtualClock : TimeProvider
{
    private readonly object _gate = new();
    private readonly PriorityQueue<(VirtualTimer Timer, long Version), (long Due, long Order)> _queue = new();
    private readonly DateTimeOffset _epoch;
    private long _ticks; // since the epoch
    private long _order;
    private int _running;

    /// <param name="start">The clock's first instant.</param>
    /// <param name="inlineCallbacks">Run due callbacks inline on the thread that calls <see cref="AdvanceToNextTimer"/>
    /// (in due order, before it returns) instead of queuing them on the thread pool. A timer set with a zero due time
    /// then fires at the current instant on the next advance (never inline inside <c>CreateTimer</c>/<c>Change</c>, where
    /// the caller may hold locks). What a callback completes (a <c>Task.Delay</c>) resumes awaiting code inline too, so
    /// by the time the advance returns that code has run up to its next wait.</param>
    public VirtualClock(DateTimeOffset start, bool inlineCallbacks = false)
    {
        _epoch = start;
        InlineCallbacks = inlineCallbacks;
    }

    /// <summary>Due callbacks run inline on the advancing thread (see the constructor).</summary>
    public bool InlineCallbacks { get; }

    /// <summary>Callbacks fired (queued or started) that have not returned yet.</summary>
    public int Running => Volatile.Read(ref _running);

    /// <summary>True while any callback this clock fired has not returned.</summary>
    public bool CallbacksRunning => Running > 0;

    public override DateTimeOffset GetUtcNow() => _epoch.AddTicks(Volatile.Read(ref _ticks));
    public override long GetTimestamp() => Volatile.Read(ref _ticks);
    public override long TimestampFrequency => TimeSpan.TicksPerSecond;
    public override TimeZoneInfo LocalTimeZone => TimeZoneInfo.Utc;

    /// <summary>Timers created (a measure of the work the clock did).</summary>
    public long TimersCreated;
    /// <summary>Callbacks fired.</summary>
    public long Fired;

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        ArgumentNullException.ThrowIfNull(callback);
        Interlocked.Increment(ref TimersCreated);
        var timer = new VirtualTimer(this, callback, state);
        timer.Change(dueTime, period);
        return timer;
    }

    /// <summary>When the next timer is due, or null when none is.</summary>
    public DateTimeOffset? NextDue
    {
        get
        {
            lock (_gate)
            {
                DropStale();
                return _queue.TryPeek(out _, out var key) ? _epoch.AddTicks(key.Due) : null;
            }
        }
    }

    /// <summary>Moves the clock to the earliest due timer (never backwards) and fires every timer due then. False when no
    /// timer is set, or the next one is later than <paramref name="limit"/> (the clock then stays).</summary>
    /// <remarks>With <see cref="InlineCallbacks"/>, the callbacks run before this returns; if any throws, the others
    /// still run and the exception (an <see cref="AggregateException"/> for several) is thrown afterwards.</remarks>
    public bool AdvanceToNextTimer(DateTimeOffset? limit = null)
    {
        List<(TimerCallback, object?)> due = new();
        lock (_gate)
        {
            DropStale();
            if (!_queue.TryPeek(out _, out var first)) return false;
            if (limit is { } l && _epoch.AddTicks(first.Due) > l) return false;
            var at = Math.Max(first.Due, _ticks);
            Volatile.Write(ref _ticks, at);
            while (_queue.TryPeek(out var entry, out var key) && key.Due <= at)
            {
                _queue.Dequeue();
                var timer = entry.Timer;
                if (entry.Version != timer.Version || timer.Disposed) continue;
                due.Add((timer.Callback, timer.State));
                if (timer.Period > 0) Schedule(timer, at + timer.Period);
                else timer.Version++; // one-shot: spent
            }
        }
        if (!InlineCallbacks)
        {
            foreach (var (callback, state) in due) Fire(callback, state);
            return true;
        }
        List<Exception>? failures = null;
        foreach (var (callback, state) in due)
        {
            try { FireInline(callback, state); }
            catch (Exception e) { (failures ??= new()).Add(e); }
        }
        if (failures is { Count: 1 }) global::System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(failures[0]);
        if (failures is not null) throw new AggregateException("Timer callbacks failed.", failures);
        return true;
    }

    /// <summary>Moves the clock forward to <paramref name="to"/>, firing the timers due on the way (in order).</summary>
    public void AdvanceTo(DateTimeOffset to, Action? betweenTimers = null)
    {
        while (AdvanceToNextTimer(to)) betweenTimers?.Invoke();
        lock (_gate)
        {
            var ticks = (to - _epoch).Ticks;
            if (ticks > _ticks) Volatile.Write(ref _ticks, ticks);
        }
    }

    private void Fire(TimerCallback callback, object? state)
    {
        Interlocked.Increment(ref Fired);
        Interlocked.Increment(ref _running);
        ThreadPool.UnsafeQueueUserWorkItem(static s =>
        {
            try { s.Callback(s.State); }
            finally { Interlocked.Decrement(ref s.Clock._running); }
        }, (Callback: callback, State: state, Clock: this), preferLocal: false);
    }

    private void FireInline(TimerCallback callback, object? state)
    {
        Interlocked.Increment(ref Fired);
        Interlocked.Increment(ref _running);
        try { callback(state); }
        finally { Interlocked.Decrement(ref _running); }
    }

    private void DropStale()
    {
        while (_queue.TryPeek(out var entry, out _) && (entry.Version != entry.Timer.Version || entry.Timer.Disposed)) _queue.Dequeue();
    }

    private void Schedule(VirtualTimer timer, long due)
    {
        timer.Version++;
        _queue.Enqueue((timer, timer.Version), (due, _order++));
    }

    private bool Change(VirtualTimer timer, TimeSpan dueTime, TimeSpan period)
    {
        var fireNow = false;
        lock (_gate)
        {
            if (timer.Disposed) return false;
            timer.Version++; // forget any earlier schedule
            timer.Period = period == Timeout.InfiniteTimeSpan || period <= TimeSpan.Zero ? 0 : period.Ticks;
            if (dueTime == Timeout.InfiniteTimeSpan) return true;
            if (dueTime < TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(dueTime));
            if (dueTime == TimeSpan.Zero && InlineCallbacks) Schedule(timer, _ticks); // fires on the next advance, at this instant
            else if (dueTime == TimeSpan.Zero)
            {
                fireNow = true;
                if (timer.Period > 0) Schedule(timer, _ticks + timer.Period);
            }
            else Schedule(timer, _ticks + dueTime.Ticks);
        }
        if (fireNow) Fire(timer.Callback, timer.State);
        return true;
    }

    private sealed class VirtualTimer(VirtualClock clock, TimerCallback callback, object? state) : ITimer
    {
        public TimerCallback Callback { get; } = callback;
        public object? State { get; } = state;
        public long Version;
        public long Period;
        public volatile bool Disposed;

        public bool Change(TimeSpan dueTime, TimeSpan period) => clock.Change(this, dueTime, period);

        public void Dispose()
        {
            lock (clock._gate) { Disposed = true; Version++; }
        }

        public ValueTask DisposeAsync()
        {
            Dispose();
            return ValueTask.CompletedTask;
        }
    }
}
