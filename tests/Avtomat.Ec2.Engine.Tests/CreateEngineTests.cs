using Amazon.EC2.Model;
using Avtomat.Ec2.Emulator;
using Avtomat.Ec2.Engine.Create;
using Avtomat.Ec2.Engine.Tests.Support;

namespace Avtomat.Ec2.Engine.Tests;

/// <summary>Snapshot creation in exact virtual time against the emulator (its token buckets and per-volume rules, in
/// process).</summary>
public sealed class CreateEngineTests : EngineTestBed
{
    private static CreateJobOptions Options(Action<CreateJobOptions>? configure = null)
    {
        var o = new CreateJobOptions { PollInterval = TimeSpan.FromSeconds(1), VisibilityGrace = TimeSpan.FromSeconds(5) };
        configure?.Invoke(o);
        return o;
    }

    private static SnapshotCreateRequest Request(string volumeId, Action<SnapshotCreateRequest>? configure = null)
    {
        var r = new SnapshotCreateRequest { VolumeId = volumeId, Region = East };
        configure?.Invoke(r);
        return r;
    }

    private SnapshotOutcome Run(IEnumerable<object> requests, CreateJobOptions? options = null, TimeSpan? maxVirtual = null)
    {
        using var job = _engine.StartCreateJob(_clients, options ?? Options(), default);
        Add(job, requests);
        job.CompleteAdding();
        var outcome = Run(job, maxVirtual);
        OneFinishedPerSnapshot(outcome);
        return outcome;
    }

    private static void Add(CreateJob job, IEnumerable<object> requests)
    {
        foreach (var r in requests)
        {
            if (r is SnapshotCreateRequest v) job.Add(v);
            else job.Add((InstanceSnapshotRequest)r);
        }
    }

    /// <summary>Exactly one finished event per snapshot.</summary>
    private static void OneFinishedPerSnapshot(SnapshotOutcome outcome) =>
        Assert.All(outcome.Finished.Where(f => f.Result.SnapshotId is not null).GroupBy(f => f.Result.SnapshotId), g => Assert.Single(g));

    private string SeedVolume(string type = "gp3", Dictionary<string, string>? tags = null) => SeedVolumes(East, 1, type, tags: tags)[0];

    private SeedResult SeedInstances(int count, int dataVolumes = 1, string state = "running", string? namePrefix = null) =>
        _ec2.Seed(new SeedRequest { Region = East, Instances = count, DataVolumesPerInstance = dataVolumes, InstanceState = state, NamePrefix = namePrefix });

    /// <summary>The account's snapshots of <paramref name="volumeId"/> now.</summary>
    private List<Snapshot> SnapshotsOfVolume(string volumeId) => OwnSnapshots(East).Where(s => s.VolumeId == volumeId).ToList();

    /// <summary>When EC2 accepted a CreateSnapshot of <paramref name="volumeId"/> (the snapshots' start times), in order.</summary>
    private List<DateTimeOffset> StartsOf(string volumeId) =>
        Calls("CreateSnapshot", East).Where(c => c.Get("VolumeId") == volumeId && c.CreatedSnapshotIds.Count > 0).Select(c => c.At).OrderBy(t => t).ToList();

    /// <summary>RequestLimitExceeded answers EC2 gave (its buckets or an interceptor), all actions.</summary>
    private long Throttles => _ec2.GetStats().Throttled.Values.SelectMany(a => a.Values).Sum();

    /// <summary>CreateSnapshot(s) EC2 refused for a per-volume rule (ConcurrentSnapshotLimitExceeded, SnapshotCreationPerVolumeRateExceeded).</summary>
    private long RuleRejections => _ec2.GetStats().VolumeRuleRejections;

    private int MaxActivePerVolume(string volumeId) => _ec2.GetStats().MaxPendingSnapshotsPerVolume.GetValueOrDefault(volumeId);

