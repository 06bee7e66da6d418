using System.Diagnostics;
using Amazon.Runtime;
using Avtomat.Ec2.Emulator;
using Avtomat.Ec2.Engine.Aws;
using Avtomat.Ec2.Engine.Copy;
using Avtomat.Ec2.Engine.Scheduling;
using Avtomat.Ec2.Engine.Tests.Support;

namespace Avtomat.Ec2.Engine.Tests;

/// <summary>An endpoint that cannot be reached ends the items waiting on it with EndpointUnreachable, within a bound;
/// a host name that does not resolve at once. Throttling never loses an item. In exact virtual time against the
/// emulator, except the two RealSdk_ tests, which use a real socket and real DNS on purpose (and real time).</summary>
public sealed class UnreachableTests : EngineTestBed
{
    private const string NoSuchRegion = "us-east-9";

    /// <summary>The emulator serves us-east-9 too, so a test can decide which of its calls fail to connect.</summary>
    protected override void Configure(EmulatorOptions options) => options.Regions.Add(NoSuchRegion);

    private UnreachableClients Unreachable(Func<string, string, Exception?> refuse) => new(_clients, _clock) { Refuse = refuse };

    [Fact]
    public void ConnectionRefused_EveryCall_EndsTheItemsWithEndpointUnreachable_AfterTheBound()
    {
        var ids = SeedSnapshots(East, 3);
        // Every call to us-east-1's endpoint is refused. (Changed set-up: the old test refused every DescribeSnapshots;
        // the old engine made none in us-west-2 before the sources were checked, the scheduler looks for earlier copies
        // there meanwhile. us-west-2's endpoint answers, so which endpoint failed — and when — is known.)
        var clients = Unreachable((_, region) => region == East ? UnreachableClients.ConnectionRefused() : null);
        var start = Now;
        using var job = _engine.StartCopyJob(clients, new CopyJobOptions
        {
            PollInterval = TimeSpan.FromSeconds(1), UnreachableAfter = TimeSpan.FromSeconds(60),
        }, default);
        foreach (var id in ids) job.Add(new SnapshotCopyRequest { SourceSnapshotId = id, SourceRegion = East, DestinationRegion = West });
        job.CompleteAdding();

        var outcome = Run(job);

        Assert.Equal(3, outcome.Finished.Count);
        Assert.All(outcome.Finished, f =>
        {
            Assert.Equal(SnapshotState.Failed, f.Result.State);
            Assert.Equal("EndpointUnreachable", f.Error!.ErrorId);
            Assert.Equal(EngineErrorCategory.ConnectionError, f.Error.Category);
            Assert.Contains("us-east-1", f.Error.Message);
            Assert.Contains(InProcessClients.ServiceUrl.TrimEnd('/'), f.Error.Message);
        });
        // Retried (backing off, at most 30 s apart) until the endpoint had not answered for the bound: the job ended at
        // the first refused call 60 s or more after it began.
        var refused = clients.Refused.Select(r => r.At).ToList();
        Assert.True(refused.Count > 1, $"{refused.Count} calls refused");
        Assert.Equal(refused.First(t => t - start >= TimeSpan.FromSeconds(60)), outcome.EndedAt);
        Assert.InRange(outcome.Elapsed, TimeSpan.FromSeconds(60), TimeSpan.FromSeconds(90));
        Assert.Empty(Calls("CopySnapshot"));
    }

