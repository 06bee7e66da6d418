using Amazon.EC2.Model;
using Avtomat.Ec2.Emulator;
using Avtomat.Ec2.Engine.Copy;
using Avtomat.Ec2.Engine.Internal;
using Avtomat.Ec2.Engine.Scheduling;
using Avtomat.Ec2.Engine.Tests.Support;
using Avtomat.Ec2.Engine.Waiting;

namespace Avtomat.Ec2.Engine.Tests;

/// <summary>Pacing under EC2's token buckets for every action, in exact virtual time against the emulator, which enforces
/// EC2's buckets per account, region and action itself (its own table, not the engine's) and answers RequestLimitExceeded
/// when one is overdrawn: bursts over several jobs never draw one, accounts do not share buckets, a throttle from outside
/// drains the bucket, a second run waits for the refill, and Ctrl+C ends a pacing wait at once.</summary>
public sealed class PacingTests : EngineTestBed
{
    private const string OtherAccessKey = "AKIDOTHERACCOUNT0001";
    private const string OtherAccount = "222222222222";

    protected override void Configure(EmulatorOptions options) => options.Accounts[OtherAccessKey] = OtherAccount;

    private static CopyJobOptions CopyOptions(Action<CopyJobOptions>? configure = null)
    {
        var o = new CopyJobOptions { PollInterval = TimeSpan.FromSeconds(1), VisibilityGrace = TimeSpan.FromSeconds(5) };
        configure?.Invoke(o);
        return o;
    }

    private static SnapshotCopyRequest Copy(string id) => new() { SourceSnapshotId = id, SourceRegion = East, DestinationRegion = West };

    private CopyJob StartCopies(IEnumerable<string> ids, InProcessClients? clients = null, CancellationToken cancellationToken = default,
        CopyJobOptions? options = null)
    {
        var job = _engine.StartCopyJob(clients ?? _clients, options ?? CopyOptions(), cancellationToken);
        foreach (var id in ids) job.Add(Copy(id));
        job.CompleteAdding();
        return job;
    }

    /// <summary>RequestLimitExceeded answers the emulator gave (its buckets, and interceptors), all accounts and regions.</summary>
    private long Throttles() => _ec2.GetStats().Throttled.Values.Sum(perAction => perAction.Values.Sum());

    /// <summary>Every call of <paramref name="calls"/> was within a bucket of <paramref name="burst"/> and
    /// <paramref name="perSecond"/>, full at <paramref name="start"/>: the i-th call by t needs i ≤ burst + rate·t.</summary>
    private static void WithinBucket(IEnumerable<CallInfo> calls, DateTimeOffset start, int burst, double perSecond)
    {
        var times = calls.Select(c => c.At).OrderBy(t => t).ToList();
        for (var i = 0; i < times.Count; i++)
            Assert.True(i + 1 <= burst + perSecond * (times[i] - start).TotalSeconds + 1e-6,
                $"call {i + 1} at {(times[i] - start).TotalSeconds:0.000} s exceeds {burst} + {perSecond}/s");
    }

    /// <summary>Equal to the millisecond (the buckets' arithmetic rounds to ticks).</summary>
    private static void Exactly(TimeSpan expected, TimeSpan actual) =>
        Assert.True((actual - expected).Duration() < TimeSpan.FromMilliseconds(1), $"expected {expected}, was {actual}");

    private static void NotThrottled(EngineJob job)
    {
        var statistics = job.Statistics;
        Assert.Equal(0, statistics.Throttled);
        Assert.Equal(0, statistics.Retries);
    }

    private static void AllCompleted(JobOutcome outcome, int count)
    {
        Assert.Equal(count, outcome.Finished.Count);
        Assert.All(outcome.Finished, f => Assert.Equal(SnapshotState.Completed, f.Result.State));
    }

    /// <summary>The copies the account holds in us-west-2, by source.</summary>
    private ILookup<string, Snapshot> CopiesBySource() =>
        OwnSnapshots(West).ToLookup(s => s.Tags?.FirstOrDefault(t => t.Key == CopyTagNames.SourceSnapshotId)?.Value ?? "");

    private Scheduler WestScheduler(InProcessClients? clients = null) => _engine.Find(clients ?? _clients, West)!;

