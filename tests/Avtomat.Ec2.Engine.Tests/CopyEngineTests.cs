using Amazon.EC2.Model;
using Avtomat.Ec2.Emulator;
using Avtomat.Ec2.Engine.Copy;
using Avtomat.Ec2.Engine.Scheduling;
using Avtomat.Ec2.Engine.Tests.Support;

namespace Avtomat.Ec2.Engine.Tests;

/// <summary>Copy jobs in exact virtual time against the emulator (its limits, buckets and lifecycles, in process).</summary>
public sealed class CopyEngineTests : EngineTestBed
{
    private static CopyJobOptions Options(Action<CopyJobOptions>? configure = null)
    {
        var o = new CopyJobOptions { PollInterval = TimeSpan.FromSeconds(1), VisibilityGrace = TimeSpan.FromSeconds(5) };
        configure?.Invoke(o);
        return o;
    }

    private static SnapshotCopyRequest Request(string id, Action<SnapshotCopyRequest>? configure = null)
    {
        var r = new SnapshotCopyRequest { SourceSnapshotId = id, SourceRegion = East, DestinationRegion = West };
        configure?.Invoke(r);
        return r;
    }

    private JobOutcome Run(IEnumerable<SnapshotCopyRequest> requests, CopyJobOptions? options = null,
        CancellationToken cancellationToken = default, Action<JobOutcome, DateTimeOffset>? onInstant = null)
    {
        using var job = _engine.StartCopyJob(_clients, options ?? Options(), cancellationToken);
        foreach (var r in requests) job.Add(r);
        job.CompleteAdding();
        return Run(job, onInstant: onInstant);
    }

    private static void AllCompleted(JobOutcome outcome, int count)
    {
        Assert.Equal(count, outcome.Finished.Count);
        Assert.All(outcome.Finished, f => Assert.Equal(SnapshotState.Completed, f.Result.State));
    }

    /// <summary>The copies of <paramref name="sourceId"/> the account holds in <paramref name="region"/> now.</summary>
    private List<Snapshot> CopiesOf(string sourceId, string region = West) =>
        OwnSnapshots(region).Where(s => s.Tags?.Any(t => t.Key == CopyTagNames.SourceSnapshotId && t.Value == sourceId) == true).ToList();

    private SchedulerView WestView => _engine.View(_clients, West)!;

    [Fact]
    public void Window_NeverExceeds20_RefillsWhenTheFirstCopyIsSeenCompleted()
    {
        var ids = SeedSnapshots(East, 30);
        var start = Now;

        var outcome = Run(ids.Select(id => Request(id)));

        AllCompleted(outcome, 30);
        Assert.Equal(20, MaxPendingCopies(West));
        var copies = Calls("CopySnapshot").OrderBy(c => c.At).ToList();
        Assert.Equal(30, copies.Count);
        // The first 20 start at once (after the source check and the look for earlier copies); the 21st on the first
        // look after the first copy completed (nothing is learned about durations yet: a tenth of the age, at most 1 s).
        Assert.True(copies[19].At - start < TimeSpan.FromSeconds(1));
        var firstDone = copies[0].At + CopyDuration;
        Assert.InRange(copies[20].At - firstDone, TimeSpan.Zero, TimeSpan.FromSeconds(1.3));
        Assert.Equal(20, WestView.Window);
        Assert.Equal(0, WestView.WindowInUse);
        Assert.All(outcome.Finished, f => Assert.True(Now.UtcDateTime >= f.Result.CompletionTime));
    }

    [Fact]
    public void ThrottleLimit_CapsTheJobPerDestination()
    {
        var ids = SeedSnapshots(East, 12);

        var outcome = Run(ids.Select(id => Request(id)), Options(o => o.ThrottleLimit = 5));

        AllCompleted(outcome, 12);
        Assert.Equal(5, MaxPendingCopies(West));
    }

