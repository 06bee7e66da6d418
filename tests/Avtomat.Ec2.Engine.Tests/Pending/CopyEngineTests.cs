using System.IO;
using System.Net;
using Amazon.EC2.Model;
using Avtomat.Ec2.Engine.Copy;
using Avtomat.Ec2.Engine.Tests.Support;
using Microsoft.Extensions.Time.Testing;

namespace Avtomat.Ec2.Engine.Tests;

/// <summary>The engine in virtual time against an in-memory EC2.</summary>
[Collection(VirtualTimeCollection.Name)]
public sealed class CopyEngineTests : EngineTestBed
{
    /// <summary>Held like a job holds it, so the copy window can be looked at after a job.</summary>
    private readonly Accounts.AccountRegionLease _west;

    public CopyEngineTests()
    {
        _west = _engine.Lease(_clients, West);
    }

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

    private async Task<JobOutcome> RunAsync(IEnumerable<SnapshotCopyRequest> requests, CopyJobOptions? options = null,
        CancellationToken cancellationToken = default, Action<JobOutcome, DateTimeOffset>? onStep = null)
    {
        using var job = _engine.StartCopyJob(_clients, options ?? Options(), cancellationToken);
        foreach (var r in requests) job.Add(r);
        job.CompleteAdding();
        return await VirtualTime.RunAsync(job, _clock, onStep: onStep);
    }

    private static void AllCompleted(JobOutcome outcome, int count)
    {
        Assert.Equal(count, outcome.Finished.Count);
        Assert.All(outcome.Finished, f => Assert.Equal(SnapshotState.Completed, f.Result.State));
    }

    [Fact]
    public async Task Window_NeverExceeds20_RefillsOnFirstTickAfterACopyCompletes()
    {
        var ids = _ec2.SeedMany(East, 30);
        var start = _clock.GetUtcNow();

        var outcome = await RunAsync(ids.Select(id => Request(id)));

        AllCompleted(outcome, 30);
        Assert.Equal(20, _ec2.MaxPending[West]);
        var copies = _ec2.CallsOf("CopySnapshot").OrderBy(c => c.At).ToList();
        Assert.Equal(30, copies.Count);
        // The first 20 start at once (after the source check); the 21st on the first poll after the first copy completed.
        Assert.True(copies[19].At - start < TimeSpan.FromSeconds(1));
        var firstDone = copies[0].At + _ec2.CopyDuration;
        Assert.InRange(copies[20].At - firstDone, TimeSpan.Zero, TimeSpan.FromSeconds(1.3));
        Assert.Equal(20, _west.Shared.CopyWindow.Window);
        Assert.Equal(0, _west.Shared.CopyWindow.InUse);
        Assert.All(outcome.Finished, f => Assert.True(_clock.GetUtcNow().UtcDateTime >= f.Result.CompletionTime));
    }

    [Fact]
    public async Task ThrottleLimit_CapsTheJobPerDestination()
    {
        var ids = _ec2.SeedMany(East, 12);

        var outcome = await RunAsync(ids.Select(id => Request(id)), Options(o => o.ThrottleLimit = 5));

        AllCompleted(outcome, 12);
        Assert.Equal(5, _ec2.MaxPending[West]);
    }

    [Fact]
    public async Task TwoJobs_OnOneEngine_NeverExceed20Together()
    {
        var a = _ec2.SeedMany(East, 25);
        var b = _ec2.SeedMany(East, 25);
        using var jobA = _engine.StartCopyJob(_clients, Options(), default);
        using var jobB = _engine.StartCopyJob(_clients, Options(), default);
        foreach (var id in a) jobA.Add(Request(id));
        foreach (var id in b) jobB.Add(Request(id));
        jobA.CompleteAdding();
        jobB.CompleteAdding();

        var runA = VirtualTime.RunAsync(jobA, _clock);
        var outcomeB = new JobOutcome();
        while (!jobB.IsFinished) { while (jobB.TryTake(out var e, TimeSpan.Zero)) outcomeB.Events.Add(e!); await Task.Delay(2); if (runA.IsCompleted && !jobB.IsFinished) _clock.Advance(TimeSpan.FromMilliseconds(100)); }
        var outcomeA = await runA;

        AllCompleted(outcomeA, 25);
        AllCompleted(outcomeB, 25);
        Assert.Equal(20, _ec2.MaxPending[West]);
    }

