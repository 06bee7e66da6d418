using System.Collections.Concurrent;
using System.Diagnostics;
using Avtomat.Ec2.Testing;

namespace Avtomat.Ec2.Emulator.Tests;

/// <summary>The shared harness's clock and driver (tests/Avtomat.Ec2.Testing): callbacks counted until they return,
/// inline callbacks, and the driver in <see cref="QuietMode.SystemReportsIdle"/> on a test thread and on a pool thread,
/// never stepping while the system is busy, with clear errors for a stall and a deadlock.</summary>
public sealed class VirtualTimeHarnessTests
{
    private static readonly DateTimeOffset Start = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);

    // ------------------------------------------------------------ clock

    [Fact]
    public void A_pool_callback_counts_as_running_from_the_advance_until_it_returns()
    {
        var clock = new VirtualClock(Start);
        using var release = new ManualResetEventSlim();
        using var entered = new ManualResetEventSlim();
        using var timer = clock.CreateTimer(_ => { entered.Set(); release.Wait(); }, null, TimeSpan.FromSeconds(1), Timeout.InfiniteTimeSpan);
        Assert.Equal(0, clock.Running);

        Assert.True(clock.AdvanceToNextTimer());
        Assert.True(clock.CallbacksRunning); // counted from the moment it is queued
        Assert.True(entered.Wait(TimeSpan.FromSeconds(10)));
        Thread.Sleep(50);
        Assert.Equal(1, clock.Running); // still inside
        release.Set();
        var sw = Stopwatch.StartNew();
        while (clock.Running != 0 && sw.Elapsed < TimeSpan.FromSeconds(10)) Thread.Sleep(1);
        Assert.False(clock.CallbacksRunning);
        Assert.Equal(1, clock.Fired);
    }

    [Fact]
    public async Task Inline_callbacks_run_on_the_advancing_thread_before_the_advance_returns_and_awaiting_code_resumes_there()
    {
        var clock = new VirtualClock(Start, inlineCallbacks: true);
        var seen = new List<(int Thread, int Running, string Name)>();
        using var a = clock.CreateTimer(_ => seen.Add((Environment.CurrentManagedThreadId, clock.Running, "a")), null, TimeSpan.FromSeconds(2), Timeout.InfiniteTimeSpan);
        using var b = clock.CreateTimer(_ => seen.Add((Environment.CurrentManagedThreadId, clock.Running, "b")), null, TimeSpan.FromSeconds(2), Timeout.InfiniteTimeSpan);
        var resumed = -1;
        var delayed = Task.Delay(TimeSpan.FromSeconds(2), clock).ContinueWith(_ => resumed = Environment.CurrentManagedThreadId,
            CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        await Task.Yield();

        var me = Environment.CurrentManagedThreadId;
        Assert.True(clock.AdvanceToNextTimer());
        Assert.Equal(new[] { (me, 1, "a"), (me, 1, "b") }, seen); // in order, inline, each counted while it ran
        Assert.Equal(me, Volatile.Read(ref resumed)); // what waited on Task.Delay ran inside the callback
        Assert.True(delayed.IsCompleted);
        Assert.Equal(0, clock.Running);

        // A zero due time never fires inside CreateTimer: at the current instant, on the next advance.
        var zero = 0;
        using var now = clock.CreateTimer(_ => zero++, null, TimeSpan.Zero, Timeout.InfiniteTimeSpan);
        Assert.Equal(0, zero);
        Assert.Equal(clock.GetUtcNow(), clock.NextDue);
        Assert.True(clock.AdvanceToNextTimer());
        Assert.Equal((1, Start.AddSeconds(2)), (zero, clock.GetUtcNow()));
    }

    [Fact]
    public void An_inline_callback_that_throws_does_not_stop_the_others_and_its_exception_reaches_the_advancer()
    {
        var clock = new VirtualClock(Start, inlineCallbacks: true);
        var ran = new List<string>();
        using var bad = clock.CreateTimer(_ => throw new InvalidOperationException("boom"), null, TimeSpan.FromSeconds(1), Timeout.InfiniteTimeSpan);
        using var good = clock.CreateTimer(_ => ran.Add("good"), null, TimeSpan.FromSeconds(1), Timeout.InfiniteTimeSpan);
        var e = Assert.Throws<InvalidOperationException>(() => clock.AdvanceToNextTimer());
        Assert.Equal("boom", e.Message);
        Assert.Equal(new[] { "good" }, ran);
        Assert.Equal(0, clock.Running);
    }

    // ------------------------------------------------------------ driver, SystemReportsIdle

    /// <summary>Workers that each do <paramref name="rounds"/> rounds of real-time work (marked busy) then wait
    /// <see cref="Wait"/> on the clock. The clock time is noted at the start and end of every busy stretch.</summary>
    private sealed class Workers
    {
        private readonly VirtualClock _clock;
        private int _busy;
        private int _finished;
        public readonly ConcurrentQueue<(DateTimeOffset Begin, DateTimeOffset End)> Stretches = new();
        public readonly List<Task> Tasks = new();

        public Workers(VirtualClock clock, int count, int rounds, TimeSpan work)
        {
            _clock = clock;
            _busy = count; // busy from the start: each worker reports idle only once parked on its timer
            for (var i = 0; i < count; i++)
                Tasks.Add(Task.Run(async () =>
                {
                    for (var r = 0; r < rounds; r++)
                    {
                        var begin = _clock.GetUtcNow();
                        Thread.Sleep(work); // real time passes; virtual time must not
                        Stretches.Enqueue((begin, _clock.GetUtcNow()));
                        // Park on the timer with the wake-up counted: busy again inside the timer's callback (or at
                        // once, should the timer already have fired), so the count never shows a gap; then idle.
                        var woken = Task.Delay(Wait, _clock).ContinueWith(_ => Interlocked.Increment(ref _busy),
                            CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
                        Interlocked.Decrement(ref _busy);
                        await woken.ConfigureAwait(false);
                    }
                    Interlocked.Decrement(ref _busy);
                    Interlocked.Increment(ref _finished);
                }));
            Count = count;
        }

        public int Count { get; }
        public bool IsIdle() => Volatile.Read(ref _busy) == 0;
        public bool Done() => Volatile.Read(ref _finished) == Count;
    }

    [Theory]
    [InlineData(true, false)]
    [InlineData(true, true)]
    [InlineData(false, false)]
    [InlineData(false, true)]
    public async Task The_driver_runs_on_a_test_thread_or_a_pool_thread_and_never_steps_while_the_system_is_busy(bool inlineCallbacks, bool onPoolThread)
    {
        var clock = new VirtualClock(Start, inlineCallbacks);
        // A later timer: a driver that stepped while a fired callback had not yet run would jump to it.
        using var later = clock.CreateTimer(_ => { }, null, TimeSpan.FromMinutes(30), Timeout.InfiniteTimeSpan);
        var workers = new Workers(clock, count: 3, rounds: 4, work: TimeSpan.FromMilliseconds(30));
        var driver = new VirtualTimeDriver(clock, workers.IsIdle) { StallLimit = TimeSpan.FromSeconds(30) };
        Assert.Equal(QuietMode.SystemReportsIdle, driver.Mode);

        if (onPoolThread) await Task.Run(() => driver.Run(workers.Done, TimeSpan.FromHours(1)));
        else driver.Run(workers.Done, TimeSpan.FromHours(1));

        await Task.WhenAll(workers.Tasks);
        Assert.Equal(12, workers.Stretches.Count);
        Assert.All(workers.Stretches, s => Assert.Equal(s.Begin, s.End)); // the clock never moved during work
        Assert.Equal(Start.AddSeconds(40), clock.GetUtcNow()); // four waits of 10 s, the three workers in step
        Assert.Equal(4, driver.Steps);
    }

    [Fact]
    public void A_busy_system_holds_the_clock_even_when_a_timer_is_due()
    {
        var clock = new VirtualClock(Start, inlineCallbacks: true);
        var busy = 1;
        var fired = false;
        using var timer = clock.CreateTimer(_ => fired = true, null, TimeSpan.FromSeconds(1), Timeout.InfiniteTimeSpan);
        var driver = new VirtualTimeDriver(clock, () => Volatile.Read(ref busy) == 0);
        var sawBusy = DateTimeOffset.MinValue;
        var worker = Task.Run(() =>
        {
            Thread.Sleep(300);
            sawBusy = clock.GetUtcNow(); // still the start: the driver waited
            Volatile.Write(ref busy, 0);
        });

        driver.Run(() => fired, TimeSpan.FromMinutes(1));

        Assert.True(worker.IsCompleted);
        Assert.Equal(Start, sawBusy);
        Assert.Equal(Start.AddSeconds(1), clock.GetUtcNow());
    }

    [Fact]
    public void A_counted_call_in_flight_holds_the_clock()
    {
        var clock = new VirtualClock(Start, inlineCallbacks: true);
        var fired = false;
        using var timer = clock.CreateTimer(_ => fired = true, null, TimeSpan.FromSeconds(1), Timeout.InfiniteTimeSpan);
        var driver = new VirtualTimeDriver(clock, () => true);
        driver.CallStarted();
        var atEnd = DateTimeOffset.MinValue;
        var call = Task.Run(() =>
        {
            Thread.Sleep(300);
            atEnd = clock.GetUtcNow();
            driver.CallEnded();
        });

        driver.Run(() => fired, TimeSpan.FromMinutes(1));

        Assert.True(call.IsCompleted);
        Assert.Equal(Start, atEnd);
    }

    [Fact]
    public void A_system_that_never_settles_is_a_stall_with_a_clear_message()
    {
        var clock = new VirtualClock(Start, inlineCallbacks: true);
        var driver = new VirtualTimeDriver(clock, () => false) { StallLimit = TimeSpan.FromMilliseconds(200) };
        var e = Assert.Throws<TimeoutException>(() => driver.Run(() => false, TimeSpan.FromMinutes(1)));
        Assert.Contains("did not settle", e.Message);
        Assert.Contains("system idle False", e.Message);
    }

    [Fact]
    public void Quiet_with_no_timer_set_and_not_done_is_a_deadlock()
    {
        var clock = new VirtualClock(Start, inlineCallbacks: true);
        var driver = new VirtualTimeDriver(clock, () => true);
        var e = Assert.Throws<TimeoutException>(() => driver.Run(() => false, TimeSpan.FromMinutes(1)));
        Assert.Contains("Deadlock", e.Message);
    }

    [Fact]
    public void Past_the_virtual_limit_the_run_stops()
    {
        var clock = new VirtualClock(Start, inlineCallbacks: true);
        using var tick = clock.CreateTimer(_ => { }, null, TimeSpan.FromMinutes(1), TimeSpan.FromMinutes(1));
        var driver = new VirtualTimeDriver(clock, () => true);
        var e = Assert.Throws<TimeoutException>(() => driver.Run(() => false, TimeSpan.FromMinutes(10)));
        Assert.Contains("Not done after", e.Message);
        Assert.Equal(Start.AddMinutes(11), clock.GetUtcNow());
    }

    [Fact]
    public async Task The_thread_pool_mode_stays_the_default_and_refuses_a_pool_thread()
    {
        var driver = new VirtualTimeDriver(new VirtualClock(Start));
        Assert.Equal(QuietMode.ThreadPoolIdle, driver.Mode);
        await Assert.ThrowsAsync<InvalidOperationException>(() => Task.Run(() => driver.Run(() => true, TimeSpan.FromMinutes(1))));
    }

}
