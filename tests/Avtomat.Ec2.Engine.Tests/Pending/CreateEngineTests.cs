using System.Net;
using Amazon.EC2.Model;
using Avtomat.Ec2.Engine.Create;
using Avtomat.Ec2.Engine.Tests.Support;
using Microsoft.Extensions.Time.Testing;

namespace Avtomat.Ec2.Engine.Tests;

/// <summary>Snapshot creation in virtual time against the in-memory EC2 (exact token bucket and per-volume rules).</summary>
[Collection(VirtualTimeCollection.Name)]
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

    private async Task<SnapshotOutcome> RunAsync(IEnumerable<object> requests, CreateJobOptions? options = null, TimeSpan? maxVirtual = null,
        Action<SnapshotOutcome, DateTimeOffset>? onStep = null)
    {
        using var job = _engine.StartCreateJob(_clients, options ?? Options(), default);
        foreach (var r in requests)
        {
            if (r is SnapshotCreateRequest v) job.Add(v);
            else job.Add((InstanceSnapshotRequest)r);
        }
        job.CompleteAdding();
        var outcome = await SnapshotJobRunner.RunAsync(job, _clock, maxVirtual: maxVirtual, onStep: onStep);
        // Exactly one finished event per snapshot.
        Assert.All(outcome.Finished.Where(f => f.Result.SnapshotId is not null).GroupBy(f => f.Result.SnapshotId), g => Assert.Single(g));
        return outcome;
    }

    [Fact]
    public async Task ThreeHundredVolumes_PacedUnderTheTokenBucket_NoThrottle_AllCompleted()
    {
        var volumes = _ec2.SeedVolumes(East, 300);
        var start = _clock.GetUtcNow();

        var outcome = await RunAsync(volumes.Select(v => Request(v)));

        Assert.Equal(300, outcome.Finished.Count);
        Assert.All(outcome.Finished, f => Assert.Equal(SnapshotState.Completed, f.Result.State));
        Assert.Equal(0, _ec2.Throttles);
        Assert.Equal(0, _ec2.RuleRejections);
        var creates = _ec2.CallsOf("CreateSnapshot").Select(c => c.At).OrderBy(t => t).ToList();
        Assert.Equal(300, creates.Count);
        // Never more than the burst plus 5 per second in any window since the start.
        for (var i = 0; i < creates.Count; i++)
            Assert.True(i + 1 <= 100 + 5 * (creates[i] - start).TotalSeconds + 1e-6, $"call {i + 1} at {(creates[i] - start).TotalSeconds} s");
        // ... and not much slower than that: (300 - 95) / 5 = 41 s for the last start.
        Assert.InRange((creates[^1] - start).TotalSeconds, 40, 44);
        // Batched lookups: 2 DescribeVolumes and 2 DescribeSnapshots (volume-id filter) for 300 volumes.
        Assert.Equal(2, _ec2.CallsOf("DescribeVolumes").Count);
        var first = outcome.Finished[0].Result;
        Assert.Equal(8, first.VolumeSize);
        Assert.Equal(first.VolumeId, first.Tags[CreateTagNames.SourceVolumeId]);
        Assert.True(first.Tags.ContainsKey(CreateTagNames.RequestToken));
    }

    [Fact]
    public async Task SameVolumeSevenTimes_QueuesAtFivePending_And15SecondsApart()
    {
        _ec2.SnapshotDuration = TimeSpan.FromSeconds(100);
        var volume = _ec2.SeedVolume(East);

        var outcome = await RunAsync(Enumerable.Range(0, 7).Select(_ => Request(volume)), maxVirtual: TimeSpan.FromMinutes(20));

        Assert.Equal(7, outcome.Finished.Count);
        Assert.All(outcome.Finished, f => Assert.Equal(SnapshotState.Completed, f.Result.State));
        Assert.Equal(0, _ec2.RuleRejections);
        Assert.Equal(5, _ec2.MaxActivePerVolume[volume]);
        var starts = _ec2.StartsPerVolume[volume];
        Assert.All(starts.Zip(starts.Skip(1)), p => Assert.True(p.Second - p.First >= TimeSpan.FromSeconds(15)));
        // The 6th waits for the 1st to complete (100 s), not only for the spacing.
        Assert.True(starts[5] - starts[0] >= TimeSpan.FromSeconds(100));
    }

    [Fact]
    public async Task ThroughputOptimizedVolume_OnePendingAtATime()
    {
        var volume = _ec2.SeedVolume(East, type: "st1");

        var outcome = await RunAsync(Enumerable.Range(0, 3).Select(_ => Request(volume)));

        Assert.All(outcome.Finished, f => Assert.Equal(SnapshotState.Completed, f.Result.State));
        Assert.Equal(0, _ec2.RuleRejections);
        Assert.Equal(1, _ec2.MaxActivePerVolume[volume]);
    }

    [Fact]
    public async Task PendingAndErroredSnapshotsStartedElsewhere_Count_AndTheJobWaitsForThem()
    {
        var volume = _ec2.SeedVolume(East);
        for (var i = 0; i < 3; i++) _ec2.SeedVolumeSnapshot(volume, "error", statusMessage: "failed");
        for (var i = 0; i < 2; i++) _ec2.SeedVolumeSnapshot(volume, completesIn: TimeSpan.FromSeconds(30));

        var outcome = await RunAsync([Request(volume)]);

        Assert.Equal(SnapshotState.Completed, Assert.Single(outcome.Finished).Result.State);
        Assert.Equal(0, _ec2.RuleRejections);
        var start = _ec2.CallsOf("CreateSnapshot").Single().At;
        Assert.True(start - _ec2.CallsOf("DescribeVolumes").First().At >= TimeSpan.FromSeconds(29));
    }

    [Fact]
    public async Task RulesHitAnyway_ByAnotherClient_AreRequeued_NeverDropped()
    {
        var volume = _ec2.SeedVolume(East);
        // Someone else starts a snapshot of the volume right before each of our first two calls.
        _ec2.BeforeCreate = (id, n) =>
        {
            if (n == 1) throw FakeEc2.Error("SnapshotCreationPerVolumeRateExceeded");
            if (n == 2) throw FakeEc2.Error("ConcurrentSnapshotLimitExceeded");
        };

        var outcome = await RunAsync([Request(volume)]);

        Assert.Equal(SnapshotState.Completed, Assert.Single(outcome.Finished).Result.State);
        Assert.Equal(3, _ec2.CallsOf("CreateSnapshot").Count);
        Assert.Equal(2, outcome.Statistics.LimitExceeded);
    }

    [Fact]
    public async Task Throttled_Anyway_RetriedWithBackoff()
    {
        var volume = _ec2.SeedVolume(East);
        _ec2.BeforeCreate = (_, n) => { if (n <= 2) throw FakeEc2.Error("RequestLimitExceeded", HttpStatusCode.ServiceUnavailable); };

        var outcome = await RunAsync([Request(volume)]);

        Assert.Equal(SnapshotState.Completed, Assert.Single(outcome.Finished).Result.State);
        Assert.Equal(2, outcome.Statistics.Throttled);
        Assert.Single(_ec2.SnapshotsOfVolume(volume));
    }

    [Fact]
    public async Task UncertainOutcome_SnapshotFoundByToken_IsAdopted()
    {
        var volume = _ec2.SeedVolume(East);
        // EC2 performs the call, then the connection drops: the engine must find the snapshot by its request token.
        var proxy = new LosingFirstAnswer();
        using var job = _engine.StartCreateJob(new LosingClientSource(_ec2, proxy), Options(), default);
        job.Add(Request(volume));
        job.CompleteAdding();
        var outcome = await SnapshotJobRunner.RunAsync(job, _clock);

        var result = Assert.Single(outcome.Finished).Result;
        Assert.Equal(SnapshotState.Completed, result.State);
        Assert.Single(_ec2.SnapshotsOfVolume(volume));
        Assert.Single(_ec2.CallsOf("CreateSnapshot"));
        Assert.Equal(1, outcome.Statistics.UncertainOutcomes);
        Assert.Contains(outcome.Messages, m => m.Contains("adopted"));
    }

    [Fact]
    public async Task NoWait_FinishesEachAsSoonAsAccepted_StatePending()
    {
        _ec2.SnapshotDuration = TimeSpan.FromMinutes(30);
        var volumes = _ec2.SeedVolumes(East, 10);
        var start = _clock.GetUtcNow();

        var outcome = await RunAsync(volumes.Select(v => Request(v)), Options(o => o.NoWait = true));

        Assert.Equal(10, outcome.Accepted.Count);
        Assert.Equal(10, outcome.Finished.Count);
        Assert.All(outcome.Finished, f =>
        {
            Assert.Equal(SnapshotState.Pending, f.Result.State);
            Assert.NotNull(f.Result.SnapshotId);
            Assert.Null(f.Error);
        });
        Assert.True(outcome.EndedAt - start < TimeSpan.FromSeconds(5));
        Assert.Contains(outcome.Messages, m => m.Contains("10 started (not waited for)"));
    }

    [Fact]
    public async Task RootVolumeOfRunningInstance_WarnedOncePerJob()
    {
        var a = _ec2.SeedInstance(East);
        var b = _ec2.SeedInstance(East);
        var stopped = _ec2.SeedInstance(East, state: "stopped");
        var roots = new[] { a, b, stopped }.Select(i => _ec2.Instances[i].Devices[0].VolumeId).ToList();
        var data = _ec2.Instances[a].Devices[1].VolumeId;

        var outcome = await RunAsync(roots.Append(data).Select(v => Request(v)));

        Assert.All(outcome.Finished, f => Assert.Equal(SnapshotState.Completed, f.Result.State));
        var warning = Assert.Single(outcome.Warnings);
        Assert.True((warning.Contains(roots[0]) && warning.Contains(a)) || (warning.Contains(roots[1]) && warning.Contains(b)), warning);
        Assert.Contains(outcome.Messages, m => m.Contains(roots[0]) && m.Contains("root volume"));
        Assert.Contains(outcome.Messages, m => m.Contains(roots[1]) && m.Contains("root volume"));
        Assert.DoesNotContain(outcome.Messages, m => m.Contains(roots[2]) && m.Contains("root volume"));
        Assert.Single(_ec2.CallsOf("DescribeInstances"));
        var root = outcome.Finished.Single(f => f.Result.VolumeId == roots[0]).Result;
        Assert.Equal(a, root.InstanceId);
        Assert.Equal("/dev/xvda", root.DeviceName);
    }

    [Fact]
    public async Task DescriptionTemplate_VolumeName_AndCopyVolumeTags()
    {
        var named = _ec2.SeedVolume(East, name: "db", tags: new() { ["Backup"] = "daily", ["aws:reserved"] = "x" });
        var unnamed = _ec2.SeedVolume(East);

        var outcome = await RunAsync([Request(named, r => { r.CopyVolumeTags = true; r.Tags["Backup"] = "weekly"; }), Request(unnamed)]);

        var a = outcome.Finished.Single(f => f.Result.VolumeId == named).Result;
        Assert.Equal($"Snapshot of {named} (db)", a.Description);
        Assert.Equal("weekly", a.Tags["Backup"]);
        Assert.Equal("db", a.Tags["Name"]);
        Assert.False(a.Tags.ContainsKey("aws:reserved"));
        Assert.Equal($"Snapshot of {unnamed}", outcome.Finished.Single(f => f.Result.VolumeId == unnamed).Result.Description);
        Assert.Equal("weekly", _ec2.SnapshotsOfVolume(named).Single().Tags["Backup"]);
    }

    [Fact]
    public async Task InstanceSet_OneResultPerVolume_ExcludeBootVolume()
    {
        var instance = _ec2.SeedInstance(East, dataVolumes: 2);
        var other = _ec2.SeedInstance(East, dataVolumes: 2);

        var outcome = await RunAsync([
            new InstanceSnapshotRequest { InstanceId = instance, Region = East, CopyVolumeTags = true },
            new InstanceSnapshotRequest { InstanceId = other, Region = East, ExcludeBootVolume = true },
        ]);

        Assert.Equal(5, outcome.Finished.Count);
        Assert.All(outcome.Finished, f => Assert.Equal(SnapshotState.Completed, f.Result.State));
        Assert.Equal(3, outcome.Finished.Count(f => f.Result.InstanceId == instance));
        Assert.Equal(2, outcome.Finished.Count(f => f.Result.InstanceId == other));
        Assert.Equal(2, _ec2.CallsOf("CreateSnapshots").Count);
        Assert.Empty(_ec2.CallsOf("CreateSnapshot"));
        Assert.DoesNotContain(outcome.Finished, f => f.Result.VolumeId == _ec2.Instances[other].Devices[0].VolumeId);
        Assert.Empty(outcome.Warnings); // instance sets are crash-consistent: no root-volume warning
        var data = outcome.Finished.Single(f => f.Result.VolumeId == _ec2.Instances[instance].Devices[1].VolumeId).Result;
        Assert.Equal("data0", data.Tags["Name"]);
        Assert.Equal(instance, data.Tags[CreateTagNames.SourceInstanceId]);
    }

    [Fact]
    public async Task Errors_VolumeNotFound_InstanceNotFound_AccessDenied()
    {
        var denied = _ec2.SeedVolume(East);
        _ec2.BeforeCreate = (id, _) => { if (id == denied) throw FakeEc2.Error("UnauthorizedOperation", HttpStatusCode.Forbidden, "You are not authorized."); };

        var outcome = await RunAsync([
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
    public async Task SnapshotEndingInError_FailsWithItsStatusMessage()
    {
        var volume = _ec2.SeedVolume(East);
        _ec2.OnSnapshotCreated = s => { s.FinalState = "error"; s.StatusMessage = "internal failure"; };

        var outcome = await RunAsync([Request(volume)]);

        var f = Assert.Single(outcome.Finished);
        Assert.Equal(SnapshotState.Failed, f.Result.State);
        Assert.Equal("SnapshotCreationFailed", f.Error!.ErrorId);
        Assert.Equal("internal failure", f.Result.StatusMessage);
    }

    [Fact]
    public async Task DryRun_CreatesNothing()
    {
        var volume = _ec2.SeedVolume(East);

        var outcome = await RunAsync([Request(volume)], Options(o => o.DryRun = true));

        Assert.Equal(SnapshotState.DryRun, Assert.Single(outcome.Finished).Result.State);
        Assert.Empty(_ec2.SnapshotsOfVolume(volume));
    }

    [Fact]
    public async Task Timeout_WhileQueuedBehindTheVolumeRules_TimedOut()
    {
        _ec2.SnapshotDuration = TimeSpan.FromMinutes(10);
        var volume = _ec2.SeedVolume(East, type: "sc1");

        var outcome = await RunAsync([Request(volume), Request(volume)], Options(o => o.Timeout = TimeSpan.FromSeconds(60)));

        Assert.Equal(2, outcome.Finished.Count);
        Assert.All(outcome.Finished, f => Assert.Equal(SnapshotState.TimedOut, f.Result.State));
        Assert.All(outcome.Finished, f => Assert.Equal(EngineErrorCategory.OperationTimeout, f.Error!.Category));
        Assert.Single(outcome.Finished, f => f.Result.SnapshotId is not null);
    }

    [Fact]
    public async Task TwoJobs_ShareTheVolumeRulesAndThePacing()
    {
        var volume = _ec2.SeedVolume(East, type: "st1");
        var many = _ec2.SeedVolumes(East, 150);
        using var jobA = _engine.StartCreateJob(_clients, Options(), default);
        using var jobB = _engine.StartCreateJob(new FakeClientSource(_ec2), Options(), default); // same account (identity)
        jobA.Add(Request(volume));
        jobB.Add(Request(volume));
        foreach (var v in many.Take(75)) jobA.Add(Request(v));
        foreach (var v in many.Skip(75)) jobB.Add(Request(v));
        jobA.CompleteAdding();
        jobB.CompleteAdding();

        var runA = SnapshotJobRunner.RunAsync(jobA, _clock);
        var outcomeB = new SnapshotOutcome();
        while (!jobB.IsFinished) { while (jobB.TryTake(out var e, TimeSpan.Zero)) outcomeB.Events.Add(e!); await Task.Delay(2); if (runA.IsCompleted && !jobB.IsFinished) _clock.Advance(TimeSpan.FromMilliseconds(100)); }
        var outcomeA = await runA;

        Assert.All(outcomeA.Finished.Concat(outcomeB.Finished), f => Assert.Equal(SnapshotState.Completed, f.Result.State));
        Assert.Equal(0, _ec2.RuleRejections);
        Assert.Equal(0, _ec2.Throttles);
        Assert.Equal(1, _ec2.MaxActivePerVolume[volume]);
    }

    private sealed class LosingFirstAnswer
    {
        public int Lost;
    }

    /// <summary>ForCopy clients whose first CreateSnapshot is performed but answered with an I/O error.</summary>
    private sealed class LosingClientSource(FakeEc2 ec2, LosingFirstAnswer state) : IEc2ClientSource
    {
        public string Account => "account:111111111111";
        public Amazon.EC2.IAmazonEC2 For(string region) => ec2.ClientFor(region);
        public Amazon.EC2.IAmazonEC2 ForCopy(string region)
        {
            var proxy = System.Reflection.DispatchProxy.Create<Amazon.EC2.IAmazonEC2, LosingProxy>();
            ((LosingProxy)(object)proxy).Bind(ec2.ClientFor(region), state);
            return proxy;
        }
        public string EndpointKey(string region) => "https://fake.ec2/";
    }

    public class LosingProxy : System.Reflection.DispatchProxy
    {
        private Amazon.EC2.IAmazonEC2 _inner = null!;
        private object _state = null!;

        internal void Bind(Amazon.EC2.IAmazonEC2 inner, object state)
        {
            _inner = inner;
            _state = state;
        }

        protected override object? Invoke(System.Reflection.MethodInfo? method, object?[]? args)
        {
            var result = method!.Invoke(_inner, args);
            if (method.Name == "CreateSnapshotAsync" && Interlocked.Increment(ref ((LosingFirstAnswer)_state).Lost) == 1)
            {
                var task = (Task<CreateSnapshotResponse>)result!;
                task.Wait();
                return Task.FromException<CreateSnapshotResponse>(new IOException("The connection was reset after the request was sent."));
            }
            return result;
        }
    }
}
