namespace Avtomat.Ec2.Testing;

/// <summary>A <see cref="TimeProvider"/> whose time moves only when the driver says so, and which knows when its next
/// timer is due (FakeTimeProvider keeps that to itself, so a driver on it can only step blindly). Timers are due at a
/// virtual instant; <see cref="AdvanceToNextTimer"/> moves the clock to the earliest one and queues every callback due
/// then on the thread pool (never inline on the driver's thread). The engine, the emulator and the baseline loops all
/// read this one clock.</summary>
public sealed class VirtualClock : TimeProvider
{
    private readonly object _gate = new();
    private readonly PriorityQueue<(VirtualTimer Timer, long Version), (long Due, long Order)> _queue = new();
    private readonly DateTimeOffset _epoch;
    private long _ticks; // since the epoch
    private long _order;

    public VirtualClock(DateTimeOffset start) => _epoch = start;

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
        foreach (var (callback, state) in due) Fire(callback, state);
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
        ThreadPool.UnsafeQueueUserWorkItem(static s => s.Callback(s.State), (Callback: callback, State: state), preferLocal: false);
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
            if (dueTime == TimeSpan.Zero)
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
