using Amazon.EC2;
using Amazon.EC2.Model;
using Avtomat.Ec2.Emulator;
using Avtomat.Ec2.Emulator.Tests.Support;

namespace Avtomat.Ec2.Emulator.Tests;

public class CopyLimitTests
{
    private static Task<TestEmulator> StartAsync(Action<EmulatorOptions>? more = null) => TestEmulator.StartAsync(o =>
    {
        o.Config.Durations.Copy = new DurationModel { Kind = DurationKind.Fixed, Seconds = 600 };
        more?.Invoke(o);
    });

    private static async Task CopyTimesAsync(IAmazonEC2 client, string sourceRegion, string source, int n)
    {
        for (var i = 0; i < n; i++) await client.CopyAsync(sourceRegion, source);
    }

    [Fact]
    public async Task CopySnapshot_TwentyFirstPendingCopy_IsRejectedWithResourceLimitExceeded()
    {
        await using var env = await StartAsync();
        var source = env.SeedSnapshot("us-east-1");
        var west = env.Client("us-west-2", maxErrorRetry: 2);
        await CopyTimesAsync(west, "us-east-1", source, 20);

        var ex = await Expect.Ec2ErrorAsync(() => west.CopyAsync("us-east-1", source), "ResourceLimitExceeded", 400);

        Assert.Contains("20", ex.Message);
        var stats = env.Ec2.GetStats();
        Assert.Equal(20, stats.CopiesPerSource[$"us-east-1/{source}"]["us-west-2"]);
        Assert.Equal(20, stats.MaxPendingCopies[$"{env.AccountId}/us-west-2"]);
        // A 400 is not retried by the SDK: the emulator saw 21 CopySnapshot calls, not 23.
        Assert.Equal(21, stats.Calls[$"{env.AccountId}/us-west-2"]["CopySnapshot"]);
        Assert.Equal(1, stats.Errors["CopySnapshot"]["ResourceLimitExceeded"]);
        Assert.Equal(20, (await west.DescribeOwnSnapshotsAsync(Ec2Extensions.Filter("status", "pending"))).Count);
    }

    [Fact]
    public async Task CopySnapshot_AfterPendingCopiesComplete_IsAcceptedAgain()
    {
        await using var env = await StartAsync();
        var source = env.SeedSnapshot("us-east-1");
        var west = env.Client("us-west-2");
        await CopyTimesAsync(west, "us-east-1", source, 20);
        await Expect.Ec2ErrorAsync(() => west.CopyAsync("us-east-1", source), "ResourceLimitExceeded", 400);

        env.Advance(TimeSpan.FromHours(1)); // 600 s × cross-region factor is far less than an hour

        Assert.StartsWith("snap-", (await west.CopyAsync("us-east-1", source)).SnapshotId);
        Assert.Equal(20, (await west.DescribeOwnSnapshotsAsync(Ec2Extensions.Filter("status", "completed"))).Count);
    }

    [Fact]
    public async Task CopySnapshot_LimitIsPerDestinationRegion_OtherRegionsStillAcceptCopies()
    {
        await using var env = await StartAsync();
        var source = env.SeedSnapshot("us-east-1");
        var west = env.Client("us-west-2");
        await CopyTimesAsync(west, "us-east-1", source, 20);
        await Expect.Ec2ErrorAsync(() => west.CopyAsync("us-east-1", source), "ResourceLimitExceeded", 400);

        // Same source, other destinations (including the source region itself).
        await CopyTimesAsync(env.Client("eu-west-1"), "us-east-1", source, 20);
        await CopyTimesAsync(env.Client("us-east-1"), "us-east-1", source, 3);
        await Expect.Ec2ErrorAsync(() => env.Client("eu-west-1").CopyAsync("us-east-1", source), "ResourceLimitExceeded", 400);
    }