    [Fact]
    public void ThreeHundredVolumes_PacedUnderTheTokenBucket_NoThrottle_AllCompleted()
    {
        var volumes = SeedVolumes(East, 300);
        var start = Now;

        var outcome = Run(volumes.Select(v => Request(v)));

        Assert.Equal(300, outcome.Finished.Count);
        Assert.All(outcome.Finished, f => Assert.Equal(SnapshotState.Completed, f.Result.State));
        Assert.Equal(0, Throttles);
        Assert.Equal(0, RuleRejections);
        var creates = Calls("CreateSnapshot").Select(c => c.At).OrderBy(t => t).ToList();
        Assert.Equal(300, creates.Count);
        // Never more than the burst plus 5 per second in any window since the start.
        for (var i = 0; i < creates.Count; i++)
            Assert.True(i + 1 <= 100 + 5 * (creates[i] - start).TotalSeconds + 1e-6, $"call {i + 1} at {(creates[i] - start).TotalSeconds} s");
        // ... and not slower than that: the first goes once the volumes and their pending snapshots were looked up (two
        // lookups, each waiting 100 ms for others to join); the engine keeps 5 of EC2's 100 tokens for other clients, so
        // 95 go at once and the other 205 at 5 a second: the last exactly 41 s after the first, 41.2 s after the start.
        Assert.Equal(2 * Scheduling.Scheduler.CollectDelay, creates[0] - start);
        Assert.Equal(TimeSpan.FromSeconds(41), creates[^1] - creates[0]);
        // Batched lookups: 2 DescribeVolumes (volume-id filter) for 300 volumes.
        Assert.Equal(2, Calls("DescribeVolumes").Count);
        var first = outcome.Finished[0].Result;
        Assert.Equal(8, first.VolumeSize);
        Assert.Equal(first.VolumeId, first.Tags[CreateTagNames.SourceVolumeId]);
        Assert.True(first.Tags.ContainsKey(CreateTagNames.RequestToken));
    }

    [Fact]
    public void SameVolumeSevenTimes_QueuesAtFivePending_And15SecondsApart()
    {
        SnapshotDuration = TimeSpan.FromSeconds(100);
        var volume = SeedVolume();

        var outcome = Run(Enumerable.Range(0, 7).Select(_ => Request(volume)), maxVirtual: TimeSpan.FromMinutes(20));

        Assert.Equal(7, outcome.Finished.Count);
        Assert.All(outcome.Finished, f => Assert.Equal(SnapshotState.Completed, f.Result.State));
        Assert.Equal(0, RuleRejections);
        Assert.Equal(5, MaxActivePerVolume(volume));
        var starts = StartsOf(volume);
        Assert.Equal(7, starts.Count);
        Assert.All(starts.Zip(starts.Skip(1)), p => Assert.True(p.Second - p.First >= TimeSpan.FromSeconds(15)));
        // The 6th waits for the 1st to complete (100 s), not only for the spacing.
        Assert.True(starts[5] - starts[0] >= TimeSpan.FromSeconds(100));
    }

    [Fact]
    public void ThroughputOptimizedVolume_OnePendingAtATime()
    {
        var volume = SeedVolume(type: "st1");

        var outcome = Run(Enumerable.Range(0, 3).Select(_ => Request(volume)));

        Assert.Equal(3, outcome.Finished.Count);
        Assert.All(outcome.Finished, f => Assert.Equal(SnapshotState.Completed, f.Result.State));
        Assert.Equal(0, RuleRejections);
        Assert.Equal(1, MaxActivePerVolume(volume));
    }

    [Fact]
    public void PendingAndErroredSnapshotsStartedElsewhere_Count_AndTheJobWaitsForThem()
    {
        var volume = SeedVolume();
        var seededAt = Now;
        _ec2.Seed(new SeedRequest { Region = East, Snapshots = 3, VolumeId = volume, State = "error", StatusMessage = "failed" });
        _ec2.Seed(new SeedRequest { Region = East, Snapshots = 2, VolumeId = volume, State = "pending", DurationSeconds = 30 });

        var outcome = Run([Request(volume)]);

        Assert.Equal(SnapshotState.Completed, Assert.Single(outcome.Finished).Result.State);
        Assert.Equal(0, RuleRejections);
        var start = Calls("CreateSnapshot").Single().At;
        Assert.True(start - Calls("DescribeVolumes").First().At >= TimeSpan.FromSeconds(29));
        // Exactly: not before the two pending ones ended (3 in error + 2 pending = the volume's 5).
        Assert.True(start >= seededAt + TimeSpan.FromSeconds(30), $"started at {(start - seededAt).TotalSeconds} s");
    }