    [Fact]
    public void HostNotFound_EndsTheItemsAtOnce_NamingTheRegion()
    {
        var ids = SeedSnapshots(East, 2);
        var clients = Unreachable((action, region) => action == "CopySnapshot" && region == NoSuchRegion
            ? UnreachableClients.HostNotFound($"ec2.{NoSuchRegion}.amazonaws.com") : null);
        clients.Endpoint = region => "https://" + Ec2ClientSource.EndpointHost(region); // no -EndpointUrl: AWS's own endpoints
        // One copy at a time, so the order is known: the first answer ends the region.
        using var job = _engine.StartCopyJob(clients, new CopyJobOptions { PollInterval = TimeSpan.FromSeconds(1), ThrottleLimit = 1 }, default);
        foreach (var id in ids) job.Add(new SnapshotCopyRequest { SourceSnapshotId = id, SourceRegion = East, DestinationRegion = NoSuchRegion });
        job.CompleteAdding();

        var outcome = Run(job);

        Assert.Equal(2, outcome.Finished.Count);
        Assert.All(outcome.Finished, f =>
        {
            Assert.Equal("EndpointUnreachable", f.Error!.ErrorId);
            Assert.Contains("for us-east-9", f.Error.Message);
            Assert.Contains("mistyped", f.Error.Message);
        });
        var copy = Assert.Single(clients.Refused); // no copy was tried again
        Assert.Equal("CopySnapshot", copy.Action);
        Assert.Equal(copy.At, outcome.EndedAt); // at once
        Assert.True(outcome.Elapsed < TimeSpan.FromSeconds(5), $"took {outcome.Elapsed}");
    }

    [Fact]
    public void HostNotFound_WithAnEndpointUrl_NamesTheUrlsHost_AndSaysToCheckEndpointUrl_NotTheRegion()
    {
        // The clients' calls go to a URL the user gave (as with -EndpointUrl), whose host does not resolve.
        var ids = SeedSnapshots(East, 1);
        var clients = Unreachable((action, region) => action == "CopySnapshot" ? UnreachableClients.HostNotFound("ec2.internal.example") : null);
        clients.Endpoint = _ => "https://ec2.internal.example";
        using var job = _engine.StartCopyJob(clients, new CopyJobOptions { PollInterval = TimeSpan.FromSeconds(1) }, default);
        job.Add(new SnapshotCopyRequest { SourceSnapshotId = ids[0], SourceRegion = East, DestinationRegion = West });
        job.CompleteAdding();

        var error = Assert.Single(Run(job).Finished).Error!;

        Assert.Equal("EndpointUnreachable", error.ErrorId);
        Assert.Contains("ec2.internal.example", error.Message);
        Assert.Contains("-EndpointUrl", error.Message);
        Assert.DoesNotContain("mistyped", error.Message);
        Assert.StartsWith("Check -EndpointUrl", error.RecommendedAction);
        Assert.DoesNotContain("Get-AWSRegion", error.RecommendedAction);
    }

    [Fact]
    public void SustainedThrottling_NeverFailsAnItem_AndTheCallRateSlowsDown()
    {
        var ids = SeedSnapshots(East, 20);
        // Three CopySnapshot calls in five are throttled (calls 1, 3 and 4 of every five reaching EC2): the 20 copies
        // take exactly 50 calls, whatever order the engine sends them in.
        Intercept = call => call is { Action: "CopySnapshot", Stage: CallStage.BeforeAction } && call.ActionCallNumber % 5 is 1 or 3 or 4
            ? CallDecision.Throttle() : null;
        using var job = _engine.StartCopyJob(_clients, new CopyJobOptions { PollInterval = TimeSpan.FromSeconds(1), MaxRetries = 2 }, default);
        foreach (var id in ids) job.Add(new SnapshotCopyRequest { SourceSnapshotId = id, SourceRegion = East, DestinationRegion = West });
        job.CompleteAdding();

        var outcome = Run(job);

        Assert.Equal(20, outcome.Finished.Count);
        Assert.All(outcome.Finished, f => Assert.Equal(SnapshotState.Completed, f.Result.State));
        Assert.True(outcome.Statistics.Throttled > 20, $"{outcome.Statistics.Throttled} throttles");
        Assert.Equal(30, outcome.Statistics.Throttled);
        Assert.Equal(50, Calls("CopySnapshot").Count);
        var copies = OwnSnapshots(West).ToLookup(s => s.Tags.Single(t => t.Key == CopyTagNames.SourceSnapshotId).Value);
        Assert.All(ids, id => Assert.Single(copies[id]));
        // The CopySnapshot rate was slowed by the throttles and has not grown back to unlimited.
        Assert.NotNull(_engine.Find(_clients, West)!.Buckets.RateOf("CopySnapshot"));
    }

