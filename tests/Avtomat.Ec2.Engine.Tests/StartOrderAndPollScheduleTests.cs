using Avtomat.Ec2.Emulator;
using Avtomat.Ec2.Engine.Copy;
using Avtomat.Ec2.Engine.Scheduling;
using Avtomat.Ec2.Engine.Tests.Support;
using DurationModel = Avtomat.Ec2.Engine.Scheduling.DurationModel;

namespace Avtomat.Ec2.Engine.Tests;

/// <summary>Which copy the window starts next (the longest expected first) and when the poll looks (cold: at a tenth of
/// the age; learned: near the expected end), in exact virtual time against the emulator.</summary>
public sealed class StartOrderAndPollScheduleTests : EngineTestBed
{
    private readonly Dictionary<string, int> _sizes = new(StringComparer.Ordinal);

    private static CopyJobOptions Options() => new() { PollInterval = TimeSpan.FromSeconds(1), VisibilityGrace = TimeSpan.FromSeconds(5) };

    private static SnapshotCopyRequest Request(string id) => new() { SourceSnapshotId = id, SourceRegion = East, DestinationRegion = West };

    /// <summary>Sources of the given sizes; each copy takes <paramref name="secondsPerGiB"/> per GiB of its source.</summary>
    private List<string> Sources(IEnumerable<int> sizes, double secondsPerGiB = 1)
    {
        var list = sizes.ToList();
        var ids = _ec2.Seed(new SeedRequest { Region = East, Snapshots = list.Count, SizesGiB = list }).SnapshotIds;
        for (var i = 0; i < ids.Count; i++) _sizes[ids[i]] = list[i];
        Shape = info => info.IsCopy ? SnapshotShape.Takes(info.VolumeSizeGiB * secondsPerGiB) : null;
        return ids;
    }

    private CopyJob Start(IEnumerable<string> ids)
    {
        var job = _engine.StartCopyJob(_clients, Options(), default);
        foreach (var id in ids) job.Add(Request(id));
        job.CompleteAdding();
        return job;
    }

    private string SourceOf(CallInfo call) => call.Get("SourceSnapshotId")!;

    /// <summary>The CopySnapshot calls in the order the copies started: by instant, and within one instant by
    /// <paramref name="withinAnInstant"/>. The copies admitted at one instant are sent concurrently (as they would be to
    /// EC2), so the order in which they reach the emulator within that instant says nothing; which ones start at each
    /// instant, and at which instant each starts, is exact.</summary>
    private List<CallInfo> Started(Func<CallInfo, long> withinAnInstant) =>
        Calls("CopySnapshot").OrderBy(c => c.At).ThenBy(withinAnInstant).ToList();

    /// <summary>The sizes of the copies started, in order (within an instant, the larger first).</summary>
    private List<int> StartedSizes() => Started(c => -_sizes[SourceOf(c)]).Select(c => _sizes[SourceOf(c)]).ToList();

    [Fact]
    public void LargestSourcesStartFirst_AcrossTheWholeQueue_TiesInInputOrder()
    {
        // 60 sources in a shuffled order of sizes; the window of 20 starts the 20 largest, then always the largest left.
        var random = new Random(7);
        var sizes = Enumerable.Range(1, 60).Select(i => i * 10).OrderBy(_ => random.Next()).ToList();
        var ids = Sources(sizes);

        using var job = Start(ids);
        var outcome = Run(job);

        Assert.Equal(60, outcome.Finished.Count(f => f.Result.State == SnapshotState.Completed));
        var started = StartedSizes();
        Assert.Equal(sizes.OrderByDescending(s => s).Take(20).OrderBy(s => s), started.Take(20).OrderBy(s => s));
        Assert.Equal(sizes.OrderByDescending(s => s).Skip(20), started.Skip(20));
    }

    /// <summary>Copies of <paramref name="ids"/>[i] take <paramref name="first"/> + i × <paramref name="apart"/> seconds
    /// (whatever their size: EBS copy times vary), so the first wave's slots free one at a time and each free slot is a
    /// choice. With equal durations the whole wave ends at one instant and every queued copy starts at that instant:
    /// there would be no order to see.</summary>
    private void Staggered(List<string> ids, double first, double apart, Func<NewSnapshotInfo, SnapshotShape?> otherwise)
    {
        var index = ids.Select((id, i) => (id, i)).ToDictionary(p => p.id, p => p.i, StringComparer.Ordinal);
        Shape = info => info.IsCopy && info.SourceSnapshotId is { } source && index.TryGetValue(source, out var i)
            ? SnapshotShape.Takes(first + i * apart)
            : otherwise(info);
    }