    /// <summary>The second request of a job for a volume waits, like the first, for EC2's view of the volume's pending
    /// snapshots (it was queued at once and collected ConcurrentSnapshotLimitExceeded).</summary>
    [Fact]
    public void TwoRequestsForAVolumeBusyElsewhere_BothWaitForItsPendingSnapshots_NoRuleHit()
    {
        var volume = SeedVolume();
        var seededAt = Now;
        _ec2.Seed(new SeedRequest { Region = East, Snapshots = 5, VolumeId = volume, State = "pending", DurationSeconds = 30 });

        var outcome = Run([Request(volume), Request(volume)]);

        Assert.All(outcome.Finished, f => Assert.Equal(SnapshotState.Completed, f.Result.State));
        Assert.Equal(2, outcome.Finished.Count);
        Assert.Equal(0, RuleRejections);
        var starts = Calls("CreateSnapshot").Select(c => c.At).ToList();
        Assert.Equal(2, starts.Count);
        Assert.True(starts[0] >= seededAt + TimeSpan.FromSeconds(30), $"started at {(starts[0] - seededAt).TotalSeconds} s");
        Assert.True(starts[1] - starts[0] >= TimeSpan.FromSeconds(15)); // EC2's spacing per volume
    }

    [Fact]
    public void RulesHitAnyway_ByAnotherClient_AreRequeued_NeverDropped()
    {
        var volume = SeedVolume();
        // Someone else starts a snapshot of the volume right before each of our first two calls: EC2 refuses them.
        Intercept = call => call is { Action: "CreateSnapshot", Stage: CallStage.BeforeAction } ? call.ActionCallNumber switch
        {
            1 => CallDecision.Error("SnapshotCreationPerVolumeRateExceeded", 400, "The maximum per volume CreateSnapshot request rate has been exceeded."),
            2 => CallDecision.Error("ConcurrentSnapshotLimitExceeded", 400, $"Maximum number of in-progress snapshots (5) reached for volume '{volume}'."),
            _ => null,
        } : null;

        var outcome = Run([Request(volume)]);

        Assert.Equal(SnapshotState.Completed, Assert.Single(outcome.Finished).Result.State);
        Assert.Equal(3, Calls("CreateSnapshot").Count);
        Assert.Equal(2, outcome.Statistics.LimitExceeded);
    }

    [Fact]
    public void Throttled_Anyway_RetriedWithBackoff()
    {
        var volume = SeedVolume();
        Intercept = call => call is { Action: "CreateSnapshot", Stage: CallStage.BeforeAction, ActionCallNumber: <= 2 } ? CallDecision.Throttle() : null;

        var outcome = Run([Request(volume)]);

        Assert.Equal(SnapshotState.Completed, Assert.Single(outcome.Finished).Result.State);
        Assert.Equal(2, outcome.Statistics.Throttled);
        Assert.Single(SnapshotsOfVolume(volume));
    }

    [Fact]
    public void UncertainOutcome_SnapshotFoundByToken_IsAdopted()
    {
        var volume = SeedVolume();
        // EC2 performs the call, then the connection drops: the engine must find the snapshot by its request token.
        Intercept = call => call is { Action: "CreateSnapshot", Stage: CallStage.AfterAction, ActionCallNumber: 1 } ? CallDecision.Drop() : null;

        var outcome = Run([Request(volume)]);

        var result = Assert.Single(outcome.Finished).Result;
        Assert.Equal(SnapshotState.Completed, result.State);
        Assert.Single(SnapshotsOfVolume(volume));
        Assert.Single(Calls("CreateSnapshot"));
        Assert.Equal(1, outcome.Statistics.UncertainOutcomes);
        Assert.Contains(outcome.Messages, m => m.Contains("adopted"));
    }

    [Fact]
    public void NoWait_FinishesEachAsSoonAsAccepted_StatePending()
    {
        SnapshotDuration = TimeSpan.FromMinutes(30);
        var volumes = SeedVolumes(East, 10);
        var start = Now;

        var outcome = Run(volumes.Select(v => Request(v)), Options(o => o.NoWait = true));

        Assert.Equal(10, outcome.Accepted.Count);
        Assert.Equal(10, outcome.Finished.Count);
        Assert.All(outcome.Finished, f =>
        {
            Assert.Equal(SnapshotState.Pending, f.Result.State);
            Assert.NotNull(f.Result.SnapshotId);
            Assert.Null(f.Error);
        });
        Assert.True(outcome.EndedAt - start < TimeSpan.FromSeconds(5));
        // Exactly: the volumes are looked up together (a lookup waits 100 ms for others to join), then their pending
        // snapshots (another 100 ms), then all 10 start at once and the job ends.
        Assert.Equal(2 * Scheduling.Scheduler.CollectDelay, outcome.EndedAt - start);
        Assert.Contains(outcome.Messages, m => m.Contains("10 started (not waited for)"));
    }

