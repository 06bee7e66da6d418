using System.Diagnostics;
using Amazon.EC2;
using Amazon.EC2.Model;
using Avtomat.Ec2.Emulator;
using Avtomat.Ec2.Emulator.Tests.Support;

namespace Avtomat.Ec2.Emulator.Tests;

public class FaultTests
{
    private static Task<TestEmulator> StartAsync(Action<FaultConfig> faults, params string[] actions) => TestEmulator.StartAsync(o =>
    {
        o.Config.Faults.Actions = actions.ToList();
        faults(o.Config.Faults);
    });

    private static long Fault(TestEmulator env, string kind) => env.Ec2.GetStats().Faults.GetValueOrDefault(kind);

    [Fact]
    public async Task InternalErrorRate_AnswersHttp500InternalError_OnlyForTheListedAction()
    {
        await using var env = await StartAsync(f => f.InternalErrorRate = 1.0, "DescribeSnapshots");
        var ec2 = env.Client();

        await Expect.Ec2ErrorAsync(() => ec2.DescribeOwnSnapshotsAsync(), "InternalError", 500);

        var regions = await ec2.DescribeRegionsAsync(new DescribeRegionsRequest());
        Assert.NotEmpty(regions.Regions.OrEmpty());
        Assert.Equal(1, Fault(env, "InternalError"));
    }

    [Fact]
    public async Task InternalError_IsRetriedBySdk_EachAttemptHittingTheFault()
    {
        await using var env = await StartAsync(f => f.InternalErrorRate = 1.0, "DescribeSnapshots");
        var ec2 = env.Client(maxErrorRetry: 2);

        await Expect.Ec2ErrorAsync(() => ec2.DescribeOwnSnapshotsAsync(), "InternalError", 500);

        Assert.Equal(3, Fault(env, "InternalError"));
    }

    [Fact]
    public async Task UnavailableRate_AnswersHttp503Unavailable()
    {
        await using var env = await StartAsync(f => f.UnavailableRate = 1.0, "CreateTags");
        var id = env.SeedSnapshot();
        var ec2 = env.Client();

        await Expect.Ec2ErrorAsync(() => ec2.CreateTagsAsync(new CreateTagsRequest { Resources = [id], Tags = [new Tag("a", "b")] }),
            "Unavailable", 503);

        Assert.Empty((await ec2.DescribeSnapshotAsync(id)).Tags.OrEmpty());
        Assert.Equal(1, Fault(env, "Unavailable"));
    }

    [Fact]
    public async Task ThrottleRate_AnswersRequestLimitExceeded503_WithoutCreatingAnything()
    {
        await using var env = await StartAsync(f => f.ThrottleRate = 1.0, "CopySnapshot");
        var source = env.SeedSnapshot("us-east-1");
        var west = env.Client("us-west-2");

        await Expect.Ec2ErrorAsync(() => west.CopyAsync("us-east-1", source), "RequestLimitExceeded", 503);

        Assert.Empty(await west.DescribeOwnSnapshotsAsync());
        Assert.Equal(1, env.Ec2.GetStats().Throttled[$"{env.AccountId}/us-west-2"]["CopySnapshot"]);
    }

    [Fact]
    public async Task DropBeforeAction_ClientSeesConnectionFailure_AndNothingIsCreated()
    {
        await using var env = await StartAsync(f => f.DropBeforeActionRate = 1.0, "CopySnapshot");
        var source = env.SeedSnapshot("us-east-1");
        var west = env.Client("us-west-2", maxErrorRetry: 1);

        var ex = await Assert.ThrowsAnyAsync<Exception>(() => west.CopyAsync("us-east-1", source));

        Assert.IsNotType<AmazonEC2Exception>(ex); // no EC2 answer at all
        Assert.Empty(await west.DescribeOwnSnapshotsAsync());
        Assert.False(env.Ec2.GetStats().CopiesPerSource.ContainsKey($"us-east-1/{source}"));
        // The request was sent more than once (SDK retry and/or .NET's transparent re-send, see below), every time dropped.
        Assert.True(Fault(env, "DropBeforeAction") >= 2, $"DropBeforeAction faults: {Fault(env, "DropBeforeAction")}");
    }

    /// <summary>
    /// THE hazard the copy engine must avoid: the action ran but its response was lost, so the client runs CopySnapshot
    /// again and duplicate copies exist. With SDK retries on, the SDK's retry of the I/O failure duplicates the copy.
    /// </summary>
    [Fact]
    public async Task DropAfterAction_WithSdkRetries_CopySnapshotCreatesDuplicateCopies()
    {
        await using var env = await StartAsync(f => f.DropAfterActionRate = 1.0, "CopySnapshot");
        var source = env.SeedSnapshot("us-east-1");
        var west = env.Client("us-west-2", maxErrorRetry: 1);

        await Assert.ThrowsAnyAsync<Exception>(() => west.CopyAsync("us-east-1", source));

        var copies = env.Ec2.GetStats().CopiesPerSource[$"us-east-1/{source}"]["us-west-2"];
        Assert.True(copies >= 2, $"expected duplicate copies, got {copies}");
        Assert.Equal(copies, (await west.DescribeOwnSnapshotsAsync()).Count);
    }

