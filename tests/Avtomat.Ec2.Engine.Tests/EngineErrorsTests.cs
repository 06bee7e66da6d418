using Avtomat.Ec2.Emulator;
using Avtomat.Ec2.Engine.Copy;
using Avtomat.Ec2.Engine.Tests.Support;
using Xunit.Abstractions;

namespace Avtomat.Ec2.Engine.Tests;

/// <summary>Issue 19's engine errors, in exact virtual time against the emulator: a missing source is found in a few
/// calls and is SnapshotNotFound whatever -Timeout is; a source deleted after its check is named in its own region; a
/// copy EC2 started is never reported Failed because the credentials expired; an EC2 error code the engine does not
/// know has its own id.</summary>
public sealed class EngineErrorsTests(ITestOutputHelper output) : EngineTestBed
{
    private const string Missing = "snap-0000000000000dead";

    /// <summary>The defaults Copy-AvSnapshot runs with (grace 30 s, floor 1 s).</summary>
    private static CopyJobOptions Defaults(Action<CopyJobOptions>? configure = null)
    {
        var o = new CopyJobOptions();
        configure?.Invoke(o);
        return o;
    }

    private static SnapshotCopyRequest Copy(string id) => new() { SourceSnapshotId = id, SourceRegion = East, DestinationRegion = West };

    private JobOutcome RunCopies(IEnumerable<SnapshotCopyRequest> requests, CopyJobOptions options)
    {
        using var job = _engine.StartCopyJob(_clients, options, default);
        foreach (var r in requests) job.Add(r);
        job.CompleteAdding();
        return Run(job);
    }

    private static string MissingId(int i) => $"snap-{i + 1:x17}";

    // ------------------------------------------------------------------ 1. a missing source

    /// <summary>Before: 31 DescribeSnapshots and 30 s for one missing source (the grace looked at every second), the same
    /// 31 for 20 (one call per second took all 20). Now the grace looks at growing intervals, all missing sources in one
    /// call: 7 calls, still 30 s (a snapshot just created or shared is given the whole grace).</summary>
    [Theory]
    [InlineData(1)]
    [InlineData(20)]
    public void MissingSources_AreNotFound_AfterTheGrace_InAFewBatchedCalls(int count)
    {
        var start = Now;
        var outcome = RunCopies(Enumerable.Range(0, count).Select(i => Copy(MissingId(i))), Defaults());

        var describes = Calls("DescribeSnapshots", East).Count;
        output.WriteLine($"{count} missing: {describes} DescribeSnapshots in {East}, SnapshotNotFound after {(outcome.EndedAt - start).TotalSeconds:0.0} s");
        Assert.Equal(count, outcome.Finished.Count);
        Assert.All(outcome.Finished, f =>
        {
            Assert.Equal(SnapshotState.Failed, f.Result.State);
            Assert.Equal("SnapshotNotFound", f.Error!.ErrorId);
            Assert.Equal(f.Request!.SourceSnapshotId, f.Error.TargetId);
        });
        // The whole grace (30 s) is given, and not much more.
        Assert.InRange(outcome.EndedAt - start, TimeSpan.FromSeconds(30), TimeSpan.FromSeconds(31));
        // First look, then at 1, 2, 4, 8 and 16 s missing, and when the grace is over: 7 calls whatever the count.
        Assert.InRange(describes, 1, 7);
        Assert.Equal(0, Calls("CopySnapshot").Count);
    }

    /// <summary>A source that becomes visible late (a snapshot just shared or created) is still found within the grace.</summary>
    [Fact]
    public void ASourceListedLate_WithinTheGrace_IsCopied()
    {
        // Just created (New-AvSnapshot -NoWait | Copy-AvSnapshot): EC2 does not list it for its first 10 s.
        Shape = info => info.IsCopy ? null : new SnapshotShape { DurationSeconds = 1, InvisibleSeconds = 10 };
        var volume = SeedVolumes(East, 1)[0];
        var id = _clients.For(East).CreateSnapshotAsync(new Amazon.EC2.Model.CreateSnapshotRequest { VolumeId = volume }).GetAwaiter().GetResult().Snapshot.SnapshotId;
        var listedFrom = Now + TimeSpan.FromSeconds(10);

        var outcome = RunCopies([Copy(id)], Defaults());

        Assert.Equal(SnapshotState.Completed, Assert.Single(outcome.Finished).Result.State);
        // Looked at 0.1, ~1, ~2, ~4, ~8 (unlisted) and ~16 s (listed): found at most 8 s after it became visible.
        var copied = Calls("CopySnapshot").Single().At;
        Assert.InRange(copied - listedFrom, TimeSpan.Zero, TimeSpan.FromSeconds(8));
    }