    [Fact]
    public async Task CopySnapshot_LimitIsPerAccount_AnotherAccountStillAcceptsCopies()
    {
        await using var env = await StartAsync(o => o.Accounts["AKIDSECONDACCOUNT"] = "210987654321");
        var mine = env.SeedSnapshot("us-east-1");
        var theirs = env.SeedSnapshot("us-east-1", accountId: "210987654321");
        var west = env.Client("us-west-2");
        await CopyTimesAsync(west, "us-east-1", mine, 20);
        await Expect.Ec2ErrorAsync(() => west.CopyAsync("us-east-1", mine), "ResourceLimitExceeded", 400);

        var otherWest = env.Client("us-west-2", accessKeyId: "AKIDSECONDACCOUNT");
        var id = (await otherWest.CopyAsync("us-east-1", theirs)).SnapshotId;

        Assert.Equal("210987654321", (await otherWest.DescribeSnapshotAsync(id)).OwnerId);
        Assert.Equal(1, env.Ec2.GetStats().MaxPendingCopies["210987654321/us-west-2"]);
    }

    [Fact]
    public async Task CopySnapshot_CopiesFromEveryoneInTheAccountCount_SeveralAccessKeysShareTheLimit()
    {
        await using var env = await StartAsync(o =>
        {
            o.Accounts["AKIDUSERONE"] = "123456789012";
            o.Accounts["AKIDUSERTWO"] = "123456789012";
        });
        var source = env.SeedSnapshot("us-east-1");
        await CopyTimesAsync(env.Client("us-west-2", accessKeyId: "AKIDUSERONE"), "us-east-1", source, 12);
        await CopyTimesAsync(env.Client("us-west-2", accessKeyId: "AKIDUSERTWO"), "us-east-1", source, 8);

        await Expect.Ec2ErrorAsync(() => env.Client("us-west-2", accessKeyId: "AKIDUSERONE").CopyAsync("us-east-1", source),
            "ResourceLimitExceeded", 400);
    }

    [Fact]
    public async Task CopySnapshot_LimitFromConfig_IsHonoured_AndCanChangeAtRunTime()
    {
        await using var env = await StartAsync(o => o.Config.Limits.MaxPendingCopiesPerRegion = 2);
        var source = env.SeedSnapshot("us-east-1");
        var west = env.Client("us-west-2");
        await CopyTimesAsync(west, "us-east-1", source, 2);
        await Expect.Ec2ErrorAsync(() => west.CopyAsync("us-east-1", source), "ResourceLimitExceeded", 400);

        env.Ec2.Config.Limits.MaxPendingCopiesPerRegion = 3;
        await west.CopyAsync("us-east-1", source);
        await Expect.Ec2ErrorAsync(() => west.CopyAsync("us-east-1", source), "ResourceLimitExceeded", 400);
    }
}

public class RequestRateLimitTests
{
    [Fact]
    public async Task CopySnapshot_BeyondBurstOfFifty_IsThrottledWithRequestLimitExceeded503()
    {
        await using var env = await TestEmulator.StartAsync(o => o.Config.Limits.MaxPendingCopiesPerRegion = 0);
        var source = env.SeedSnapshot("us-east-1");
        var west = env.Client("us-west-2", maxErrorRetry: 0);
        for (var i = 0; i < 50; i++) await west.CopyAsync("us-east-1", source);

        await Expect.Ec2ErrorAsync(() => west.CopyAsync("us-east-1", source), "RequestLimitExceeded", 503);

        var stats = env.Ec2.GetStats();
        Assert.Equal(1, stats.Throttled[$"{env.AccountId}/us-west-2"]["CopySnapshot"]);
        Assert.Equal(50, stats.CopiesPerSource[$"us-east-1/{source}"]["us-west-2"]);
    }

