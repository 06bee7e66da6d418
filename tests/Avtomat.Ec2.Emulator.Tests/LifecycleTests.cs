using Amazon.EC2;
using Amazon.EC2.Model;
using Avtomat.Ec2.Emulator;
using Avtomat.Ec2.Emulator.Tests.Support;

namespace Avtomat.Ec2.Emulator.Tests;

/// <summary>Snapshot lifecycles driven by a FakeTimeProvider (no background timers: state follows the clock).</summary>
public class LifecycleTests
{
    private static Task<TestEmulator> StartAsync(double copySeconds, double crossRegionFactor = 1.5, double? referenceSizeGiB = null,
        double incrementalFactor = 0.3)
        => TestEmulator.StartAsync(o =>
        {
            o.Config.Durations.Copy = new DurationModel { Kind = DurationKind.Fixed, Seconds = copySeconds, ReferenceSizeGiB = referenceSizeGiB };
            o.Config.Durations.CrossRegionFactor = crossRegionFactor;
            o.Config.Durations.IncrementalFactor = incrementalFactor;
            o.Config.Durations.Snapshot = new DurationModel { Kind = DurationKind.Fixed, Seconds = 40 };
        });

    [Fact]
    public async Task Copy_StartsPendingAtZeroPercent_ProgressesCoarselyBelow100_ThenCompletesAt100()
    {
        await using var env = await StartAsync(copySeconds: 1000);
        var source = env.SeedSnapshot("us-east-1");
        var ec2 = env.Client("us-east-1");
        var id = (await ec2.CopyAsync("us-east-1", source)).SnapshotId;

        var first = await ec2.DescribeSnapshotAsync(id);
        Assert.Equal(SnapshotState.Pending, first.State);
        Assert.Equal("0%", first.Progress);
        Assert.Equal(TestEmulator.Epoch.UtcDateTime, first.StartTime?.ToUniversalTime());

        var seen = new List<int>();
        for (var t = 50; t < 1000; t += 50)
        {
            env.AdvanceSeconds(50);
            var s = await ec2.DescribeSnapshotAsync(id);
            Assert.Equal(SnapshotState.Pending, s.State);
            var p = s.ProgressPercent();
            Assert.InRange(p, 0, 99);
            seen.Add(p);
        }
        Assert.Equal(seen.Order(), seen);             // never goes backwards
        Assert.True(seen.Last() > 0, "progress never moved while pending");
        Assert.True(seen.Distinct().Count() < seen.Count, "progress should be coarse (jumps), not updated on every look");

        env.AdvanceSeconds(51);
        var done = await ec2.DescribeSnapshotAsync(id);
        Assert.Equal(SnapshotState.Completed, done.State);
        Assert.Equal("100%", done.Progress);
    }

    [Fact]
    public async Task Copy_FixedDuration_CompletesExactlyAfterThatDuration()
    {
        await using var env = await StartAsync(copySeconds: 120);
        var source = env.SeedSnapshot("us-east-1");
        var ec2 = env.Client("us-east-1");
        var id = (await ec2.CopyAsync("us-east-1", source)).SnapshotId;

        env.AdvanceSeconds(119);
        Assert.Equal(SnapshotState.Pending, (await ec2.DescribeSnapshotAsync(id)).State);
        env.AdvanceSeconds(1.5);
        Assert.Equal(SnapshotState.Completed, (await ec2.DescribeSnapshotAsync(id)).State);
    }

    [Fact]
    public async Task Copy_CrossRegion_TakesCrossRegionFactorLonger()
    {
        await using var env = await StartAsync(copySeconds: 100, crossRegionFactor: 2);
        var source = env.SeedSnapshot("us-east-1");
        var east = env.Client("us-east-1");
        var west = env.Client("us-west-2");
        var local = (await east.CopyAsync("us-east-1", source)).SnapshotId;
        var remote = (await west.CopyAsync("us-east-1", source)).SnapshotId;

        env.AdvanceSeconds(101);
        Assert.Equal(SnapshotState.Completed, (await east.DescribeSnapshotAsync(local)).State);
        Assert.Equal(SnapshotState.Pending, (await west.DescribeSnapshotAsync(remote)).State);
        env.AdvanceSeconds(98); // t = 199
        Assert.Equal(SnapshotState.Pending, (await west.DescribeSnapshotAsync(remote)).State);
        env.AdvanceSeconds(2); // t = 201
        Assert.Equal(SnapshotState.Completed, (await west.DescribeSnapshotAsync(remote)).State);
    }

    [Fact]
    public async Task Copy_DurationScalesWithVolumeSize_WhenReferenceSizeIsSet()
    {
        await using var env = await StartAsync(copySeconds: 100, referenceSizeGiB: 10);
        var small = env.SeedSnapshot("us-east-1", sizeGiB: 10);
        var big = env.SeedSnapshot("us-east-1", sizeGiB: 50);
        var ec2 = env.Client("us-east-1");
        var smallCopy = (await ec2.CopyAsync("us-east-1", small)).SnapshotId;
        var bigCopy = (await ec2.CopyAsync("us-east-1", big)).SnapshotId;

        env.AdvanceSeconds(101);
        Assert.Equal(SnapshotState.Completed, (await ec2.DescribeSnapshotAsync(smallCopy)).State);
        Assert.Equal(SnapshotState.Pending, (await ec2.DescribeSnapshotAsync(bigCopy)).State);
        env.AdvanceSeconds(398); // t = 499
        Assert.Equal(SnapshotState.Pending, (await ec2.DescribeSnapshotAsync(bigCopy)).State);
        env.AdvanceSeconds(2); // t = 501
        Assert.Equal(SnapshotState.Completed, (await ec2.DescribeSnapshotAsync(bigCopy)).State);
    }