    [Fact]
    public void RootVolumeOfRunningInstance_WarnedOncePerJob()
    {
        var running = SeedInstances(2);
        var stopped = SeedInstances(1, state: "stopped");
        var (a, b, off) = (running.InstanceIds[0], running.InstanceIds[1], stopped.InstanceIds[0]);
        var roots = new[] { running.InstanceVolumeIds[a][0], running.InstanceVolumeIds[b][0], stopped.InstanceVolumeIds[off][0] };
        var data = running.InstanceVolumeIds[a][1];

        var outcome = Run(roots.Append(data).Select(v => Request(v)));

        Assert.Equal(4, outcome.Finished.Count);
        Assert.All(outcome.Finished, f => Assert.Equal(SnapshotState.Completed, f.Result.State));
        var warning = Assert.Single(outcome.Warnings);
        Assert.True((warning.Contains(roots[0]) && warning.Contains(a)) || (warning.Contains(roots[1]) && warning.Contains(b)), warning);
        Assert.Contains(outcome.Messages, m => m.Contains(roots[0]) && m.Contains("root volume"));
        Assert.Contains(outcome.Messages, m => m.Contains(roots[1]) && m.Contains("root volume"));
        Assert.DoesNotContain(outcome.Messages, m => m.Contains(roots[2]) && m.Contains("root volume"));
        Assert.Single(Calls("DescribeInstances"));
        var root = outcome.Finished.Single(f => f.Result.VolumeId == roots[0]).Result;
        Assert.Equal(a, root.InstanceId);
        Assert.Equal("/dev/xvda", root.DeviceName);
    }

    [Fact]
    public void DescriptionTemplate_VolumeName_AndCopyVolumeTags()
    {
        var named = SeedVolume(tags: new() { ["Name"] = "db", ["Backup"] = "daily", ["aws:reserved"] = "x" });
        var unnamed = SeedVolume();

        var outcome = Run([Request(named, r => { r.CopyVolumeTags = true; r.Tags["Backup"] = "weekly"; }), Request(unnamed)]);

        var a = outcome.Finished.Single(f => f.Result.VolumeId == named).Result;
        Assert.Equal($"Snapshot of {named} (db)", a.Description);
        Assert.Equal("weekly", a.Tags["Backup"]);
        Assert.Equal("db", a.Tags["Name"]);
        Assert.False(a.Tags.ContainsKey("aws:reserved"));
        Assert.Equal($"Snapshot of {unnamed}", outcome.Finished.Single(f => f.Result.VolumeId == unnamed).Result.Description);
        Assert.Equal("weekly", SnapshotsOfVolume(named).Single().Tags.Single(t => t.Key == "Backup").Value);
    }

    [Fact]
    public void InstanceSet_OneResultPerVolume_ExcludeBootVolume()
    {
        // Named volumes: instance P-1's are P-1-root, P-1-data1, P-1-data2.
        var seeded = SeedInstances(2, dataVolumes: 2, namePrefix: "P");
        var (instance, other) = (seeded.InstanceIds[0], seeded.InstanceIds[1]);

        var outcome = Run([
            new InstanceSnapshotRequest { InstanceId = instance, Region = East, CopyVolumeTags = true },
            new InstanceSnapshotRequest { InstanceId = other, Region = East, ExcludeBootVolume = true },
        ]);

        Assert.Equal(5, outcome.Finished.Count);
        Assert.All(outcome.Finished, f => Assert.Equal(SnapshotState.Completed, f.Result.State));
        Assert.Equal(3, outcome.Finished.Count(f => f.Result.InstanceId == instance));
        Assert.Equal(2, outcome.Finished.Count(f => f.Result.InstanceId == other));
        Assert.Equal(2, Calls("CreateSnapshots").Count);
        Assert.Empty(Calls("CreateSnapshot"));
        Assert.DoesNotContain(outcome.Finished, f => f.Result.VolumeId == seeded.InstanceVolumeIds[other][0]);
        Assert.Empty(outcome.Warnings); // instance sets are crash-consistent: no root-volume warning
        var data = outcome.Finished.Single(f => f.Result.VolumeId == seeded.InstanceVolumeIds[instance][1]).Result;
        Assert.Equal("P-1-data1", data.Tags["Name"]);
        Assert.Equal(instance, data.Tags[CreateTagNames.SourceInstanceId]);
    }

