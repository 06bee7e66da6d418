using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;
using Avtomat.Ec2.Engine.Internal;

namespace Avtomat.Ec2.Engine.Copy;

/// <summary>
/// A window of copy slots, granted in a chosen order: the copy expected to take longest first (its priority), ties in
/// arrival order. The engine keeps one per (endpoint, account, destination region), shared by every job, so concurrent
/// invocations never exceed EC2's pending-copy limit together and the longest copies of all of them start first; each
/// job also has one per destination for its ThrottleLimit. A slot is held from just before CopySnapshot until the copy
/// is seen finished.
/// </summary>
/// <remarks>
/// Order needs the competitors in the queue: a request that finds a free slot waits <c>collect</c> (a fraction of a
/// second) for the others checked in the same batch to join, then the free slots go to the highest priorities. A slot
/// that frees up later goes at once to the head of the queue.
/// </remarks>
/// <remarks>
/// ResourceLimitExceeded means copies started elsewhere in the account use part of EC2's limit: the window shrinks to the
/// copies this process holds (at least 1). It grows back by one per finished copy and, because the others' copies end
/// without telling us, by one per <c>recovery</c> interval while it is short (a probe: one more CopySnapshot, and
/// another ResourceLimitExceeded shrinks it again if they still run). When nothing uses it, it is back at
/// <see cref="Limit"/> at once.
/// </remarks>
public sealed class CopyWindow : IDisposable
{
    private readonly object _gate = new();
    private readonly OrderedWaiters<CopySlot> _waiters;
    private readonly TimeProvider? _time;
    private readonly TimeSpan _recovery;
    private readonly TimeSpan _collect;
    private ITimer? _recoveryTimer;
    private ITimer? _dispatchTimer;
    private bool _disposed;
    private int _window;
    private int _inUse;
    private int _peakInUse;

    /// <param name="name">For diagnostics.</param>
    /// <param name="limit">Slots when nothing pushes back.</param>
    /// <param name="time">Clock of the recovery timer; null: a window that never shrinks below its limit by time (a job's ThrottleLimit).</param>
    /// <param name="recovery">How often a shrunk window grows back by one slot.</param>
    /// <param name="collect">How long a request that finds a free slot waits for others to join the queue, so the free
    /// slots go by priority (zero, or no clock: granted on arrival, first come first served).</param>
    public CopyWindow(string name, int limit, TimeProvider? time = null, TimeSpan recovery = default, TimeSpan collect = default)
    {
        if (limit < 1) throw new ArgumentOutOfRangeException(nameof(limit), limit, "The window needs at least one slot.");
        Name = name;
        Limit = limit;
        _window = limit;
        _waiters = new OrderedWaiters<CopySlot>(_gate);
        _time = time;
        _recovery = recovery > TimeSpan.Zero ? recovery : TimeSpan.FromSeconds(30);
        _collect = time is not null && collect > TimeSpan.Zero ? collect : TimeSpan.Zero;
    }

    public string Name { get; }
    public int Limit { get; }

    /// <summary>Slots currently allowed (≤ <see cref="Limit"/>; smaller after ResourceLimitExceeded).</summary>
    public int Window { get { lock (_gate) return _window; } }
    public int InUse { get { lock (_gate) return _inUse; } }
    public int PeakInUse { get { lock (_gate) return _peakInUse; } }
    public int Waiting { get { lock (_gate) return _waiters.Count; } }

    /// <summary>Waits for a slot: highest <paramref name="priority"/> first (the expected duration in seconds), ties
    /// first come first served. <paramref name="atFront"/> re-queues a request that already waited its turn (after
    /// ResourceLimitExceeded) ahead of all others.</summary>
    /// <param name="order">Ties within a priority go by it (the request's place in the input); null: arrival here.</param>
    public Task<CopySlot> AcquireAsync(CancellationToken cancellationToken, bool atFront = false, double priority = 0, long? order = null)
    {
        var slot = _waiters.AcquireAsync(() => _inUse < _window, Grant, atFront, cancellationToken, priority, grantOnArrival: _collect == TimeSpan.Zero, order);
        if (!slot.IsCompleted) ScheduleDispatch();
        return slot;
    }

