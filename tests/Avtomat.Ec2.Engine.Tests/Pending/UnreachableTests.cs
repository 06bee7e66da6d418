using System.Diagnostics;
using System.Net.Http;
using System.Net.Sockets;
using Amazon.Runtime;
using Avtomat.Ec2.Engine.Aws;
using Avtomat.Ec2.Engine.Copy;
using Avtomat.Ec2.Engine.Tests.Support;
using Microsoft.Extensions.Time.Testing;

namespace Avtomat.Ec2.Engine.Tests;

/// <summary>An endpoint that cannot be reached ends the items waiting on it with EndpointUnreachable, within a bound;
/// a host name that does not resolve at once. Throttling never loses an item.</summary>
[Collection(VirtualTimeCollection.Name)]
public sealed class UnreachableTests : EngineTestBed
{
    private static HttpRequestException Refused() =>
        new("Connection refused (127.0.0.1:1)", new SocketException((int)SocketError.ConnectionRefused));

    private static HttpRequestException NoSuchHost() =>
        new("Name or service not known (ec2.us-east-9.amazonaws.com:443)", new SocketException((int)SocketError.HostNotFound));

    [Fact]
    public async Task ConnectionRefused_EveryCall_EndsTheItemsWithEndpointUnreachable_AfterTheBound()
    {
        var ids = _ec2.SeedMany(East, 3);
        _ec2.BeforeDescribe = (_, _) => throw Refused();
        using var job = _engine.StartCopyJob(_clients, new CopyJobOptions
        {
            PollInterval = TimeSpan.FromSeconds(1), UnreachableAfter = TimeSpan.FromSeconds(60),
        }, default);
        foreach (var id in ids) job.Add(new SnapshotCopyRequest { SourceSnapshotId = id, SourceRegion = East, DestinationRegion = West });
        job.CompleteAdding();

        var outcome = await VirtualTime.RunAsync(job, _clock, maxVirtual: TimeSpan.FromMinutes(10));

        Assert.Equal(3, outcome.Finished.Count);
        Assert.All(outcome.Finished, f =>
        {
            Assert.Equal(SnapshotState.Failed, f.Result.State);
            Assert.Equal("EndpointUnreachable", f.Error!.ErrorId);
            Assert.Equal(EngineErrorCategory.ConnectionError, f.Error.Category);
            Assert.Contains("us-east-1", f.Error.Message);
            Assert.Contains("https://fake.ec2", f.Error.Message);
        });
        Assert.InRange(outcome.Elapsed, TimeSpan.FromSeconds(60), TimeSpan.FromSeconds(90));
    }

    [Fact]
    public async Task HostNotFound_EndsTheItemsAtOnce_NamingTheRegion()
    {
        var ids = _ec2.SeedMany(East, 2);
        _ec2.BeforeCopy = (_, _) => throw NoSuchHost();
        // One copy at a time, so the order is known: the first answer ends the region.
        using var job = _engine.StartCopyJob(_clients, new CopyJobOptions { PollInterval = TimeSpan.FromSeconds(1), ThrottleLimit = 1 }, default);
        foreach (var id in ids) job.Add(new SnapshotCopyRequest { SourceSnapshotId = id, SourceRegion = East, DestinationRegion = "us-east-9" });
        job.CompleteAdding();

        var outcome = await VirtualTime.RunAsync(job, _clock, maxVirtual: TimeSpan.FromMinutes(10));

        Assert.All(outcome.Finished, f =>
        {
            Assert.Equal("EndpointUnreachable", f.Error!.ErrorId);
            Assert.Contains("for us-east-9", f.Error.Message);
            Assert.Contains("mistyped", f.Error.Message);
        });
        Assert.True(outcome.Elapsed < TimeSpan.FromSeconds(5), $"took {outcome.Elapsed}");
        Assert.Equal(1, _ec2.CopyCalls); // no copy was tried again
    }

