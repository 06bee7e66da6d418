using Avtomat.Ec2.Emulator;
using Avtomat.Ec2.Engine.Copy;
using Avtomat.Ec2.Engine.Create;
using Avtomat.Ec2.Engine.Scheduling;
using Avtomat.Ec2.Engine.Tests.Support;
using Avtomat.Ec2.Engine.Waiting;

namespace Avtomat.Ec2.Engine.Tests;

/// <summary>Wait jobs, the one poll per account and region that every job shares, and copy -NoWait, in exact virtual
/// time against the emulator.</summary>
public sealed class WaitAndSharedPollerTests : EngineTestBed
{
    private const string OtherAccountKey = "AKIDENGINETEST000222";
    private const string OtherAccount = "222222222222";

    protected override void Configure(EmulatorOptions options) => options.Accounts[OtherAccountKey] = OtherAccount;

    private static WaitJobOptions Options(Action<WaitJobOptions>? configure = null)
    {
        var o = new WaitJobOptions { PollInterval = TimeSpan.FromSeconds(1), VisibilityGrace = TimeSpan.FromSeconds(5) };
        configure?.Invoke(o);
        return o;
    }

    private SnapshotOutcome Wait(IEnumerable<string> ids, WaitJobOptions options, string region = East)
    {
        using var job = _engine.StartWaitJob(_clients, options, default);
        foreach (var id in ids) job.Add(id, region);
        job.CompleteAdding();
        return Run(job);
    }

    /// <summary>A snapshot of someone else's that stays pending for <paramref name="seconds"/>.</summary>
    private string SeedPending(double seconds, string? accessKey = null) =>
        SeedSnapshots(East, 1, state: "pending", durationSeconds: seconds, accessKey: accessKey)[0];

    private List<string> SeedPending(int count, double seconds) => SeedSnapshots(East, count, state: "pending", durationSeconds: seconds);

    /// <summary>The completion polls by id (snapshot-id filter, no Owner) in <paramref name="region"/>.</summary>
    private List<CallInfo> ByIdPolls(string region = East) =>
        Calls("DescribeSnapshots", region).Where(c => c.GetList("Owner").Count == 0 && c.Filters.Count == 1 && c.Filters[0].Name == "snapshot-id").ToList();

    [Fact]
    public void Wait_CompletedErrorAndNotFound_OneFinishedEachWithTheRightError()
    {
        var done = SeedPending(3);
        var broken = SeedSnapshot(East, state: "error", statusMessage: "Given key ID is not accessible");
        var already = SeedSnapshot(East);

        var outcome = Wait([done, broken, already, "snap-0000000000000dead"], Options());

        Assert.Equal(4, outcome.Finished.Count);
        var ok = outcome.Finished.Single(f => f.Result.SnapshotId == done).Result;
        Assert.Equal(SnapshotState.Completed, ok.State);
        Assert.Equal(100, ok.Progress);
        Assert.NotNull(ok.CompletionTime);
        Assert.Equal(8, ok.VolumeSize);
        Assert.Equal(SnapshotState.Completed, outcome.Finished.Single(f => f.Result.SnapshotId == already).Result.State);
        var failed = outcome.Finished.Single(f => f.Result.SnapshotId == broken);
        Assert.Equal(SnapshotState.Failed, failed.Result.State);
        Assert.Equal("SnapshotFailed", failed.Error!.ErrorId);
        Assert.Equal("Given key ID is not accessible", failed.Result.StatusMessage);
        Assert.Contains("KMS", failed.Error.RecommendedAction);
        var missing = outcome.Finished.Single(f => f.Result.SnapshotId == "snap-0000000000000dead");
        Assert.Equal("SnapshotNotFound", missing.Error!.ErrorId);
        Assert.Equal(EngineErrorCategory.ObjectNotFound, missing.Error.Category);
    }