    [Fact]
    public async Task Copy_IncrementalAfterEarlierCompletedCopyInDestination_IsFaster()
    {
        await using var env = await StartAsync(copySeconds: 100, crossRegionFactor: 1, incrementalFactor: 0.25);
        var source = env.SeedSnapshot("us-east-1");
        var west = env.Client("us-west-2");
        var first = (await west.CopyAsync("us-east-1", source)).SnapshotId;
        env.AdvanceSeconds(101);
        Assert.Equal(SnapshotState.Completed, (await west.DescribeSnapshotAsync(first)).State);

        var second = (await west.CopyAsync("us-east-1", source)).SnapshotId;
        env.AdvanceSeconds(26);

        Assert.Equal(SnapshotState.Completed, (await west.DescribeSnapshotAsync(second)).State);
    }

    [Fact]
    public async Task Copy_LifecycleIsLazy_NothingHappensWhileTheClockStandsStill()
    {
        await using var env = await StartAsync(copySeconds: 0.5);
        var source = env.SeedSnapshot("us-east-1");
        var ec2 = env.Client("us-east-1");
        var id = (await ec2.CopyAsync("us-east-1", source)).SnapshotId;

        await Task.Delay(1000); // real time passes, fake time does not
        Assert.Equal(SnapshotState.Pending, (await ec2.DescribeSnapshotAsync(id)).State);
        env.AdvanceSeconds(1);
        Assert.Equal(SnapshotState.Completed, (await ec2.DescribeSnapshotAsync(id)).State);
    }

    [Fact]
    public async Task TimeBasedCopy_ExposesCompletionTimeFromItsDuration_AndCompletesByThen()
    {
        await using var env = await StartAsync(copySeconds: 100_000);
        var source = env.SeedSnapshot("us-east-1");
        var west = env.Client("us-west-2");
        var id = (await west.CopyAsync("us-east-1", source, r => r.CompletionDurationMinutes = 30)).SnapshotId;

        var pending = await west.DescribeSnapshotAsync(id);
        Assert.Equal(SnapshotState.Pending, pending.State);
        Assert.Equal(TransferType.TimeBased, pending.TransferType);
        Assert.Equal(30, pending.CompletionDurationMinutes);

        env.Advance(TimeSpan.FromMinutes(31));
        var done = await west.DescribeSnapshotAsync(id);
        Assert.Equal(SnapshotState.Completed, done.State);
        Assert.NotNull(done.CompletionTime);
        Assert.True(done.CompletionTime!.Value.ToUniversalTime() <= TestEmulator.Epoch.AddMinutes(30).UtcDateTime);
    }

    [Fact]
    public async Task CreateSnapshot_GoesPendingThenCompletedAfterSnapshotDuration()
    {
        await using var env = await StartAsync(copySeconds: 100);
        var vol = env.SeedVolume();
        var ec2 = env.Client();
        var id = (await ec2.CreateSnapshotAsync(new CreateSnapshotRequest { VolumeId = vol })).Snapshot.SnapshotId;

        env.AdvanceSeconds(39);
        Assert.Equal(SnapshotState.Pending, (await ec2.DescribeSnapshotAsync(id)).State);
        env.AdvanceSeconds(2);
        var done = await ec2.DescribeSnapshotAsync(id);
        Assert.Equal(SnapshotState.Completed, done.State);
        Assert.Equal("100%", done.Progress);
    }

    [Fact]
    public async Task SeededPendingSnapshot_IsPendingAndCompletesLater()
    {
        await using var env = await StartAsync(copySeconds: 100);
        var id = env.Ec2.Seed(new() { Snapshots = 1, State = "pending" }).SnapshotIds.Single();
        var ec2 = env.Client();
        Assert.Equal(SnapshotState.Pending, (await ec2.DescribeSnapshotAsync(id)).State);
        env.Advance(TimeSpan.FromDays(1));
        Assert.Equal(SnapshotState.Completed, (await ec2.DescribeSnapshotAsync(id)).State);
    }

    [Fact]
    public async Task UniformDurations_WithSameSeed_AreReproducible()
    {
        async Task<List<int>> CompletionSecondsAsync()
        {
            await using var env = await TestEmulator.StartAsync(o =>
            {
                o.RandomSeed = 99;
                o.Config.Durations.Copy = new DurationModel { Kind = DurationKind.Uniform, MinSeconds = 10, MaxSeconds = 100 };
                o.Config.Durations.CrossRegionFactor = 1;
            });
            var source = env.SeedSnapshot("us-east-1");
            var ec2 = env.Client("us-east-1");
            var ids = new List<string>();
            for (var i = 0; i < 4; i++) ids.Add((await ec2.CopyAsync("us-east-1", source)).SnapshotId);
            var done = new Dictionary<string, int>();
            for (var t = 1; t <= 101 && done.Count < ids.Count; t++)
            {
                env.AdvanceSeconds(1);
                foreach (var s in await ec2.DescribeOwnSnapshotsAsync(Ec2Extensions.Filter("status", "completed")))
                    if (ids.Contains(s.SnapshotId)) done.TryAdd(s.SnapshotId, t);
            }
            Assert.Equal(ids.Count, done.Count);
            Assert.All(done.Values, v => Assert.InRange(v, 10, 101));
            return ids.Select(i => done[i]).ToList();
        }

        Assert.Equal(await CompletionSecondsAsync(), await CompletionSecondsAsync());
    }
}
