using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;

namespace Avtomat.Ec2.Engine.Internal;

/// <summary>
/// Waiters for something an owner grants (a copy window slot, a volume slot), guarded by the owner's lock, served
/// highest priority first and, within a priority, first come first served (all priorities equal: plain FIFO). Used by
/// the owner only: <see cref="AcquireAsync"/> grants at once or queues; <see cref="GrantWhile"/> (under the owner's
/// lock) hands out what became free, and <see cref="Complete"/> (outside it) wakes the waiters.
/// </summary>
internal sealed class OrderedWaiters<T> where T : class
{
    private readonly object _ownerGate;
    private readonly SortedSet<Waiter> _waiters = new(WaiterOrder.Instance);
    private long _arrivals;

    public OrderedWaiters(object ownerGate) => _ownerGate = ownerGate;

    /// <summary>Waiting now (read under the owner's lock).</summary>
    public int Count => _waiters.Count;

    /// <summary>Grants at once when nobody waits, <paramref name="grantOnArrival"/> and <paramref name="canGrant"/>;
    /// otherwise waits in line by <paramref name="priority"/> (higher first; <paramref name="atFront"/>: ahead of every
    /// other waiter, for one that already waited its turn).</summary>
    /// <param name="order">Breaks ties within a priority (lower first); null: the order of arrival here.</param>
    public Task<T> AcquireAsync(Func<bool> canGrant, Func<T> grant, bool atFront, CancellationToken cancellationToken,
        double priority = 0, bool grantOnArrival = true, long? order = null)
    {
        cancellationToken.ThrowIfCancellationRequested();
        Waiter waiter;
        lock (_ownerGate)
        {
            if (grantOnArrival && _waiters.Count == 0 && canGrant()) return Task.FromResult(grant());
            ++_arrivals;
            waiter = new Waiter(atFront ? double.PositiveInfinity : priority, order ?? (atFront ? -_arrivals : _arrivals), _arrivals);
            _waiters.Add(waiter);
        }
        if (cancellationToken.CanBeCanceled)
        {
            waiter.Registration = cancellationToken.Register(() =>
            {
                lock (_ownerGate)
                {
                    if (!_waiters.Remove(waiter)) return; // already granted
                }
                waiter.Completion.TrySetCanceled(cancellationToken);
            });
        }
        return waiter.Completion.Task;
    }

    /// <summary>Under the owner's lock: grants the first waiters, in order, while <paramref name="canGrant"/>.</summary>
    public List<Waiter> GrantWhile(Func<bool> canGrant, Func<T> grant)
    {
        var granted = new List<Waiter>();
        while (_waiters.Count > 0 && canGrant())
        {
            var waiter = _waiters.Min!;
            _waiters.Remove(waiter);
            waiter.Granted = grant();
            granted.Add(waiter);
        }
        return granted;
    }

    /// <summary>Outside the owner's lock: wakes the waiters <see cref="GrantWhile"/> granted.</summary>
    public static void Complete(List<Waiter> granted)
    {
        foreach (var waiter in granted)
        {
            waiter.Registration.Dispose();
            waiter.Completion.TrySetResult(waiter.Granted!);
        }
    }

    internal sealed class Waiter
    {
        public Waiter(double priority, long order, long arrival)
        {
            Priority = priority;
            Order = order;
            Arrival = arrival;
        }

        public double Priority { get; }
        /// <summary>The tie-breaker within a priority (the caller's order, or arrival here; negative for those put at the
        /// front without one, so the last one put there goes first).</summary>
        public long Order { get; }
        /// <summary>Arrival here: unique, so no two waiters compare equal.</summary>
        public long Arrival { get; }
        public readonly TaskCompletionSource<T> Completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public CancellationTokenRegistration Registration;
        public T? Granted;
    }

    private sealed class WaiterOrder : IComparer<Waiter>
    {
        public static readonly WaiterOrder Instance = new();

        public int Compare(Waiter? x, Waiter? y)
        {
            if (ReferenceEquals(x, y)) return 0;
            var byPriority = y!.Priority.CompareTo(x!.Priority); // higher first
            if (byPriority != 0) return byPriority;
            var byOrder = x.Order.CompareTo(y.Order);
            return byOrder != 0 ? byOrder : x.Arrival.CompareTo(y.Arrival);
        }
    }
}