    [Fact]
    public async Task SustainedThrottling_NeverFailsAnItem_AndTheCallRateSlowsDown()
    {
        var ids = _ec2.SeedMany(East, 20);
        var random = new Random(7);
        _ec2.BeforeCopy = (_, _) => { if (random.NextDouble() < 0.6) throw FakeEc2.Error("RequestLimitExceeded", System.Net.HttpStatusCode.ServiceUnavailable); };
        using var job = _engine.StartCopyJob(_clients, new CopyJobOptions { PollInterval = TimeSpan.FromSeconds(1), MaxRetries = 2 }, default);
        foreach (var id in ids) job.Add(new SnapshotCopyRequest { SourceSnapshotId = id, SourceRegion = East, DestinationRegion = West });
        job.CompleteAdding();

        var outcome = await VirtualTime.RunAsync(job, _clock, maxVirtual: TimeSpan.FromHours(1));

        Assert.Equal(20, outcome.Finished.Count);
        Assert.All(outcome.Finished, f => Assert.Equal(SnapshotState.Completed, f.Result.State));
        Assert.True(outcome.Statistics.Throttled > 20, $"{outcome.Statistics.Throttled} throttles");
        Assert.All(ids, id => Assert.Single(_ec2.CopiesOf(id)));
    }

    [Fact]
    public void AdaptiveRate_SlowsOnThrottle_GrowsBackOnSuccess_UntilUnlimited()
    {
        var rate = new Internal.AdaptiveRate(_clock);
        Assert.Null(rate.PerSecond);
        rate.Throttled();
        Assert.Equal(Internal.AdaptiveRate.AfterFirstThrottle, rate.PerSecond);
        rate.Throttled();
        Assert.Equal(Internal.AdaptiveRate.AfterFirstThrottle * Internal.AdaptiveRate.Decrease, rate.PerSecond);
        for (var i = 0; i < 1000 && rate.PerSecond is not null; i++) rate.Succeeded();
        Assert.Null(rate.PerSecond);
    }

    [Fact]
    public void RealSdk_UnreachableEndpoint_EndsWithEndpointUnreachable_WithinTheBound()
    {
        // Nothing listens on port 1: every connection is refused.
        using var clients = new Ec2ClientSource(new BasicAWSCredentials("AKIDUNREACHABLE9", "unreachable-secret"), "http://127.0.0.1:1", "Avtomat.Ec2.Tests/0");
        clients.ResolveAccount("us-east-1", default);
        var engine = new SnapshotEngine(TimeProvider.System);
        using var job = engine.StartCopyJob(clients, new CopyJobOptions { UnreachableAfter = TimeSpan.FromSeconds(5) }, default);
        job.Add(new SnapshotCopyRequest { SourceSnapshotId = "snap-0123456789abcdef0", SourceRegion = East, DestinationRegion = West });
        job.CompleteAdding();
        var clock = Stopwatch.StartNew();

        var outcome = JobRunner.DrainRealTime(job, TimeSpan.FromSeconds(60));

        var error = Assert.Single(outcome.Finished).Error!;
        Assert.Equal("EndpointUnreachable", error.ErrorId);
        Assert.Contains("http://127.0.0.1:1", error.Message);
        Assert.DoesNotContain("unreachable-secret", error.Message + error.RecommendedAction);
        Assert.InRange(clock.Elapsed, TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(30));
    }

    [Fact]
    public void RealSdk_RegionWhoseEndpointDoesNotResolve_FailsWithinSeconds_NamingTheRegion()
    {
        // No -EndpointUrl: ec2.us-east-9.amazonaws.com does not resolve.
        using var clients = new Ec2ClientSource(new BasicAWSCredentials("AKIDNOSUCHREGION", "no-such-region-secret"), null, "Avtomat.Ec2.Tests/0");
        var engine = new SnapshotEngine(TimeProvider.System);
        using var job = engine.StartCopyJob(clients, new CopyJobOptions(), default);
        job.Add(new SnapshotCopyRequest { SourceSnapshotId = "snap-0123456789abcdef0", SourceRegion = "us-east-9", DestinationRegion = "us-east-9" });
        job.CompleteAdding();
        var clock = Stopwatch.StartNew();

        var outcome = JobRunner.DrainRealTime(job, TimeSpan.FromSeconds(60));

        var error = Assert.Single(outcome.Finished).Error!;
        Assert.Equal("EndpointUnreachable", error.ErrorId);
        Assert.Contains("us-east-9", error.Message);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(15), $"took {clock.Elapsed}");
    }
}
