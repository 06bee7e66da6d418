using System.Diagnostics;

namespace Avtomat.Ec2.Testing;

/// <summary>How a <see cref="VirtualTimeDriver"/> tells that nothing can happen without the clock moving.</summary>
public enum QuietMode
{
    /// <summary>No counted call in flight, no work item queued on the thread pool and no pool thread busy — checked
    /// twice, with the pool's completed-item count unchanged in between. Needs a process of its own (the benchmark's): a
    /// test host's pool always has threads of its own busy, so it never settles there; and the driver must not run on a
    /// pool thread (it would count itself as busy).</summary>
    ThreadPoolIdle,
    /// <summary>The system under test says when it is idle (a <c>Func&lt;bool&gt;</c>, e.g. an engine that counts its own
    /// pending work), and no counted call is in flight, and no clock callback is running — checked twice. The thread pool
    /// is not looked at, so the driver may run on any thread: a test thread of xunit, a pool thread, a thread of its own.</summary>
    SystemReportsIdle,
}

/// <summary>
/// Runs a system in virtual time: the clock moves only when nothing can happen without it (<see cref="QuietMode"/>).
/// Then the caller drains what the system reported (job events); if there was nothing, the clock jumps to the next due
/// timer, whose callbacks run (on the pool, or inline on the driver's thread: <see cref="VirtualClock.InlineCallbacks"/>),
/// and the cycle repeats. Real time spent per virtual instant is only the CPU the work needs, so 10,000 copies of 20
/// minutes each (a week of virtual time) take minutes.
/// <para>"No counted call in flight" counts every IAmazonEC2 call wrapped by <see cref="CountingProxy"/> from the call
/// until its task completed (SDK retries included).</para>
/// <para><see cref="QuietMode.SystemReportsIdle"/> is exact only as far as the system's own count is: it must count as
/// busy everything it has started and not yet parked on a timer of this clock or on the driver (an operation awaiting
/// an EC2 call is busy: the call's end and the operation's resumption are two steps, and the driver must not look in
/// between; queued continuations are busy). Waiting on a timer is idle: the wake-up runs inside the timer's callback,
/// which <see cref="VirtualClock.Running"/> counts — inline on the driver's thread with
/// <see cref="VirtualClock.InlineCallbacks"/>, which closes the gap between a callback returning and a continuation it
/// queued elsewhere. A wake-up is counted without a gap so: <c>var woken = Task.Delay(d, clock).ContinueWith(_ =>
/// Interlocked.Increment(ref busy), ExecuteSynchronously); Interlocked.Decrement(ref busy); await woken;</c> (the
/// increment runs inside the timer's callback, or at once if it already fired). The system must not need the driver's own thread to make progress (no continuation posted to a
/// single-threaded context the driver blocks): start it with <c>Task.Run</c> or <c>ConfigureAwait(false)</c>.
/// Why any thread works in this mode: quiet is decided from the system's and the clock's own counts, never from the
/// pool, so the driver's thread (a pool or xunit thread) does not count itself as busy, and xunit's own pool threads
/// do not keep it from settling.</para>
/// </summary>
public sealed class VirtualTimeDriver
{
    private readonly Func<bool>? _isIdle;
    private long _inFlight;

    /// <summary>A driver that waits for the whole thread pool to be idle (<see cref="QuietMode.ThreadPoolIdle"/>).</summary>
    public VirtualTimeDriver(VirtualClock clock)
    {
        Clock = clock;
        Mode = QuietMode.ThreadPoolIdle;
    }

    /// <summary>A driver that takes the system's word for being idle (<see cref="QuietMode.SystemReportsIdle"/>):
    /// <paramref name="isIdle"/> is called on the driver's thread, often; keep it quick and thread-safe.</summary>
    public VirtualTimeDriver(VirtualClock clock, Func<bool> isIdle)
    {
        ArgumentNullException.ThrowIfNull(isIdle);
        Clock = clock;
        _isIdle = isIdle;
        Mode = QuietMode.SystemReportsIdle;
    }

    public VirtualClock Clock { get; }

    public QuietMode Mode { get; }