    [Fact]
    public void Wait_Timeout_OneOperationTimeoutPerUnfinishedSnapshot()
    {
        var quick = SeedPending(2);
        var slow = SeedPending(2, TimeSpan.FromHours(2).TotalSeconds);
        var start = Now;

        var outcome = Wait(slow.Prepend(quick), Options(o => o.Timeout = TimeSpan.FromSeconds(10)));

        Assert.Equal(3, outcome.Finished.Count);
        Assert.Equal(SnapshotState.Completed, outcome.Finished.Single(f => f.Result.SnapshotId == quick).Result.State);
        var timedOut = outcome.Finished.Where(f => f.Result.State == SnapshotState.TimedOut).ToList();
        Assert.Equal(2, timedOut.Count);
        Assert.All(timedOut, f =>
        {
            Assert.Equal("WaitTimedOut", f.Error!.ErrorId);
            Assert.Equal(EngineErrorCategory.OperationTimeout, f.Error.Category);
            Assert.Equal(f.Result.SnapshotId, f.Error.TargetId);
        });
        // The timeout ends the job at 10 s, not later.
        Assert.Equal(TimeSpan.FromSeconds(10), outcome.EndedAt - start);
    }

    [Fact]
    public void Wait_Any_FinishesWithTheFirst_OthersNotReported()
    {
        var slow = SeedPending(TimeSpan.FromHours(1).TotalSeconds);
        var fast = SeedPending(4);
        var start = Now;

        var outcome = Wait([slow, fast], Options(o => o.Any = true));

        var only = Assert.Single(outcome.Finished);
        Assert.Equal(fast, only.Result.SnapshotId);
        Assert.Equal(SnapshotState.Completed, only.Result.State);
        Assert.Null(only.Error);
        Assert.True(outcome.EndedAt - start < TimeSpan.FromSeconds(7));
        // Exactly: at the first look after it completed (4 s). Nothing is learned about durations yet: the looks come a
        // tenth of the snapshots' age apart, at least the 1 s poll interval: 0.1 s (the first look), 1.1, 2.1, 3.1, 4.1 s.
        Assert.Equal(TimeSpan.FromSeconds(4.1), outcome.EndedAt - start);
    }

    [Fact]
    public void SharedPoller_TwoJobsInOneRegion_OneDescribePerTick()
    {
        var a = SeedPending(3, 6);
        var b = SeedPending(3, 6);
        using var jobA = _engine.StartWaitJob(_clients, Options(), default);
        using var jobB = _engine.StartWaitJob(Clients(AccessKey), Options(), default); // another source, same account
        foreach (var id in a) jobA.Add(id, East);
        foreach (var id in b) jobB.Add(id, East);
        jobA.CompleteAdding();
        jobB.CompleteAdding();

        RunAll([jobA, jobB]);

        var (outcomeA, outcomeB) = (Outcome(jobA), Outcome(jobB));
        Assert.Equal(6, outcomeA.Finished.Count + outcomeB.Finished.Count);
        Assert.All(outcomeA.Finished.Concat(outcomeB.Finished), f => Assert.Equal(SnapshotState.Completed, f.Result.State));
        var polls = Calls("DescribeSnapshots", East);
        Assert.Equal(polls.Count, polls.Select(p => p.At).Distinct().Count()); // one per tick
        Assert.InRange(polls.Count, 1, 8); // adaptive: never more than a fixed 1 s tick would make
        Assert.All(polls.Take(5), p => Assert.Equal(6, p.FilterValues("snapshot-id").Count));
        // Both jobs count the shared call.
        Assert.Equal(polls.Count, jobA.Statistics.Calls["DescribeSnapshots"]);
        Assert.Equal(polls.Count, jobB.Statistics.Calls["DescribeSnapshots"]);
    }