    [Fact]
    public void EqualSizes_StartInInputOrder()
    {
        var ids = Sources(Enumerable.Repeat(50, 30));
        Staggered(ids.Take(20).ToList(), first: 50, apart: 5, otherwise: _ => SnapshotShape.Takes(50));

        using var job = Start(ids);
        Run(job);

        var order = Started(c => ids.IndexOf(SourceOf(c))).Select(SourceOf).ToList();
        Assert.Equal(ids.Skip(20), order.Skip(20));
        // Each free slot was a choice: the queued copies did not all start at one instant.
        Assert.True(Calls("CopySnapshot").Select(c => c.At).Distinct().Count() > 2);
    }

    [Fact]
    public void TwoJobsSharingTheWindow_TheLargerCopiesOfTheLaterJobGoAheadOfTheSmallerQueuedOnes()
    {
        var small = Sources(Enumerable.Repeat(20, 30));
        var large = Sources(Enumerable.Repeat(200, 5));
        Staggered(small.Take(20).ToList(), first: 20, apart: 5, otherwise: info => SnapshotShape.Takes(info.VolumeSizeGiB));

        using var first = Start(small);
        // The second job arrives while 20 small copies run and 10 wait.
        _driver.Run(() => false, () => Calls("CopySnapshot").Count >= 20, TimeSpan.FromMinutes(1));
        Assert.Equal(20, _engine.View(_clients, West)!.WindowInUse);
        Assert.Equal(10, _engine.View(_clients, West)!.QueuedCopies);
        using var second = Start(large);
        RunAll([first, second]);

        var started = StartedSizes();
        Assert.Equal(35, started.Count);
        // After the first 20 small ones, the 5 large ones take the next free slots, then the 10 small ones left.
        Assert.Equal(Enumerable.Repeat(200, 5), started.Skip(20).Take(5));
        // Each free slot was a choice: the queued copies did not all start at one instant.
        Assert.True(Calls("CopySnapshot").Select(c => c.At).Distinct().Count() > 2);
        Assert.Equal(20, MaxPendingCopies(West));
    }

    [Fact]
    public void LongCopies_AreLookedAtNearTheirEnd_NotEverySecond()
    {
        // Two waves of 20 copies of 20 minutes (all 200 GiB): a fixed 1 s tick would poll about 2,400 times.
        var ids = Sources(Enumerable.Repeat(200, 40), secondsPerGiB: 6);
        var duration = TimeSpan.FromMinutes(20);

        using var job = Start(ids);
        var outcome = Run(job);

        Assert.Equal(40, outcome.Finished.Count(f => f.Result.State == SnapshotState.Completed));
        var polls = Calls("DescribeSnapshots", West).OrderBy(c => c.At).ToList();
        Assert.InRange(polls.Count, 2, 80);
        var copies = Calls("CopySnapshot").OrderBy(c => c.At).ToList();
        var firstWaveEnd = copies[0].At + duration;
        var secondWaveStart = copies[20].At;
        var secondWaveEnd = copies[39].At + duration;
        // Changed with the new planner (it reads no progress: EBS progress sits at 0 % and then jumps; the old FakeEc2
        // reported it linearly). Nothing is learned while the first wave runs, so its end is seen by the cold rule's
        // looks, a tenth of the age apart: within a tenth of its duration (it was: within 1 %). The second wave starts
        // at the very look that saw the first end (the look also checked the queued sources: no call in between).
        Assert.True(secondWaveStart > firstWaveEnd);
        Assert.True(secondWaveStart - firstWaveEnd <= duration / 10, $"second wave started {secondWaveStart - firstWaveEnd} after the first ended");
        Assert.Equal(polls.First(p => p.At >= firstWaveEnd).At, secondWaveStart);
        // What was learned from the first wave (EC2's StartTime and CompletionTime) puts the looks for the second at its
        // end: a few looks (the ceiling's, every 5 minutes, and some near its end), and its end seen within 2.5 % of its
        // duration — a quarter of what the cold rule allows. (The old bound, 1 % plus a 2 s step, was the old schedule's
        // fixed first step past the expected end; the planner now spends looks by the expected cost of unnoticed ends,
        // lazily in the tail, where nothing waits for the slots.)
        var lastSeen = outcome.EndedAt - secondWaveEnd;
        Assert.True(lastSeen >= TimeSpan.Zero);
        Assert.True(lastSeen <= TimeSpan.FromSeconds(30), $"the last copy was seen {lastSeen} after it ended");
        var secondWaveLooks = polls.Count(p => p.At > secondWaveStart && p.FilterValues("tag:" + CopyTagNames.SourceSnapshotId).Count > 0);
        Assert.InRange(secondWaveLooks, 1, 10);
    }

    // ------------------------------------------------------------------ the planner and the duration model