    // ------------------------------------------------------------------ the table

    [Fact]
    public void Table_HasEc2sBuckets_AndADescribeIsFilteredOnlyWhenItsRequestSaysSo()
    {
        Assert.Equal((50, 5.0), Size("CopySnapshot"));
        Assert.Equal((100, 5.0), Size("CreateSnapshot"));
        Assert.Equal((100, 5.0), Size("CreateSnapshots"));
        Assert.Equal((100, 5.0), Size("DeleteSnapshot"));
        Assert.Equal((100, 10.0), Size("CreateTags"));
        Assert.Equal((100, 20.0), Size("DescribeSnapshots"));
        Assert.Equal((50, 10.0), Size("DescribeSnapshots.Unfiltered"));
        Assert.Equal((50, 5.0), Size("SomeActionNobodyListed"));
        Assert.Equal((100, 5.0), Size("ModifySnapshotAttribute"));
        Assert.Equal((100, 10.0), Size("DeleteTags"));
        Assert.Equal((100, 20.0), Size("DescribeSnapshotAttribute"));
        // A Describe without a smaller unfiltered bucket draws from its own.
        Assert.Equal("DescribeSnapshotAttribute", Ec2Buckets.NameOf("DescribeSnapshotAttribute", new DescribeSnapshotAttributeRequest { SnapshotId = "snap-1" }));
        // The emulator enforces the same sizes (it is the one model of EC2 the tests run against).
        foreach (var (name, bucket) in _ec2.Config.Limits.Buckets)
            if (Ec2Buckets.All.ContainsKey(name)) Assert.Equal((bucket.Burst, bucket.RefillPerSecond), Size(name));

        Assert.Equal("CopySnapshot", Ec2Buckets.NameOf("CopySnapshot", null));
        Assert.Equal("DeleteSnapshot", Ec2Buckets.NameOf("DeleteSnapshot", new DeleteSnapshotRequest { SnapshotId = "snap-1" }));
        Assert.Equal("DescribeSnapshots", Ec2Buckets.NameOf("DescribeSnapshots",
            new DescribeSnapshotsRequest { Filters = [new Filter { Name = "snapshot-id", Values = ["snap-1"] }] }));
        Assert.Equal("DescribeSnapshots", Ec2Buckets.NameOf("DescribeSnapshots", new DescribeSnapshotsRequest { MaxResults = 50 }));
        Assert.Equal("DescribeSnapshots", Ec2Buckets.NameOf("DescribeSnapshots", new DescribeSnapshotsRequest { NextToken = "t" }));
        // Unsure (ids or owners only, or no request at all): the smaller bucket.
        Assert.Equal("DescribeSnapshots.Unfiltered", Ec2Buckets.NameOf("DescribeSnapshots", new DescribeSnapshotsRequest { SnapshotIds = ["snap-1"] }));
        Assert.Equal("DescribeSnapshots.Unfiltered", Ec2Buckets.NameOf("DescribeSnapshots", new DescribeSnapshotsRequest { OwnerIds = ["self"] }));
        Assert.Equal("DescribeSnapshots.Unfiltered", Ec2Buckets.NameOf("DescribeSnapshots", null));
        Assert.Equal("DescribeVolumes", Ec2Buckets.NameOf("DescribeVolumes",
            new DescribeVolumesRequest { Filters = [new Filter { Name = "volume-id", Values = ["vol-1"] }] }));

        // The client-side buckets keep the reserve (RequestBuckets, one set per scheduler: account and region): 45 of
        // CopySnapshot's 50 at once, then EC2's 5 a second; 95 of DescribeSnapshots' 100.
        var buckets = new RequestBuckets(_engine.PacingMargin);
        Assert.Equal(45, buckets.Available("CopySnapshot", Now));
        Assert.Equal(95, buckets.Available("DescribeSnapshots", Now));
        for (var i = 0; i < 45; i++) Assert.True(buckets.TryTake("CopySnapshot", Now, out _));
        Assert.False(buckets.TryTake("CopySnapshot", Now, out var next));
        Assert.Equal(Now + TimeSpan.FromSeconds(0.2), next);
        // ... and the scheduler of an account-region has them: full again (never above 45) a while after one copy.
        Run(StartCopies([SeedSnapshot(East)]));
        AdvanceTo(Now + TimeSpan.FromMinutes(1));
        Assert.Equal(45, WestScheduler().Buckets.Available("CopySnapshot", Now));
        Assert.Null(WestScheduler().Buckets.RateOf("CopySnapshot"));

        static (int, double) Size(string bucket) => (Ec2Buckets.Of(bucket).Burst, Ec2Buckets.Of(bucket).RefillPerSecond);
    }

