using Amazon.EC2.Model;
using Avtomat.Ec2.Engine.Copy;
using Avtomat.Ec2.Engine.Create;
using Avtomat.Ec2.Engine.Tests.Support;
using Avtomat.Ec2.Engine.Waiting;
using Microsoft.Extensions.Time.Testing;

namespace Avtomat.Ec2.Engine.Tests;

/// <summary>Wait jobs, the process-wide shared poller and copy -NoWait, in virtual time.</summary>
[Collection(VirtualTimeCollection.Name)]
public sealed class WaitAndSharedPollerTests : EngineTestBed
{
    /// <summary>Held like a job holds it, so the copy window can be looked at after a job.</summary>
    private readonly Accounts.AccountRegionLease _west;

    public WaitAndSharedPollerTests()
    {
        _west = _engine.Lease(_clients, West);
    }

    private static WaitJobOptions Options(Action<WaitJobOptions>? configure = null)
    {
        var o = new WaitJobOptions { PollInterval = TimeSpan.FromSeconds(1), VisibilityGrace = TimeSpan.FromSeconds(5) };
        configure?.Invoke(o);
        return o;
    }

    private async Task<SnapshotOutcome> WaitAsync(IEnumerable<string> ids, WaitJobOptions options, string region = East)
    {
        using var job = _engine.StartWaitJob(_clients, options, default);
        foreach (var id in ids) job.Add(id, region);
        job.CompleteAdding();
        return await SnapshotJobRunner.RunAsync(job, _clock);
    }

