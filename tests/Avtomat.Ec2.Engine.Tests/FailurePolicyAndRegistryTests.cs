using System.Net;
using Amazon.EC2;
using Amazon.Runtime;
using Avtomat.Ec2.Emulator;
using Avtomat.Ec2.Engine.Copy;
using Avtomat.Ec2.Engine.Create;
using Avtomat.Ec2.Engine.Internal;
using Avtomat.Ec2.Engine.Tests.Support;
using Avtomat.Ec2.Engine.Waiting;

namespace Avtomat.Ec2.Engine.Tests;

/// <summary>The failure policy (permanent failures end the items of an account and region instead of waiting for
/// ever), the schedulers the engine keeps per account and region, and the copy window's recovery — in exact virtual time
/// against the emulator.</summary>
public sealed class FailurePolicyAndRegistryTests : EngineTestBed
{
    private static readonly TimeSpan Poll = TimeSpan.FromSeconds(1);
    private const string OtherAccessKey = "AKIDOTHERACCOUNT0001";
    private const string OtherAccount = "222222222222";

    protected override void Configure(EmulatorOptions options) => options.Accounts[OtherAccessKey] = OtherAccount;

    private static CopyJobOptions CopyOptions(Action<CopyJobOptions>? configure = null)
    {
        var o = new CopyJobOptions { PollInterval = Poll, VisibilityGrace = TimeSpan.FromSeconds(5) };
        configure?.Invoke(o);
        return o;
    }

    private static SnapshotCopyRequest Copy(string id) => new() { SourceSnapshotId = id, SourceRegion = East, DestinationRegion = West };

    private JobOutcome RunCopies(IEnumerable<SnapshotCopyRequest> requests, CopyJobOptions? options = null, InProcessClients? clients = null)
    {
        using var job = _engine.StartCopyJob(clients ?? _clients, options ?? CopyOptions(), default);
        foreach (var r in requests) job.Add(r);
        job.CompleteAdding();
        return Run(job);
    }

    /// <summary>An EC2 error as the SDK raises it.</summary>
    private static AmazonEC2Exception Ec2Error(string code, HttpStatusCode status = HttpStatusCode.BadRequest, string message = "") =>
        new(message, status >= HttpStatusCode.InternalServerError ? ErrorType.Receiver : ErrorType.Sender, code, "req-1", status);

    /// <summary>From <paramref name="at"/> on, every DescribeSnapshots (with <paramref name="accessKey"/>, or anyone's) fails
    /// with <paramref name="code"/>: what EC2 answers once a session token expired, or a permission was removed.</summary>
    private void DescribeFailsFrom(DateTimeOffset at, string code, string? accessKey = null) =>
        Intercept = call => call is { Action: "DescribeSnapshots", Stage: CallStage.BeforeAction } && call.At >= at
                            && (accessKey is null || call.AccessKeyId == accessKey)
            ? CallDecision.Error(code, 400, "Request has expired.")
            : null;

    /// <summary>The first DescribeSnapshots the emulator answered with <paramref name="code"/>.</summary>
    private DateTimeOffset FirstRefusal(string code) => Calls("DescribeSnapshots").Where(c => c.ErrorCode == code).Min(c => c.At);

    [Theory]
    [InlineData("RequestExpired")]
    [InlineData("ExpiredToken")]
    public void ExpiredCredentials_DuringCopies_EndEveryItemWithinAFewPolls_AndFreeTheWindow(string code)
    {
        CopyDuration = TimeSpan.FromMinutes(30);
        var ids = SeedSnapshots(East, 30);
        var expiry = Now + TimeSpan.FromSeconds(10);
        DescribeFailsFrom(expiry, code);

        var outcome = RunCopies(ids.Select(Copy));

        // 20 copies were accepted before the expiry, 10 waited for a slot: all 30 end, none waits for the copies.
        Assert.Equal(20, outcome.Accepted.Count);
        Assert.Equal(30, outcome.Finished.Count);
        Assert.All(outcome.Finished, f =>
        {
            // A copy EC2 started may still complete: not known (Pending), never Failed; one never started failed.
            Assert.Equal(f.Result.SnapshotId is null ? SnapshotState.Failed : SnapshotState.Pending, f.Result.State);
            Assert.Equal("CredentialsExpired", f.Error!.ErrorId);
            Assert.Equal(EngineErrorCategory.AuthenticationError, f.Error.Category);
            Assert.Equal(f.Result.SnapshotId ?? f.Result.SourceSnapshotId, f.Error.TargetId);
        });
        // Copies EC2 accepted keep running there: no completion time, and the id is kept.
        Assert.All(outcome.Finished.Where(f => f.Result.SnapshotId is not null), f => Assert.Null(f.Result.CompletionTime));
        // The job ended at the instant of the first refused poll (no retry of a refusal), and that poll came within a few
        // poll intervals of the expiry.
        var refused = FirstRefusal(code);
        Assert.Equal(refused, outcome.EndedAt);
        Assert.True(outcome.Elapsed <= TimeSpan.FromSeconds(10) + 3 * Poll, $"ended after {outcome.Elapsed}");
        Assert.Equal(0, _engine.View(_clients, West)!.WindowInUse);
        // One warning for the region, naming what to do; no copy was started after the expiry.
        var warning = Assert.Single(outcome.Events.OfType<EngineMessageEvent>(), m => m.Level == MessageLevel.Warning);
        Assert.Contains("credentials expired", warning.Message);
        Assert.Contains("role_arn", warning.Message);
        Assert.Equal(20, Calls("CopySnapshot").Count);
    }

