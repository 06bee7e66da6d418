using Avtomat.Ec2.Emulator;
using Avtomat.Ec2.Engine.Copy;
using Avtomat.Ec2.Engine.Create;
using Avtomat.Ec2.Engine.Tests.Support;
using Avtomat.Ec2.Engine.Waiting;
using Xunit.Abstractions;

namespace Avtomat.Ec2.Engine.Tests;

/// <summary>Snapshot creation, waits and copy -NoWait against the emulator through the real SDK, in real time.</summary>
public sealed class CreateIntegrationTests(ITestOutputHelper output)
{
    private const string East = "us-east-1";

    private static EmulatorOptions Options(double snapshotSeconds = 1) => new()
    {
        Config = new EmulatorConfig
        {
            Durations = new DurationConfig
            {
                Snapshot = new DurationModel { Kind = DurationKind.Fixed, Seconds = snapshotSeconds },
                Copy = new DurationModel { Kind = DurationKind.Fixed, Seconds = 1 },
                CrossRegionFactor = 1,
            },
        },
    };

    private static CreateJobOptions CreateOptions(Action<CreateJobOptions>? configure = null)
    {
        var o = new CreateJobOptions { PollInterval = TimeSpan.FromMilliseconds(250), VisibilityGrace = TimeSpan.FromSeconds(5) };
        configure?.Invoke(o);
        return o;
    }

    private void Log(SnapshotOutcome outcome, EmulatorStats stats)
    {
        foreach (var m in outcome.MessageEvents) output.WriteLine($"{m.Level}: {m.Message}");
        output.WriteLine($"elapsed {outcome.Elapsed.TotalSeconds:0.0} s; job calls: {string.Join(", ", outcome.Statistics.Calls.OrderBy(p => p.Key).Select(p => $"{p.Key}={p.Value}"))}; " +
                         $"emulator: {stats.TotalCalls} calls, throttled {stats.Throttled.Sum(r => r.Value.Values.Sum())}, volume rule rejections {stats.VolumeRuleRejections}");
    }

    [Fact]
    public async Task ThreeHundredVolumes_NoRequestLimitExceeded_NoVolumeRuleRejection_AllCompleted()
    {
        await using var ec2 = await Ec2Emulator.StartAsync(Options(snapshotSeconds: 2));
        var volumes = ec2.Seed(new SeedRequest { Region = East, Volumes = 300 }).VolumeIds;
        using var clients = new EmulatorClientSource(ec2);
        var engine = new SnapshotEngine(TimeProvider.System);

        using var job = engine.StartCreateJob(clients, CreateOptions(), default);
        foreach (var v in volumes) job.Add(new SnapshotCreateRequest { VolumeId = v, Region = East, Tags = { ["Backup"] = "daily" } });
        job.CompleteAdding();
        var outcome = SnapshotJobRunner.DrainRealTime(job, TimeSpan.FromMinutes(3));
        var stats = ec2.GetStats();
        Log(outcome, stats);

        Assert.Equal(300, outcome.Finished.Count);
        Assert.All(outcome.Finished, f => Assert.Equal(SnapshotState.Completed, f.Result.State));
        Assert.DoesNotContain(stats.Throttled.SelectMany(r => r.Value), p => p.Value > 0);
        Assert.Equal(0, stats.VolumeRuleRejections);
        Assert.All(stats.SnapshotsPerVolume.Values, n => Assert.Equal(1, n));
        Assert.Equal(300, stats.SnapshotsPerVolume.Count);
        // Ideal: (300 - 100) / 5 = 40 s of pacing plus one snapshot (2 s).
        var ideal = (300 - 100) / 5.0 + 2;
        output.WriteLine($"wall {outcome.Elapsed.TotalSeconds:0.0} s vs ideal {ideal:0.0} s; calls per snapshot {stats.TotalCalls / 300.0:0.00}");
        Assert.InRange(outcome.Elapsed.TotalSeconds, ideal - 1, ideal + 15);
    }