    [Fact]
    public void TwoJobs_OnOneEngine_NeverExceed20Together()
    {
        var a = SeedSnapshots(East, 25);
        var b = SeedSnapshots(East, 25);
        using var jobA = _engine.StartCopyJob(_clients, Options(), default);
        using var jobB = _engine.StartCopyJob(Clients(AccessKey), Options(), default); // another source, same account
        foreach (var id in a) jobA.Add(Request(id));
        foreach (var id in b) jobB.Add(Request(id));
        jobA.CompleteAdding();
        jobB.CompleteAdding();

        RunAll([jobA, jobB]);

        AllCompleted(Outcome(jobA), 25);
        AllCompleted(Outcome(jobB), 25);
        Assert.Equal(20, MaxPendingCopies(West));
    }

    [Fact]
    public void Polling_IsOneDescribePerLook_WithTheSourceTagFilter_NeverSnapshotIdN()
    {
        var ids = SeedSnapshots(East, 20);

        var outcome = Run(ids.Select(id => Request(id)));

        AllCompleted(outcome, 20);
        // Running copies are followed by their source tag (Owner self): the same call finds copies other runs made.
        var polls = Calls("DescribeSnapshots", West).Where(c => c.FilterValues("tag:" + CopyTagNames.SourceSnapshotId).Count > 0).ToList();
        Assert.All(polls, p => Assert.Empty(p.GetList("SnapshotId")));
        Assert.All(polls, p => Assert.Equal(["self"], p.GetList("Owner")));
        // Copies run 4 s: a fixed 1 s tick would look 4-6 times; with nothing learned the looks come at a tenth of the
        // copies' age (at least 1 s apart): fewer looks, each for all 20 copies, one per instant. (The first of these
        // calls is the look for earlier copies, before any copy started.)
        Assert.InRange(polls.Count, 2, 5);
        Assert.All(polls, p => Assert.Equal(20, p.FilterValues("tag:" + CopyTagNames.SourceSnapshotId).Count));
        Assert.Equal(polls.Count, polls.Select(p => p.At).Distinct().Count());
        // Sources were checked with one batched call.
        var sourceChecks = Calls("DescribeSnapshots", East);
        Assert.Single(sourceChecks);
        Assert.Equal(20, sourceChecks[0].FilterValues("snapshot-id").Count);
    }

    [Fact]
    public void ResourceLimitExceeded_FromCopiesElsewhere_RequeuesShrinksAndRegrows_NothingDropped()
    {
        var ids = SeedSnapshots(East, 30);
        // Someone else in the account holds 15 copies to us-west-2 for 15 s.
        var others = SeedSnapshots(East, 15);
        _ec2.Seed(new SeedRequest { Region = West, Snapshots = 15, State = "pending", DurationSeconds = 15, SourceRegion = East, SourceSnapshotId = others[0] });

        var outcome = Run(ids.Select(id => Request(id)));

        AllCompleted(outcome, 30);
        Assert.True(outcome.Statistics.LimitExceeded > 0);
        Assert.Contains(outcome.Messages, m => m.Contains("limit of pending copies in us-west-2") && m.Contains("re-queued"));
        Assert.Equal(30, _ec2.GetStats().CopiesPerDestination.GetValueOrDefault($"{AccountId}/{West}"));
        Assert.True(MaxPendingCopies(West) <= 20);
        Assert.Equal(20, WestView.Window);
    }

    [Fact]
    public void CopyWindow_ShrinksToCopiesInFlight_ThenGrowsByOnePerFinishedCopy()
    {
        var window = new CopyWindow(20);
        for (var i = 0; i < 6; i++) window.Take();
        window.Release(SlotRelease.LimitExceeded, waiting: true);
        Assert.Equal(5, window.Current);
        Assert.False(window.HasRoom);
        window.Release(SlotRelease.CopyFinished, waiting: true);
        Assert.Equal(6, window.Current);
        Assert.True(window.HasRoom);
        Assert.Equal(4, window.InUse);
        // Nobody holds or waits for a slot: the window is back at EC2's limit.
        for (var i = 0; i < 4; i++) window.Release(SlotRelease.Unused, waiting: false);
        Assert.Equal(20, window.Current);
    }

