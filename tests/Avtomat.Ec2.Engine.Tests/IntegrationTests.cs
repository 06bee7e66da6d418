using Amazon.EC2.Model;
using Avtomat.Ec2.Emulator;
using Avtomat.Ec2.Engine.Copy;
using Avtomat.Ec2.Engine.Tests.Support;
using Xunit.Abstractions;
using DurationModel = Avtomat.Ec2.Emulator.DurationModel;

namespace Avtomat.Ec2.Engine.Tests;

/// <summary>The engine against the emulator through the real SDK: in exact virtual time (the emulator in process), except
/// where the socket is the point — lost responses over real HTTP with pooled connections, where .NET's HTTP stack re-sends
/// a request on a new connection (<c>…OverHttp…</c>, real time).</summary>
public sealed class IntegrationTests(ITestOutputHelper output) : EngineTestBed
{
    private static CopyJobOptions JobOptions() => new()
    {
        PollInterval = TimeSpan.FromMilliseconds(200),
        VisibilityGrace = TimeSpan.FromSeconds(3),
    };

    private static List<SnapshotCopyRequest> Requests(IEnumerable<string> ids, string from = East, string to = West)
        => ids.Select(id => new SnapshotCopyRequest { SourceSnapshotId = id, SourceRegion = from, DestinationRegion = to }).ToList();

    /// <summary>Runs a copy job in exact virtual time, sampling its progress at every instant.</summary>
    private JobOutcome Run(IEnumerable<SnapshotCopyRequest> requests)
    {
        using var job = _engine.StartCopyJob(_clients, JobOptions(), CancellationToken.None);
        foreach (var r in requests) job.Add(r);
        job.CompleteAdding();
        var outcome = Run(job, onInstant: (o, _) => o.ProgressSamples.Add(job.GetProgress()));
        Log(outcome);
        return outcome;
    }

    private void Log(JobOutcome outcome)
    {
        foreach (var m in outcome.Messages) output.WriteLine(m);
        output.WriteLine($"elapsed {outcome.Elapsed.TotalSeconds:0.0} s; calls: {string.Join(", ", outcome.Statistics.Calls.Select(p => $"{p.Key}={p.Value}"))}");
    }