    [Fact]
    public void Errors_VolumeNotFound_InstanceNotFound_AccessDenied()
    {
        var denied = SeedVolume();
        Intercept = call => call is { Action: "CreateSnapshot", Stage: CallStage.BeforeAction } && call.Get("VolumeId") == denied
            ? CallDecision.Error("UnauthorizedOperation", 403, "You are not authorized.") : null;

        var outcome = Run([
            Request("vol-00000000000000bad"),
            Request(denied),
            new InstanceSnapshotRequest { InstanceId = "i-00000000000000bad", Region = East },
        ]);

        var missing = outcome.Finished.Single(f => f.Result.VolumeId == "vol-00000000000000bad");
        Assert.Equal(SnapshotState.Failed, missing.Result.State);
        Assert.Equal("VolumeNotFound", missing.Error!.ErrorId);
        Assert.Equal(EngineErrorCategory.ObjectNotFound, missing.Error.Category);
        Assert.Equal("vol-00000000000000bad", missing.Error.TargetId);
        var access = outcome.Finished.Single(f => f.Result.VolumeId == denied).Error!;
        Assert.Equal("AccessDenied", access.ErrorId);
        Assert.Equal(EngineErrorCategory.PermissionDenied, access.Category);
        Assert.Contains("ec2:CreateSnapshot", access.RecommendedAction);
        var instance = outcome.Finished.Single(f => f.Result.InstanceId == "i-00000000000000bad").Error!;
        Assert.Equal("InstanceNotFound", instance.ErrorId);
    }

    [Fact]
    public void SnapshotEndingInError_FailsWithItsStatusMessage()
    {
        var volume = SeedVolume();
        Shape = info => info.IsCopy ? null : SnapshotShape.Fails(SnapshotDuration.TotalSeconds, "internal failure");

        var outcome = Run([Request(volume)]);

        var f = Assert.Single(outcome.Finished);
        Assert.Equal(SnapshotState.Failed, f.Result.State);
        Assert.Equal("SnapshotCreationFailed", f.Error!.ErrorId);
        Assert.Equal("internal failure", f.Result.StatusMessage);
    }

    [Fact]
    public void DryRun_CreatesNothing()
    {
        var volume = SeedVolume();

        var outcome = Run([Request(volume)], Options(o => o.DryRun = true));

        Assert.Equal(SnapshotState.DryRun, Assert.Single(outcome.Finished).Result.State);
        Assert.Empty(SnapshotsOfVolume(volume));
    }

    [Fact]
    public void Timeout_WhileQueuedBehindTheVolumeRules_TimedOut()
    {
        SnapshotDuration = TimeSpan.FromMinutes(10);
        var volume = SeedVolume(type: "sc1");
        var start = Now;

        var outcome = Run([Request(volume), Request(volume)], Options(o => o.Timeout = TimeSpan.FromSeconds(60)));

        Assert.Equal(2, outcome.Finished.Count);
        Assert.All(outcome.Finished, f => Assert.Equal(SnapshotState.TimedOut, f.Result.State));
        Assert.All(outcome.Finished, f => Assert.Equal(EngineErrorCategory.OperationTimeout, f.Error!.Category));
        Assert.Single(outcome.Finished, f => f.Result.SnapshotId is not null);
        // The timeout ends the job at 60 s, not later.
        Assert.Equal(TimeSpan.FromSeconds(60), outcome.EndedAt - start);
    }

    [Fact]
    public void TwoJobs_ShareTheVolumeRulesAndThePacing()
    {
        var volume = SeedVolume(type: "st1");
        var many = SeedVolumes(East, 150);
        using var jobA = _engine.StartCreateJob(_clients, Options(), default);
        using var jobB = _engine.StartCreateJob(Clients(AccessKey), Options(), default); // another source, same account
        jobA.Add(Request(volume));
        jobB.Add(Request(volume));
        foreach (var v in many.Take(75)) jobA.Add(Request(v));
        foreach (var v in many.Skip(75)) jobB.Add(Request(v));
        jobA.CompleteAdding();
        jobB.CompleteAdding();

        RunAll([jobA, jobB]);

        var finished = Outcome(jobA).Finished.Concat(Outcome(jobB).Finished).ToList();
        Assert.Equal(152, finished.Count);
        Assert.All(finished, f => Assert.Equal(SnapshotState.Completed, f.Result.State));
        Assert.Equal(0, RuleRejections);
        Assert.Equal(0, Throttles);
        Assert.Equal(1, MaxActivePerVolume(volume));
    }
}