    [Fact]
    public void LostResponse_AfterTheCopyWasMade_IsAdoptedByToken_ExactlyOneCopy()
    {
        var id = SeedSnapshot(East);
        var other = SeedSnapshot(East);
        Intercept = call => call is { Action: "CopySnapshot", Stage: CallStage.AfterAction, ActionCallNumber: 1 } ? CallDecision.Drop() : null;

        var outcome = Run([Request(id), Request(other)]);

        AllCompleted(outcome, 2);
        Assert.Single(CopiesOf(id));
        Assert.Single(CopiesOf(other));
        Assert.Equal(2, Calls("CopySnapshot").Count);
        Assert.Equal(1, outcome.Statistics.UncertainOutcomes);
        Assert.Contains(outcome.Messages, m => m.Contains("by its request token"));
        var lostSource = Calls("CopySnapshot")[0].Get("SourceSnapshotId")!;
        Assert.Equal(CopiesOf(lostSource).Single().SnapshotId, outcome.FinishedFor(lostSource).Result.SnapshotId);
        Assert.Equal(2, outcome.Accepted.Count);
    }

    [Fact]
    public void Uncertain500_WithNothingCreated_IsRetriedWithTheSameToken()
    {
        var id = SeedSnapshot(East);
        Intercept = call => call is { Action: "CopySnapshot", Stage: CallStage.BeforeAction, ActionCallNumber: 1 } ? CallDecision.InternalError() : null;

        var outcome = Run([Request(id)]);

        AllCompleted(outcome, 1);
        Assert.Single(CopiesOf(id));
        var calls = Calls("CopySnapshot");
        var tokens = calls.Select(c => c.TagsFor()[CopyTagNames.RequestToken]).ToList();
        Assert.Equal(2, tokens.Count);
        Assert.Equal(tokens[0], tokens[1]);
        // It looked for the token once (EC2's first answer decides) and sent again at once, instead of holding the slot
        // for the whole visibility grace; a copy that was made but not visible yet is removed later by the same token.
        Assert.True(calls[1].At - calls[0].At < TimeSpan.FromSeconds(2), $"sent again after {calls[1].At - calls[0].At}");
        Assert.Single(Calls("DescribeSnapshots", West), c => c.At >= calls[0].At && c.At <= calls[1].At
            && c.FilterValues("tag:" + CopyTagNames.RequestToken).Count > 0);
    }

    [Fact]
    public void DuplicatesFoundByToken_KeepTheOldest_DeleteTheOthers()
    {
        var id = SeedSnapshot(East);
        // The HTTP stack re-sent the request: two copies exist, and the client saw a failure.
        Intercept = call =>
        {
            if (call is not { Action: "CopySnapshot", Stage: CallStage.AfterAction, ActionCallNumber: 1 }) return null;
            _ec2.Duplicate(call.CreatedSnapshotIds.Single());
            return CallDecision.Drop();
        };

        var outcome = Run([Request(id)]);

        AllCompleted(outcome, 1);
        var remaining = Assert.Single(CopiesOf(id));
        Assert.Equal(remaining.SnapshotId, outcome.Finished.Single().Result.SnapshotId);
        Assert.Equal(1, outcome.Statistics.DuplicatesRemoved);
        Assert.Single(Calls("DeleteSnapshot"));
        Assert.Contains(outcome.Messages, m => m.Contains("Deleted duplicate copy"));
    }

    [Fact]
    public void SilentDuplicate_IsRemoved()
    {
        var id = SeedSnapshot(East);
        // A re-send nobody noticed: the client got a normal answer for the first copy.
        Intercept = call =>
        {
            if (call is { Action: "CopySnapshot", Stage: CallStage.AfterAction, ActionCallNumber: 1 }) _ec2.Duplicate(call.CreatedSnapshotIds.Single());
            return null;
        };

        var outcome = Run([Request(id)]);

        AllCompleted(outcome, 1);
        Assert.Equal(outcome.Finished.Single().Result.SnapshotId, Assert.Single(CopiesOf(id)).SnapshotId);
        Assert.Equal(1, outcome.Statistics.DuplicatesRemoved);
    }

