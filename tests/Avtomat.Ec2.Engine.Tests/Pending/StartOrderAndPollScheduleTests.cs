using Amazon.EC2.Model;
using Avtomat.Ec2.Engine.Copy;
using Avtomat.Ec2.Engine.Waiting;
using Avtomat.Ec2.Engine.Tests.Support;
using Microsoft.Extensions.Time.Testing;

namespace Avtomat.Ec2.Engine.Tests;

/// <summary>Which copy the window starts next (the longest expected first) and when the shared poller looks (at the
/// expected end of the earliest watched snapshot), in virtual time against the in-memory EC2.</summary>
[Collection(VirtualTimeCollection.Name)]
public sealed class StartOrderAndPollScheduleTests : EngineTestBed
{
    public StartOrderAndPollScheduleTests()
    {
        // The ordering delay lets requests checked together join the queue before free slots are granted; here virtual
        // time moves a step for every millisecond of real time the workers take, so it spans a few steps.
        _engine.CopyOrderingDelay = TimeSpan.FromSeconds(5);
    }

    private static CopyJobOptions Options() => new() { PollInterval = TimeSpan.FromSeconds(1), VisibilityGrace = TimeSpan.FromSeconds(5) };

    private static SnapshotCopyRequest Request(string id) => new() { SourceSnapshotId = id, SourceRegion = East, DestinationRegion = West };

    /// <summary>Sources of the given sizes; each copy takes <paramref name="secondsPerGiB"/> per GiB of its source.</summary>
    private List<string> Sources(IEnumerable<int> sizes, double secondsPerGiB = 1)
    {
        var ids = new List<string>();
        foreach (var size in sizes)
        {
            var id = _ec2.Seed(East);
            _ec2.Snapshots[id].VolumeSize = size;
            ids.Add(id);
        }
        _ec2.OnCopyCreated = copy => copy.Duration = TimeSpan.FromSeconds(copy.VolumeSize * secondsPerGiB);
        return ids;
    }

