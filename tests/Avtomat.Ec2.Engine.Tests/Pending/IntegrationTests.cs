using Amazon.EC2.Model;
using Avtomat.Ec2.Emulator;
using Avtomat.Ec2.Engine.Copy;
using Avtomat.Ec2.Engine.Tests.Support;
using Xunit.Abstractions;

namespace Avtomat.Ec2.Engine.Tests;

/// <summary>The engine against the emulator through the real SDK, in real (short) time.</summary>
public sealed class IntegrationTests(ITestOutputHelper output)
{
    private static EmulatorOptions Options(double copySeconds = 0.5) => new()
    {
        Config = new EmulatorConfig
        {
            Durations = new DurationConfig
            {
                Copy = new DurationModel { Kind = DurationKind.Fixed, Seconds = copySeconds },
                CrossRegionFactor = 1,
            },
        },
    };

    private static CopyJobOptions JobOptions() => new()
    {
        PollInterval = TimeSpan.FromMilliseconds(200),
        VisibilityGrace = TimeSpan.FromSeconds(3),
    };

    private static List<SnapshotCopyRequest> Requests(IEnumerable<string> ids, string from = "us-east-1", string to = "us-west-2")
        => ids.Select(id => new SnapshotCopyRequest { SourceSnapshotId = id, SourceRegion = from, DestinationRegion = to }).ToList();

    private static async Task<Dictionary<string, List<Snapshot>>> CopiesBySourceAsync(IEc2ClientSource clients, string region)
    {
        var response = await clients.For(region).DescribeSnapshotsAsync(new DescribeSnapshotsRequest { OwnerIds = ["self"] });
        return (response.Snapshots ?? [])
            .Where(s => s.Tags?.Any(t => t.Key == CopyTagNames.SourceSnapshotId) == true)
            .GroupBy(s => s.Tags!.First(t => t.Key == CopyTagNames.SourceSnapshotId).Value)
            .ToDictionary(g => g.Key, g => g.ToList());
    }

    private JobOutcome Run(SnapshotEngine engine, IEc2ClientSource clients, CopyJobOptions options, IEnumerable<SnapshotCopyRequest> requests, TimeSpan limit)
    {
        using var job = engine.StartCopyJob(clients, options, CancellationToken.None);
        foreach (var r in requests) job.Add(r);
        job.CompleteAdding();
        var outcome = JobRunner.DrainRealTime(job, limit);
        foreach (var m in outcome.Events.OfType<EngineMessageEvent>()) output.WriteLine(m.Message);
        output.WriteLine($"elapsed {outcome.Elapsed.TotalSeconds:0.0} s; calls: {string.Join(", ", outcome.Statistics.Calls.Select(p => $"{p.Key}={p.Value}"))}");
        return outcome;
    }

    [Fact]
    public async Task SixtySnapshots_AllComplete_WindowNeverAbove20_OneCopyEach()
    {
        await using var ec2 = await Ec2Emulator.StartAsync(Options(0.5));
        var ids = ec2.Seed(new SeedRequest { Region = "us-east-1", Snapshots = 60, Description = "daily" }).SnapshotIds;
        using var clients = new EmulatorClientSource(ec2);
        var engine = new SnapshotEngine(TimeProvider.System);

        var outcome = Run(engine, clients, JobOptions(), Requests(ids), TimeSpan.FromSeconds(30));

        Assert.Equal(60, outcome.Finished.Count);
        Assert.All(outcome.Finished, f => Assert.Equal(SnapshotState.Completed, f.Result.State));
        Assert.All(outcome.Finished, f => Assert.StartsWith("snap-", f.Result.SnapshotId));
        Assert.All(outcome.Finished, f => Assert.Equal("Copy of " + f.Result.SourceSnapshotId + " from us-east-1", f.Result.Description));
        Assert.Equal(60, outcome.Accepted.Count);
        var stats = ec2.GetStats();
        Assert.True(stats.MaxPendingCopies.Values.Max() <= 20);
        Assert.Equal(20, stats.MaxPendingCopies.Values.Max());
        Assert.All(stats.CopiesPerSource.Values, perDestination => Assert.Equal(1, perDestination.Values.Single()));
        Assert.Equal(60, stats.CopiesPerSource.Count);
        var last = outcome.ProgressSamples.Last().Single();
        Assert.Equal(60, last.Total);
        Assert.Equal(60, last.Completed);
        Assert.Equal(100, last.PercentComplete, 3);
        Assert.Contains(outcome.ProgressSamples, s => s.Single().InProgress > 0 && s.Single().InFlight.Count == s.Single().InProgress);
        Assert.Contains(outcome.Messages, m => m.StartsWith("us-west-2: 60 copied, 0 failed, 0 timed out", StringComparison.Ordinal));
        var describes = outcome.Statistics.Calls["DescribeSnapshots"];
        output.WriteLine($"DescribeSnapshots per copy: {describes / 60.0:0.00}; lower bound {Math.Ceiling(60 / 20.0) * 0.5:0.0} s");
        Assert.Equal(60 + outcome.Statistics.Throttled, outcome.Statistics.Calls["CopySnapshot"]);
    }