    [Fact]
    public void NewCopyInvisibleForAWhile_IsWaitedForWithinTheGrace()
    {
        var id = SeedSnapshot(East);
        Shape = info => info.IsCopy ? new SnapshotShape { DurationSeconds = CopyDuration.TotalSeconds, InvisibleSeconds = 3 } : null;

        var outcome = Run([Request(id)]);

        AllCompleted(outcome, 1);
    }

    [Fact]
    /// <summary>EC2 accepted it and never said it failed: its outcome is not known (Pending, with the error), not Failed.</summary>
    public void CopyInvisibleBeyondTheGrace_EndsPendingWithItsId_NotFailed()
    {
        var id = SeedSnapshot(East);
        Shape = info => info.IsCopy ? new SnapshotShape { DurationSeconds = CopyDuration.TotalSeconds, InvisibleSeconds = 300 } : null;

        var outcome = Run([Request(id)]);

        var finished = outcome.Finished.Single();
        Assert.Equal(SnapshotState.Pending, finished.Result.State);
        Assert.Equal("CopyNotVisible", finished.Error!.ErrorId);
        Assert.Equal(finished.Result.SnapshotId, finished.Error.TargetId);
        Assert.NotNull(finished.Result.SnapshotId);
    }

    [Fact]
    public void CopyEndingInError_Fails_WithStatusMessage_OthersComplete()
    {
        var ids = SeedSnapshots(East, 3);
        Shape = info => info.IsCopy && info.SourceSnapshotId == ids[1] ? SnapshotShape.Fails(CopyDuration.TotalSeconds, "Given key ID is not accessible") : null;

        var outcome = Run(ids.Select(id => Request(id, r => { r.Encrypted = true; r.KmsKeyId = "alias/gone"; })));

        var failed = outcome.FinishedFor(ids[1]);
        Assert.Equal(SnapshotState.Failed, failed.Result.State);
        Assert.Equal("Given key ID is not accessible", failed.Result.StatusMessage);
        Assert.Equal("SnapshotCopyFailed", failed.Error!.ErrorId);
        Assert.Equal(EngineErrorCategory.InvalidResult, failed.Error.Category);
        Assert.Equal(failed.Result.SnapshotId, failed.Error.TargetId);
        Assert.Contains("kms:", failed.Error.RecommendedAction);
        Assert.Equal(SnapshotState.Completed, outcome.FinishedFor(ids[0]).Result.State);
        Assert.Equal(SnapshotState.Completed, outcome.FinishedFor(ids[2]).Result.State);
    }

    [Fact]
    public void BadSources_FailAlone_PendingSourceIsWaitedFor()
    {
        var good = SeedSnapshot(East);
        var broken = SeedSnapshot(East, state: "error", statusMessage: "broken");
        var outpost = SeedSnapshot(East, outpostArn: "arn:aws:outposts:us-east-1:123456789012:outpost/op-0123456789abcdef0");
        var pending = SeedSnapshot(East, state: "pending", durationSeconds: 6);
        var pendingStart = Now;
        const string missing = "snap-0000000000000dead";

        var outcome = Run([Request(good), Request(broken), Request(outpost), Request(pending), Request(missing)]);

        Assert.Equal(5, outcome.Finished.Count);
        var notFound = outcome.FinishedFor(missing);
        Assert.Equal("SnapshotNotFound", notFound.Error!.ErrorId);
        Assert.Equal(EngineErrorCategory.ObjectNotFound, notFound.Error.Category);
        Assert.Equal(missing, notFound.Error.TargetId);
        Assert.Null(notFound.Result.SnapshotId);
        Assert.Equal("SourceSnapshotFailed", outcome.FinishedFor(broken).Error!.ErrorId);
        Assert.Equal(EngineErrorCategory.InvalidOperation, outcome.FinishedFor(outpost).Error!.Category);
        Assert.Equal(SnapshotState.Completed, outcome.FinishedFor(good).Result.State);
        Assert.Equal(SnapshotState.Completed, outcome.FinishedFor(pending).Result.State);
        Assert.Equal(2, Calls("CopySnapshot").Count); // nothing was tried for the bad ones
        Assert.Contains(outcome.Messages, m => m.Contains(pending) && m.Contains("waiting for it to complete"));
        var pendingCopy = Calls("CopySnapshot").Single(c => c.Get("SourceSnapshotId") == pending);
        Assert.True(pendingCopy.At - pendingStart >= TimeSpan.FromSeconds(6));
    }