    [Fact]
    public async Task InstanceSets_CreateSnapshots_OneResultPerVolume()
    {
        await using var ec2 = await Ec2Emulator.StartAsync(Options());
        var seeded = ec2.Seed(new SeedRequest { Region = East, Instances = 3, DataVolumesPerInstance = 2, NamePrefix = "web" });
        using var clients = new EmulatorClientSource(ec2);
        var engine = new SnapshotEngine(TimeProvider.System);

        using var job = engine.StartCreateJob(clients, CreateOptions(), default);
        job.Add(new InstanceSnapshotRequest { InstanceId = seeded.InstanceIds[0], Region = East, CopyVolumeTags = true });
        job.Add(new InstanceSnapshotRequest { InstanceId = seeded.InstanceIds[1], Region = East, ExcludeBootVolume = true });
        job.Add(new SnapshotCreateRequest { VolumeId = seeded.InstanceVolumeIds[seeded.InstanceIds[2]][0], Region = East });
        job.CompleteAdding();
        var outcome = SnapshotJobRunner.DrainRealTime(job, TimeSpan.FromMinutes(1));
        var stats = ec2.GetStats();
        Log(outcome, stats);

        Assert.Equal(3 + 2 + 1, outcome.Finished.Count);
        Assert.All(outcome.Finished, f => Assert.Equal(SnapshotState.Completed, f.Result.State));
        var first = outcome.Finished.Where(f => f.Result.InstanceId == seeded.InstanceIds[0]).Select(f => f.Result.VolumeId).OrderBy(v => v).ToList();
        Assert.Equal(seeded.InstanceVolumeIds[seeded.InstanceIds[0]].OrderBy(v => v), first);
        Assert.DoesNotContain(outcome.Finished, f => f.Result.VolumeId == seeded.InstanceVolumeIds[seeded.InstanceIds[1]][0]);
        Assert.Contains(outcome.Finished, f => f.Result.Tags.TryGetValue("Name", out var n) && n == "web-1-data1");
        // The lone root volume of a running instance: warned once.
        var warning = Assert.Single(outcome.Warnings);
        Assert.Contains(seeded.InstanceIds[2], warning);
        Assert.Equal(0, stats.VolumeRuleRejections);
    }

    [Fact]
    public async Task NoWaitThenWait_RoundTrip_AndWaitErrorsTimeoutAny()
    {
        await using var ec2 = await Ec2Emulator.StartAsync(Options(snapshotSeconds: 2));
        var volumes = ec2.Seed(new SeedRequest { Region = East, Volumes = 5 }).VolumeIds;
        var failed = ec2.Seed(new SeedRequest { Region = East, Snapshots = 1, State = "error", StatusMessage = "broken" }).SnapshotIds[0];
        using var clients = new EmulatorClientSource(ec2);
        var engine = new SnapshotEngine(TimeProvider.System);

        using var create = engine.StartCreateJob(clients, CreateOptions(o => o.NoWait = true), default);
        foreach (var v in volumes) create.Add(new SnapshotCreateRequest { VolumeId = v, Region = East });
        create.CompleteAdding();
        var created = SnapshotJobRunner.DrainRealTime(create, TimeSpan.FromSeconds(30));
        var createEnded = DateTimeOffset.UtcNow;
        Assert.All(created.Finished, f => Assert.Equal(SnapshotState.Pending, f.Result.State));
        // The job ended before the snapshots completed (the emulator's clock is the system clock).
        Assert.True(createEnded < ec2.GetStats().LastSnapshotEndTime, $"NoWait ended at {createEnded:O}, snapshots at {ec2.GetStats().LastSnapshotEndTime:O}");

        using var wait = engine.StartWaitJob(clients, new WaitJobOptions { PollInterval = TimeSpan.FromMilliseconds(250) }, default);
        foreach (var f in created.Finished) wait.Add(f.Result.SnapshotId!, East);
        wait.Add(failed, East);
        wait.CompleteAdding();
        var waited = SnapshotJobRunner.DrainRealTime(wait, TimeSpan.FromSeconds(30));
        Log(waited, ec2.GetStats());
        Assert.Equal(6, waited.Finished.Count);
        Assert.Equal(5, waited.Finished.Count(f => f.Result.State == SnapshotState.Completed && f.Result.VolumeId is not null));
        var error = waited.Finished.Single(f => f.Result.SnapshotId == failed);
        Assert.Equal(SnapshotState.Failed, error.Result.State);
        Assert.Equal("SnapshotFailed", error.Error!.ErrorId);
        Assert.Equal("broken", error.Result.StatusMessage);

        // Timeout on a long snapshot, and -Any on a short and a long one.
        ec2.Config.Durations.Snapshot = new DurationModel { Kind = DurationKind.Fixed, Seconds = 600 };
        var slow = ec2.Seed(new SeedRequest { Region = East, Snapshots = 1, State = "pending" }).SnapshotIds[0];
        using var timed = engine.StartWaitJob(clients, new WaitJobOptions { PollInterval = TimeSpan.FromMilliseconds(250), Timeout = TimeSpan.FromSeconds(1) }, default);
        timed.Add(slow, East);
        timed.CompleteAdding();
        var timedOut = Assert.Single(SnapshotJobRunner.DrainRealTime(timed, TimeSpan.FromSeconds(10)).Finished);
        Assert.Equal(SnapshotState.TimedOut, timedOut.Result.State);
        Assert.Equal(EngineErrorCategory.OperationTimeout, timedOut.Error!.Category);

        using var any = engine.StartWaitJob(clients, new WaitJobOptions { PollInterval = TimeSpan.FromMilliseconds(250), Any = true }, default);
        any.Add(slow, East);
        any.Add(created.Finished[0].Result.SnapshotId!, East);
        any.CompleteAdding();
        var first = Assert.Single(SnapshotJobRunner.DrainRealTime(any, TimeSpan.FromSeconds(10)).Finished);
        Assert.Equal(created.Finished[0].Result.SnapshotId, first.Result.SnapshotId);
    }