    // ------------------------------------------------------------------ CopySnapshot

    [Fact]
    public void CopyBurst_200CopiesOverFourJobs_NeverExceedsCopySnapshotsBucket()
    {
        // Copies of 0.5 s: the 20-copy window turns over far faster than EC2's 5 CopySnapshot calls a second.
        CopyDuration = TimeSpan.FromSeconds(0.5);
        var start = Now;
        var jobs = Enumerable.Range(0, 4).Select(_ => StartCopies(SeedSnapshots(East, 50))).ToList();

        RunAll(jobs);

        Assert.Equal(0, Throttles());
        Assert.All(jobs, NotThrottled);
        Assert.All(jobs, j => AllCompleted(Outcome(j), 50));
        var copies = Calls("CopySnapshot", West);
        Assert.Equal(200, copies.Count); // one call per copy: waits are not calls, and nothing was retried
        Assert.Equal(200, jobs.Sum(j => j.Statistics.Calls["CopySnapshot"]));
        WithinBucket(copies, start, 50, 5);
        // ... and at EC2's pace, not slower: the 155 calls after the burst of 45 take exactly 31 s (a call waits for
        // every token from the first call on).
        var first = copies.Min(c => c.At);
        Assert.True(first - start < TimeSpan.FromSeconds(1), $"first copy after {first - start}");
        Exactly(TimeSpan.FromSeconds(31), copies.Max(c => c.At) - first);
        Assert.True(MaxPendingCopies(West) <= 20);
        jobs.ForEach(j => j.Dispose());
    }

    [Fact]
    public void TwoAccounts_DoNotShareABucket()
    {
        CopyDuration = TimeSpan.FromSeconds(0.1);
        var other = Clients(OtherAccessKey);
        var start = Now;
        using var mine = StartCopies(SeedSnapshots(East, 60));
        using var theirs = StartCopies(SeedSnapshots(East, 60, accessKey: OtherAccessKey), other);

        RunAll([mine, theirs]);

        Assert.Equal(0, Throttles());
        NotThrottled(mine);
        NotThrottled(theirs);
        AllCompleted(Outcome(mine), 60);
        AllCompleted(Outcome(theirs), 60);
        var a = Calls("CopySnapshot", West).Where(c => c.Account == AccountId).ToList();
        var b = Calls("CopySnapshot", West).Where(c => c.Account == OtherAccount).ToList();
        Assert.Equal(60, a.Count);
        Assert.Equal(60, b.Count);
        WithinBucket(a, start, 50, 5);
        WithinBucket(b, start, 50, 5);
        // Each account's 15 calls after its own burst of 45 take exactly 3 s; one shared bucket would have needed 15 s
        // for the 75.
        foreach (var calls in new[] { a, b })
        {
            var first = calls.Min(c => c.At);
            Assert.True(first - start < TimeSpan.FromSeconds(1), $"first copy after {first - start}");
            Exactly(TimeSpan.FromSeconds(3), calls.Max(c => c.At) - first);
        }
        Assert.NotSame(WestScheduler().Buckets, WestScheduler(other).Buckets);
    }

    [Fact]
    public void ThrottleFromOutside_DrainsTheBucket_NoThrottleAfterwards()
    {
        CopyDuration = TimeSpan.FromSeconds(0.5);
        // Another client in the account spent the whole CopySnapshot bucket just now; our client-side bucket is full.
        _ec2.SpendTokens("CopySnapshot", 50, West);
        var start = Now;
        using var job = StartCopies(SeedSnapshots(East, 60));

        var outcome = Run(job);

        AllCompleted(outcome, 60);
        Assert.Equal(60, OwnSnapshots(West).Count);
        Assert.True(Throttles() > 0);
        Assert.Equal(Throttles(), outcome.Statistics.Throttled);
        // Only the calls sent together with the first throttled one were throttled: the drain put our bucket where
        // EC2's is, so nothing was throttled once it started to refill, and the calls after it kept to EC2's refill.
        var throttledAt = Calls("CopySnapshot", West).Where(c => c.ErrorCode == "RequestLimitExceeded").Select(c => c.At).ToList();
        var drained = throttledAt.Min();
        Assert.All(throttledAt, t => Assert.Equal(drained, t));
        WithinBucket(Calls("CopySnapshot", West).Where(c => c.At > drained), drained, 1, 5);
        Assert.True(drained - start < TimeSpan.FromSeconds(1));
    }