    /// <summary>
    /// Observed with AWSSDK.EC2 4.0.132.2 on .NET 10: even with MaxErrorRetry = 0 a connection closed before any response
    /// byte makes AWSSDK.Core re-send the same POST on a new connection (ClientConfig.MaxStaleConnectionRetries, default 10,
    /// not counted by MaxErrorRetry: same amz-sdk-invocation-id, "attempt=1; max=1" every time). So turning SDK retries off
    /// is NOT enough to avoid duplicate copies: the copy client turns stale-connection retries off too, and the engine tags
    /// its copies (TagSpecification) and reconciles by tag after any failure without an EC2 answer.
    /// </summary>
    [Fact]
    public async Task DropAfterAction_WithoutSdkRetries_ClientSeesFailure_YetHttpStackMayResendAndDuplicateTheCopy()
    {
        await using var env = await StartAsync(f => f.DropAfterActionRate = 1.0, "CopySnapshot");
        var source = env.SeedSnapshot("us-east-1");
        var west = env.Client("us-west-2", maxErrorRetry: 0);

        var ex = await Assert.ThrowsAnyAsync<Exception>(() => west.CopyAsync("us-east-1", source, r => r.TagSpecifications =
            [new TagSpecification { ResourceType = ResourceType.Snapshot, Tags = [new Tag("avtomat:job", "job-1")] }]));

        Assert.IsNotType<AmazonEC2Exception>(ex);
        var copies = env.Ec2.GetStats().CopiesPerSource[$"us-east-1/{source}"]["us-west-2"];
        Assert.True(copies >= 1);
        Assert.Equal(copies, Fault(env, "DropAfterAction"));
        // Every copy that exists carries the job tag, so a reconciling lookup by tag finds all of them.
        var tagged = await west.DescribeOwnSnapshotsAsync(Ec2Extensions.Filter("tag:avtomat:job", "job-1"));
        Assert.Equal(copies, tagged.Count);
        Assert.All(tagged, c => Assert.Equal("vol-ffffffff", c.VolumeId));
    }

    [Fact]
    public async Task SlowResponse_DelaysTheAnswerByWallClock_ButStillSucceeds()
    {
        await using var env = await StartAsync(f => { f.SlowResponseRate = 1.0; f.SlowResponseSeconds = 0.4; }, "DescribeRegions");
        var ec2 = env.Client(timeout: TimeSpan.FromSeconds(10));

        var sw = Stopwatch.StartNew();
        var regions = await ec2.DescribeRegionsAsync(new DescribeRegionsRequest());
        sw.Stop();

        Assert.NotEmpty(regions.Regions.OrEmpty());
        Assert.True(sw.Elapsed >= TimeSpan.FromSeconds(0.35), $"answered after {sw.Elapsed}");
        Assert.Equal(1, Fault(env, "SlowResponse"));

        var fast = Stopwatch.StartNew();
        await ec2.DescribeOwnSnapshotsAsync(); // not a listed action
        Assert.True(fast.Elapsed < TimeSpan.FromSeconds(0.35), $"unlisted action answered after {fast.Elapsed}");
    }