    private const double Floor = 1, Ceiling = 300;

    /// <summary>When the planner looks next at one copy started at 0 and seen running at <paramref name="seenRunningAt"/>
    /// (weight 1: copies wait for its slot).</summary>
    private static double NextLook(Expectation? expected, double seenRunningAt) =>
        PollPlanner.Next([new PlanEntry(0, seenRunningAt, expected, 1, false)], seenRunningAt, seenRunningAt, Floor, Ceiling, 0);

    /// <summary>The looks from the start until the first one after <paramref name="end"/> (each earlier look saw it running).</summary>
    private static List<double> LooksUntilSeenEnded(Expectation? expected, double end)
    {
        var looks = new List<double>();
        var last = 0.0;
        while (last < end) looks.Add(last = NextLook(expected, last));
        return looks;
    }

    /// <summary>Twenty copies of 200 GiB took 20 minutes each (EC2's StartTime and CompletionTime): 6 s per GiB.</summary>
    private static DurationModel LearnedFromTwentyCopies()
    {
        var model = new DurationModel();
        for (var i = 0; i < 20; i++) model.Learn(SnapshotKind.FullCopy, 200, TimeSpan.FromMinutes(20));
        return model;
    }

    [Fact]
    public void Planner_ColdAtATenthOfTheAge_LearnedNearTheExpectedEnd_LearnedPerKind()
    {
        // Nothing learned: a tenth of the age, at least the floor.
        Assert.Null(new DurationModel().Predict(SnapshotKind.FullCopy, 100));
        Assert.Equal(660, NextLook(null, 600), 6);
        Assert.Equal(6, NextLook(null, 5), 6);

        // Learned per GiB: a 100 GiB copy is expected to take 10 minutes, a 200 GiB one 20.
        var model = LearnedFromTwentyCopies();
        var learned = model.Predict(SnapshotKind.FullCopy, 100)!.Value;
        Assert.Equal(600, learned.MedianSeconds, 6);
        Assert.Equal(1200, model.Predict(SnapshotKind.FullCopy, 200)!.Value.MedianSeconds, 6);
        // Far from its end nothing is likely to end: the first look is at the ceiling (a cold copy is looked at after the
        // floor), and the looks come closer as the end nears, closer than the cold rule's tenth of the age just before it.
        Assert.Equal(Ceiling, NextLook(learned, 0), 6);
        Assert.True(NextLook(learned, 300) - 300 > NextLook(learned, 450) - 450);
        Assert.True(NextLook(learned, 450) - 450 > NextLook(learned, 540) - 540);
        Assert.True(NextLook(learned, 540) - 540 < 54);
        // A copy that takes exactly the expected 10 minutes: seen ended within 5 % of its duration after a handful of
        // looks; cold, within 10 % after dozens.
        var warm = LooksUntilSeenEnded(learned, 600);
        var cold = LooksUntilSeenEnded(null, 600);
        Assert.InRange(warm[^1] - 600, 0, 30);
        Assert.InRange(cold[^1] - 600, 0, 60);
        Assert.True(warm.Count * 5 < cold.Count, $"{warm.Count} looks learned, {cold.Count} cold");
        Assert.Equal(warm.Count, warm.Distinct().Count());

        // Learned apart per kind: nothing about incremental copies or new snapshots yet (cold for them).
        Assert.Null(model.Predict(SnapshotKind.IncrementalCopy, 100));
        Assert.Null(model.Predict(SnapshotKind.Snapshot, 100));
        Assert.True(model.Knows(SnapshotKind.FullCopy));
        Assert.False(model.Knows(SnapshotKind.Snapshot));
        Assert.Equal(660, NextLook(model.Predict(SnapshotKind.Snapshot, 100), 600), 6);
    }

    [Fact]
    public void Planner_PastTheExpectedEnd_LooksAtGrowingSteps()
    {
        // The old schedule, still running at the expected end: 1 % of the duration, then 2 %, 4 %, … up to 10 %. A copy
        // that outlasts what was learned (EBS copy times vary) must not be polled ever faster while it runs.
        var learned = LearnedFromTwentyCopies().Predict(SnapshotKind.FullCopy, 100)!.Value;
        double Step(double seenRunningAt) => NextLook(learned, seenRunningAt) - seenRunningAt;

        var steps = new[] { 600.0, 1200, 1800, 3000 }.Select(Step).ToList();
        Assert.True(steps.Zip(steps.Skip(1)).All(p => p.Second >= p.First), $"steps past the expected end: {string.Join(", ", steps.Select(s => s.ToString("0.0")))} s");
        Assert.True(steps.All(s => s >= 6), "never below 1 % of the expected duration");
    }
}