    [Fact]
    public async Task Polling_IsOneDescribePerRegionPerTick_WithTheSnapshotIdFilter()
    {
        var ids = _ec2.SeedMany(East, 20);

        var outcome = await RunAsync(ids.Select(id => Request(id)));

        AllCompleted(outcome, 20);
        var polls = _ec2.CallsOf("DescribeSnapshots", West).Select(c => (Request: (DescribeSnapshotsRequest)c.Request, c.At))
            .Where(c => c.Request.Filters?.Any(f => f.Name == "snapshot-id") == true).ToList();
        Assert.All(polls, p => Assert.True(p.Request.SnapshotIds is null || p.Request.SnapshotIds.Count == 0));
        // Copies run 4 s: a fixed 1 s tick would poll 4-6 times; the schedule looks at 10 % of their age until one has
        // finished, then at their expected end: fewer polls, each for all 20 copies, at most one per tick.
        Assert.InRange(polls.Count, 1, 4);
        Assert.Equal(20, polls[0].Request.Filters.Single().Values.Count);
        Assert.Equal(polls.Count, polls.Select(p => p.At).Distinct().Count());
        // Sources were checked with one batched call.
        var sourceChecks = _ec2.CallsOf("DescribeSnapshots", East);
        Assert.Single(sourceChecks);
        Assert.Equal(20, ((DescribeSnapshotsRequest)sourceChecks[0].Request).Filters.Single(f => f.Name == "snapshot-id").Values.Count);
    }

    [Fact]
    public async Task ResourceLimitExceeded_FromCopiesElsewhere_RequeuesShrinksAndRegrows_NothingDropped()
    {
        var ids = _ec2.SeedMany(East, 30);
        var externalUntil = _clock.GetUtcNow() + TimeSpan.FromSeconds(15);
        _ec2.ExternalPending = _ => _clock.GetUtcNow() < externalUntil ? 15 : 0;

        var outcome = await RunAsync(ids.Select(id => Request(id)));

        AllCompleted(outcome, 30);
        Assert.True(outcome.Statistics.LimitExceeded > 0);
        Assert.Contains(outcome.Messages, m => m.Contains("limit of pending copies in us-west-2") && m.Contains("re-queued"));
        Assert.Equal(30, _ec2.Snapshots.Values.Count(s => s.IsCopy));
        Assert.True(_ec2.MaxPending[West] <= 20);
        var window = _west.Shared.CopyWindow;
        Assert.Equal(20, window.Window);
    }

    [Fact]
    public void CopyWindow_ShrinksToCopiesInFlight_ThenGrowsByOnePerFinishedCopy()
    {
        var window = new CopyWindow("test", 20);
        var slots = Enumerable.Range(0, 6).Select(_ => window.AcquireAsync(default).Result).ToList();
        slots[5].Release(SlotRelease.LimitExceeded);
        Assert.Equal(5, window.Window);
        var waiting = window.AcquireAsync(default);
        Assert.False(waiting.IsCompleted);
        slots[0].Release(SlotRelease.CopyFinished);
        Assert.Equal(6, window.Window);
        Assert.True(waiting.IsCompleted);
        Assert.Equal(5, window.InUse);
    }

    [Fact]
    public async Task LostResponse_AfterTheCopyWasMade_IsAdoptedByToken_ExactlyOneCopy()
    {
        var id = _ec2.Seed(East);
        var other = _ec2.Seed(East);
        _ec2.AfterCopy = (request, copy, n) => { if (n == 1) throw new IOException("connection reset"); };

        var outcome = await RunAsync([Request(id), Request(other)]);

        AllCompleted(outcome, 2);
        Assert.Single(_ec2.CopiesOf(id));
        Assert.Single(_ec2.CopiesOf(other));
        Assert.Equal(2, _ec2.CopyCalls);
        Assert.Equal(1, outcome.Statistics.UncertainOutcomes);
        Assert.Contains(outcome.Messages, m => m.Contains("by its request token"));
        var lost = outcome.Finished.Single(f => f.Result.SnapshotId == _ec2.CopiesOf(((CopySnapshotRequest)_ec2.CallsOf("CopySnapshot")[0].Request).SourceSnapshotId).Single().Id);
        Assert.NotNull(lost);
        Assert.Equal(2, outcome.Accepted.Count);
    }

