using Avtomat.Ec2.Emulator;
using Avtomat.Ec2.Engine.Copy;
using Avtomat.Ec2.Engine.Create;
using Avtomat.Ec2.Engine.Tests.Support;
using Avtomat.Ec2.Engine.Waiting;
using Xunit.Abstractions;

namespace Avtomat.Ec2.Engine.Tests;

/// <summary>Snapshot creation, waits and copy -NoWait against the emulator through the real SDK, in exact virtual time
/// (the emulator in process: its buckets, per-volume rules and lifecycles on the test's clock).</summary>
public sealed class CreateIntegrationTests(ITestOutputHelper output) : EngineTestBed
{
    private static CreateJobOptions CreateOptions(Action<CreateJobOptions>? configure = null)
    {
        var o = new CreateJobOptions { PollInterval = TimeSpan.FromMilliseconds(250), VisibilityGrace = TimeSpan.FromSeconds(5) };
        configure?.Invoke(o);
        return o;
    }

    private static WaitJobOptions WaitOptions(Action<WaitJobOptions>? configure = null)
    {
        var o = new WaitJobOptions { PollInterval = TimeSpan.FromMilliseconds(250) };
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
    public void ThreeHundredVolumes_NoRequestLimitExceeded_NoVolumeRuleRejection_AllCompleted()
    {
        SnapshotDuration = TimeSpan.FromSeconds(2);
        var volumes = SeedVolumes(East, 300);

        using var job = _engine.StartCreateJob(_clients, CreateOptions(), default);
        foreach (var v in volumes) job.Add(new SnapshotCreateRequest { VolumeId = v, Region = East, Tags = { ["Backup"] = "daily" } });
        job.CompleteAdding();
        var outcome = Run(job);
        var stats = _ec2.GetStats();
        Log(outcome, stats);

        Assert.Equal(300, outcome.Finished.Count);
        Assert.All(outcome.Finished, f => Assert.Equal(SnapshotState.Completed, f.Result.State));
        Assert.DoesNotContain(stats.Throttled.SelectMany(r => r.Value), p => p.Value > 0);
        Assert.Equal(0, stats.VolumeRuleRejections);
        Assert.All(stats.SnapshotsPerVolume.Values, n => Assert.Equal(1, n));
        Assert.Equal(300, stats.SnapshotsPerVolume.Count);
        // Ideal: (300 - 100) / 5 = 40 s of pacing plus one snapshot (2 s).
        var ideal = (300 - 100) / 5.0 + 2;
        output.WriteLine($"virtual {outcome.Elapsed.TotalSeconds:0.000} s vs ideal {ideal:0.0} s; calls per snapshot {stats.TotalCalls / 300.0:0.00}");
        Assert.InRange(outcome.Elapsed.TotalSeconds, ideal - 1, ideal + 15);
        // And exactly (virtual time): EC2's burst less the 5 tokens the engine keeps for other clients at the first instant,
        // then one CreateSnapshot per refill (5 a second), never faster; the last snapshot seen completed within a second
        // of its end.
        var creates = Calls("CreateSnapshot").OrderBy(c => c.At).ToList();
        Assert.Equal(300, creates.Count);
        Assert.Equal(95, creates.Count(c => c.At == creates[0].At));
        Assert.All(creates.Skip(95).Select((c, i) => (c, i)), p => Assert.Equal(creates[0].At + TimeSpan.FromSeconds((p.i + 1) / 5.0), p.c.At));
        Assert.Equal(TimeSpan.FromSeconds((300 - 95) / 5.0), creates[^1].At - creates[0].At);
        var lastEnd = creates[^1].At + SnapshotDuration;
        Assert.InRange(outcome.EndedAt - lastEnd, TimeSpan.Zero, TimeSpan.FromSeconds(1));
    }

    [Fact]
    public void InstanceSets_CreateSnapshots_OneResultPerVolume()
    {
        SnapshotDuration = TimeSpan.FromSeconds(1);
        var seeded = _ec2.Seed(new SeedRequest { Region = East, Instances = 3, DataVolumesPerInstance = 2, NamePrefix = "web" });

        using var job = _engine.StartCreateJob(_clients, CreateOptions(), default);
        job.Add(new InstanceSnapshotRequest { InstanceId = seeded.InstanceIds[0], Region = East, CopyVolumeTags = true });
        job.Add(new InstanceSnapshotRequest { InstanceId = seeded.InstanceIds[1], Region = East, ExcludeBootVolume = true });
        job.Add(new SnapshotCreateRequest { VolumeId = seeded.InstanceVolumeIds[seeded.InstanceIds[2]][0], Region = East });
        job.CompleteAdding();
        var outcome = Run(job);
        var stats = _ec2.GetStats();
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
    public void NoWaitThenWait_RoundTrip_AndWaitErrorsTimeoutAny()
    {
        SnapshotDuration = TimeSpan.FromSeconds(2);
        var volumes = SeedVolumes(East, 5);
        var failed = SeedSnapshot(East, state: "error", statusMessage: "broken");

        using var create = _engine.StartCreateJob(_clients, CreateOptions(o => o.NoWait = true), default);
        foreach (var v in volumes) create.Add(new SnapshotCreateRequest { VolumeId = v, Region = East });
        create.CompleteAdding();
        var created = Run(create);
        var createEnded = Now;
        Assert.All(created.Finished, f => Assert.Equal(SnapshotState.Pending, f.Result.State));
        // The job ended before the snapshots completed (the emulator's clock is the test's).
        Assert.True(createEnded < _ec2.GetStats().LastSnapshotEndTime, $"NoWait ended at {createEnded:O}, snapshots at {_ec2.GetStats().LastSnapshotEndTime:O}");

        using var wait = _engine.StartWaitJob(_clients, WaitOptions(), default);
        foreach (var f in created.Finished) wait.Add(f.Result.SnapshotId!, East);
        wait.Add(failed, East);
        wait.CompleteAdding();
        var waited = Run(wait);
        Log(waited, _ec2.GetStats());
        Assert.Equal(6, waited.Finished.Count);
        Assert.Equal(5, waited.Finished.Count(f => f.Result.State == SnapshotState.Completed && f.Result.VolumeId is not null));
        var error = waited.Finished.Single(f => f.Result.SnapshotId == failed);
        Assert.Equal(SnapshotState.Failed, error.Result.State);
        Assert.Equal("SnapshotFailed", error.Error!.ErrorId);
        Assert.Equal("broken", error.Result.StatusMessage);

        // Timeout on a long snapshot, and -Any on a short and a long one.
        var slow = SeedSnapshot(East, state: "pending", durationSeconds: 600);
        using var timed = _engine.StartWaitJob(_clients, WaitOptions(o => o.Timeout = TimeSpan.FromSeconds(1)), default);
        timed.Add(slow, East);
        timed.CompleteAdding();
        var timedStart = Now;
        var timedOutcome = Run(timed);
        var timedOut = Assert.Single(timedOutcome.Finished);
        Assert.Equal(SnapshotState.TimedOut, timedOut.Result.State);
        Assert.Equal(EngineErrorCategory.OperationTimeout, timedOut.Error!.Category);
        Assert.Equal(timedStart + TimeSpan.FromSeconds(1), timedOutcome.EndedAt); // exactly at the timeout

        using var any = _engine.StartWaitJob(_clients, WaitOptions(o => o.Any = true), default);
        any.Add(slow, East);
        any.Add(created.Finished[0].Result.SnapshotId!, East);
        any.CompleteAdding();
        var first = Assert.Single(Run(any).Finished);
        Assert.Equal(created.Finished[0].Result.SnapshotId, first.Result.SnapshotId);
    }

    [Fact]
    public void CopyNoWait_FinishesWhenTheLastCopyStarted_WindowStillApplies()
    {
        CopyDuration = TimeSpan.FromSeconds(1);
        var ids = SeedSnapshots(East, 30);
        var start = Now;

        using var job = _engine.StartCopyJob(_clients, new CopyJobOptions { NoWait = true, PollInterval = TimeSpan.FromMilliseconds(200), VisibilityGrace = TimeSpan.FromSeconds(3) }, default);
        foreach (var id in ids) job.Add(new SnapshotCopyRequest { SourceSnapshotId = id, SourceRegion = East, DestinationRegion = West });
        job.CompleteAdding();
        var outcome = Run(job);
        var stats = _ec2.GetStats();
        foreach (var m in outcome.Messages) output.WriteLine(m);

        Assert.Equal(30, outcome.Finished.Count);
        Assert.All(outcome.Finished, f => Assert.Equal(SnapshotState.Pending, f.Result.State));
        Assert.All(outcome.Finished, f => Assert.NotNull(f.Result.SnapshotId));
        Assert.True(stats.MaxPendingCopies.Values.Max() <= 20);
        Assert.Empty(stats.Errors.GetValueOrDefault("CopySnapshot") ?? new Dictionary<string, long>());
        // The last 10 waited for the first copies (1 s) to finish, but not for their own: in exact virtual time (it was:
        // 0.9 to 5 s of real time), the 21st starts only once the first copy has ended, and the job ends at the very
        // instant the last copy was accepted.
        var copies = Calls("CopySnapshot").OrderBy(c => c.At).ToList();
        Assert.Equal(30, copies.Count);
        Assert.True(copies[20].At >= copies[0].At + CopyDuration, $"the 21st started {copies[20].At - copies[0].At} after the first");
        Assert.Equal(copies[29].At, outcome.EndedAt);
        Assert.True(outcome.EndedAt < copies[29].At + CopyDuration);
        output.WriteLine($"ended after {(outcome.EndedAt - start).TotalSeconds:0.000} s of virtual time");
        Assert.Equal(0, _engine.View(_clients, West)!.WindowInUse);
    }

    [Fact]
    public void PendingSource_IsWaitedFor_ThenCopied_AndAnErroredOneFailsWithItsOwnError()
    {
        SnapshotDuration = TimeSpan.FromSeconds(3);
        CopyDuration = TimeSpan.FromSeconds(1);
        var volumes = SeedVolumes(East, 2);
        using var create = _engine.StartCreateJob(_clients, CreateOptions(o => o.NoWait = true), default);
        foreach (var v in volumes) create.Add(new SnapshotCreateRequest { VolumeId = v, Region = East });
        create.CompleteAdding();
        var pending = Run(create).Finished.Select(f => f.Result.SnapshotId!).ToList();
        var broken = SeedSnapshot(East, state: "error", statusMessage: "source broke");

        using var job = _engine.StartCopyJob(_clients, new CopyJobOptions { PollInterval = TimeSpan.FromMilliseconds(200), VisibilityGrace = TimeSpan.FromSeconds(1) }, default);
        foreach (var id in pending.Append(broken)) job.Add(new SnapshotCopyRequest { SourceSnapshotId = id, SourceRegion = East, DestinationRegion = West });
        job.CompleteAdding();
        var outcome = Run(job);

        Assert.All(pending, id => Assert.Equal(SnapshotState.Completed, outcome.FinishedFor(id).Result.State));
        var failed = outcome.FinishedFor(broken);
        Assert.Equal("SourceSnapshotFailed", failed.Error!.ErrorId);
        Assert.Contains("source broke", failed.Error.Message);
        // Waiting for the pending sources (3 s) took longer than the visibility grace (1 s): no short timeout.
        Assert.True(outcome.Elapsed > TimeSpan.FromSeconds(2));
        // And each was copied only once it had completed.
        var sourcesEnded = _ec2.GetStats().LastSnapshotEndTime!.Value;
        Assert.All(Calls("CopySnapshot"), c => Assert.True(c.At >= sourcesEnded));
    }
}