    [Fact]
    public async Task SlowResponse_LongerThanClientTimeout_MakesTheClientTimeOut()
    {
        await using var env = await StartAsync(f => { f.SlowResponseRate = 1.0; f.SlowResponseSeconds = 2; }, "DescribeRegions");
        var ec2 = env.Client(timeout: TimeSpan.FromSeconds(0.5));

        var sw = Stopwatch.StartNew();
        await Assert.ThrowsAnyAsync<Exception>(() => ec2.DescribeRegionsAsync(new DescribeRegionsRequest()));
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(1.8), $"timed out only after {sw.Elapsed}");
    }

    [Fact]
    public async Task CopyErrorRate_CopyCallSucceeds_ButCopyEndsInErrorWithStatusMessage()
    {
        await using var env = await TestEmulator.StartAsync(o =>
        {
            o.Config.Faults.CopyErrorRate = 1.0;
            o.Config.Durations.Copy = new DurationModel { Kind = DurationKind.Fixed, Seconds = 30 };
        });
        var source = env.SeedSnapshot("us-east-1");
        var west = env.Client("us-west-2");

        var id = (await west.CopyAsync("us-east-1", source)).SnapshotId;
        env.Advance(TimeSpan.FromHours(1));

        var copy = await west.DescribeSnapshotAsync(id);
        Assert.Equal(SnapshotState.Error, copy.State);
        Assert.False(string.IsNullOrWhiteSpace(copy.StateMessage));
        Assert.Equal(SnapshotState.Completed, (await env.Client("us-east-1").DescribeSnapshotAsync(source)).State);
        Assert.Equal(1, Fault(env, "CopyError"));
    }

    [Fact]
    public async Task CopyInError_NoLongerCountsAsPendingCopy()
    {
        await using var env = await TestEmulator.StartAsync(o =>
        {
            o.Config.Faults.CopyErrorRate = 1.0;
            o.Config.Limits.MaxPendingCopiesPerRegion = 1;
            o.Config.Durations.Copy = new DurationModel { Kind = DurationKind.Fixed, Seconds = 30 };
        });
        var source = env.SeedSnapshot("us-east-1");
        var west = env.Client("us-west-2");
        await west.CopyAsync("us-east-1", source);
        await Expect.Ec2ErrorAsync(() => west.CopyAsync("us-east-1", source), "ResourceLimitExceeded", 400);

        env.Advance(TimeSpan.FromHours(1));

        await west.CopyAsync("us-east-1", source);
    }

    [Fact]
    public async Task SnapshotErrorRate_CreatedSnapshotEndsInError()
    {
        await using var env = await TestEmulator.StartAsync(o =>
        {
            o.Config.Faults.SnapshotErrorRate = 1.0;
            o.Config.Durations.Snapshot = new DurationModel { Kind = DurationKind.Fixed, Seconds = 10 };
        });
        var vol = env.SeedVolume();
        var ec2 = env.Client();

        var id = (await ec2.CreateSnapshotAsync(new CreateSnapshotRequest { VolumeId = vol })).Snapshot.SnapshotId;
        env.Advance(TimeSpan.FromHours(1));

        var snap = await ec2.DescribeSnapshotAsync(id);
        Assert.Equal(SnapshotState.Error, snap.State);
        Assert.Equal(1, Fault(env, "SnapshotError"));
    }

    [Fact]
    public async Task InvisibleRate_NewCopyIsNotFoundById_AndMissingFromFilters_UntilInvisibleSecondsPass()
    {
        await using var env = await TestEmulator.StartAsync(o =>
        {
            o.Config.Faults.InvisibleRate = 1.0;
            o.Config.Faults.InvisibleSeconds = 5;
        });
        var source = env.SeedSnapshot("us-east-1");
        var west = env.Client("us-west-2");

        var id = (await west.CopyAsync("us-east-1", source)).SnapshotId;

        await Expect.Ec2ErrorAsync(() => west.DescribeSnapshotAsync(id), "InvalidSnapshot.NotFound", 400);
        Assert.Empty(await west.DescribeOwnSnapshotsAsync(Ec2Extensions.Filter("snapshot-id", id)));
        env.AdvanceSeconds(4);
        await Expect.Ec2ErrorAsync(() => west.DescribeSnapshotAsync(id), "InvalidSnapshot.NotFound", 400);

        env.AdvanceSeconds(2);
        Assert.Equal(id, (await west.DescribeSnapshotAsync(id)).SnapshotId);
        Assert.Equal(1, Fault(env, "Invisible"));
    }

    [Fact]
    public async Task InvisibleRate_DoesNotHideSeededSnapshots()
    {
        await using var env = await TestEmulator.StartAsync(o => o.Config.Faults.InvisibleRate = 1.0);
        var id = env.SeedSnapshot();
        Assert.Equal(id, (await env.Client().DescribeSnapshotAsync(id)).SnapshotId);
    }

    [Fact]
    public async Task FaultsAreDeterministic_SameSeedGivesSameSequence()
    {
        async Task<string> RunAsync()
        {
            await using var env = await TestEmulator.StartAsync(o =>
            {
                o.RandomSeed = 4242;
                o.Config.Faults.InternalErrorRate = 0.5;
                o.Config.Faults.Actions = ["DescribeRegions"];
            });
            var ec2 = env.Client();
            var outcome = new System.Text.StringBuilder();
            for (var i = 0; i < 24; i++)
            {
                try { await ec2.DescribeRegionsAsync(new DescribeRegionsRequest()); outcome.Append('.'); }
                catch (AmazonEC2Exception e) when (e.ErrorCode == "InternalError") { outcome.Append('X'); }
            }
            return outcome.ToString();
        }

        var first = await RunAsync();
        var second = await RunAsync();

        Assert.Equal(first, second);
        Assert.Contains('X', first);
        Assert.Contains('.', first);
    }

    [Fact]
    public async Task FaultConfig_ChangedAtRunTime_TakesEffectAndCanBeSwitchedOff()
    {
        await using var env = await TestEmulator.StartAsync();
        var ec2 = env.Client();
        await ec2.DescribeRegionsAsync(new DescribeRegionsRequest());

        var config = env.Ec2.Config;
        config.Faults.UnavailableRate = 1.0;
        env.Ec2.Configure(config);
        await Expect.Ec2ErrorAsync(() => ec2.DescribeRegionsAsync(new DescribeRegionsRequest()), "Unavailable", 503);

        config.Faults.UnavailableRate = 0;
        env.Ec2.Configure(config);
        await ec2.DescribeRegionsAsync(new DescribeRegionsRequest());
    }
}