    [Fact]
    public async Task Wait_CompletedErrorAndNotFound_OneFinishedEachWithTheRightError()
    {
        var done = _ec2.Seed(East, "pending", completesIn: TimeSpan.FromSeconds(3));
        var broken = _ec2.Seed(East, "error", statusMessage: "Given key ID is not accessible");
        var already = _ec2.Seed(East);

        var outcome = await WaitAsync([done, broken, already, "snap-0000000000000dead"], Options());

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
    public async Task Wait_Timeout_OneOperationTimeoutPerUnfinishedSnapshot()
    {
        var quick = _ec2.Seed(East, "pending", completesIn: TimeSpan.FromSeconds(2));
        var slow = new[] { _ec2.Seed(East, "pending", completesIn: TimeSpan.FromHours(2)), _ec2.Seed(East, "pending", completesIn: TimeSpan.FromHours(2)) };

        var outcome = await WaitAsync(slow.Prepend(quick), Options(o => o.Timeout = TimeSpan.FromSeconds(10)));

        Assert.Equal(SnapshotState.Completed, outcome.Finished.Single(f => f.Result.SnapshotId == quick).Result.State);
        var timedOut = outcome.Finished.Where(f => f.Result.State == SnapshotState.TimedOut).ToList();
        Assert.Equal(2, timedOut.Count);
        Assert.All(timedOut, f =>
        {
            Assert.Equal("WaitTimedOut", f.Error!.ErrorId);
            Assert.Equal(EngineErrorCategory.OperationTimeout, f.Error.Category);
            Assert.Equal(f.Result.SnapshotId, f.Error.TargetId);
        });
    }

    [Fact]
    public async Task Wait_Any_FinishesWithTheFirst_OthersNotReported()
    {
        var slow = _ec2.Seed(East, "pending", completesIn: TimeSpan.FromHours(1));
        var fast = _ec2.Seed(East, "pending", completesIn: TimeSpan.FromSeconds(4));
        var start = _clock.GetUtcNow();

        var outcome = await WaitAsync([slow, fast], Options(o => o.Any = true));

        var only = Assert.Single(outcome.Finished);
        Assert.Equal(fast, only.Result.SnapshotId);
        Assert.Equal(SnapshotState.Completed, only.Result.State);
        Assert.Null(only.Error);
        Assert.True(outcome.EndedAt - start < TimeSpan.FromSeconds(7));
    }

    [Fact]
    public async Task SharedPoller_TwoJobsInOneRegion_OneDescribePerTick()
    {
        var a = Enumerable.Range(0, 3).Select(_ => _ec2.Seed(East, "pending", completesIn: TimeSpan.FromSeconds(6))).ToList();
        var b = Enumerable.Range(0, 3).Select(_ => _ec2.Seed(East, "pending", completesIn: TimeSpan.FromSeconds(6))).ToList();
        using var jobA = _engine.StartWaitJob(_clients, Options(), default);
        using var jobB = _engine.StartWaitJob(new FakeClientSource(_ec2), Options(), default); // another source, same account
        foreach (var id in a) jobA.Add(id, East);
        foreach (var id in b) jobB.Add(id, East);
        jobA.CompleteAdding();
        jobB.CompleteAdding();

        var runA = SnapshotJobRunner.RunAsync(jobA, _clock);
        var outcomeB = new SnapshotOutcome();
        while (!jobB.IsFinished) { while (jobB.TryTake(out var e, TimeSpan.Zero)) outcomeB.Events.Add(e!); await Task.Delay(2); if (runA.IsCompleted && !jobB.IsFinished) _clock.Advance(TimeSpan.FromMilliseconds(100)); }
        var outcomeA = await runA;

        Assert.All(outcomeA.Finished.Concat(outcomeB.Finished), f => Assert.Equal(SnapshotState.Completed, f.Result.State));
        var polls = _ec2.CallsOf("DescribeSnapshots", East);
        Assert.Equal(polls.Count, polls.Select(p => p.At).Distinct().Count()); // one per tick
        Assert.InRange(polls.Count, 1, 8); // adaptive: never more than a fixed 1 s tick would make
        Assert.All(polls.Take(5), p => Assert.Equal(6, ((DescribeSnapshotsRequest)p.Request).Filters.Single(f => f.Name == "snapshot-id").Values.Count));
        // Both jobs count the shared call.
        Assert.Equal(polls.Count, outcomeA.Statistics.Calls["DescribeSnapshots"]);
        Assert.Equal(polls.Count, jobB.Statistics.Calls["DescribeSnapshots"]);
    }

    [Fact]
    public async Task SharedPoller_DifferentAccounts_NeverShareACall()
    {
        var a = _ec2.Seed(East, "pending", completesIn: TimeSpan.FromSeconds(3));
        var b = _ec2.Seed(East, "pending", completesIn: TimeSpan.FromSeconds(3));
        using var jobA = _engine.StartWaitJob(_clients, Options(), default);
        using var jobB = _engine.StartWaitJob(new FakeClientSource(_ec2, account: "account:222222222222"), Options(), default);
        jobA.Add(a, East);
        jobB.Add(b, East);
        jobA.CompleteAdding();
        jobB.CompleteAdding();

        var runA = SnapshotJobRunner.RunAsync(jobA, _clock);
        while (!jobB.IsFinished) { jobB.TryTake(out _, TimeSpan.Zero); await Task.Delay(2); if (runA.IsCompleted && !jobB.IsFinished) _clock.Advance(TimeSpan.FromMilliseconds(100)); }
        await runA;

        var polls = _ec2.CallsOf("DescribeSnapshots", East).Select(p => ((DescribeSnapshotsRequest)p.Request).Filters.Single().Values).ToList();
        Assert.All(polls, ids => Assert.Single(ids));
        Assert.Contains(polls, ids => ids[0] == a);
        Assert.Contains(polls, ids => ids[0] == b);
    }

    [Fact]
    public async Task SharedPoller_CreateCopyAndWaitJobs_AllOnOneCallPerTick()
    {
        var volumes = _ec2.SeedVolumes(East, 3);
        var sources = _ec2.SeedMany(East, 3);
        var other = _ec2.Seed(East, "pending", completesIn: TimeSpan.FromSeconds(8));
        _ec2.SnapshotDuration = TimeSpan.FromSeconds(8);
        using var create = _engine.StartCreateJob(_clients, new CreateJobOptions { PollInterval = TimeSpan.FromSeconds(1) }, default);
        using var copy = _engine.StartCopyJob(_clients, new CopyJobOptions { PollInterval = TimeSpan.FromSeconds(1) }, default);
        using var wait = _engine.StartWaitJob(_clients, Options(), default);
        foreach (var v in volumes) create.Add(new SnapshotCreateRequest { VolumeId = v, Region = East });
        foreach (var s in sources) copy.Add(new SnapshotCopyRequest { SourceSnapshotId = s, SourceRegion = East, DestinationRegion = East });
        wait.Add(other, East);
        create.CompleteAdding();
        copy.CompleteAdding();
        wait.CompleteAdding();

        var runCreate = SnapshotJobRunner.RunAsync(create, _clock);
        while (!copy.IsFinished || !wait.IsFinished)
        {
            copy.TryTake(out _, TimeSpan.Zero);
            wait.TryTake(out _, TimeSpan.Zero);
            await Task.Delay(2);
            if (runCreate.IsCompleted) _clock.Advance(TimeSpan.FromMilliseconds(100));
        }
        await runCreate;

        // Apart from the batched lookups (source check, volume snapshots), one snapshot-id poll per tick for all.
        var polls = _ec2.CallsOf("DescribeSnapshots", East).Where(c => ((DescribeSnapshotsRequest)c.Request).OwnerIds is not { Count: > 0 }
            && ((DescribeSnapshotsRequest)c.Request).Filters.Single().Name == "snapshot-id").ToList();
        var sourceCheck = polls.First();
        Assert.Equal(polls.Count - 1, polls.Skip(1).Select(p => p.At).Distinct().Count());
        Assert.Contains(polls, p => ((DescribeSnapshotsRequest)p.Request).Filters.Single().Values.Count == 7); // 3 created + 3 copies + 1 waited
    }

    [Fact]
    public async Task CopyNoWait_FinishesAsStarted_TheWindowStillApplies_SlotsReleasedAtTheEnd()
    {
        var ids = _ec2.SeedMany(East, 30);
        var start = _clock.GetUtcNow();
        using var job = _engine.StartCopyJob(_clients, new CopyJobOptions { NoWait = true, PollInterval = TimeSpan.FromSeconds(1), VisibilityGrace = TimeSpan.FromSeconds(5) }, default);
        foreach (var id in ids) job.Add(new SnapshotCopyRequest { SourceSnapshotId = id, SourceRegion = East, DestinationRegion = West });
        job.CompleteAdding();
        var outcome = await VirtualTime.RunAsync(job, _clock);

        Assert.Equal(30, outcome.Finished.Count);
        Assert.All(outcome.Finished, f =>
        {
            Assert.Equal(SnapshotState.Pending, f.Result.State);
            Assert.NotNull(f.Result.SnapshotId);
            Assert.Null(f.Error);
        });
        Assert.Equal(20, _ec2.MaxPending[West]);
        var copies = _ec2.CallsOf("CopySnapshot").OrderBy(c => c.At).ToList();
        Assert.True(copies[20].At - start >= _ec2.CopyDuration); // the 21st waited for a slot
        Assert.Equal(0, _west.Shared.CopyWindow.InUse);
        Assert.Contains(outcome.Messages, m => m.Contains("30 copies started (not waited for)"));
        var last = outcome.ProgressSamples.Last().Single();
        Assert.Equal(30, last.Completed);
        Assert.Empty(last.InFlight);
    }

    [Fact]
    public async Task CopyOfAPendingSource_WaitsLongerThanTheGrace_ThenCopies()
    {
        var source = _ec2.Seed(East, "pending", completesIn: TimeSpan.FromMinutes(3));
        var start = _clock.GetUtcNow();
        using var job = _engine.StartCopyJob(_clients, new CopyJobOptions { PollInterval = TimeSpan.FromSeconds(1), VisibilityGrace = TimeSpan.FromSeconds(5) }, default);
        job.Add(new SnapshotCopyRequest { SourceSnapshotId = source, SourceRegion = East, DestinationRegion = West });
        job.CompleteAdding();
        var outcome = await VirtualTime.RunAsync(job, _clock, step: TimeSpan.FromMilliseconds(500));

        Assert.Equal(SnapshotState.Completed, Assert.Single(outcome.Finished).Result.State);
        // Nothing was learned about snapshots here yet: the source's end is estimated from its progress (EC2 shows whole
        // percents), and it is seen completed within a tenth of its duration at worst.
        Assert.InRange(_ec2.CallsOf("CopySnapshot").Single().At - start, TimeSpan.FromMinutes(3), TimeSpan.FromMinutes(3) + TimeSpan.FromSeconds(18));
        Assert.Contains(outcome.Messages, m => m.Contains("waiting for it to complete"));
    }
}
