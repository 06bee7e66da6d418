using System;
using System.Threading;

namespace Avtomat.Ec2.Engine.Scheduling;

/// <summary>
/// The engine's count of work not done yet: commands posted to a scheduler and not applied, and EC2 calls in flight.
/// Every piece of the engine's asynchronous work is one of these (schedulers have no other loops), so when the count is
/// zero nothing can happen until the clock moves or a caller posts something: the engine is idle. Tests and the
/// benchmark drive virtual time with it (run to idle, then jump the clock to the next due timer); in production it only
/// costs an interlocked add per command.
/// </summary>
internal sealed class Activity
{
    private readonly object _gate = new();
    private long _pending;

    public void Add() => Interlocked.Increment(ref _pending);

    public void Done(int count = 1)
    {
        if (count <= 0) return;
        if (Interlocked.Add(ref _pending, -count) != 0) return;
        lock (_gate) Monitor.PulseAll(_gate);
    }

    public bool IsIdle => Interlocked.Read(ref _pending) == 0;

    /// <summary>Blocks until the engine is idle or <paramref name="timeout"/> passed (real time). True when idle.</summary>
    public bool WaitIdle(TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        lock (_gate)
        {
            while (!IsIdle)
            {
                var left = deadline - DateTime.UtcNow;
                if (left <= TimeSpan.Zero) return false;
                // Pulsed when the count reaches zero; the short wait also covers a pulse that came just before this lock.
                Monitor.Wait(_gate, left < TimeSpan.FromMilliseconds(50) ? left : TimeSpan.FromMilliseconds(50));
            }
            return true;
        }
    }
}