    [Fact]
    public void Timeout_UnfinishedRequestsTimeOut_AcceptedOnesKeepTheirNewId()
    {
        var ids = SeedSnapshots(East, 25);
        CopyDuration = TimeSpan.FromMinutes(5);
        var start = Now;

        var outcome = Run(ids.Select(id => Request(id)), Options(o => o.Timeout = TimeSpan.FromSeconds(30)));

        Assert.Equal(25, outcome.Finished.Count);
        Assert.All(outcome.Finished, f =>
        {
            Assert.Equal(SnapshotState.TimedOut, f.Result.State);
            Assert.Equal("CopyTimedOut", f.Error!.ErrorId);
            Assert.Equal(EngineErrorCategory.OperationTimeout, f.Error.Category);
        });
        var started = outcome.Finished.Where(f => f.Result.SnapshotId is not null).ToList();
        Assert.Equal(20, started.Count);
        Assert.All(started, f => Assert.Equal(f.Result.SnapshotId, f.Error!.TargetId));
        Assert.All(outcome.Finished.Where(f => f.Result.SnapshotId is null), f => Assert.Contains("not started", f.Error!.Message));
        // The timeout ends the job at 30 s, not later.
        Assert.Equal(TimeSpan.FromSeconds(30), outcome.EndedAt - start);
    }

    [Fact]
    public void Cancellation_StopsAtOnce_AcceptedCopiesKeepTheirIds_NoNewCopies()
    {
        var ids = SeedSnapshots(East, 25);
        using var cts = new CancellationTokenSource();
        var cancelAt = Now + TimeSpan.FromSeconds(3);

        // Ctrl+C at 3 s of virtual time.
        using var press = _clock.CreateTimer(_ => cts.Cancel(), null, cancelAt - Now, Timeout.InfiniteTimeSpan);

        var outcome = Run(ids.Select(id => Request(id)), cancellationToken: cts.Token);

        // Stopped at once: the job ended at the instant of the stop.
        Assert.Equal(cancelAt, Now);
        Assert.Equal(25, outcome.Finished.Count);
        Assert.Equal(20, Calls("CopySnapshot").Count);
        var accepted = outcome.Finished.Where(f => f.Result.SnapshotId is not null).ToList();
        Assert.Equal(20, accepted.Count);
        Assert.All(accepted, f => Assert.Equal(SnapshotState.Pending, f.Result.State));
        Assert.All(outcome.Finished, f => Assert.Equal("CopyStopped", f.Error!.ErrorId));
        Assert.Equal(0, WestView.WindowInUse);
    }

    [Fact]
    public void ThrottledCopySnapshot_IsRetriedWithBackoff()
    {
        var id = SeedSnapshot(East);
        Intercept = call => call is { Action: "CopySnapshot", Stage: CallStage.BeforeAction, ActionCallNumber: <= 2 } ? CallDecision.Throttle() : null;

        var outcome = Run([Request(id)]);

        AllCompleted(outcome, 1);
        Assert.Equal(2, outcome.Statistics.Throttled);
        Assert.Equal(2, outcome.Statistics.Retries);
        Assert.Equal(0, outcome.Statistics.UncertainOutcomes); // a throttle is a certain "not performed": no lookup
        var calls = Calls("CopySnapshot");
        Assert.Equal(3, calls.Count);
        // Backed off (equal jitter: at least half of 1 s, then of 2 s), growing.
        Assert.InRange(calls[1].At - calls[0].At, TimeSpan.FromSeconds(0.5), TimeSpan.FromSeconds(1));
        Assert.InRange(calls[2].At - calls[1].At, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(2));
        Assert.Single(CopiesOf(id));
    }