    /// <summary>Before: with -Timeout 30 or less a missing source ended TimedOut with CopyTimedOut "was not started within
    /// the timeout". Now it is SnapshotNotFound, saying it was not visible within the time given.</summary>
    [Theory]
    [InlineData(10)]
    [InlineData(30)]
    public void AMissingSource_WithAShortTimeout_IsSnapshotNotFound_NotATimeout(int timeoutSeconds)
    {
        var good = SeedSnapshot(East);
        CopyDuration = TimeSpan.FromMinutes(10);
        var outcome = RunCopies([Copy(Missing), Copy(good)], Defaults(o => o.Timeout = TimeSpan.FromSeconds(timeoutSeconds)));

        var notFound = outcome.FinishedFor(Missing);
        output.WriteLine($"-Timeout {timeoutSeconds}: {notFound.Error!.ErrorId} ({notFound.Result.State}): {notFound.Error.Message} / {notFound.Error.RecommendedAction}");
        Assert.Equal("SnapshotNotFound", notFound.Error!.ErrorId);
        Assert.Equal(SnapshotState.Failed, notFound.Result.State);
        Assert.Equal(EngineErrorCategory.ObjectNotFound, notFound.Error.Category);
        Assert.Equal(Missing, notFound.Error.TargetId);
        Assert.Contains($"within the {timeoutSeconds} s given", notFound.Error.Message);
        Assert.Contains(East, notFound.Error.Message);
        Assert.Contains("-Timeout", notFound.Error.RecommendedAction);
        // The copy that was running really timed out.
        var running = outcome.FinishedFor(good);
        Assert.Equal(SnapshotState.TimedOut, running.Result.State);
        Assert.Equal("CopyTimedOut", running.Error!.ErrorId);
    }

    // ------------------------------------------------------------------ 2. a source deleted after its check

    /// <summary>Before: "The snapshot 'snap-…' does not exist in us-west-2" (the destination). Now its own region, and that
    /// it was listed when checked.</summary>
    [Fact]
    public void ASourceDeletedAfterItsCheck_IsNotFound_InItsOwnRegion()
    {
        var id = SeedSnapshot(East);
        var deleted = false;
        // Deleted by someone else between the check and the CopySnapshot (EC2 then answers InvalidSnapshot.NotFound).
        Intercept = call =>
        {
            if (call is { Action: "CopySnapshot", Stage: CallStage.BeforeAction } && !deleted)
            {
                deleted = true;
                return CallDecision.Error("InvalidSnapshot.NotFound", 400, $"The snapshot '{id}' does not exist.");
            }
            return null;
        };

        var outcome = RunCopies([Copy(id)], Defaults());

        var error = Assert.Single(outcome.Finished).Error!;
        output.WriteLine($"{error.ErrorId}: {error.Message} / {error.RecommendedAction}");
        Assert.Equal("SnapshotNotFound", error.ErrorId);
        Assert.Equal(EngineErrorCategory.ObjectNotFound, error.Category);
        Assert.Equal(id, error.TargetId);
        Assert.Equal("InvalidSnapshot.NotFound", error.AwsErrorCode);
        Assert.Contains($"does not exist in {East}", error.Message);
        Assert.DoesNotContain($"in {West} or", error.Message);
        Assert.Contains($"Get-EC2Snapshot -SnapshotId {id} -Region {East}", error.RecommendedAction);
    }

    // ------------------------------------------------------------------ 3. credentials expire while copies run

