using System.Diagnostics;

namespace Avtomat.Ec2.Testing;

/// <summary>
/// Runs a system in virtual time: the clock moves only when nothing can happen without it. "Nothing can happen" means
/// no EC2 call is outstanding (counted around every IAmazonEC2 call, SDK retries included), no work item is queued on
/// the thread pool and no pool thread is busy — checked twice, with the pool's completed-item count unchanged between
/// the checks. Then the caller drains what the system reported (job events); if there was nothing, the clock jumps to
/// the next due timer, whose callbacks run on the pool, and the cycle repeats. Real time spent per virtual instant is
/// only the CPU the work needs, so 10,000 copies of 20 minutes each (a week of virtual time) take minutes.
/// The driver must run on a thread of its own (not a pool thread), or it would count itself as busy.
/// </summary>
public sealed class VirtualTimeDriver
{
    private long _inFlight;

    public VirtualTimeDriver(VirtualClock clock) => Clock = clock;

    public VirtualClock Clock { get; }

    /// <summary>Real time the driver waits for the system to settle at one virtual instant before it gives up.</summary>
    public TimeSpan StallLimit { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>Virtual instants the driver moved the clock to.</summary>
    public long Steps { get; private set; }

    public void CallStarted() => Interlocked.Increment(ref _inFlight);
    public void CallEnded() => Interlocked.Decrement(ref _inFlight);
    public long InFlight => Interlocked.Read(ref _inFlight);

    /// <summary>Runs until <paramref name="done"/> says so. <paramref name="drain"/> takes what the system reported at
    /// the current instant and returns true when it took anything (it may hand the system more work).</summary>
    /// <exception cref="TimeoutException">The system did not settle, or nothing was scheduled while not done (a
    /// deadlock), or <paramref name="maxVirtual"/> passed.</exception>
    public void Run(Func<bool> drain, Func<bool> done, TimeSpan maxVirtual)
    {
        if (Thread.CurrentThread.IsThreadPoolThread) throw new InvalidOperationException("Run the driver on a thread of its own.");
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
                    throw new TimeoutException("Deadlock: the run is not done, nothing is running and no timer is set.");
            }
            Steps++;
        }
    }

    /// <summary>Blocks (spinning, yielding the core) until no call is outstanding and the thread pool is idle.</summary>
    public void WaitUntilQuiet()
    {
        var spinner = new SpinWait();
        Stopwatch? stalled = null;
        while (true)
        {
            if (IsQuiet())
            {
                var completed = ThreadPool.CompletedWorkItemCount;
                Thread.Yield();
                if (IsQuiet() && ThreadPool.CompletedWorkItemCount == completed) return;
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

    private bool IsQuiet() => Interlocked.Read(ref _inFlight) == 0 && ThreadPool.PendingWorkItemCount == 0 && BusyPoolThreads() == 0;

    private static int BusyPoolThreads()
    {
        ThreadPool.GetMaxThreads(out var max, out _);
        ThreadPool.GetAvailableThreads(out var available, out _);
        return max - available;
    }
}
