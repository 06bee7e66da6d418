using Amazon.EC2.Model;
using Avtomat.Ec2.Engine.Copy;
using Avtomat.Ec2.Engine.Internal;
using Avtomat.Ec2.Engine.Tests.Support;
using Avtomat.Ec2.Engine.Waiting;
using Microsoft.Extensions.Time.Testing;

namespace Avtomat.Ec2.Engine.Tests;

/// <summary>Pacing under EC2's token buckets for every action, in virtual time against the in-memory EC2, which enforces
/// EC2's buckets per account, region and action exactly (its own table, not the engine's): bursts over several jobs never
/// draw a RequestLimitExceeded, accounts do not share buckets, a throttle from outside drains the bucket, and Ctrl+C ends
/// a pacing wait at once.</summary>
[Collection(VirtualTimeCollection.Name)]
public sealed class PacingTests : EngineTestBed
{
    private static CopyJobOptions CopyOptions(Action<CopyJobOptions>? configure = null)
    {
        var o = new CopyJobOptions { PollInterval = TimeSpan.FromSeconds(1), VisibilityGrace = TimeSpan.FromSeconds(5) };
        configure?.Invoke(o);
        return o;
    }

    private static SnapshotCopyRequest Copy(string id) => new() { SourceSnapshotId = id, SourceRegion = East, DestinationRegion = West };

    private CopyJob StartCopies(IEnumerable<string> ids, FakeClientSource? clients = null, CancellationToken cancellationToken = default,
        CopyJobOptions? options = null)
    {
        var job = _engine.StartCopyJob(clients ?? _clients, options ?? CopyOptions(), cancellationToken);
        foreach (var id in ids) job.Add(Copy(id));
        job.CompleteAdding();
        return job;
    }

    /// <summary>One job as the runner drains it.</summary>
    private sealed class Running
    {
        public required IDisposable Job { get; init; }
        public required Func<bool> IsFinished { get; init; }
        public required Func<object?> TakeOne { get; init; }
        public required Func<JobStatistics> Statistics { get; init; }
        public List<object> Events { get; } = new();

        public List<ItemFinishedEvent<TRequest, TResult>> Finished<TRequest, TResult>() where TRequest : class =>
            Events.OfType<ItemFinishedEvent<TRequest, TResult>>().ToList();

        public static Running Of<TRequest, TResult>(SnapshotJob<TRequest, TResult> job) where TRequest : class where TResult : class => new()
        {
            Job = job,
            IsFinished = () => job.IsFinished,
            TakeOne = () => job.TryTake(out var e, TimeSpan.Zero) ? e : null,
            Statistics = () => job.Statistics,
        };
    }

    /// <summary>Advances the fake clock in steps while the jobs run, draining their events, until all are finished.</summary>
    private async Task RunTogetherAsync(IReadOnlyList<Running> jobs, TimeSpan? maxVirtual = null)
    {
        var end = _clock.GetUtcNow() + (maxVirtual ?? TimeSpan.FromMinutes(10));
        var realLimit = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (true)
        {
            await Task.Delay(1);
            foreach (var job in jobs)
                while (job.TakeOne() is { } e) job.Events.Add(e);
            if (jobs.All(j => j.IsFinished())) break;
            if (_clock.GetUtcNow() > end || DateTime.UtcNow > realLimit) throw new TimeoutException("The jobs did not finish.");
            _clock.Advance(TimeSpan.FromMilliseconds(100));
        }
        foreach (var job in jobs) job.Job.Dispose();
    }

    /// <summary>Every call of <paramref name="calls"/> was within a bucket of <paramref name="burst"/> and
    /// <paramref name="perSecond"/>, full at <paramref name="start"/>: the i-th call by t needs i ≤ burst + rate·t.</summary>
    private static void WithinBucket(IEnumerable<FakeEc2.CallRecord> calls, DateTimeOffset start, int burst, double perSecond)
    {
        var times = calls.Select(c => c.At).OrderBy(t => t).ToList();
        for (var i = 0; i < times.Count; i++)
            Assert.True(i + 1 <= burst + perSecond * (times[i] - start).TotalSeconds + 1e-6,
                $"call {i + 1} at {(times[i] - start).TotalSeconds:0.000} s exceeds {burst} + {perSecond}/s");
    }