    /// <summary>Before: the 20 copies EC2 had started (and went on to complete) were reported Failed. Now their outcome is
    /// not known: Pending with the credentials error, and the same command run again with fresh credentials resumes
    /// them (it finds them by their provenance tags) without copying again.</summary>
    [Fact]
    public void CredentialsExpiring_WhileCopiesRun_ReportsTheStartedOnesPending_AndARunAgainResumesThem()
    {
        CopyDuration = TimeSpan.FromSeconds(60);
        var ids = SeedSnapshots(East, 25);
        using var job = _engine.StartCopyJob(_clients, Defaults(o => o.VisibilityGrace = TimeSpan.FromSeconds(5)), default);
        foreach (var id in ids) job.Add(Copy(id));
        job.CompleteAdding();
        var expired = false;
        var outcome = Run(job, onInstant: (_, _) =>
        {
            if (!expired && job.GetProgress().Single().InProgress >= 20)
            {
                _ec2.Config.Credentials.ExpiredAccessKeys.Add(AccessKey);
                expired = true;
            }
        });

        Assert.True(expired);
        Assert.Equal(25, outcome.Finished.Count);
        var started = outcome.Finished.Where(f => f.Result.SnapshotId is not null).ToList();
        var notStarted = outcome.Finished.Where(f => f.Result.SnapshotId is null).ToList();
        output.WriteLine($"started {started.Count}: {string.Join(", ", started.Select(f => f.Result.State).Distinct())}; " +
                         $"not started {notStarted.Count}: {string.Join(", ", notStarted.Select(f => f.Result.State).Distinct())}");
        Assert.Equal(20, started.Count);
        Assert.All(started, f =>
        {
            Assert.Equal(SnapshotState.Pending, f.Result.State);
            Assert.Equal("CredentialsExpired", f.Error!.ErrorId);
            Assert.Equal(f.Result.SnapshotId, f.Error.TargetId);
            Assert.Null(f.Result.CompletionTime);
            Assert.Contains("may still complete", f.Error.Message);
        });
        Assert.All(notStarted, f =>
        {
            Assert.Equal(SnapshotState.Failed, f.Result.State);
            Assert.Equal("CredentialsExpired", f.Error!.ErrorId);
        });
        // One warning for the region, naming the copies that may still complete and how to resume them.
        var warning = Assert.Single(outcome.Warnings);
        output.WriteLine(warning);
        Assert.Contains("may still complete", warning);
        Assert.All(started, f => Assert.Contains(f.Result.SnapshotId!, warning));
        Assert.Contains("run the same command again", warning, StringComparison.OrdinalIgnoreCase);
        // The job's summary counts them as not known, not as stopped (nobody stopped the job).
        var summary = Assert.Single(outcome.Messages, m => m.StartsWith($"{West}: ", StringComparison.Ordinal));
        Assert.Contains("5 failed", summary);
        Assert.Contains("20 started but not known", summary);
        Assert.DoesNotContain("stopped", summary);

        // EC2 completes them; the same command with fresh credentials resumes: no new copy of the 20.
        _ec2.Config.Credentials.ExpiredAccessKeys.Remove(AccessKey);
        var copiesBefore = Calls("CopySnapshot").Count(c => c.Succeeded);
        var again = RunCopies(ids.Select(Copy), Defaults(o => o.VisibilityGrace = TimeSpan.FromSeconds(5)));
        Assert.All(again.Finished, f => Assert.Equal(SnapshotState.Completed, f.Result.State));
        Assert.All(started, f => Assert.Equal(f.Result.SnapshotId, again.FinishedFor(f.Request!.SourceSnapshotId).Result.SnapshotId));
        Assert.Equal(notStarted.Count, Calls("CopySnapshot").Count(c => c.Succeeded) - copiesBefore);
    }

    /// <summary>The same for an endpoint that stops answering after the copies were started: EndpointUnreachable, Pending.</summary>
    [Fact]
    public void AnEndpointUnreachable_AfterCopiesStarted_LeavesThemPending_NotFailed()
    {
        CopyDuration = TimeSpan.FromMinutes(10);
        var ids = SeedSnapshots(East, 3);
        var cutAt = Now + TimeSpan.FromSeconds(10);
        var clients = new UnreachableClients(_clients, _clock)
        {
            Refuse = (_, region) => region == West && _clock.GetUtcNow() >= cutAt ? UnreachableClients.ConnectionRefused() : null,
        };
        using var job = _engine.StartCopyJob(clients, Defaults(o => o.UnreachableAfter = TimeSpan.FromSeconds(60)), default);
        foreach (var id in ids) job.Add(Copy(id));
        job.CompleteAdding();

        var outcome = Run(job);

        Assert.Equal(3, outcome.Accepted.Count);
        Assert.All(outcome.Finished, f =>
        {
            Assert.Equal(SnapshotState.Pending, f.Result.State);
            Assert.Equal("EndpointUnreachable", f.Error!.ErrorId);
            Assert.Contains("may still complete", f.Error.Message);
            Assert.Contains("run the same command again", f.Error.RecommendedAction);
        });
    }