    [Fact]
    public void SixtySnapshots_AllComplete_WindowNeverAbove20_OneCopyEach()
    {
        CopyDuration = TimeSpan.FromSeconds(0.5);
        var ids = _ec2.Seed(new SeedRequest { Region = East, Snapshots = 60, Description = "daily" }).SnapshotIds;

        var outcome = Run(Requests(ids));

        Assert.Equal(60, outcome.Finished.Count);
        Assert.All(outcome.Finished, f => Assert.Equal(SnapshotState.Completed, f.Result.State));
        Assert.All(outcome.Finished, f => Assert.StartsWith("snap-", f.Result.SnapshotId));
        Assert.All(outcome.Finished, f => Assert.Equal("Copy of " + f.Result.SourceSnapshotId + " from us-east-1", f.Result.Description));
        Assert.Equal(60, outcome.Accepted.Count);
        var stats = _ec2.GetStats();
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

    /// <summary>Real HTTP and real time: the point is the socket. 30 % of CopySnapshot responses are lost after the copy
    /// was made (the emulator drops the connection). The module's client source never re-sends CopySnapshot, so every
    /// lost response is resolved by the request-token lookup; plain SDK clients with pooled connections let .NET's HTTP
    /// stack re-send the request on a new connection, which makes a second copy the engine must find and delete.</summary>
    [Theory]
    [InlineData("module")] // the module's own client source (send-once CopySnapshot client)
    // a CopySnapshot client that reuses connections: the HTTP stack re-sends, the engine must dedupe
    [InlineData("pooled")]
    public async Task LostResponses_OverHttp_EndWithExactlyOneCopyPerSource(string clientKind)
    {
        var options = new EmulatorOptions
        {
            Config = new EmulatorConfig
            {
                Durations = new DurationConfig { Copy = new DurationModel { Kind = DurationKind.Fixed, Seconds = 0.5 }, CrossRegionFactor = 1 },
            },
        };
        options.Config.Faults.DropAfterActionRate = 0.3;
        options.Config.Faults.Actions = ["CopySnapshot"];
        await using var ec2 = await Ec2Emulator.StartAsync(options);
        var ids = ec2.Seed(new SeedRequest { Region = East, Snapshots = 30 }).SnapshotIds;
        using IEc2ClientSourceLifetime clients = clientKind == "module"
            ? new Avtomat.Ec2.Engine.Aws.Ec2ClientSource(new Amazon.Runtime.BasicAWSCredentials("AKIDENGINETEST", "engine-test-secret"),
                ec2.BaseUrl.ToString(), "Avtomat.Ec2.Tests/0")
            : new EmulatorClientSource(ec2);
        var engine = new SnapshotEngine(TimeProvider.System);

        // The emulator lists new copies at once (no invisibility fault): a visibility grace of 1 s (it was 3 s) shortens the
        // settling of the copies sent again and the final sweep, in real time.
        var jobOptions = JobOptions();
        jobOptions.VisibilityGrace = TimeSpan.FromSeconds(1);
        using var job = engine.StartCopyJob(clients, jobOptions, CancellationToken.None);
        foreach (var r in Requests(ids)) job.Add(r);
        job.CompleteAdding();
        var outcome = OverHttp.Drain(job, TimeSpan.FromSeconds(40));
        Log(outcome);

        Assert.Equal(30, outcome.Finished.Count);
        Assert.All(outcome.Finished, f => Assert.Equal(SnapshotState.Completed, f.Result.State));
        Assert.True(ec2.GetStats().Faults["DropAfterAction"] > 0, "the fault should have hit some calls");
        var response = await clients.For(West).DescribeSnapshotsAsync(new DescribeSnapshotsRequest { OwnerIds = ["self"] });
        var copies = (response.Snapshots ?? [])
            .Where(s => s.Tags?.Any(t => t.Key == CopyTagNames.SourceSnapshotId) == true)
            .GroupBy(s => s.Tags!.First(t => t.Key == CopyTagNames.SourceSnapshotId).Value)
            .ToDictionary(g => g.Key, g => g.ToList());
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
    public void CopiesStartedElsewhere_ResourceLimitExceeded_NothingDropped()
    {
        var ids = SeedSnapshots(East, 40);
        var foreign = SeedSnapshots(East, 17).ToHashSet();
        // Someone else in the account starts 17 copies to us-west-2 that run for 4 s: only 3 slots are left. Ours take 1 s.
        Shape = info => info.IsCopy ? SnapshotShape.Takes(foreign.Contains(info.SourceSnapshotId!) ? 4 : 1) : null;
        foreach (var id in foreign)
            _clients.For(West).CopySnapshotAsync(new CopySnapshotRequest { SourceRegion = East, SourceSnapshotId = id }).GetAwaiter().GetResult();

        var outcome = Run(Requests(ids));

        Assert.Equal(40, outcome.Finished.Count);
        Assert.All(outcome.Finished, f => Assert.Equal(SnapshotState.Completed, f.Result.State));
        Assert.True(outcome.Statistics.LimitExceeded > 0);
        Assert.Contains(outcome.Messages, m => m.Contains("limit of pending copies in us-west-2"));
        var stats = _ec2.GetStats();
        Assert.True(stats.MaxPendingCopies.Values.Max() <= 20);
        Assert.All(ids, id => Assert.Equal(1, stats.CopiesPerSource["us-east-1/" + id]["us-west-2"]));
        // The scheduler outlives the job (the engine keeps it): its window has grown back.
        Assert.Equal(20, _engine.View(_clients, West)!.Window);
    }

    [Fact]
    public void CopyErrors_FailAlone_TheRestComplete()
    {
        CopyDuration = TimeSpan.FromSeconds(0.5);
        var ids = SeedSnapshots(East, 40);
        // A quarter of the copies end in error (EC2's own failure text); which ones is decided here, not by chance.
        var failing = ids.Where((_, i) => i % 4 == 1).ToHashSet();
        Shape = info => info.IsCopy && failing.Contains(info.SourceSnapshotId!) ? SnapshotShape.Fails(CopyDuration.TotalSeconds) : null;

        var outcome = Run(Requests(ids));

        Assert.Equal(40, outcome.Finished.Count);
        var failed = outcome.Finished.Where(f => f.Result.State == SnapshotState.Failed).ToList();
        Assert.NotEmpty(failed);
        Assert.Equal(40 - failed.Count, outcome.Finished.Count(f => f.Result.State == SnapshotState.Completed));
        // Exactly the copies EC2 failed are reported failed (it was: as many as the emulator's random CopyError faults).
        Assert.Equal(failing.OrderBy(id => id), failed.Select(f => f.Result.SourceSnapshotId).OrderBy(id => id));
        Assert.All(failed, f =>
        {
            Assert.Equal("SnapshotCopyFailed", f.Error!.ErrorId);
            Assert.Equal(f.Result.SnapshotId, f.Error.TargetId);
            Assert.Equal("Snapshot copy failed due to an internal error", f.Result.StatusMessage);
        });
    }

    /// <summary>The virtual-time counterpart of the pooled-connection case above, made deterministic: a silent re-send
    /// left a second copy with the request's token, and EC2 throttles the first DeleteSnapshot of it. The job must not end
    /// before the duplicate is gone and reported.</summary>
    [Fact]
    public void DuplicateWhoseDeleteIsThrottled_IsStillDeletedAndReported_BeforeTheJobEnds()
    {
        // The copy (and its twin) end before the first look: the twin and the end are seen in one answer, so the job's
        // last item ends while the twin's DeleteSnapshot waits to be sent again.
        CopyDuration = TimeSpan.FromSeconds(0.1);
        var id = SeedSnapshot(East);
        Intercept = call =>
        {
            if (call is { Action: "CopySnapshot", Stage: CallStage.AfterAction, ActionCallNumber: 1 }) _ec2.Duplicate(call.CreatedSnapshotIds.Single());
            if (call is { Action: "DeleteSnapshot", Stage: CallStage.BeforeAction, ActionCallNumber: 1 }) return CallDecision.Throttle();
            return null;
        };

        var outcome = Run(Requests([id]));

        Assert.Equal(SnapshotState.Completed, Assert.Single(outcome.Finished).Result.State);
        var copies = OwnSnapshots(West).Where(s => s.Tags?.Any(t => t.Key == CopyTagNames.SourceSnapshotId && t.Value == id) == true).ToList();
        Assert.Equal(outcome.Finished.Single().Result.SnapshotId, Assert.Single(copies).SnapshotId);
        Assert.Equal(1, outcome.Statistics.DuplicatesRemoved);
        Assert.Contains(outcome.Messages, m => m.Contains("Deleted duplicate copy"));
    }
}