    /// <summary>Real time the driver waits for the system to settle at one virtual instant before it gives up.</summary>
    public TimeSpan StallLimit { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>Virtual instants the driver moved the clock to.</summary>
    public long Steps { get; private set; }

    public void CallStarted() => Interlocked.Increment(ref _inFlight);
    public void CallEnded() => Interlocked.Decrement(ref _inFlight);
    public long InFlight => Interlocked.Read(ref _inFlight);

    /// <summary>Runs until <paramref name="done"/> says so, stepping the clock from timer to timer.</summary>
    public void Run(Func<bool> done, TimeSpan maxVirtual) => Run(static () => false, done, maxVirtual);

    /// <summary>Runs until <paramref name="done"/> says so. <paramref name="drain"/> takes what the system reported at
    /// the current instant and returns true when it took anything (it may hand the system more work).</summary>
    /// <exception cref="TimeoutException">The system did not settle within <see cref="StallLimit"/> of real time (a
    /// stall), or nothing was scheduled while not done (a deadlock), or <paramref name="maxVirtual"/> passed.</exception>
    /// <exception cref="InvalidOperationException">A <see cref="QuietMode.ThreadPoolIdle"/> driver on a pool thread.</exception>
    public void Run(Func<bool> drain, Func<bool> done, TimeSpan maxVirtual)
    {
        if (Mode == QuietMode.ThreadPoolIdle && Thread.CurrentThread.IsThreadPoolThread)
            throw new InvalidOperationException("Run the driver on a thread of its own (or give it the system's isIdle).");
        var end = Clock.GetUtcNow() + maxVirtual;
        while (true)
        {
            WaitUntilQuiet();
            if (drain()) continue;
            if (done()) return;
            if (Clock.GetUtcNow() > end) throw new TimeoutException($"Not done after {maxVirtual} of virtual time.");
            if (!Clock.AdvanceToNextTimer())
            {
                // Nothing scheduled: maybe a continuation is still on its way; look once more before calling it a deadlock.
                Thread.Sleep(10);
                WaitUntilQuiet();
                if (drain() || done()) continue;
                if (!Clock.AdvanceToNextTimer())
                    throw new TimeoutException($"Deadlock at {Clock.GetUtcNow():O}: the run is not done, nothing is running and no timer is set.");
            }
            Steps++;
        }
    }

    /// <summary>Blocks until the system is quiet (<see cref="Mode"/>).</summary>
    /// <exception cref="TimeoutException">Not quiet within <see cref="StallLimit"/> of real time.</exception>
    public void WaitUntilQuiet()
    {
        if (Mode == QuietMode.SystemReportsIdle) WaitUntilSystemIdle();
        else WaitUntilPoolIdle();
    }

    /// <summary>True when the system looks quiet right now (one look; <see cref="WaitUntilQuiet"/> looks twice).</summary>
    public bool IsQuiet() => Mode == QuietMode.SystemReportsIdle ? IsSystemIdle() : IsPoolQuiet();

    private void WaitUntilSystemIdle()
    {
        var spinner = new SpinWait();
        var stalled = Stopwatch.StartNew();
        while (true)
        {
            if (IsSystemIdle())
            {
                Thread.Yield();
                if (IsSystemIdle()) return;
            }
            spinner.SpinOnce(); // yields, then sleeps 1 ms between looks: the system's threads need the cores
            if (stalled.Elapsed > StallLimit)
                throw new TimeoutException($"The system did not settle within {StallLimit} of real time at {Clock.GetUtcNow():O} " +
                    $"(calls in flight {InFlight}, clock callbacks running {Clock.Running}, system idle {_isIdle!()}).");
        }
    }

    // Counted calls first, then clock callbacks, then the system: work moves from the first two to the system, so a hand
    // over between the looks is seen by the later one.
    private bool IsSystemIdle() => Interlocked.Read(ref _inFlight) == 0 && Clock.Running == 0 && _isIdle!();

    /// <summary>Blocks (spinning, yielding the core) until no call is outstanding and the thread pool is idle.</summary>
    private void WaitUntilPoolIdle()
    {
        var spinner = new SpinWait();
        Stopwatch? stalled = null;
        while (true)
        {
            if (IsPoolQuiet())
            {
                var completed = ThreadPool.CompletedWorkItemCount;
                Thread.Yield();
                if (IsPoolQuiet() && ThreadPool.CompletedWorkItemCount == completed) return;
            }
            spinner.SpinOnce(sleep1Threshold: -1);
            if (spinner.Count % 1024 == 0)
            {
                stalled ??= Stopwatch.StartNew();
                if (stalled.Elapsed > StallLimit)
                    throw new TimeoutException($"The system did not settle within {StallLimit} of real time at {Clock.GetUtcNow():O} " +
                        $"(calls in flight {InFlight}, pool queue {ThreadPool.PendingWorkItemCount}, busy pool threads {BusyPoolThreads()}).");
            }
        }
    }

    private bool IsPoolQuiet() => Interlocked.Read(ref _inFlight) == 0 && ThreadPool.PendingWorkItemCount == 0 && BusyPoolThreads() == 0;

    private static int BusyPoolThreads()
    {
        ThreadPool.GetMaxThreads(out var max, out _);
        ThreadPool.GetAvailableThreads(out var available, out _);
        return max - available;
    }
}