    /// <summary>A copy EC2 reports in error is still Failed after a credentials failure elsewhere: only EC2 says Failed.</summary>
    [Fact]
    public void ACopyInError_IsStillFailed()
    {
        var id = SeedSnapshot(East);
        Shape = info => info.IsCopy ? SnapshotShape.Fails(CopyDuration.TotalSeconds, "internal failure") : null;
        var outcome = RunCopies([Copy(id)], Defaults());
        var f = Assert.Single(outcome.Finished);
        Assert.Equal(SnapshotState.Failed, f.Result.State);
        Assert.Equal("SnapshotCopyFailed", f.Error!.ErrorId);
    }

    // ------------------------------------------------------------------ 4. an EC2 error code the engine does not know

    /// <summary>Before: DescribeSnapshotsFailed (a 4xx) or SnapshotCopyRejected without a hint; now Ec2RequestFailed with
    /// EC2's code, message and request id.</summary>
    [Theory]
    [InlineData("DescribeSnapshots", 400, EngineErrorCategory.InvalidOperation)]
    [InlineData("CopySnapshot", 400, EngineErrorCategory.InvalidOperation)]
    public void AnUnknownEc2ErrorCode_IsEc2RequestFailed_WithTheCodeMessageAndRequestId(string action, int status, EngineErrorCategory category)
    {
        var id = SeedSnapshot(East);
        Intercept = call => call.Action == action && call.Stage == CallStage.BeforeAction
            ? CallDecision.Error("Brand.NewError", status, "Something EC2 started saying this year.")
            : null;

        var outcome = RunCopies([Copy(id)], Defaults());

        var error = Assert.Single(outcome.Finished).Error!;
        output.WriteLine($"{error.ErrorId} {error.Category}: {error.Message} / {error.RecommendedAction}");
        Assert.Equal("Ec2RequestFailed", error.ErrorId);
        Assert.Equal(category, error.Category);
        Assert.Equal("Brand.NewError", error.AwsErrorCode);
        Assert.Contains("Brand.NewError", error.Message);
        Assert.Contains("Brand.NewError: Something EC2 started saying this year", error.Message);
        Assert.Contains("request id", error.Message);
        Assert.Equal(id, error.TargetId);
        Assert.False(string.IsNullOrEmpty(error.RecommendedAction));
    }

    /// <summary>A 5xx EC2 keeps answering (here a dry run's CopySnapshot, retried, then given up) is ResourceUnavailable,
    /// with the request id to give AWS Support.</summary>
    [Fact]
    public void AServerErrorThatEndsAnItem_IsEc2RequestFailed_ResourceUnavailable()
    {
        var id = SeedSnapshot(East);
        Intercept = call => call is { Action: "CopySnapshot", Stage: CallStage.BeforeAction }
            ? CallDecision.Error("Brand.NewServerError", 500, "Something broke on EC2's side.")
            : null;
        // No SDK retries (they wait in real time): the engine's own retries run in virtual time.
        using var job = _engine.StartCopyJob(Clients(AccessKey, maxErrorRetry: 0), Defaults(o => { o.DryRun = true; o.MaxRetries = 1; }), default);
        job.Add(Copy(id));
        job.CompleteAdding();
        var outcome = Run(job);

        var error = Assert.Single(outcome.Finished).Error!;
        output.WriteLine($"{error.ErrorId} {error.Category}: {error.Message} / {error.RecommendedAction}");
        Assert.Equal("Ec2RequestFailed", error.ErrorId);
        Assert.Equal(EngineErrorCategory.ResourceUnavailable, error.Category);
        Assert.Equal("Brand.NewServerError", error.AwsErrorCode);
        Assert.Contains("HTTP 500", error.Message);
        Assert.Contains("AWS Support", error.RecommendedAction);
    }

    /// <summary>Codes the engine knows keep their own errors; only the others are Ec2RequestFailed.</summary>
    [Theory]
    [InlineData("InvalidParameterValue", "SnapshotCopyRejected")]
    [InlineData("UnauthorizedOperation", "AccessDenied")]
    [InlineData("InvalidSnapshot.NotFound", "SnapshotNotFound")]
    [InlineData("SomethingElse", "Ec2RequestFailed")]
    public void KnownCodesKeepTheirErrors(string code, string errorId)
    {
        var exception = new Amazon.EC2.AmazonEC2Exception("m", Amazon.Runtime.ErrorType.Sender, code, "req-1", System.Net.HttpStatusCode.BadRequest);
        Assert.Equal(errorId, EngineErrors.CopyRejected("snap-1", West, exception, false, East).ErrorId);
    }
}