    /// <summary>Free slots and a queue: grant them once the requests arriving together have joined it.</summary>
    private void ScheduleDispatch()
    {
        lock (_gate)
        {
            if (_dispatchTimer is not null || _disposed || _inUse >= _window || _waiters.Count == 0) return;
            _dispatchTimer = _time!.CreateTimer(_ => Dispatch(), null, _collect, Timeout.InfiniteTimeSpan);
        }
    }

    private void Dispatch()
    {
        List<OrderedWaiters<CopySlot>.Waiter> granted;
        lock (_gate)
        {
            _dispatchTimer?.Dispose();
            _dispatchTimer = null;
            granted = GrantWaiters();
        }
        OrderedWaiters<CopySlot>.Complete(granted);
    }

    internal void Release(CopySlot slot, SlotRelease how)
    {
        List<OrderedWaiters<CopySlot>.Waiter> granted;
        lock (_gate)
        {
            _inUse--;
            switch (how)
            {
                case SlotRelease.CopyFinished:
                    if (_window < Limit) _window++; // grow back one per finished copy
                    break;
                case SlotRelease.LimitExceeded:
                    _window = Math.Max(1, Math.Min(_window, _inUse));
                    StartRecoveryLocked();
                    break;
            }
            // Nobody holds or waits for a slot: whatever pushed back is not ours to remember.
            if (_inUse == 0 && _waiters.Count == 0) _window = Limit;
            if (_window >= Limit) StopRecoveryLocked();
            granted = GrantWaiters();
        }
        OrderedWaiters<CopySlot>.Complete(granted);
    }

    private void StartRecoveryLocked()
    {
        if (_time is null || _recoveryTimer is not null || _disposed || _window >= Limit) return;
        _recoveryTimer = _time.CreateTimer(_ => GrowOne(), null, _recovery, _recovery);
    }

    private void StopRecoveryLocked()
    {
        _recoveryTimer?.Dispose();
        _recoveryTimer = null;
    }

    /// <summary>One more slot after a quiet interval (copies started elsewhere finish without telling us).</summary>
    private void GrowOne()
    {
        List<OrderedWaiters<CopySlot>.Waiter> granted;
        lock (_gate)
        {
            if (_window < Limit) _window++;
            if (_window >= Limit) StopRecoveryLocked();
            granted = GrantWaiters();
        }
        OrderedWaiters<CopySlot>.Complete(granted);
    }

    /// <summary>Stops the recovery timer (the registry evicted the window).</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            _disposed = true;
            StopRecoveryLocked();
            _dispatchTimer?.Dispose();
            _dispatchTimer = null;
        }
    }

    private List<OrderedWaiters<CopySlot>.Waiter> GrantWaiters() => _waiters.GrantWhile(() => _inUse < _window, Grant);

    private CopySlot Grant()
    {
        _inUse++;
        if (_inUse > _peakInUse) _peakInUse = _inUse;
        return new CopySlot(this);
    }

    public override string ToString() => $"{Name}: {InUse}/{Window} (limit {Limit}, {Waiting} waiting)";
}

internal enum SlotRelease
{
    /// <summary>The call did not create a copy (failed, or a dry run).</summary>
    Unused,
    /// <summary>The copy was seen completed or failed: capacity is really free (and the window may grow).</summary>
    CopyFinished,
    /// <summary>EC2 said ResourceLimitExceeded: shrink the window.</summary>
    LimitExceeded,
    /// <summary>We stopped watching a copy that may still run (timeout, cancellation).</summary>
    Abandoned,
}

/// <summary>One held slot of a <see cref="CopyWindow"/>; released once (further releases are ignored).</summary>
public sealed class CopySlot
{
    private readonly CopyWindow _window;
    private int _released;

    internal CopySlot(CopyWindow window) => _window = window;

    internal bool Release(SlotRelease how)
    {
        if (Interlocked.Exchange(ref _released, 1) == 1) return false;
        _window.Release(this, how);
        return true;
    }
}