    [Fact]
    public void DescribeFailures_DoNotAbortTheJob()
    {
        var id = SeedSnapshot(East);
        // The polls of the running copy fail four times (not the first look, for earlier copies).
        Intercept = call => call is { Action: "DescribeSnapshots", Region: West, Stage: CallStage.BeforeAction, ActionCallNumber: >= 3 and <= 6 }
            ? CallDecision.Throttle() : null;

        var outcome = Run([Request(id)]);

        AllCompleted(outcome, 1);
        Assert.Contains(outcome.Messages, m => m.Contains("DescribeSnapshots in us-west-2 failed") && m.Contains("trying again"));
    }

    [Fact]
    public void DryRun_ReportsDryRun_CopiesNothing()
    {
        var id = SeedSnapshot(East);

        var outcome = Run([Request(id)], Options(o => o.DryRun = true));

        var finished = outcome.Finished.Single();
        Assert.Equal(SnapshotState.DryRun, finished.Result.State);
        Assert.Null(finished.Error);
        Assert.Empty(CopiesOf(id));
        Assert.Equal("true", Calls("CopySnapshot").Single().Get("DryRun"));
        Assert.Empty(outcome.Accepted);
    }

    [Fact]
    public void DryRun_Unauthorized_IsAccessDenied()
    {
        var id = SeedSnapshot(East);
        Intercept = call => call is { Action: "CopySnapshot", Stage: CallStage.BeforeAction }
            ? CallDecision.Error("UnauthorizedOperation", 403, "You are not authorized to perform this operation.") : null;

        var outcome = Run([Request(id, r => r.Encrypted = true)], Options(o => o.DryRun = true));

        var error = outcome.Finished.Single().Error!;
        Assert.Equal("AccessDenied", error.ErrorId);
        Assert.Equal(EngineErrorCategory.PermissionDenied, error.Category);
        Assert.Equal("UnauthorizedOperation", error.AwsErrorCode);
        Assert.Contains("ec2:CopySnapshot", error.RecommendedAction);
        Assert.Contains("kms:", error.RecommendedAction);
        Assert.Equal(id, error.TargetId);
    }

    [Fact]
    public void OtherEc2Errors_FailTheRequest_WithTheCode()
    {
        var id = SeedSnapshot(East);
        Intercept = call => call is { Action: "CopySnapshot", Stage: CallStage.BeforeAction } ? CallDecision.Error("InvalidParameterValue", 400, "bad key") : null;

        var outcome = Run([Request(id)]);

        var finished = outcome.Finished.Single();
        Assert.Equal(SnapshotState.Failed, finished.Result.State);
        Assert.Equal("InvalidParameterValue", finished.Error!.AwsErrorCode);
        Assert.Equal(EngineErrorCategory.InvalidArgument, finished.Error.Category);
        Assert.Single(Calls("CopySnapshot"));
        Assert.Equal(0, WestView.WindowInUse);
    }

    [Fact]
    public void DescriptionTemplate_Tags_CopyTags_Encryption_AreSent()
    {
        var id = SeedSnapshot(East, description: "nightly db", encrypted: true,
            tags: new() { ["Name"] = "db", ["Owner"] = "ops", ["aws:backup:source-resource"] = "x" });

        var outcome = Run([Request(id, r =>
        {
            r.DescriptionTemplate = "{SourceDescription} ({SourceSnapshotId} from {SourceRegion})";
            r.CopyTags = true;
            r.Tags = new Dictionary<string, string> { ["Name"] = "db-copy", ["Team"] = "a" };
        })]);

        AllCompleted(outcome, 1);
        var sent = Calls("CopySnapshot").Single();
        Assert.Equal($"nightly db ({id} from us-east-1)", sent.Get("Description"));
        Assert.Equal(East, sent.Get("SourceRegion"));
        Assert.Null(sent.Get("Encrypted")); // not asked for: EC2 encrypts the copy of an encrypted source anyway
        var spec = sent.TagSpecifications.Single();
        Assert.Equal("snapshot", spec.ResourceType);
        var map = spec.Tags;
        Assert.Equal("db-copy", map["Name"]);
        Assert.Equal("ops", map["Owner"]);
        Assert.Equal("a", map["Team"]);
        Assert.DoesNotContain(map.Keys, k => k.StartsWith("aws:"));
        Assert.Equal(id, map[CopyTagNames.SourceSnapshotId]);
        Assert.Equal(East, map[CopyTagNames.SourceRegion]);
        Assert.True(Guid.TryParse(map[CopyTagNames.RequestToken], out _));
        var result = outcome.Finished.Single().Result;
        Assert.True(result.Encrypted);
        Assert.Equal(map.OrderBy(p => p.Key), result.Tags.OrderBy(p => p.Key));
        Assert.Contains(outcome.Messages, m => m.Contains("is encrypted"));
    }