    [Fact]
    public void BackToBackRuns_TheSecondWaitsForTheRefill_InsteadOfBeingThrottled()
    {
        CopyDuration = TimeSpan.FromSeconds(0.1);
        using var first = StartCopies(SeedSnapshots(East, 45));
        Run(first);
        Assert.Equal(0, _engine.AccountRegionsInUse);
        // Changed: the old registry kept a spent bucket while it refilled (Registry.Refilling). The scheduler of the
        // account-region is kept for the life of the process, and with it the spent CopySnapshot bucket: not full yet.
        Assert.True(WestScheduler().Buckets.Available("CopySnapshot", Now) < 45);
        var emptiedAt = Calls("CopySnapshot", West).Min(c => c.At);

        using var second = StartCopies(SeedSnapshots(East, 45));
        Run(second);

        Assert.Equal(0, Throttles());
        NotThrottled(second);
        AllCompleted(Outcome(second), 45);
        var calls = Calls("CopySnapshot", West);
        Assert.Equal(90, calls.Count);
        // The second run waited for the refill: its last call came when the 45 tokens spent by the first run were back.
        Exactly(TimeSpan.FromSeconds(9), calls.Max(c => c.At) - emptiedAt);
        AdvanceTo(Now + TimeSpan.FromMinutes(1));
        Assert.Equal(45, WestScheduler().Buckets.Available("CopySnapshot", Now)); // full again
        Assert.Equal(2, _engine.SchedulersKept);
    }

    // ------------------------------------------------------------------ DescribeSnapshots

    [Fact]
    public void Polling_2400SnapshotsOverThreeWaitJobs_AndACopyJob_NeverExceedsDescribeSnapshotsBucket()
    {
        // Polls every 0.1 s wanted by three jobs in us-east-1 (800 snapshots each), plus the copy job's source checks
        // there, for 20 s: far more than EC2's 100 at once, then 20 a second, if each job polled for itself.
        var pending = _ec2.Seed(new SeedRequest { Region = East, Snapshots = 2400, State = "pending", DurationSeconds = 20 }).SnapshotIds;
        var waits = Enumerable.Range(0, 3).Select(w =>
        {
            var job = _engine.StartWaitJob(_clients, new WaitJobOptions { PollInterval = TimeSpan.FromSeconds(0.1), VisibilityGrace = TimeSpan.FromSeconds(5) }, default);
            foreach (var id in pending.Skip(w * 800).Take(800)) job.Add(id, East);
            job.CompleteAdding();
            return job;
        }).ToList();
        var copies = StartCopies(SeedSnapshots(East, 100));
        var start = Now;

        RunAll([.. waits, copies]);

        Assert.Equal(0, Throttles());
        Assert.All(waits, NotThrottled);
        NotThrottled(copies);
        Assert.Equal(2400, waits.Sum(w => Outcome(w).Finished.Count(f => f.Result.State == SnapshotState.Completed)));
        AllCompleted(Outcome(copies), 100);
        var describes = Calls("DescribeSnapshots", East);
        Assert.All(describes, c => Assert.NotEmpty(c.Filters)); // all filtered: the larger bucket
        WithinBucket(describes, start, 100, 20);
        // ... and pacing does not make the poller crawl: the 2,400 snapshots (20 s each) are all seen completed within
        // a few seconds of their end (the poller looks when they are expected to end, not every tick).
        Assert.True(Now - start <= TimeSpan.FromSeconds(26), $"the jobs ended {Now - start} after the start");
        waits.ForEach(w => w.Dispose());
        copies.Dispose();
    }

    // ------------------------------------------------------------------ DeleteSnapshot