    [Fact]
    public async Task Uncertain500_WithNothingCreated_IsRetriedWithTheSameToken()
    {
        var id = _ec2.Seed(East);
        _ec2.BeforeCopy = (request, n) => { if (n == 1) throw FakeEc2.Error("InternalError", HttpStatusCode.InternalServerError); };

        var outcome = await RunAsync([Request(id)]);

        AllCompleted(outcome, 1);
        Assert.Single(_ec2.CopiesOf(id));
        var tokens = _ec2.CallsOf("CopySnapshot").Select(c => ((CopySnapshotRequest)c.Request).TagSpecifications.Single().Tags
            .Single(t => t.Key == CopyTagNames.RequestToken).Value).ToList();
        Assert.Equal(2, tokens.Count);
        Assert.Equal(tokens[0], tokens[1]);
        // It looked for the token once (EC2's first answer decides) and sent again at once, instead of holding the slot
        // for the whole visibility grace; a copy that was made but not visible yet is removed later by the same token.
        var calls = _ec2.CallsOf("CopySnapshot");
        Assert.True(calls[1].At - calls[0].At < TimeSpan.FromSeconds(2), $"sent again after {calls[1].At - calls[0].At}");
        Assert.Single(_ec2.CallsOf("DescribeSnapshots", West), c => c.At >= calls[0].At && c.At <= calls[1].At
            && ((DescribeSnapshotsRequest)c.Request).Filters.Any(f => f.Name == "tag:" + CopyTagNames.RequestToken));
    }

    [Fact]
    public async Task DuplicatesFoundByToken_KeepTheOldest_DeleteTheOthers()
    {
        var id = _ec2.Seed(East);
        // The HTTP stack re-sent the request: two copies exist, and the client saw a failure.
        _ec2.AfterCopy = (request, copy, n) =>
        {
            if (n != 1) return;
            _clock.Advance(TimeSpan.FromMilliseconds(10));
            _ec2.Copy(FakeEc2.DefaultAccount, West, request);
            throw new IOException("connection closed");
        };

        var outcome = await RunAsync([Request(id)]);

        AllCompleted(outcome, 1);
        var remaining = Assert.Single(_ec2.CopiesOf(id));
        Assert.Equal(remaining.Id, outcome.Finished.Single().Result.SnapshotId);
        Assert.Equal(1, outcome.Statistics.DuplicatesRemoved);
        Assert.Single(_ec2.CallsOf("DeleteSnapshot"));
        Assert.Contains(outcome.Messages, m => m.Contains("Deleted duplicate copy"));
    }

    [Fact]
    public async Task SilentDuplicate_IsRemovedByTheFinalSweep()
    {
        var id = _ec2.Seed(East);
        // A re-send nobody noticed: the client got a normal answer for the second copy.
        _ec2.AfterCopy = (request, copy, n) => { if (n == 1) { _ec2.AfterCopy = null; _ec2.Copy(FakeEc2.DefaultAccount, West, request); } };

        var outcome = await RunAsync([Request(id)]);

        AllCompleted(outcome, 1);
        Assert.Single(_ec2.CopiesOf(id));
        Assert.Equal(1, outcome.Statistics.DuplicatesRemoved);
    }

    [Fact]
    public async Task NewCopyInvisibleForAWhile_IsWaitedForWithinTheGrace()
    {
        var id = _ec2.Seed(East);
        _ec2.OnCopyCreated = c => c.VisibleFrom = c.StartTime + TimeSpan.FromSeconds(3);

        var outcome = await RunAsync([Request(id)]);

        AllCompleted(outcome, 1);
    }