    /// <summary>Moves the clock in 10 ms steps, each given 10 ms of real time, until the window has started
    /// <paramref name="starts"/> copies. The requests pass two 100 ms batches (source check, earlier copies) and then wait
    /// 250 ms of virtual time for the others checked with them; on a loaded machine, the usual 100 ms-per-millisecond
    /// stepping could move the clock past that wait while some of them are still on their way (real threads).</summary>
    private async Task FillTheWindowUnhurried(int starts)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (_ec2.CallsOf("CopySnapshot").Count < starts)
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"Only {_ec2.CallsOf("CopySnapshot").Count} of {starts} copies started.");
            _clock.Advance(TimeSpan.FromMilliseconds(10));
            await Task.Delay(10);
        }
    }

    private List<int> StartedSizes() =>
        _ec2.CallsOf("CopySnapshot").Select(c => _ec2.Snapshots[((CopySnapshotRequest)c.Request).SourceSnapshotId].VolumeSize).ToList();

    [Fact]
    public async Task LargestSourcesStartFirst_AcrossTheWholeQueue_TiesInInputOrder()
    {
        // 60 sources in a shuffled order of sizes; the window of 20 starts the 20 largest, then always the largest left.
        var random = new Random(7);
        var sizes = Enumerable.Range(1, 60).Select(i => i * 10).OrderBy(_ => random.Next()).ToList();
        var ids = Sources(sizes);

        using var job = _engine.StartCopyJob(_clients, Options(), default);
        foreach (var id in ids) job.Add(Request(id));
        job.CompleteAdding();
        await FillTheWindowUnhurried(20);
        var outcome = await VirtualTime.RunAsync(job, _clock, step: TimeSpan.FromSeconds(1), maxVirtual: TimeSpan.FromHours(1));

        Assert.Equal(60, outcome.Finished.Count(f => f.Result.State == SnapshotState.Completed));
        var started = StartedSizes();
        Assert.Equal(sizes.OrderByDescending(s => s).Take(20).OrderBy(s => s), started.Take(20).OrderBy(s => s));
        Assert.Equal(sizes.OrderByDescending(s => s).Skip(20), started.Skip(20));
    }

    [Fact]
    public async Task EqualSizes_StartInInputOrder()
    {
        var ids = Sources(Enumerable.Repeat(50, 30));

        using var job = _engine.StartCopyJob(_clients, Options(), default);
        foreach (var id in ids) job.Add(Request(id));
        job.CompleteAdding();
        await FillTheWindowUnhurried(20);
        await VirtualTime.RunAsync(job, _clock);

        var order = _ec2.CallsOf("CopySnapshot").Select(c => ((CopySnapshotRequest)c.Request).SourceSnapshotId).ToList();
        Assert.Equal(ids.Skip(20), order.Skip(20));
    }

    [Fact]
    public async Task TwoJobsSharingTheWindow_TheLargerCopiesOfTheLaterJobGoAheadOfTheSmallerQueuedOnes()
    {
        var small = Sources(Enumerable.Repeat(20, 30));
        var large = Sources(Enumerable.Repeat(200, 5));

        using var first = _engine.StartCopyJob(_clients, Options(), default);
        foreach (var id in small) first.Add(Request(id));
        first.CompleteAdding();
        var firstRun = VirtualTime.RunAsync(first, _clock);
        // The second job arrives while 20 small copies run and 10 wait.
        while (_ec2.CallsOf("CopySnapshot").Count < 20) await Task.Delay(5);
        using var second = _engine.StartCopyJob(_clients, Options(), default);
        foreach (var id in large) second.Add(Request(id));
        second.CompleteAdding();
        var secondOutcome = new JobOutcome();
        while (!second.IsFinished)
        {
            while (second.TryTake(out var e, TimeSpan.Zero)) secondOutcome.Events.Add(e!);
            await Task.Delay(2);
            if (firstRun.IsCompleted && !second.IsFinished) _clock.Advance(TimeSpan.FromMilliseconds(500));
        }
        await firstRun;

        var started = StartedSizes();
        Assert.Equal(35, started.Count);
        // After the first 20 small ones, the 5 large ones take the next free slots, then the 10 small ones left.
        Assert.Equal(Enumerable.Repeat(200, 5), started.Skip(20).Take(5));
        Assert.Equal(20, _ec2.MaxPending[West]);
    }

    [Fact]
    public async Task LongCopies_AreLookedAtNearTheirEnd_NotEverySecond()
    {
        // Two waves of 20 copies of 20 minutes (all 200 GiB): a fixed 1 s tick would poll about 2,400 times.
        var ids = Sources(Enumerable.Repeat(200, 40), secondsPerGiB: 6);

        var start = _clock.GetUtcNow();
        using var job = _engine.StartCopyJob(_clients, Options(), default);
        foreach (var id in ids) job.Add(Request(id));
        job.CompleteAdding();
        // Virtual steps of 2 s: lags below are measured to within a step.
        var outcome = await VirtualTime.RunAsync(job, _clock, step: TimeSpan.FromSeconds(2), maxVirtual: TimeSpan.FromHours(2));

        Assert.Equal(40, outcome.Finished.Count(f => f.Result.State == SnapshotState.Completed));
        var polls = _ec2.CallsOf("DescribeSnapshots", West).Count;
        Assert.InRange(polls, 2, 80);
        // The second wave starts within 1 % of a copy's duration (12 s) of the first wave's end (what the poller
        // learned from the first wave puts its next look there).
        var copies = _ec2.CallsOf("CopySnapshot");
        var firstWaveEnd = copies[0].At + TimeSpan.FromMinutes(20);
        // (plus the ordering delay this test sets, 5 s)
        Assert.True(copies[20].At - firstWaveEnd <= TimeSpan.FromSeconds(12 + 2 + 5), $"second wave started {copies[20].At - firstWaveEnd} after the first ended");
        // And the second wave's end is seen as promptly.
        var lastSeen = start + outcome.Elapsed - (copies[39].At + TimeSpan.FromMinutes(20));
        Assert.True(lastSeen <= TimeSpan.FromSeconds(12 + 2), $"the last copy was seen {lastSeen} after it ended");
    }

    [Fact]
    public void Schedule_LooksAtTheExpectedEnd_ThenAtGrowingStepsPastIt_AndAtATenthOfTheAgeWithNothingLearned()
    {
        var t0 = new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
        var floor = TimeSpan.FromSeconds(1);
        var schedule = new PollSchedule();

        // Nothing learned, no progress: a tenth of the age.
        var cold = schedule.ExpectedDuration("copy", 100, null, null);
        Assert.Null(cold.Duration);
        Assert.Equal(t0 + TimeSpan.FromMinutes(10) + TimeSpan.FromMinutes(1),
            PollSchedule.Due(t0, cold, 0, t0 + TimeSpan.FromMinutes(10), t0 + TimeSpan.FromMinutes(10), floor));

        // Learned 6 s per GiB: a 100 GiB copy is expected to take 10 minutes; the first look is at its end.
        schedule.Finished("copy", 200, TimeSpan.FromMinutes(20));
        var learned = schedule.ExpectedDuration("copy", 100, null, null);
        Assert.Equal(TimeSpan.FromMinutes(10), learned.Duration);
        Assert.True(learned.Firm);
        Assert.Equal(t0 + TimeSpan.FromMinutes(10), PollSchedule.Due(t0, learned, 0, t0 + TimeSpan.FromMinutes(1), t0 + TimeSpan.FromMinutes(1), floor));
        // Still running at its end: 1 % of its duration (6 s), then 12 s, then 24 s, ... up to 10 % (60 s).
        var end = t0 + TimeSpan.FromMinutes(10);
        Assert.Equal(end + TimeSpan.FromSeconds(6), PollSchedule.Due(t0, learned, 0, end, end, floor));
        Assert.Equal(end + TimeSpan.FromSeconds(12), PollSchedule.Due(t0, learned, 1, end, end, floor));
        Assert.Equal(end + TimeSpan.FromSeconds(60), PollSchedule.Due(t0, learned, 9, end, end, floor));
        // Learned apart per kind.
        Assert.Null(schedule.ExpectedDuration("snapshot", 100, null, null).Duration);

        // Progress alone (whole percents: the middle of the percent) is never firm, however far it got: EBS progress sits
        // at 0 % and then jumps, so it can bring a look forward but never push it past a tenth of the age.
        var early = new PollSchedule().ExpectedDuration("copy", 100, 9, TimeSpan.FromMinutes(1));
        Assert.False(early.Firm);
        Assert.Equal(TimeSpan.FromSeconds(60 * 100 / 9.5), early.Duration);
        var now = t0 + TimeSpan.FromMinutes(1);
        Assert.Equal(now + TimeSpan.FromSeconds(6), PollSchedule.Due(t0, early, 0, now, now, floor));
        // A copy that sat at 0 % and showed 55 % at 60 s implies 108 s; it ended at 71 s. The look comes at 66 s, not 108 s.
        var jumped = new PollSchedule().ExpectedDuration("copy", 100, 55, TimeSpan.FromSeconds(60));
        Assert.False(jumped.Firm);
        Assert.Equal(now + TimeSpan.FromSeconds(6), PollSchedule.Due(t0, jumped, 0, now, now, floor));
        // Near its implied end, the halfway look comes first when it is sooner than the cold step.
        var late = new PollSchedule().ExpectedDuration("copy", 100, 95, TimeSpan.FromMinutes(10));
        var at = t0 + TimeSpan.FromMinutes(10);
        Assert.Equal(at + TimeSpan.FromTicks((t0 + late.Duration!.Value - at).Ticks / 2), PollSchedule.Due(t0, late, 0, at, at, floor));
    }
}