    [Fact]
    public async Task CopySnapshot_Throttled_RefillsAtFivePerSecondOfClockTime()
    {
        await using var env = await TestEmulator.StartAsync(o => o.Config.Limits.MaxPendingCopiesPerRegion = 0);
        var source = env.SeedSnapshot("us-east-1");
        var west = env.Client("us-west-2");
        for (var i = 0; i < 50; i++) await west.CopyAsync("us-east-1", source);
        await Expect.Ec2ErrorAsync(() => west.CopyAsync("us-east-1", source), "RequestLimitExceeded", 503);

        env.AdvanceSeconds(1); // five tokens
        for (var i = 0; i < 5; i++) await west.CopyAsync("us-east-1", source);
        await Expect.Ec2ErrorAsync(() => west.CopyAsync("us-east-1", source), "RequestLimitExceeded", 503);

        env.Advance(TimeSpan.FromMinutes(10)); // full again, but never above the burst
        for (var i = 0; i < 50; i++) await west.CopyAsync("us-east-1", source);
        await Expect.Ec2ErrorAsync(() => west.CopyAsync("us-east-1", source), "RequestLimitExceeded", 503);
    }

    [Fact]
    public async Task RequestLimit_IsPerActionAndRegionAndAccount()
    {
        await using var env = await TestEmulator.StartAsync(o =>
        {
            o.Accounts["AKIDSECONDACCOUNT"] = "210987654321";
            o.Config.Limits.Buckets["CopySnapshot"] = new BucketConfig(2, 0.001);
        });
        var source = env.SeedSnapshot("us-east-1");
        var other = env.SeedSnapshot("us-east-1", accountId: "210987654321");
        var west = env.Client("us-west-2");
        await west.CopyAsync("us-east-1", source);
        await west.CopyAsync("us-east-1", source);
        await Expect.Ec2ErrorAsync(() => west.CopyAsync("us-east-1", source), "RequestLimitExceeded", 503);

        await west.DescribeOwnSnapshotsAsync();                                              // other action
        await env.Client("eu-west-1").CopyAsync("us-east-1", source);                       // other region
        await env.Client("us-west-2", accessKeyId: "AKIDSECONDACCOUNT").CopyAsync("us-east-1", other); // other account
    }

    [Fact]
    public async Task RequestLimit_WithSdkRetries_EveryAttemptIsThrottledWhileTheClockStandsStill()
    {
        // The SDK retries RequestLimitExceeded; here the bucket is empty and the clock frozen, so every attempt is throttled.
        await using var env = await TestEmulator.StartAsync(o => o.Config.Limits.Buckets["CreateTags"] = new BucketConfig(1, 0.001));
        var id = env.SeedSnapshot();
        var ec2 = env.Client(maxErrorRetry: 2);
        await ec2.CreateTagsAsync(new CreateTagsRequest { Resources = [id], Tags = [new Tag("a", "1")] });

        await Expect.Ec2ErrorAsync(() => ec2.CreateTagsAsync(new CreateTagsRequest { Resources = [id], Tags = [new Tag("b", "2")] }),
            "RequestLimitExceeded", 503);
        Assert.Equal(3, env.Ec2.GetStats().Throttled[$"{env.AccountId}/us-east-1"]["CreateTags"]);
    }

    [Fact]
    public async Task RequestLimit_Disabled_NeverThrottles()
    {
        await using var env = await TestEmulator.StartAsync(o =>
        {
            o.Config.Limits.RequestRateLimits = false;
            o.Config.Limits.Buckets["DescribeRegions"] = new BucketConfig(1, 0.001);
            o.Config.Limits.DefaultBucket = new BucketConfig(1, 0.001);
        });
        var ec2 = env.Client();
        for (var i = 0; i < 5; i++) await ec2.DescribeRegionsAsync(new DescribeRegionsRequest());
    }
}

public class VolumeSnapshotRuleTests
{
    private static Task<TestEmulator> StartAsync(Action<EmulatorOptions>? more = null) => TestEmulator.StartAsync(o =>
    {
        o.Config.Durations.Snapshot = new DurationModel { Kind = DurationKind.Fixed, Seconds = 3600 };
        more?.Invoke(o);
    });