    [Theory]
    [InlineData("module")] // the module's own client source (send-once CopySnapshot client)
    [InlineData("pooled")] // a CopySnapshot client that reuses connections: the HTTP stack re-sends, the engine must dedupe
    public async Task LostResponses_EndWithExactlyOneCopyPerSource(string clientKind)
    {
        var options = Options(0.5);
        options.Config.Faults.DropAfterActionRate = 0.3;
        options.Config.Faults.Actions = ["CopySnapshot"];
        await using var ec2 = await Ec2Emulator.StartAsync(options);
        var ids = ec2.Seed(new SeedRequest { Region = "us-east-1", Snapshots = 30 }).SnapshotIds;
        using IEc2ClientSourceLifetime clients = clientKind == "module"
            ? new Avtomat.Ec2.Engine.Aws.Ec2ClientSource(new Amazon.Runtime.BasicAWSCredentials("AKIDENGINETEST", "engine-test-secret"),
                ec2.BaseUrl.ToString(), "Avtomat.Ec2.Tests/0")
            : new EmulatorClientSource(ec2);
        var engine = new SnapshotEngine(TimeProvider.System);

        var outcome = Run(engine, clients, JobOptions(), Requests(ids), TimeSpan.FromSeconds(40));

        Assert.Equal(30, outcome.Finished.Count);
        Assert.All(outcome.Finished, f => Assert.Equal(SnapshotState.Completed, f.Result.State));
        Assert.True(ec2.GetStats().Faults["DropAfterAction"] > 0, "the fault should have hit some calls");
        var copies = await CopiesBySourceAsync(clients, "us-west-2");
        Assert.Equal(30, copies.Count);
        Assert.All(copies, pair => Assert.Single(pair.Value));
        // The copy that remains is the one reported.
        Assert.All(outcome.Finished, f => Assert.Equal(copies[f.Result.SourceSnapshotId].Single().SnapshotId, f.Result.SnapshotId));
        var created = ec2.GetStats().CopiesPerSource.Values.Sum(d => d.Values.Sum());
        output.WriteLine($"copies created {created}, duplicates removed {outcome.Statistics.DuplicatesRemoved}, uncertain {outcome.Statistics.UncertainOutcomes}");
        // Either the client surfaced the lost response (adopted by token) or the HTTP stack re-sent it (duplicate deleted).
        Assert.Equal(created - 30, outcome.Statistics.DuplicatesRemoved);
        Assert.True(outcome.Statistics.UncertainOutcomes + outcome.Statistics.DuplicatesRemoved > 0);
        if (clientKind == "module")
        {
            // The module's client never re-sends: every lost response is resolved by the token lookup, nothing to delete.
            Assert.True(outcome.Statistics.UncertainOutcomes > 0);
            Assert.Equal(0, outcome.Statistics.DuplicatesRemoved);
            Assert.Contains(outcome.Messages, m => m.Contains("by its request token"));
        }
    }

    [Fact]
    public async Task CopiesStartedElsewhere_ResourceLimitExceeded_NothingDropped()
    {
        await using var ec2 = await Ec2Emulator.StartAsync(Options(1.0));
        var ids = ec2.Seed(new SeedRequest { Region = "us-east-1", Snapshots = 40 }).SnapshotIds;
        var foreign = ec2.Seed(new SeedRequest { Region = "us-east-1", Snapshots = 17 }).SnapshotIds;
        using var clients = new EmulatorClientSource(ec2);
        // Someone else in the account starts 17 copies to us-west-2 that run for a while: only 3 slots are left.
        ec2.Config.Durations.Copy = new DurationModel { Kind = DurationKind.Fixed, Seconds = 4 };
        foreach (var id in foreign)
            await clients.For("us-west-2").CopySnapshotAsync(new CopySnapshotRequest { SourceRegion = "us-east-1", SourceSnapshotId = id });
        ec2.Config.Durations.Copy = new DurationModel { Kind = DurationKind.Fixed, Seconds = 1 };
        var engine = new SnapshotEngine(TimeProvider.System);
        using var west = engine.Lease(clients, "us-west-2"); // held like a job holds it: the window outlives the job

        var outcome = Run(engine, clients, JobOptions(), Requests(ids), TimeSpan.FromSeconds(40));

        Assert.Equal(40, outcome.Finished.Count);
        Assert.All(outcome.Finished, f => Assert.Equal(SnapshotState.Completed, f.Result.State));
        Assert.True(outcome.Statistics.LimitExceeded > 0);
        Assert.Contains(outcome.Messages, m => m.Contains("limit of pending copies in us-west-2"));
        var stats = ec2.GetStats();
        Assert.True(stats.MaxPendingCopies.Values.Max() <= 20);
        Assert.All(ids, id => Assert.Equal(1, stats.CopiesPerSource["us-east-1/" + id]["us-west-2"]));
        Assert.Equal(20, west.Shared.CopyWindow.Window); // grown back
    }

    [Fact]
    public async Task CopyErrors_FailAlone_TheRestComplete()
    {
        var options = Options(0.5);
        options.Config.Faults.CopyErrorRate = 0.25;
        await using var ec2 = await Ec2Emulator.StartAsync(options);
        var ids = ec2.Seed(new SeedRequest { Region = "us-east-1", Snapshots = 40 }).SnapshotIds;
        using var clients = new EmulatorClientSource(ec2);
        var engine = new SnapshotEngine(TimeProvider.System);

        var outcome = Run(engine, clients, JobOptions(), Requests(ids), TimeSpan.FromSeconds(30));

        Assert.Equal(40, outcome.Finished.Count);
        var failed = outcome.Finished.Where(f => f.Result.State == SnapshotState.Failed).ToList();
        Assert.NotEmpty(failed);
        Assert.Equal(40 - failed.Count, outcome.Finished.Count(f => f.Result.State == SnapshotState.Completed));
        Assert.Equal(ec2.GetStats().Faults["CopyError"], failed.Count);
        Assert.All(failed, f =>
        {
            Assert.Equal("SnapshotCopyFailed", f.Error!.ErrorId);
            Assert.Equal(f.Result.SnapshotId, f.Error.TargetId);
            Assert.Equal("Snapshot copy failed due to an internal error", f.Result.StatusMessage);
        });
    }
}