    [Fact]
    public void SharedPoller_DifferentAccounts_NeverShareACall()
    {
        var a = SeedPending(3);
        var b = SeedPending(3, accessKey: OtherAccountKey); // the other account's own snapshot
        using var jobA = _engine.StartWaitJob(_clients, Options(), default);
        using var jobB = _engine.StartWaitJob(Clients(OtherAccountKey), Options(), default);
        jobA.Add(a, East);
        jobB.Add(b, East);
        jobA.CompleteAdding();
        jobB.CompleteAdding();

        RunAll([jobA, jobB]);

        Assert.Equal(SnapshotState.Completed, Assert.Single(Outcome(jobA).Finished).Result.State);
        Assert.Equal(SnapshotState.Completed, Assert.Single(Outcome(jobB).Finished).Result.State);
        var polls = Calls("DescribeSnapshots", East).Select(p => p.Filters.Single().Values).ToList();
        Assert.All(polls, ids => Assert.Single(ids));
        Assert.Contains(polls, ids => ids[0] == a);
        Assert.Contains(polls, ids => ids[0] == b);
        // Each in its own account's name.
        Assert.All(Calls("DescribeSnapshots", East), p => Assert.Equal(p.FilterValues("snapshot-id")[0] == b ? OtherAccount : AccountId, p.Account));
    }

    [Fact]
    public void SharedPoller_CreateCopyAndWaitJobs_AllOnOneCallPerTick()
    {
        var volumes = SeedVolumes(East, 3);
        var sources = SeedSnapshots(East, 3);
        var other = SeedPending(8);
        SnapshotDuration = TimeSpan.FromSeconds(8);
        using var create = _engine.StartCreateJob(_clients, new CreateJobOptions { PollInterval = TimeSpan.FromSeconds(1) }, default);
        using var copy = _engine.StartCopyJob(_clients, new CopyJobOptions { PollInterval = TimeSpan.FromSeconds(1) }, default);
        using var wait = _engine.StartWaitJob(_clients, Options(), default);
        foreach (var v in volumes) create.Add(new SnapshotCreateRequest { VolumeId = v, Region = East });
        foreach (var s in sources) copy.Add(new SnapshotCopyRequest { SourceSnapshotId = s, SourceRegion = East, DestinationRegion = East });
        wait.Add(other, East);
        create.CompleteAdding();
        copy.CompleteAdding();
        wait.CompleteAdding();

        RunAll([create, copy, wait]);

        Assert.All(Outcome(create).Finished, f => Assert.Equal(SnapshotState.Completed, f.Result.State));
        Assert.All(Outcome(copy).Finished, f => Assert.Equal(SnapshotState.Completed, f.Result.State));
        Assert.All(Outcome(wait).Finished, f => Assert.Equal(SnapshotState.Completed, f.Result.State));
        Assert.Equal(7, Outcome(create).Finished.Count + Outcome(copy).Finished.Count + Outcome(wait).Finished.Count);
        // Apart from the batched lookups (source check, volume snapshots), one snapshot-id poll per tick for all.
        var polls = ByIdPolls();
        var sourceCheck = polls.First();
        Assert.Subset(sourceCheck.FilterValues("snapshot-id").ToHashSet(), sources.ToHashSet()); // the sources were checked in one call
        Assert.Equal(polls.Count - 1, polls.Skip(1).Select(p => p.At).Distinct().Count());
        // Changed with the scheduler: the old poller followed copies by id too, so one call listed 3 created + 3 copies
        // + 1 waited = 7. Now new snapshots and waits share the snapshot-id poll (3 created + 1 waited), while copies are
        // followed by their source tag (Owner self) in a call of their own — that call also finds copies other runs made,
        // which a snapshot-id filter cannot. So: one by-id poll with all 4, and one copy poll per tick with all 3 sources.
        var created = Outcome(create).Finished.Select(f => f.Result.SnapshotId!).ToList();
        Assert.Contains(polls, p => p.FilterValues("snapshot-id").ToHashSet().SetEquals(created.Append(other)));
        var copyPolls = Calls("DescribeSnapshots", East).Where(c => c.FilterValues("tag:" + CopyTagNames.SourceSnapshotId).Count > 0).ToList();
        Assert.All(copyPolls, p => Assert.Equal(["self"], p.GetList("Owner")));
        Assert.Equal(copyPolls.Count, copyPolls.Select(p => p.At).Distinct().Count());
        Assert.Contains(copyPolls, p => p.FilterValues("tag:" + CopyTagNames.SourceSnapshotId).ToHashSet().SetEquals(sources));
    }