    private static Task<CreateSnapshotResponse> SnapAsync(IAmazonEC2 ec2, string vol)
        => ec2.CreateSnapshotAsync(new CreateSnapshotRequest { VolumeId = vol });

    [Fact]
    public async Task CreateSnapshot_SecondSnapshotOfVolumeWithin15Seconds_IsSnapshotCreationPerVolumeRateExceeded()
    {
        await using var env = await StartAsync();
        var vol = env.SeedVolume();
        var ec2 = env.Client();
        await SnapAsync(ec2, vol);
        env.AdvanceSeconds(10);

        await Expect.Ec2ErrorAsync(() => SnapAsync(ec2, vol), "SnapshotCreationPerVolumeRateExceeded", 400);

        env.AdvanceSeconds(6); // 16 s after the first
        await SnapAsync(ec2, vol);
        Assert.Equal(1, env.Ec2.GetStats().VolumeRuleRejections);
        Assert.Equal(2, env.Ec2.GetStats().SnapshotsPerVolume[vol]);
    }

    [Fact]
    public async Task CreateSnapshot_RateRuleIsPerVolume_OtherVolumesAreUnaffected()
    {
        await using var env = await StartAsync();
        var vols = env.Ec2.Seed(new() { Volumes = 3 }).VolumeIds;
        var ec2 = env.Client();
        foreach (var v in vols) await SnapAsync(ec2, v);
        await Expect.Ec2ErrorAsync(() => SnapAsync(ec2, vols[0]), "SnapshotCreationPerVolumeRateExceeded", 400);
    }

    [Fact]
    public async Task CreateSnapshot_SixthPendingSnapshotOfVolume_IsConcurrentSnapshotLimitExceeded()
    {
        await using var env = await StartAsync();
        var vol = env.SeedVolume();
        var ec2 = env.Client();
        for (var i = 0; i < 5; i++)
        {
            await SnapAsync(ec2, vol);
            env.AdvanceSeconds(16);
        }

        await Expect.Ec2ErrorAsync(() => SnapAsync(ec2, vol), "ConcurrentSnapshotLimitExceeded", 400);
        Assert.Equal(5, env.Ec2.GetStats().MaxPendingSnapshotsPerVolume[vol]);

        env.Advance(TimeSpan.FromHours(2)); // all five completed
        await SnapAsync(ec2, vol);
    }

    [Fact]
    public async Task CreateSnapshot_ThroughputOptimizedVolume_AllowsOnlyOnePendingSnapshot()
    {
        await using var env = await StartAsync();
        var st1 = env.SeedVolume(volumeType: "st1");
        var ec2 = env.Client();
        await SnapAsync(ec2, st1);
        env.AdvanceSeconds(16);

        await Expect.Ec2ErrorAsync(() => SnapAsync(ec2, st1), "ConcurrentSnapshotLimitExceeded", 400);
    }

    [Fact]
    public async Task CreateSnapshot_SnapshotsInErrorStillCountTowardsTheVolumeLimit()
    {
        await using var env = await StartAsync(o =>
        {
            o.Config.Durations.Snapshot = new DurationModel { Kind = DurationKind.Fixed, Seconds = 5 };
            o.Config.Faults.SnapshotErrorRate = 1.0;
        });
        var vol = env.SeedVolume();
        var ec2 = env.Client();
        var ids = new List<string>();
        for (var i = 0; i < 5; i++)
        {
            ids.Add((await SnapAsync(ec2, vol)).Snapshot.SnapshotId);
            env.AdvanceSeconds(16);
        }
        Assert.All(await ec2.DescribeOwnSnapshotsAsync(), s => Assert.Equal(SnapshotState.Error, s.State));

        await Expect.Ec2ErrorAsync(() => SnapAsync(ec2, vol), "ConcurrentSnapshotLimitExceeded", 400);

        foreach (var id in ids) await ec2.DeleteSnapshotAsync(new DeleteSnapshotRequest { SnapshotId = id });
        await SnapAsync(ec2, vol);
    }
}