    /// <summary>Leases and slots are given back when a job's last worker ended, just after its events closed.</summary>
    private static async Task Eventually(Func<bool> condition)
    {
        var until = DateTime.UtcNow + TimeSpan.FromSeconds(5);
        while (!condition())
        {
            if (DateTime.UtcNow > until) Assert.Fail("The condition did not become true.");
            await Task.Delay(10);
        }
    }

    private static void NotThrottled(Running job)
    {
        var statistics = job.Statistics();
        Assert.Equal(0, statistics.Throttled);
        Assert.Equal(0, statistics.Retries);
    }

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

        // The client-side buckets keep the reserve, per account and region.
        using var lease = _engine.Lease(_clients, West);
        Assert.Equal(45, lease.Shared.Pacer("CopySnapshot").Burst);
        Assert.Equal(5, lease.Shared.Pacer("CopySnapshot").RefillPerSecond);
        Assert.Equal(95, lease.Shared.Pacer("DescribeSnapshots").Burst);

        static (int, double) Size(string bucket) => (Ec2Buckets.Of(bucket).Burst, Ec2Buckets.Of(bucket).RefillPerSecond);
    }

    // ------------------------------------------------------------------ CopySnapshot

    [Fact]
    public async Task CopyBurst_200CopiesOverFourJobs_NeverExceedsCopySnapshotsBucket()
    {
        // Copies of 0.5 s: the 20-copy window turns over far faster than EC2's 5 CopySnapshot calls a second.
        _ec2.CopyDuration = TimeSpan.FromSeconds(0.5);
        var start = _clock.GetUtcNow();
        var jobs = Enumerable.Range(0, 4).Select(_ => Running.Of(StartCopies(_ec2.SeedMany(East, 50)))).ToList();

        await RunTogetherAsync(jobs);

        Assert.Equal(0, _ec2.Throttles);
        Assert.All(jobs, NotThrottled);
        Assert.All(jobs, j => Assert.All(j.Finished<SnapshotCopyRequest, SnapshotCopyResult>(), f => Assert.Equal(SnapshotState.Completed, f.Result.State)));
        Assert.Equal(200, jobs.Sum(j => j.Finished<SnapshotCopyRequest, SnapshotCopyResult>().Count));
        var copies = _ec2.CallsOf("CopySnapshot", West);
        Assert.Equal(200, copies.Count); // one call per copy: waits are not calls, and nothing was retried
        Assert.Equal(200, jobs.Sum(j => j.Statistics().Calls["CopySnapshot"]));
        WithinBucket(copies, start, 50, 5);
        // ... and at EC2's pace, not slower: the 155 calls after the burst of 45 take 31 s.
        Assert.InRange((copies.Max(c => c.At) - start).TotalSeconds, 30, 36);
        Assert.True(_ec2.MaxPending[West] <= 20);
    }

    [Fact]
    public async Task TwoAccounts_DoNotShareABucket()
    {
        _ec2.CopyDuration = TimeSpan.FromSeconds(0.1);
        var other = new FakeClientSource(_ec2, account: "account:222222222222");
        var start = _clock.GetUtcNow();
        var mine = Running.Of(StartCopies(_ec2.SeedMany(East, 60)));
        var theirs = Running.Of(StartCopies(_ec2.SeedMany(East, 60), other));

        await RunTogetherAsync([mine, theirs]);

        Assert.Equal(0, _ec2.Throttles);
        NotThrottled(mine);
        NotThrottled(theirs);
        var a = _ec2.CallsOf("CopySnapshot", West, FakeEc2.DefaultAccount);
        var b = _ec2.CallsOf("CopySnapshot", West, "account:222222222222");
        Assert.Equal(60, a.Count);
        Assert.Equal(60, b.Count);
        WithinBucket(a, start, 50, 5);
        WithinBucket(b, start, 50, 5);
        // Each account's 15 calls after its own burst take 3 s; one shared bucket would have needed 15 s for the 75.
        Assert.True((a.Max(c => c.At) - start).TotalSeconds < 8, $"{(a.Max(c => c.At) - start).TotalSeconds} s");
        Assert.True((b.Max(c => c.At) - start).TotalSeconds < 8, $"{(b.Max(c => c.At) - start).TotalSeconds} s");
        using var leaseA = _engine.Lease(_clients, West);
        using var leaseB = _engine.Lease(other, West);
        Assert.NotSame(leaseA.Shared.Pacer("CopySnapshot"), leaseB.Shared.Pacer("CopySnapshot"));
    }

    [Fact]
    public async Task ThrottleFromOutside_DrainsTheBucket_NoThrottleAfterwards()
    {
        _ec2.CopyDuration = TimeSpan.FromSeconds(0.5);
        // Another client in the account spent the whole CopySnapshot bucket just now; our client-side bucket is full.
        _ec2.SpendTokens("CopySnapshot", 50, West);
        var start = _clock.GetUtcNow();
        var job = Running.Of(StartCopies(_ec2.SeedMany(East, 60)));

        await RunTogetherAsync([job]);

        Assert.All(job.Finished<SnapshotCopyRequest, SnapshotCopyResult>(), f => Assert.Equal(SnapshotState.Completed, f.Result.State));
        Assert.Equal(60, _ec2.Snapshots.Values.Count(s => s.IsCopy));
        Assert.True(_ec2.Throttles > 0);
        Assert.Equal(_ec2.Throttles, job.Statistics().Throttled);
        // Only the calls sent together with the first throttled one were throttled: the drain put our bucket where
        // EC2's is, so nothing was throttled once it started to refill, and the calls after it kept to EC2's refill.
        var drained = _ec2.ThrottledAt.Min();
        Assert.All(_ec2.ThrottledAt, t => Assert.Equal(drained, t));
        WithinBucket(_ec2.CallsOf("CopySnapshot", West).Where(c => c.At > drained), drained, 1, 5);
        Assert.True(drained - start < TimeSpan.FromSeconds(1));
    }

    [Fact]
    public async Task BackToBackRuns_TheSecondWaitsForTheRefill_InsteadOfBeingThrottled()
    {
        _ec2.CopyDuration = TimeSpan.FromSeconds(0.1);
        var first = Running.Of(StartCopies(_ec2.SeedMany(East, 45)));
        await RunTogetherAsync([first]);
        await Eventually(() => _engine.AccountRegionsInUse == 0);
        Assert.True(_engine.Registry.Refilling > 0); // the spent CopySnapshot bucket outlived the job

        var second = Running.Of(StartCopies(_ec2.SeedMany(East, 45)));
        await RunTogetherAsync([second]);

        Assert.Equal(0, _ec2.Throttles);
        NotThrottled(second);
        Assert.Equal(90, _ec2.CallsOf("CopySnapshot", West).Count);
        _clock.Advance(TimeSpan.FromMinutes(1));
        using (_engine.Lease(_clients, East)) { } // a release forgets the buckets that are full again
        Assert.Equal(0, _engine.Registry.Refilling);
    }

    // ------------------------------------------------------------------ DescribeSnapshots

    [Fact]
    public async Task Polling_2400SnapshotsOverThreeWaitJobs_AndACopyJob_NeverExceedsDescribeSnapshotsBucket()
    {
        // 12 batched calls per tick of 0.1 s in us-east-1 (120 a second wanted), plus the copy job's source checks
        // there, for 20 s: far more than EC2's 100 at once, then 20 a second.
        var waits = Enumerable.Range(0, 3).Select(_ =>
        {
            var job = _engine.StartWaitJob(_clients, new WaitJobOptions { PollInterval = TimeSpan.FromSeconds(0.1), VisibilityGrace = TimeSpan.FromSeconds(5) }, default);
            for (var i = 0; i < 800; i++) job.Add(_ec2.Seed(East, "pending", completesIn: TimeSpan.FromSeconds(20)), East);
            job.CompleteAdding();
            return Running.Of(job);
        }).ToList();
        var copies = Running.Of(StartCopies(_ec2.SeedMany(East, 100)));
        var start = _clock.GetUtcNow();

        await RunTogetherAsync([.. waits, copies]);

        Assert.Equal(0, _ec2.Throttles);
        Assert.All(waits, NotThrottled);
        NotThrottled(copies);
        Assert.Equal(2400, waits.Sum(w => w.Finished<object, SnapshotResult>().Count(f => f.Result.State == SnapshotState.Completed)));
        Assert.Equal(100, copies.Finished<SnapshotCopyRequest, SnapshotCopyResult>().Count(f => f.Result.State == SnapshotState.Completed));
        var describes = _ec2.CallsOf("DescribeSnapshots", East);
        Assert.All(describes, c => Assert.NotEmpty(((DescribeSnapshotsRequest)c.Request).Filters)); // all filtered: the larger bucket
        WithinBucket(describes, start, 100, 20);
        // ... and pacing does not make the poller crawl: the 2,400 snapshots (20 s each) are all seen completed within
        // a few seconds of their end (the poller looks when they are expected to end, not every tick).
        Assert.True(_clock.GetUtcNow() - start <= TimeSpan.FromSeconds(26), $"the jobs ended {_clock.GetUtcNow() - start} after the start");
    }

    // ------------------------------------------------------------------ DeleteSnapshot

    [Fact]
    public async Task SweepDeleting150Duplicates_NeverExceedsDeleteSnapshotsBucket()
    {
        _ec2.CopyDuration = TimeSpan.FromSeconds(1);
        // Every copy has a twin nobody saw (a re-sent request): the final sweep deletes 150 of them.
        _ec2.AfterCopy = (_, copy, _) => _ec2.Twin(copy);
        var ids = _ec2.SeedMany(East, 150);
        var job = Running.Of(StartCopies(ids));

        await RunTogetherAsync([job]);

        Assert.Equal(0, _ec2.Throttles);
        NotThrottled(job);
        Assert.Equal(150, job.Statistics().DuplicatesRemoved);
        Assert.All(ids, id => Assert.Single(_ec2.CopiesOf(id)));
        var deletes = _ec2.CallsOf("DeleteSnapshot", West);
        Assert.Equal(150, deletes.Count);
        WithinBucket(deletes, deletes.Min(c => c.At), 100, 5);
        // The 55 after the burst of 95 take 11 s.
        Assert.InRange((deletes.Max(c => c.At) - deletes.Min(c => c.At)).TotalSeconds, 10.5, 14);
    }

    // ------------------------------------------------------------------ Ctrl+C

    [Fact]
    public async Task CtrlC_DuringAPacingWait_EndsTheJobAtOnce_WithoutMovingTheClock()
    {
        _ec2.CopyDuration = TimeSpan.FromSeconds(0.1);
        using var stop = new CancellationTokenSource();
        var job = StartCopies(_ec2.SeedMany(East, 100), cancellationToken: stop.Token);
        using var lease = _engine.Lease(_clients, West);
        var pacer = lease.Shared.Pacer("CopySnapshot");
        var events = new List<CopyEvent>();
        var realLimit = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        // Run until the burst is spent and copies queue for the bucket.
        while (pacer.Waiting < 10)
        {
            await Task.Delay(1);
            while (job.TryTake(out var e, TimeSpan.Zero)) events.Add(e!);
            Assert.True(DateTime.UtcNow < realLimit, "no pacing wait");
            _clock.Advance(TimeSpan.FromMilliseconds(100));
        }
        await Task.Delay(50);
        var sentBefore = _ec2.CopyCalls;
        var stoppedAt = _clock.GetUtcNow();

        stop.Cancel();
        var watch = System.Diagnostics.Stopwatch.StartNew();
        while (!job.IsFinished && watch.Elapsed < TimeSpan.FromSeconds(5))
        {
            while (job.TryTake(out var e, TimeSpan.FromMilliseconds(10))) events.Add(e!);
        }

        Assert.True(job.IsFinished, "the job did not end without the clock moving");
        Assert.Equal(stoppedAt, _clock.GetUtcNow());
        Assert.Equal(sentBefore, _ec2.CopyCalls); // nothing sent after Ctrl+C
        Assert.Equal(0, pacer.Waiting);
        var finished = events.OfType<CopyFinishedEvent>().ToList();
        Assert.Equal(100, finished.Count);
        Assert.Contains(finished, f => f.Result.State == SnapshotState.Queued && f.Result.SnapshotId is null);
        Assert.Equal(0, job.Statistics.Throttled);
        Assert.Equal(0, job.Statistics.Retries);
        job.Dispose();
        await Eventually(() => lease.Shared.CopyWindow.InUse == 0);
    }
}
