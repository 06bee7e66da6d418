using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;

namespace Avtomat.Ec2.Engine.Internal;

/// <summary>
/// First come, first served waiters for something an owner grants (a copy window slot, a volume slot), guarded by the
/// owner's lock. Used by the owner only: <see cref="AcquireAsync"/> grants at once or queues; <see cref="GrantWhile"/>
/// (under the owner's lock) hands out what became free, and <see cref="Complete"/> (outside it) wakes the waiters.
/// </summary>
internal sealed class FifoWaiters<T> where T : class
{
    private readonly object _ownerGate;
    private readonly LinkedList<Waiter> _waiters = new();

    public FifoWaiters(object ownerGate) => _ownerGate = ownerGate;

    /// <summary>Waiting now (read under the owner's lock).</summary>
    public int Count => _waiters.Count;

    /// <summary>Grants at once when nobody waits and <paramref name="canGrant"/>; otherwise waits in line
    /// (<paramref name="atFront"/>: ahead of newer waiters, for one that already waited its turn).</summary>
    public Task<T> AcquireAsync(Func<bool> canGrant, Func<T> grant, bool atFront, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        Waiter waiter;
        lock (_ownerGate)
        {
            if (_waiters.Count == 0 && canGrant()) return Task.FromResult(grant());
            waiter = new Waiter();
            waiter.Node = atFront ? _waiters.AddFirst(waiter) : _waiters.AddLast(waiter);
        }
        if (cancellationToken.CanBeCanceled)
        {
            waiter.Registration = cancellationToken.Register(() =>
            {
                lock (_ownerGate)
                {
                    if (waiter.Node?.List is null) return; // already granted
                    _waiters.Remove(waiter.Node);
                    waiter.Node = null;
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
            var waiter = _waiters.First!.Value;
            _waiters.RemoveFirst();
            waiter.Node = null;
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
        public readonly TaskCompletionSource<T> Completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public LinkedListNode<Waiter>? Node;
        public CancellationTokenRegistration Registration;
        public T? Granted;
    }
}