    [Fact]
    public void RequestBuckets_Rate_SlowsOnThrottle_GrowsBackOnSuccess_UntilUnlimited()
    {
        // Was a unit test of AdaptiveRate; the adaptive rate is now part of each of RequestBuckets' buckets.
        var buckets = new RequestBuckets(margin: 5);
        Assert.Null(buckets.RateOf("CopySnapshot"));
        buckets.Throttled("CopySnapshot", Now);
        Assert.Equal(RequestBuckets.AfterFirstThrottle, buckets.RateOf("CopySnapshot"));
        Assert.Equal(0, buckets.Available("CopySnapshot", Now)); // a throttle drains the bucket
        buckets.Throttled("CopySnapshot", Now);
        Assert.Equal(RequestBuckets.AfterFirstThrottle * RequestBuckets.Decrease, buckets.RateOf("CopySnapshot"));
        for (var i = 0; i < 1000 && buckets.RateOf("CopySnapshot") is not null; i++) buckets.Succeeded("CopySnapshot");
        Assert.Null(buckets.RateOf("CopySnapshot"));
        Assert.Null(buckets.RateOf("DeleteSnapshot")); // per bucket
    }

    /// <summary>Real socket, real time: nothing listens on 127.0.0.1:1.</summary>
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

        var outcome = DrainRealTime(job, TimeSpan.FromSeconds(60));

        var error = Assert.Single(outcome.Finished).Error!;
        Assert.Equal("EndpointUnreachable", error.ErrorId);
        Assert.Contains("http://127.0.0.1:1", error.Message);
        Assert.DoesNotContain("unreachable-secret", error.Message + error.RecommendedAction);
        Assert.InRange(clock.Elapsed, TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(30));
    }

    /// <summary>Real DNS, real time: ec2.us-east-9.amazonaws.com does not resolve.</summary>
    [Fact]
    public void RealSdk_RegionWhoseEndpointDoesNotResolve_FailsWithinSeconds_NamingTheRegion()
    {
        // No -EndpointUrl: ec2.us-east-9.amazonaws.com does not resolve.
        using var clients = new Ec2ClientSource(new BasicAWSCredentials("AKIDNOSUCHREGION", "no-such-region-secret"), null, "Avtomat.Ec2.Tests/0");
        var engine = new SnapshotEngine(TimeProvider.System);
        using var job = engine.StartCopyJob(clients, new CopyJobOptions(), default);
        job.Add(new SnapshotCopyRequest { SourceSnapshotId = "snap-0123456789abcdef0", SourceRegion = NoSuchRegion, DestinationRegion = NoSuchRegion });
        job.CompleteAdding();
        var clock = Stopwatch.StartNew();

        var outcome = DrainRealTime(job, TimeSpan.FromSeconds(60));

        var error = Assert.Single(outcome.Finished).Error!;
        Assert.Equal("EndpointUnreachable", error.ErrorId);
        Assert.Contains(NoSuchRegion, error.Message);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(15), $"took {clock.Elapsed}");
    }

    /// <summary>Takes a job's events in real time until it is finished (the RealSdk_ tests: a real socket).</summary>
    private static JobOutcome DrainRealTime(CopyJob job, TimeSpan limit)
    {
        var outcome = new JobOutcome();
        var started = Stopwatch.StartNew();
        while (!job.IsFinished)
        {
            if (started.Elapsed > limit) throw new TimeoutException($"The job did not finish within {limit}.");
            if (job.TryTake(out var e, TimeSpan.FromMilliseconds(50)) && e is not null) outcome.Events.Add(e);
        }
        outcome.Statistics = job.Statistics;
        outcome.Elapsed = started.Elapsed;
        return outcome;
    }
}