    [Fact]
    public void ExpiredCredentials_DuringCreates_EndEveryItemWithinAFewPolls()
    {
        SnapshotDuration = TimeSpan.FromMinutes(30);
        var volumes = SeedVolumes(East, 6);
        var expiry = Now + TimeSpan.FromSeconds(10);
        DescribeFailsFrom(expiry, "RequestExpired");

        using var job = _engine.StartCreateJob(_clients, new CreateJobOptions { PollInterval = Poll, VisibilityGrace = TimeSpan.FromSeconds(5) }, default);
        foreach (var v in volumes) job.Add(new SnapshotCreateRequest { VolumeId = v, Region = East });
        job.CompleteAdding();
        var outcome = Run(job);

        Assert.Equal(6, outcome.Accepted.Count);
        Assert.Equal(6, outcome.Finished.Count);
        Assert.All(outcome.Finished, f =>
        {
            // Started in EC2: they may still complete (Pending, not known), never Failed.
            Assert.Equal(SnapshotState.Pending, f.Result.State);
            Assert.Equal("CredentialsExpired", f.Error!.ErrorId);
            Assert.Equal(f.Result.SnapshotId, f.Error.TargetId);
            Assert.Contains("Wait-AvSnapshot", f.Error.RecommendedAction);
        });
        Assert.Equal(FirstRefusal("RequestExpired"), outcome.EndedAt);
        Assert.True(outcome.EndedAt - expiry <= 3 * Poll, $"ended {outcome.EndedAt - expiry} after the expiry");
        Assert.Single(outcome.Warnings);
    }

    [Fact]
    public void ExpiredCredentials_DuringAWait_EndEveryWatch_AndWaitsInOtherAccountsGoOn()
    {
        var mine = SeedSnapshots(East, 5, state: "pending", durationSeconds: 30 * 60);
        var theirs = SeedSnapshots(East, 1, state: "pending", durationSeconds: 20, accessKey: OtherAccessKey)[0];
        var expiry = Now + TimeSpan.FromSeconds(5);
        // Only this job's credentials expire: the other account's job still works.
        DescribeFailsFrom(expiry, "RequestExpired", AccessKey);
        using var other = _engine.StartWaitJob(Clients(OtherAccessKey), new WaitJobOptions { PollInterval = Poll }, default);
        other.Add(theirs, East);
        other.CompleteAdding();
        using var job = _engine.StartWaitJob(_clients, new WaitJobOptions { PollInterval = Poll }, default);
        foreach (var id in mine) job.Add(id, East);
        job.CompleteAdding();

        var outcome = Run(job);
        var otherOutcome = Run(other);

        Assert.Equal(5, outcome.Finished.Count);
        Assert.All(outcome.Finished, f => Assert.Equal("CredentialsExpired", f.Error!.ErrorId));
        Assert.Equal(FirstRefusal("RequestExpired"), outcome.EndedAt);
        Assert.True(outcome.EndedAt - expiry <= 3 * Poll, $"ended {outcome.EndedAt - expiry} after the expiry");
        Assert.Equal(SnapshotState.Completed, Assert.Single(otherOutcome.Finished).Result.State);
        // The other account's calls were never refused.
        Assert.All(Calls("DescribeSnapshots").Where(c => c.Account == OtherAccount), c => Assert.Null(c.ErrorCode));
    }