    [Fact]
    public void SweepDeleting150Duplicates_NeverExceedsDeleteSnapshotsBucket()
    {
        CopyDuration = TimeSpan.FromSeconds(1);
        // Every copy has a twin nobody saw (a re-sent request): the final sweep deletes 150 of them. Changed set-up: the
        // scheduler's polls see a twin listed with its copy and delete it at once (a few a second, as the copies
        // start), so the twins appear only when the final sweep looks for the job's request tokens, as twins EC2 did
        // not list until then; the sweep then has 150 to delete at once.
        var twinned = new HashSet<string>(StringComparer.Ordinal);
        Intercept = call =>
        {
            if (call is not { Action: "DescribeSnapshots", Stage: CallStage.BeforeAction }) return null;
            var tokens = call.FilterValues("tag:" + CopyTagNames.RequestToken);
            if (tokens.Count == 0) return null;
            foreach (var copy in _ec2.GetCalls("CopySnapshot", West))
                if (copy.Succeeded && tokens.Contains(copy.TagsFor()[CopyTagNames.RequestToken]) && twinned.Add(copy.CreatedSnapshotIds.Single()))
                    _ec2.Duplicate(copy.CreatedSnapshotIds.Single());
            return null;
        };
        var ids = SeedSnapshots(East, 150);
        using var job = StartCopies(ids);

        var outcome = Run(job);

        AllCompleted(outcome, 150);
        Assert.Equal(150, twinned.Count);
        Assert.Equal(0, Throttles());
        NotThrottled(job);
        Assert.Equal(150, outcome.Statistics.DuplicatesRemoved);
        var copies = CopiesBySource();
        Assert.All(ids, id => Assert.Single(copies[id]));
        var deletes = Calls("DeleteSnapshot", West);
        Assert.Equal(150, deletes.Count);
        var first = deletes.Min(c => c.At);
        WithinBucket(deletes, first, 100, 5);
        // The 55 after the burst of 95 take exactly 11 s.
        Exactly(TimeSpan.FromSeconds(11), deletes.Max(c => c.At) - first);
    }

    // ------------------------------------------------------------------ Ctrl+C

    [Fact]
    public void CtrlC_DuringAPacingWait_EndsTheJobAtOnce_WithoutMovingTheClock()
    {
        CopyDuration = TimeSpan.FromSeconds(0.1);
        using var stop = new CancellationTokenSource();
        using var job = StartCopies(SeedSnapshots(East, 100), cancellationToken: stop.Token);
        var outcome = Outcome(job);
        // Copies that hold a window slot and were not accepted yet wait for a CopySnapshot token (the old pacer's Waiting).
        int WaitingForTokens() => _engine.View(_clients, West) is { } view ? view.WindowInUse - (outcome.Accepted.Count - outcome.Finished.Count) : 0;
        // Run until the burst is spent and copies queue for the bucket.
        var limit = Now + TimeSpan.FromSeconds(30);
        while (WaitingForTokens() < 10)
        {
            Assert.True(Now < limit, "no pacing wait");
            AdvanceTo(Now + TimeSpan.FromMilliseconds(100), job);
        }
        var scheduler = WestScheduler();
        Assert.True(scheduler.Buckets.Available("CopySnapshot", Now) < 1, "the CopySnapshot bucket is not spent");
        var sentBefore = Calls("CopySnapshot").Count;
        var stoppedAt = Now;

        stop.Cancel();
        AdvanceTo(Now, job); // lets the engine work, without moving the clock

        Assert.True(job.IsFinished, "the job did not end without the clock moving");
        Assert.Equal(stoppedAt, Now);
        Assert.Equal(sentBefore, Calls("CopySnapshot").Count); // nothing sent after Ctrl+C
        Assert.True(scheduler.IsDormant, "something still waits in us-west-2"); // no copy waits for a token any more
        Assert.Equal(100, outcome.Finished.Count);
        Assert.Contains(outcome.Finished, f => f.Result.State == SnapshotState.Queued && f.Result.SnapshotId is null);
        Assert.Equal(0, job.Statistics.Throttled);
        Assert.Equal(0, job.Statistics.Retries);
        Assert.Equal(0, _engine.View(_clients, West)!.WindowInUse);
    }
}