    [Fact]
    public async Task CopyNoWait_FinishesWhenTheLastCopyStarted_WindowStillApplies()
    {
        await using var ec2 = await Ec2Emulator.StartAsync(Options());
        var ids = ec2.Seed(new SeedRequest { Region = East, Snapshots = 30 }).SnapshotIds;
        using var clients = new EmulatorClientSource(ec2);
        var engine = new SnapshotEngine(TimeProvider.System);
        using var west = engine.Lease(clients, "us-west-2"); // held like a job holds it: the window outlives the job

        using var job = engine.StartCopyJob(clients, new CopyJobOptions { NoWait = true, PollInterval = TimeSpan.FromMilliseconds(200), VisibilityGrace = TimeSpan.FromSeconds(3) }, default);
        foreach (var id in ids) job.Add(new SnapshotCopyRequest { SourceSnapshotId = id, SourceRegion = East, DestinationRegion = "us-west-2" });
        job.CompleteAdding();
        var outcome = JobRunner.DrainRealTime(job, TimeSpan.FromSeconds(30));
        var stats = ec2.GetStats();
        foreach (var m in outcome.Messages) output.WriteLine(m);

        Assert.Equal(30, outcome.Finished.Count);
        Assert.All(outcome.Finished, f => Assert.Equal(SnapshotState.Pending, f.Result.State));
        Assert.All(outcome.Finished, f => Assert.NotNull(f.Result.SnapshotId));
        Assert.True(stats.MaxPendingCopies.Values.Max() <= 20);
        Assert.Empty(stats.Errors.GetValueOrDefault("CopySnapshot") ?? new Dictionary<string, long>());
        // The last 10 waited for the first copies (1 s) to finish, but not for their own.
        Assert.InRange(outcome.Elapsed.TotalSeconds, 0.9, 5);
        Assert.Equal(0, west.Shared.CopyWindow.InUse);
    }

    [Fact]
    public async Task PendingSource_IsWaitedFor_ThenCopied_AndAnErroredOneFailsWithItsOwnError()
    {
        await using var ec2 = await Ec2Emulator.StartAsync(Options(snapshotSeconds: 3));
        var volumes = ec2.Seed(new SeedRequest { Region = East, Volumes = 2 }).VolumeIds;
        using var clients = new EmulatorClientSource(ec2);
        var engine = new SnapshotEngine(TimeProvider.System);
        using var create = engine.StartCreateJob(clients, CreateOptions(o => o.NoWait = true), default);
        foreach (var v in volumes) create.Add(new SnapshotCreateRequest { VolumeId = v, Region = East });
        create.CompleteAdding();
        var pending = SnapshotJobRunner.DrainRealTime(create, TimeSpan.FromSeconds(10)).Finished.Select(f => f.Result.SnapshotId!).ToList();
        var broken = ec2.Seed(new SeedRequest { Region = East, Snapshots = 1, State = "error", StatusMessage = "source broke" }).SnapshotIds[0];

        using var job = engine.StartCopyJob(clients, new CopyJobOptions { PollInterval = TimeSpan.FromMilliseconds(200), VisibilityGrace = TimeSpan.FromSeconds(1) }, default);
        foreach (var id in pending.Append(broken)) job.Add(new SnapshotCopyRequest { SourceSnapshotId = id, SourceRegion = East, DestinationRegion = "us-west-2" });
        job.CompleteAdding();
        var outcome = JobRunner.DrainRealTime(job, TimeSpan.FromSeconds(30));

        Assert.All(pending, id => Assert.Equal(SnapshotState.Completed, outcome.FinishedFor(id).Result.State));
        var failed = outcome.FinishedFor(broken);
        Assert.Equal("SourceSnapshotFailed", failed.Error!.ErrorId);
        Assert.Contains("source broke", failed.Error.Message);
        // Waiting for the pending sources (3 s) took longer than the visibility grace (1 s): no short timeout.
        Assert.True(outcome.Elapsed > TimeSpan.FromSeconds(2));
    }
}