    [Fact]
    public void NotAuthorizedToDescribe_FailsTheCopiesAtOnce_WithAccessDenied_InsteadOfRetryingForEver()
    {
        var ids = SeedSnapshots(East, 3);
        Intercept = call => call is { Action: "DescribeSnapshots", Stage: CallStage.BeforeAction }
            ? CallDecision.Error("UnauthorizedOperation", 403, "You are not authorized to perform this operation.")
            : null;

        var outcome = RunCopies(ids.Select(Copy));

        Assert.Equal(3, outcome.Finished.Count);
        Assert.All(outcome.Finished, f =>
        {
            Assert.Equal("AccessDenied", f.Error!.ErrorId);
            Assert.Contains("ec2:DescribeSnapshots", f.Error.RecommendedAction);
        });
        // Changed: the old engine checked the sources first and looked for earlier copies only then, so a refusal meant a
        // single DescribeSnapshots. The scheduler looks for earlier copies in the destination while the sources are
        // checked (on purpose: one round trip less per copy), so each region is asked once — and never again.
        Assert.Single(Calls("DescribeSnapshots", East));
        Assert.Single(Calls("DescribeSnapshots", West));
        Assert.Empty(Calls("CopySnapshot"));
        Assert.Equal(Calls("DescribeSnapshots").Max(c => c.At), outcome.EndedAt);
        Assert.True(outcome.Elapsed < TimeSpan.FromSeconds(2));
    }

    [Fact]
    public void RegionNotEnabled_OnCopySnapshot_EndsEveryCopyToThatRegion_OthersGoOn()
    {
        const string OptIn = "ap-east-1";
        var ids = SeedSnapshots(East, 4);
        Intercept = call => call is { Action: "CopySnapshot", Region: OptIn, Stage: CallStage.BeforeAction }
            ? CallDecision.Error("OptInRequired", 401, "You are not subscribed to this service.")
            : null;
        // One copy at a time per destination, so the order is known: the first refusal ends the region.
        var requests = ids.SelectMany(id => new[]
        {
            new SnapshotCopyRequest { SourceSnapshotId = id, SourceRegion = East, DestinationRegion = OptIn, DescriptionTemplate = "opt-in {SourceSnapshotId}" },
            Copy(id),
        });

        var outcome = RunCopies(requests, CopyOptions(o => o.ThrottleLimit = 1));

        var closed = outcome.Finished.Where(f => f.Request!.DestinationRegion == OptIn).ToList();
        Assert.Equal(4, closed.Count);
        Assert.All(closed, f => Assert.Equal("RegionNotEnabled", f.Error!.ErrorId));
        var others = outcome.Finished.Where(f => f.Request!.DestinationRegion == West).ToList();
        Assert.Equal(4, others.Count);
        Assert.All(others, f => Assert.Equal(SnapshotState.Completed, f.Result.State));
        // No other copy was tried there.
        Assert.Single(Calls("CopySnapshot", OptIn));
    }

    [Theory]
    [InlineData("RequestLimitExceeded", "CopySnapshot", "Retry")]
    [InlineData("RequestLimitExceeded", "DescribeSnapshots", "Retry")]
    [InlineData("InternalError", "DescribeSnapshots", "Retry")]
    [InlineData("InternalError", "CopySnapshot", "LookUpToken")]
    [InlineData("InternalError", "CreateSnapshots", "LookUpToken")]
    [InlineData("ResourceLimitExceeded", "CopySnapshot", "WaitForCapacity")]
    [InlineData("ConcurrentSnapshotLimitExceeded", "CreateSnapshot", "WaitForCapacity")]
    [InlineData("SnapshotCreationPerVolumeRateExceeded", "CreateSnapshot", "WaitForCapacity")]
    [InlineData("DryRunOperation", "CopySnapshot", "DryRunSucceeded")]
    [InlineData("RequestExpired", "DescribeSnapshots", "FailAccountRegion")]
    [InlineData("ExpiredToken", "CopySnapshot", "FailAccountRegion")]
    [InlineData("AuthFailure", "CreateSnapshot", "FailAccountRegion")]
    [InlineData("OptInRequired", "CopySnapshot", "FailAccountRegion")]
    [InlineData("UnauthorizedOperation", "DescribeSnapshots", "FailAccountRegion")]
    [InlineData("UnauthorizedOperation", "DescribeVolumes", "FailAccountRegion")]
    [InlineData("UnauthorizedOperation", "CopySnapshot", "FailItem")]
    [InlineData("InvalidSnapshot.NotFound", "CopySnapshot", "FailItem")]
    [InlineData("InvalidParameterValue", "DescribeSnapshots", "FailItem")]
    public void Policy_MapsCodesAndCallsToActions(string code, string action, string expected)
    {
        var status = code == "InternalError" ? HttpStatusCode.InternalServerError : HttpStatusCode.BadRequest;
        Assert.Equal(expected, FailurePolicy.Decide(Ec2Error(code, status), action).ToString());
    }