    [Fact]
    public void CopyNoWait_FinishesAsStarted_TheWindowStillApplies_SlotsReleasedAtTheEnd()
    {
        var ids = SeedSnapshots(East, 30);
        var start = Now;
        using var job = _engine.StartCopyJob(_clients, new CopyJobOptions { NoWait = true, PollInterval = TimeSpan.FromSeconds(1), VisibilityGrace = TimeSpan.FromSeconds(5) }, default);
        foreach (var id in ids) job.Add(new SnapshotCopyRequest { SourceSnapshotId = id, SourceRegion = East, DestinationRegion = West });
        job.CompleteAdding();

        var outcome = Run(job);

        Assert.Equal(30, outcome.Finished.Count);
        Assert.All(outcome.Finished, f =>
        {
            Assert.Equal(SnapshotState.Pending, f.Result.State);
            Assert.NotNull(f.Result.SnapshotId);
            Assert.Null(f.Error);
        });
        Assert.Equal(20, MaxPendingCopies(West));
        var copies = Calls("CopySnapshot").OrderBy(c => c.At).ToList();
        Assert.Equal(30, copies.Count);
        Assert.True(copies[20].At - start >= CopyDuration); // the 21st waited for a slot
        Assert.Equal(0, _engine.View(_clients, West)!.WindowInUse);
        Assert.Contains(outcome.Messages, m => m.Contains("30 copies started (not waited for)"));
        var last = outcome.ProgressSamples.Last().Single();
        Assert.Equal(30, last.Completed);
        Assert.Empty(last.InFlight);
    }

    [Fact]
    public void CopyOfAPendingSource_WaitsLongerThanTheGrace_ThenCopies()
    {
        var source = SeedPending(TimeSpan.FromMinutes(3).TotalSeconds);
        var start = Now;
        using var job = _engine.StartCopyJob(_clients, new CopyJobOptions { PollInterval = TimeSpan.FromSeconds(1), VisibilityGrace = TimeSpan.FromSeconds(5) }, default);
        job.Add(new SnapshotCopyRequest { SourceSnapshotId = source, SourceRegion = East, DestinationRegion = West });
        job.CompleteAdding();

        var outcome = Run(job);

        Assert.Equal(SnapshotState.Completed, Assert.Single(outcome.Finished).Result.State);
        // Nothing was learned about snapshots here yet: the source is looked at a tenth of its age apart, so it is seen
        // completed within a tenth of its duration at worst.
        var copiedAfter = Calls("CopySnapshot").Single().At - start;
        Assert.InRange(copiedAfter, TimeSpan.FromMinutes(3), TimeSpan.FromMinutes(3) + TimeSpan.FromSeconds(18));
        // Exactly: the first look 0.1 s in, then each a tenth of the source's age after the one before (at least the 1 s
        // poll interval): 1.1, 2.1 … 10.1 s, then ×1.1 each time; 10.1 × 1.1³¹ = 193.86 s is the first look at or after
        // its end, and the last. The copy goes when requests checked together have joined the queue (its ordering delay).
        var looks = Calls("DescribeSnapshots", East).Select(c => (c.At - start).TotalSeconds).ToList();
        // (Due times are whole 100 ns ticks, and each look builds on the one before: the rounding adds up to ~20 µs.)
        const double tick = 1e-7;
        Assert.Equal(0.1, looks[0], tolerance: tick);
        for (var i = 1; i < looks.Count; i++) Assert.Equal(Math.Max(1, 0.1 * looks[i - 1]), looks[i] - looks[i - 1], tolerance: 2 * tick);
        var seen = Assert.Single(looks, t => t >= 180);
        Assert.Equal(10.1 * Math.Pow(1.1, 31), seen, tolerance: 1e-4);
        Assert.Equal(TimeSpan.FromSeconds(seen) + _engine.CopyOrderingDelay, copiedAfter);
        Assert.Contains(outcome.Messages, m => m.Contains("waiting for it to complete"));
    }
}