    [Fact]
    public async Task CopyInvisibleBeyondTheGrace_FailsWithItsId()
    {
        var id = _ec2.Seed(East);
        _ec2.OnCopyCreated = c => c.VisibleFrom = c.StartTime + TimeSpan.FromMinutes(5);

        var outcome = await RunAsync([Request(id)]);

        var finished = outcome.Finished.Single();
        Assert.Equal(SnapshotState.Failed, finished.Result.State);
        Assert.Equal("CopyNotVisible", finished.Error!.ErrorId);
        Assert.Equal(finished.Result.SnapshotId, finished.Error.TargetId);
        Assert.NotNull(finished.Result.SnapshotId);
    }

    [Fact]
    public async Task CopyEndingInError_Fails_WithStatusMessage_OthersComplete()
    {
        var ids = _ec2.SeedMany(East, 3);
        _ec2.OnCopyCreated = c => { if (c.SourceId == ids[1]) { c.FinalState = "error"; c.StatusMessage = "Given key ID is not accessible"; } };

        var outcome = await RunAsync(ids.Select(id => Request(id, r => r.KmsKeyId = "alias/gone")));

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
    public async Task BadSources_FailAlone_PendingSourceIsWaitedFor()
    {
        var good = _ec2.Seed(East);
        var broken = _ec2.Seed(East, state: "error", statusMessage: "broken");
        var outpost = _ec2.Seed(East, outpostArn: "arn:aws:outposts:us-east-1:123456789012:outpost/op-0123456789abcdef0");
        var pending = _ec2.Seed(East, state: "pending", completesIn: TimeSpan.FromSeconds(6));
        const string missing = "snap-0000000000000dead";

        var outcome = await RunAsync([Request(good), Request(broken), Request(outpost), Request(pending), Request(missing)]);

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
        Assert.Equal(2, _ec2.CopyCalls); // nothing was tried for the bad ones
        Assert.Contains(outcome.Messages, m => m.Contains(pending) && m.Contains("waiting for it to complete"));
        var pendingCopy = _ec2.CallsOf("CopySnapshot").Single(c => ((CopySnapshotRequest)c.Request).SourceSnapshotId == pending);
        Assert.True(pendingCopy.At - _ec2.Snapshots[pending].StartTime >= TimeSpan.FromSeconds(6));
    }

    [Fact]
    public async Task Timeout_UnfinishedRequestsTimeOut_AcceptedOnesKeepTheirNewId()
    {
        var ids = _ec2.SeedMany(East, 25);
        _ec2.CopyDuration = TimeSpan.FromMinutes(5);

        var outcome = await RunAsync(ids.Select(id => Request(id)), Options(o => o.Timeout = TimeSpan.FromSeconds(30)));

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
        Assert.True(_clock.GetUtcNow() - _ec2.Snapshots[ids[0]].StartTime < TimeSpan.FromSeconds(33));
    }

    [Fact]
    public async Task Cancellation_StopsPromptly_AcceptedCopiesKeepTheirIds_NoNewCopies()
    {
        var ids = _ec2.SeedMany(East, 25);
        using var cts = new CancellationTokenSource();
        var cancelAt = _clock.GetUtcNow() + TimeSpan.FromSeconds(3);

        var outcome = await RunAsync(ids.Select(id => Request(id)), cancellationToken: cts.Token,
            onStep: (_, now) => { if (now >= cancelAt) cts.Cancel(); });

        Assert.True(_clock.GetUtcNow() - cancelAt < TimeSpan.FromSeconds(1));
        Assert.Equal(25, outcome.Finished.Count);
        Assert.Equal(20, _ec2.CopyCalls);
        var accepted = outcome.Finished.Where(f => f.Result.SnapshotId is not null).ToList();
        Assert.Equal(20, accepted.Count);
        Assert.All(accepted, f => Assert.Equal(SnapshotState.Pending, f.Result.State));
        Assert.All(outcome.Finished, f => Assert.Equal("CopyStopped", f.Error!.ErrorId));
        Assert.Equal(0, _west.Shared.CopyWindow.InUse);
    }

    [Fact]
    public async Task ThrottledCopySnapshot_IsRetriedWithBackoff()
    {
        var id = _ec2.Seed(East);
        _ec2.BeforeCopy = (_, n) => { if (n <= 2) throw FakeEc2.Error("RequestLimitExceeded", HttpStatusCode.ServiceUnavailable, "Request limit exceeded."); };

        var outcome = await RunAsync([Request(id)]);

        AllCompleted(outcome, 1);
        Assert.Equal(2, outcome.Statistics.Throttled);
        Assert.Equal(2, outcome.Statistics.Retries);
        Assert.Equal(0, outcome.Statistics.UncertainOutcomes); // a throttle is a certain "not performed": no lookup
        var calls = _ec2.CallsOf("CopySnapshot");
        Assert.Equal(3, calls.Count);
        Assert.True(calls[1].At > calls[0].At && calls[2].At - calls[1].At > calls[1].At - calls[0].At - TimeSpan.FromSeconds(1));
        Assert.Single(_ec2.CopiesOf(id));
    }

    [Fact]
    public async Task DescribeFailures_DoNotAbortTheJob()
    {
        var id = _ec2.Seed(East);
        var failures = 0;
        // The polls fail (not the lookup of earlier copies, which retries on its own).
        _ec2.BeforeDescribe = (region, request) =>
        {
            if (region == West && request.Filters.Any(f => f.Name == "snapshot-id") && failures++ < 4)
                throw FakeEc2.Error("RequestLimitExceeded", HttpStatusCode.ServiceUnavailable);
        };

        var outcome = await RunAsync([Request(id)]);

        AllCompleted(outcome, 1);
        Assert.Contains(outcome.Messages, m => m.Contains("trying again on the next poll"));
    }

    [Fact]
    public async Task DryRun_ReportsDryRun_CopiesNothing()
    {
        var id = _ec2.Seed(East);

        var outcome = await RunAsync([Request(id)], Options(o => o.DryRun = true));

        var finished = outcome.Finished.Single();
        Assert.Equal(SnapshotState.DryRun, finished.Result.State);
        Assert.Null(finished.Error);
        Assert.Empty(_ec2.CopiesOf(id));
        Assert.True(((CopySnapshotRequest)_ec2.CallsOf("CopySnapshot").Single().Request).DryRun);
        Assert.Empty(outcome.Accepted);
    }

    [Fact]
    public async Task DryRun_Unauthorized_IsAccessDenied()
    {
        var id = _ec2.Seed(East);
        _ec2.BeforeCopy = (_, _) => throw FakeEc2.Error("UnauthorizedOperation", HttpStatusCode.Forbidden, "You are not authorized to perform this operation.");

        var outcome = await RunAsync([Request(id, r => r.Encrypted = true)], Options(o => o.DryRun = true));

        var error = outcome.Finished.Single().Error!;
        Assert.Equal("AccessDenied", error.ErrorId);
        Assert.Equal(EngineErrorCategory.PermissionDenied, error.Category);
        Assert.Equal("UnauthorizedOperation", error.AwsErrorCode);
        Assert.Contains("ec2:CopySnapshot", error.RecommendedAction);
        Assert.Contains("kms:", error.RecommendedAction);
        Assert.Equal(id, error.TargetId);
    }

    [Fact]
    public async Task OtherEc2Errors_FailTheRequest_WithTheCode()
    {
        var id = _ec2.Seed(East);
        _ec2.BeforeCopy = (_, _) => throw FakeEc2.Error("InvalidParameterValue", message: "bad key");

        var outcome = await RunAsync([Request(id)]);

        var finished = outcome.Finished.Single();
        Assert.Equal(SnapshotState.Failed, finished.Result.State);
        Assert.Equal("InvalidParameterValue", finished.Error!.AwsErrorCode);
        Assert.Equal(EngineErrorCategory.InvalidArgument, finished.Error.Category);
        Assert.Equal(1, _ec2.CopyCalls);
        Assert.Equal(0, _west.Shared.CopyWindow.InUse);
    }

    [Fact]
    public async Task DescriptionTemplate_Tags_CopyTags_Encryption_AreSent()
    {
        var id = _ec2.Seed(East, description: "nightly db", encrypted: true,
            tags: new() { ["Name"] = "db", ["Owner"] = "ops", ["aws:backup:source-resource"] = "x" });

        var outcome = await RunAsync([Request(id, r =>
        {
            r.DescriptionTemplate = "{SourceDescription} ({SourceSnapshotId} from {SourceRegion})";
            r.CopyTags = true;
            r.Tags = new Dictionary<string, string> { ["Name"] = "db-copy", ["Team"] = "a" };
        })]);

        AllCompleted(outcome, 1);
        var sent = (CopySnapshotRequest)_ec2.CallsOf("CopySnapshot").Single().Request;
        Assert.Equal($"nightly db ({id} from us-east-1)", sent.Description);
        Assert.Equal(East, sent.SourceRegion);
        Assert.Null(sent.Encrypted); // not asked for: EC2 encrypts the copy of an encrypted source anyway
        var tags = sent.TagSpecifications.Single();
        Assert.Equal("snapshot", tags.ResourceType.Value);
        var map = tags.Tags.ToDictionary(t => t.Key, t => t.Value);
        Assert.Equal("db-copy", map["Name"]);
        Assert.Equal("ops", map["Owner"]);
        Assert.Equal("a", map["Team"]);
        Assert.DoesNotContain(map.Keys, k => k.StartsWith("aws:"));
        Assert.Equal(id, map[CopyTagNames.SourceSnapshotId]);
        Assert.Equal(East, map[CopyTagNames.SourceRegion]);
        Assert.True(Guid.TryParse(map[CopyTagNames.RequestToken], out _));
        var result = outcome.Finished.Single().Result;
        Assert.True(result.Encrypted);
        Assert.Equal(map, result.Tags);
        Assert.Contains(outcome.Messages, m => m.Contains("is encrypted"));
    }

    [Fact]
    public async Task EncryptedWithKey_SendsEncryptedAndKey()
    {
        var id = _ec2.Seed(East);

        await RunAsync([Request(id, r => { r.Encrypted = true; r.KmsKeyId = "alias/mine"; r.CompletionDurationMinutes = 15; })]);

        var sent = (CopySnapshotRequest)_ec2.CallsOf("CopySnapshot").Single().Request;
        Assert.True(sent.Encrypted);
        Assert.Equal("alias/mine", sent.KmsKeyId);
        Assert.Equal(15, sent.CompletionDurationMinutes);
    }

    [Fact]
    public async Task Events_AcceptedAtOnce_ProgressAndEstimate()
    {
        var ids = _ec2.SeedMany(East, 30);
        using var job = _engine.StartCopyJob(_clients, Options(), default);
        foreach (var id in ids) job.Add(Request(id));
        job.CompleteAdding();
        var samples = new List<RegionProgress>();

        var outcome = await VirtualTime.RunAsync(job, _clock, onStep: (_, _) => samples.Add(job.GetProgress().Single()));

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
    public async Task SameSourceToTwoDestinations_CheckedOnce_CopiedTwice()
    {
        var id = _ec2.Seed(East);

        var outcome = await RunAsync([Request(id), Request(id, r => r.DestinationRegion = "eu-west-1")]);

        AllCompleted(outcome, 2);
        Assert.Single(_ec2.CallsOf("DescribeSnapshots", East));
        Assert.Equal(2, _ec2.CopiesOf(id).Count);
        Assert.Equal(2, outcome.ProgressSamples.Last().Count);
    }

    [Fact]
    public void AddAfterCompleteAdding_Throws_AndAnEmptyJobFinishes()
    {
        using var job = _engine.StartCopyJob(_clients, Options(), default);
        job.CompleteAdding();
        Assert.Throws<InvalidOperationException>(() => job.Add(Request("snap-1")));
        var deadline = DateTime.UtcNow.AddSeconds(5);
        while (!job.IsFinished && DateTime.UtcNow < deadline) job.TryTake(out _, TimeSpan.FromMilliseconds(20));
        Assert.True(job.IsFinished);
    }
}