    [Fact]
    public void Policy_TransportFailures_AreRetriedWhenIdempotent_AndLookedUpWhenTheyCreate()
    {
        var reset = new IOException("The connection was reset.");
        Assert.Equal(FailureAction.Retry, FailurePolicy.Decide(reset, "DescribeSnapshots"));
        Assert.Equal(FailureAction.LookUpToken, FailurePolicy.Decide(reset, "CopySnapshot"));
        Assert.Equal(FailureAction.LookUpToken, FailurePolicy.Decide(new TaskCanceledException("HTTP timeout"), "CreateSnapshot"));
        Assert.Equal(FailureAction.FailItem, FailurePolicy.Decide(new InvalidOperationException("a bug"), "DescribeSnapshots"));
    }

    // ------------------------------------------------------------------ windows and the registry

    /// <summary>Someone else in the account holds <paramref name="count"/> copies to us-west-2 for
    /// <paramref name="seconds"/> (copies without the module's tags: our lookups never list them, they only count against
    /// EC2's 20).</summary>
    private void OutsideCopies(int count, double seconds)
    {
        var theirSource = SeedSnapshot(East);
        _ec2.Seed(new SeedRequest { Region = West, Snapshots = count, State = "pending", DurationSeconds = seconds, SourceRegion = East, SourceSnapshotId = theirSource });
    }

    /// <summary>The most copies made by <paramref name="calls"/> that were pending at once (each takes exactly
    /// <paramref name="duration"/>).</summary>
    private static int MaxOverlap(IEnumerable<CallInfo> calls, TimeSpan duration)
    {
        var starts = calls.Where(c => c.Succeeded && c.CreatedSnapshotIds.Count > 0).Select(c => c.At).OrderBy(t => t).ToList();
        return starts.Count == 0 ? 0 : starts.Max(t => starts.Count(s => s <= t && s + duration > t));
    }

    [Fact]
    public void WindowShrunkByAnOutsideLimit_IsBackAt20_ForTheNextJob()
    {
        CopyDuration = TimeSpan.FromSeconds(20);
        var start = Now;
        // Changed set-up: FakeEc2's ExternalPending (18 for as long as the test said) is 18 copies seeded in the emulator
        // that end at 200 s; the first job ends well before, and the clock is moved past their end before the second.
        OutsideCopies(18, 200);
        var firstSources = SeedSnapshots(East, 4);
        var outcome = RunCopies(firstSources.Select(Copy));
        AllCompleted(outcome, 4);
        Assert.True(outcome.Statistics.LimitExceeded > 0);
        Assert.True(outcome.EndedAt < start + TimeSpan.FromSeconds(200), $"the first job ended at {outcome.EndedAt - start}");
        Assert.Equal(0, _engine.AccountRegionsInUse); // nothing uses it (its scheduler is kept, detached)
        Assert.Equal(20, _engine.View(_clients, West)!.Window); // nobody holds or waits for a slot: back at EC2's limit
        AdvanceTo(start + TimeSpan.FromSeconds(200)); // the other team's copies are done
        var firstCalls = Calls("CopySnapshot").Count;

        var next = RunCopies(SeedSnapshots(East, 40).Select(Copy));

        AllCompleted(next, 40);
        Assert.Equal(0, next.Statistics.LimitExceeded);
        // Changed: FakeEc2's MaxPending could be cleared between the jobs; the emulator's count cannot, so the second
        // job's own peak comes from its CopySnapshot calls (each copy pending exactly CopyDuration).
        Assert.Equal(20, MaxOverlap(Calls("CopySnapshot").Skip(firstCalls), CopyDuration));
        Assert.Equal(20, MaxPendingCopies(West));
    }