    [Fact]
    public void EncryptedWithKey_SendsEncryptedAndKey()
    {
        var id = SeedSnapshot(East);

        Run([Request(id, r => { r.Encrypted = true; r.KmsKeyId = "alias/mine"; r.CompletionDurationMinutes = 15; })]);

        var sent = Calls("CopySnapshot").Single();
        Assert.Equal("true", sent.Get("Encrypted"));
        Assert.Equal("alias/mine", sent.Get("KmsKeyId"));
        Assert.Equal("15", sent.Get("CompletionDurationMinutes"));
    }

    [Fact]
    public void Events_AcceptedAtOnce_ProgressAndEstimate()
    {
        var ids = SeedSnapshots(East, 30);
        using var job = _engine.StartCopyJob(_clients, Options(), default);
        foreach (var id in ids) job.Add(Request(id));
        job.CompleteAdding();
        var samples = new List<RegionProgress>();

        var outcome = Run(job, onInstant: (_, _) => samples.Add(job.GetProgress().Single()));

        AllCompleted(outcome, 30);
        Assert.Equal(30, outcome.Accepted.Count);
        // Each accepted event comes before its finished event.
        foreach (var f in outcome.Finished)
            Assert.True(outcome.Events.IndexOf(outcome.Accepted.Single(a => a.Request == f.Request)) < outcome.Events.IndexOf(f));
        var mid = samples.First(s => s.Completed > 0 && s.InProgress > 0);
        Assert.Equal(30, mid.Total);
        Assert.Equal(mid.Total, mid.Queued + mid.InProgress + mid.Completed + mid.Failed);
        Assert.Equal(mid.InProgress, mid.InFlight.Count);
        Assert.NotNull(mid.EstimatedRemaining);
        Assert.Contains(samples, s => s.PercentComplete > 0 && s.Completed == 0); // partial progress counts
        Assert.True(samples.Select(s => s.PercentComplete).Zip(samples.Skip(1).Select(s => s.PercentComplete)).All(p => p.Second >= p.First - 0.001));
        var last = outcome.ProgressSamples.Last().Single();
        Assert.Equal(100, last.PercentComplete, 3);
        Assert.Equal(TimeSpan.Zero, last.EstimatedRemaining);
        Assert.Contains(outcome.Messages, m => m.StartsWith("us-west-2: 30 copied, 0 failed, 0 timed out of 30"));
    }

    [Fact]
    public void SameSourceToTwoDestinations_CheckedOnce_CopiedTwice()
    {
        var id = SeedSnapshot(East);

        var outcome = Run([Request(id), Request(id, r => r.DestinationRegion = "eu-west-1")]);

        AllCompleted(outcome, 2);
        Assert.Single(Calls("DescribeSnapshots", East));
        Assert.Single(CopiesOf(id, West));
        Assert.Single(CopiesOf(id, "eu-west-1"));
        Assert.Equal(2, outcome.ProgressSamples.Last().Count);
    }

    [Fact]
    public void AddAfterCompleteAdding_Throws_AndAnEmptyJobFinishes()
    {
        using var job = _engine.StartCopyJob(_clients, Options(), default);
        job.CompleteAdding();
        Assert.Throws<InvalidOperationException>(() => job.Add(Request("snap-1")));
        Run(job);
        Assert.True(job.IsFinished);
    }
}