    [Fact]
    public void WindowShrunkByAnOutsideLimit_GrowsBackWhileInUse_WithoutOurCopiesFinishing()
    {
        _engine.CopyWindowRecovery = TimeSpan.FromSeconds(10);
        CopyDuration = TimeSpan.FromHours(2);
        var start = Now;
        // Others hold 18 of the 20 for 30 s.
        OutsideCopies(18, 30);
        var ids = SeedSnapshots(East, 20);

        var outcome = RunCopies(ids.Select(Copy), CopyOptions(o => o.NoWait = true));

        // None of our copies finished (they take two hours), yet all 20 started once the others' copies were gone.
        Assert.Equal(20, outcome.Finished.Count);
        Assert.All(outcome.Finished, f => Assert.Equal(SnapshotState.Pending, f.Result.State));
        Assert.Equal(20, MaxPendingCopies(West));
        Assert.Equal(20, MaxOverlap(Calls("CopySnapshot"), CopyDuration));
        Assert.True(outcome.Statistics.LimitExceeded > 0);
        Assert.True(outcome.Elapsed < TimeSpan.FromMinutes(5), $"took {outcome.Elapsed}");
        // Exactly: two copies started at once and the others met the limit; the window (shrunk to 2) probed one more slot
        // per recovery interval while in use — refused at 10 s and 20 s, while the others' copies ran — and from the first
        // probe after they ended (30 s) each interval started one more copy, until all 20 ran.
        var first = Calls("CopySnapshot").Min(c => c.At);
        var started = Calls("CopySnapshot").Where(c => c.Succeeded).Select(c => c.At).OrderBy(t => t).ToList();
        Assert.Equal([first, first], started.Take(2));
        Assert.Equal(Enumerable.Range(0, 18).Select(k => first + TimeSpan.FromSeconds(30 + 10 * k)), started.Skip(2));
        Assert.Equal([first, first + TimeSpan.FromSeconds(10), first + TimeSpan.FromSeconds(20)],
            Calls("CopySnapshot").Where(c => c.ErrorCode == "ResourceLimitExceeded").Select(c => c.At).Distinct());
        Assert.Equal(started[^1], outcome.EndedAt);
        Assert.True(first - start < TimeSpan.FromSeconds(1));
    }

    [Fact]
    public void Registry_HoldsAnAccountRegionWhileAJobUsesIt_AndDetachesAfter()
    {
        var ids = SeedSnapshots(East, 3);
        using var job = _engine.StartCopyJob(_clients, CopyOptions(), default);
        foreach (var id in ids) job.Add(Copy(id));
        job.CompleteAdding();
        var seen = 0;

        var outcome = Run(job, onInstant: (_, _) => seen = Math.Max(seen, _engine.AccountRegionsInUse));

        AllCompleted(outcome, 3);
        Assert.Equal(2, seen); // us-east-1 (the sources' checks and their call rates) and us-west-2 (the copies)
        Assert.Equal(0, _engine.AccountRegionsInUse);
        // Changed: the old registry forgot an account-region nobody used; the engine now keeps its scheduler (its
        // duration model, its refilling buckets) for the life of the process, detached.
        Assert.Equal(2, _engine.SchedulersKept);
    }

    [Fact]
    public void Registry_JobsOfOneAccount_ShareOneEntry_OtherAccountsGetTheirOwn()
    {
        var a = SeedSnapshots(East, 1, state: "pending", durationSeconds: 3)[0];
        // The emulator keeps accounts apart: the other account waits for a snapshot of its own.
        var b = SeedSnapshots(East, 1, state: "pending", durationSeconds: 3, accessKey: OtherAccessKey)[0];
        using var first = _engine.StartWaitJob(_clients, new WaitJobOptions { PollInterval = Poll }, default);
        using var second = _engine.StartWaitJob(Clients(AccessKey), new WaitJobOptions { PollInterval = Poll }, default);
        using var other = _engine.StartWaitJob(Clients(OtherAccessKey), new WaitJobOptions { PollInterval = Poll }, default);
        first.Add(a, East);
        second.Add(a, East);
        other.Add(b, East);
        foreach (var job in new[] { first, second, other }) job.CompleteAdding();
        var peak = 0;

        RunAll([first, second, other], onInstant: _ => peak = Math.Max(peak, _engine.AccountRegionsInUse));

        Assert.Equal(SnapshotState.Completed, Assert.Single(Outcome(first).Finished).Result.State);
        Assert.Equal(SnapshotState.Completed, Assert.Single(Outcome(second).Finished).Result.State);
        Assert.Equal(SnapshotState.Completed, Assert.Single(Outcome(other).Finished).Result.State);
        Assert.Equal(2, peak);
        Assert.Equal(0, _engine.AccountRegionsInUse);
        Assert.Equal(2, _engine.SchedulersKept);
    }

    private static void AllCompleted(JobOutcome outcome, int count)
    {
        Assert.Equal(count, outcome.Finished.Count);
        Assert.All(outcome.Finished, f => Assert.Equal(SnapshotState.Completed, f.Result.State));
    }
}
