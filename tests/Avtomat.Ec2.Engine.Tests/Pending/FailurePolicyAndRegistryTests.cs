using System.Net;
using Amazon.EC2.Model;
using Avtomat.Ec2.Engine.Copy;
using Avtomat.Ec2.Engine.Create;
using Avtomat.Ec2.Engine.Internal;
using Avtomat.Ec2.Engine.Tests.Support;
using Avtomat.Ec2.Engine.Waiting;
using Microsoft.Extensions.Time.Testing;

namespace Avtomat.Ec2.Engine.Tests;

/// <summary>The failure policy (permanent failures end the items of an account and region instead of waiting for
/// ever), the account registry's lifetimes and the copy window's recovery, in virtual time.</summary>
[Collection(VirtualTimeCollection.Name)]
public sealed class FailurePolicyAndRegistryTests : EngineTestBed
{
    private static readonly TimeSpan Poll = TimeSpan.FromSeconds(1);

    private static CopyJobOptions CopyOptions(Action<CopyJobOptions>? configure = null)
    {
        var o = new CopyJobOptions { PollInterval = Poll, VisibilityGrace = TimeSpan.FromSeconds(5) };
        configure?.Invoke(o);
        return o;
    }

    private static SnapshotCopyRequest Copy(string id) => new() { SourceSnapshotId = id, SourceRegion = East, DestinationRegion = West };

    /// <summary>From <paramref name="at"/> on, every DescribeSnapshots fails with <paramref name="code"/> (what EC2 answers
    /// once a session token expired, or a permission was removed).</summary>
    private void DescribeFailsFrom(DateTimeOffset at, string code, HttpStatusCode status = HttpStatusCode.BadRequest) =>
        _ec2.BeforeDescribe = (_, _) =>
        {
            if (_clock.GetUtcNow() >= at) throw FakeEc2.Error(code, status, "Request has expired.");
        };

    [Theory]
    [InlineData("RequestExpired")]
    [InlineData("ExpiredToken")]
    public async Task ExpiredCredentials_DuringCopies_EndEveryItemWithinAFewPolls_AndFreeTheWindow(string code)
    {
        using var held = _engine.Lease(_clients, West);
        _ec2.CopyDuration = TimeSpan.FromMinutes(30);
        var ids = _ec2.SeedMany(East, 30);
        var expiry = _clock.GetUtcNow() + TimeSpan.FromSeconds(10);
        DescribeFailsFrom(expiry, code);

        using var job = _engine.StartCopyJob(_clients, CopyOptions(), default);
        foreach (var id in ids) job.Add(Copy(id));
        job.CompleteAdding();
        var outcome = await VirtualTime.RunAsync(job, _clock, maxVirtual: TimeSpan.FromMinutes(5));

        // 20 copies were accepted before the expiry, 10 waited for a slot: all 30 end, none waits for the copies.
        Assert.Equal(20, outcome.Accepted.Count);
        Assert.Equal(30, outcome.Finished.Count);
        Assert.All(outcome.Finished, f =>
        {
            Assert.Equal(SnapshotState.Failed, f.Result.State);
            Assert.Equal("CredentialsExpired", f.Error!.ErrorId);
            Assert.Equal(EngineErrorCategory.AuthenticationError, f.Error.Category);
            Assert.Equal(f.Result.SnapshotId ?? f.Result.SourceSnapshotId, f.Error.TargetId);
        });
        // Copies EC2 accepted keep running there: no completion time, and the id is kept.
        Assert.All(outcome.Finished.Where(f => f.Result.SnapshotId is not null), f => Assert.Null(f.Result.CompletionTime));
        Assert.True(outcome.Elapsed <= TimeSpan.FromSeconds(10) + 3 * Poll, $"ended after {outcome.Elapsed}");
        Assert.Equal(0, held.Shared.CopyWindow.InUse);
        // One warning for the region, naming what to do; no copy was started after the expiry.
        var warning = Assert.Single(outcome.Events.OfType<EngineMessageEvent>(), m => m.Level == MessageLevel.Warning);
        Assert.Contains("credentials expired", warning.Message);
        Assert.Contains("role_arn", warning.Message);
        Assert.Equal(20, _ec2.CopyCalls);
    }

    [Fact]
    public async Task ExpiredCredentials_DuringCreates_EndEveryItemWithinAFewPolls()
    {
        _ec2.SnapshotDuration = TimeSpan.FromMinutes(30);
        var volumes = _ec2.SeedVolumes(East, 6);
        var expiry = _clock.GetUtcNow() + TimeSpan.FromSeconds(10);
        DescribeFailsFrom(expiry, "RequestExpired");

        using var job = _engine.StartCreateJob(_clients, new CreateJobOptions { PollInterval = Poll, VisibilityGrace = TimeSpan.FromSeconds(5) }, default);
        foreach (var v in volumes) job.Add(new SnapshotCreateRequest { VolumeId = v, Region = East });
        job.CompleteAdding();
        var outcome = await SnapshotJobRunner.RunAsync(job, _clock, maxVirtual: TimeSpan.FromMinutes(5));

        Assert.Equal(6, outcome.Accepted.Count);
        Assert.Equal(6, outcome.Finished.Count);
        Assert.All(outcome.Finished, f =>
        {
            Assert.Equal(SnapshotState.Failed, f.Result.State);
            Assert.Equal("CredentialsExpired", f.Error!.ErrorId);
            Assert.Equal(f.Result.SnapshotId, f.Error.TargetId);
        });
        Assert.True(outcome.EndedAt - expiry <= 3 * Poll, $"ended {outcome.EndedAt - expiry} after the expiry");
        Assert.Single(outcome.Warnings);
    }

    [Fact]
    public async Task ExpiredCredentials_DuringAWait_EndEveryWatch_AndWaitsInOtherAccountsGoOn()
    {
        var mine = Enumerable.Range(0, 5).Select(_ => _ec2.Seed(East, "pending", completesIn: TimeSpan.FromMinutes(30))).ToList();
        var theirs = _ec2.Seed(East, "pending", completesIn: TimeSpan.FromSeconds(20));
        var expiry = _clock.GetUtcNow() + TimeSpan.FromSeconds(5);
        // Only this job's credentials expire: the other account's job still works.
        var expiring = new ExpiringClientSource(_ec2, _clock, expiry);
        using var other = _engine.StartWaitJob(new FakeClientSource(_ec2, account: "account:222222222222"), new WaitJobOptions { PollInterval = Poll }, default);
        other.Add(theirs, East);
        other.CompleteAdding();
        using var job = _engine.StartWaitJob(expiring, new WaitJobOptions { PollInterval = Poll }, default);
        foreach (var id in mine) job.Add(id, East);
        job.CompleteAdding();

        var outcome = await SnapshotJobRunner.RunAsync(job, _clock, maxVirtual: TimeSpan.FromMinutes(5));
        var otherOutcome = await SnapshotJobRunner.RunAsync(other, _clock, maxVirtual: TimeSpan.FromMinutes(5));

        Assert.Equal(5, outcome.Finished.Count);
        Assert.All(outcome.Finished, f => Assert.Equal("CredentialsExpired", f.Error!.ErrorId));
        Assert.True(outcome.EndedAt - expiry <= 3 * Poll, $"ended {outcome.EndedAt - expiry} after the expiry");
        Assert.Equal(SnapshotState.Completed, Assert.Single(otherOutcome.Finished).Result.State);
    }

    [Fact]
    public async Task NotAuthorizedToDescribe_FailsTheCopiesAtOnce_WithAccessDenied_InsteadOfRetryingForEver()
    {
        var ids = _ec2.SeedMany(East, 3);
        _ec2.BeforeDescribe = (_, _) => throw FakeEc2.Error("UnauthorizedOperation", HttpStatusCode.Forbidden, "You are not authorized to perform this operation.");

        using var job = _engine.StartCopyJob(_clients, CopyOptions(), default);
        foreach (var id in ids) job.Add(Copy(id));
        job.CompleteAdding();
        var outcome = await VirtualTime.RunAsync(job, _clock, maxVirtual: TimeSpan.FromMinutes(5));

        Assert.Equal(3, outcome.Finished.Count);
        Assert.All(outcome.Finished, f =>
        {
            Assert.Equal("AccessDenied", f.Error!.ErrorId);
            Assert.Contains("ec2:DescribeSnapshots", f.Error.RecommendedAction);
        });
        Assert.Single(_ec2.CallsOf("DescribeSnapshots"));
        Assert.Equal(0, _ec2.CopyCalls);
        Assert.True(outcome.Elapsed < TimeSpan.FromSeconds(2));
    }

    [Fact]
    public async Task RegionNotEnabled_OnCopySnapshot_EndsEveryCopyToThatRegion_OthersGoOn()
    {
        var ids = _ec2.SeedMany(East, 4);
        _ec2.BeforeCopy = (request, _) =>
        {
            if (request.Description?.StartsWith("opt-in", StringComparison.Ordinal) == true)
                throw FakeEc2.Error("OptInRequired", HttpStatusCode.Unauthorized, "You are not subscribed to this service.");
        };
        // One copy at a time per destination, so the order is known: the first refusal ends the region.
        using var job = _engine.StartCopyJob(_clients, CopyOptions(o => o.ThrottleLimit = 1), default);
        foreach (var id in ids)
        {
            job.Add(new SnapshotCopyRequest { SourceSnapshotId = id, SourceRegion = East, DestinationRegion = "ap-east-1", DescriptionTemplate = "opt-in {SourceSnapshotId}" });
            job.Add(Copy(id));
        }
        job.CompleteAdding();
        var outcome = await VirtualTime.RunAsync(job, _clock, maxVirtual: TimeSpan.FromMinutes(5));

        var closed = outcome.Finished.Where(f => f.Request!.DestinationRegion == "ap-east-1").ToList();
        Assert.Equal(4, closed.Count);
        Assert.All(closed, f => Assert.Equal("RegionNotEnabled", f.Error!.ErrorId));
        Assert.All(outcome.Finished.Where(f => f.Request!.DestinationRegion == West), f => Assert.Equal(SnapshotState.Completed, f.Result.State));
        // No other copy was tried there.
        Assert.Single(_ec2.CallsOf("CopySnapshot", "ap-east-1"));
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
        Assert.Equal(expected, FailurePolicy.Decide(FakeEc2.Error(code, status), action).ToString());
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

    [Fact]
    public async Task WindowShrunkByAnOutsideLimit_IsBackAt20_ForTheNextJob()
    {
        _ec2.CopyDuration = TimeSpan.FromSeconds(20);
        var outside = 18;
        _ec2.ExternalPending = region => region == West ? outside : 0;
        using (var first = _engine.StartCopyJob(_clients, CopyOptions(), default))
        {
            foreach (var id in _ec2.SeedMany(East, 4)) first.Add(Copy(id));
            first.CompleteAdding();
            var outcome = await VirtualTime.RunAsync(first, _clock, maxVirtual: TimeSpan.FromMinutes(10));
            AllCompleted(outcome, 4);
            Assert.True(outcome.Statistics.LimitExceeded > 0);
        }
        Assert.Equal(0, _engine.AccountRegionsInUse); // nothing uses it: forgotten
        outside = 0; // the other team's copies are done

        _ec2.MaxPending.Clear();
        using var second = _engine.StartCopyJob(_clients, CopyOptions(), default);
        foreach (var id in _ec2.SeedMany(East, 40)) second.Add(Copy(id));
        second.CompleteAdding();
        var next = await VirtualTime.RunAsync(second, _clock, maxVirtual: TimeSpan.FromMinutes(10));

        AllCompleted(next, 40);
        Assert.Equal(0, next.Statistics.LimitExceeded);
        Assert.Equal(20, _ec2.MaxPending[West]);
    }

    [Fact]
    public async Task WindowShrunkByAnOutsideLimit_GrowsBackWhileInUse_WithoutOurCopiesFinishing()
    {
        _engine.CopyWindowRecovery = TimeSpan.FromSeconds(10);
        using var held = _engine.Lease(_clients, West);
        _ec2.CopyDuration = TimeSpan.FromHours(2);
        var outsideUntil = _clock.GetUtcNow() + TimeSpan.FromSeconds(30);
        _ec2.ExternalPending = region => region == West && _clock.GetUtcNow() < outsideUntil ? 18 : 0;
        var ids = _ec2.SeedMany(East, 20);

        using var job = _engine.StartCopyJob(_clients, CopyOptions(o => o.NoWait = true), default);
        foreach (var id in ids) job.Add(Copy(id));
        job.CompleteAdding();
        var outcome = await VirtualTime.RunAsync(job, _clock, maxVirtual: TimeSpan.FromMinutes(10));

        // None of our copies finished (they take two hours), yet all 20 started once the others' copies were gone.
        Assert.Equal(20, outcome.Finished.Count);
        Assert.All(outcome.Finished, f => Assert.Equal(SnapshotState.Pending, f.Result.State));
        Assert.Equal(20, _ec2.MaxPending[West]);
        Assert.True(outcome.Statistics.LimitExceeded > 0);
        Assert.True(outcome.Elapsed < TimeSpan.FromMinutes(5), $"took {outcome.Elapsed}");
    }

    [Fact]
    public async Task Registry_HoldsAnAccountRegionWhileAJobUsesIt_AndForgetsItAfter()
    {
        var ids = _ec2.SeedMany(East, 3);
        using var job = _engine.StartCopyJob(_clients, CopyOptions(), default);
        foreach (var id in ids) job.Add(Copy(id));
        job.CompleteAdding();
        var seen = 0;
        var outcome = await VirtualTime.RunAsync(job, _clock, onStep: (_, _) => seen = Math.Max(seen, _engine.AccountRegionsInUse));

        AllCompleted(outcome, 3);
        Assert.Equal(2, seen); // us-east-1 (the sources' checks and their call rates) and us-west-2 (the copies)
        await Eventually(() => _engine.AccountRegionsInUse == 0);
    }

    [Fact]
    public async Task Registry_JobsOfOneAccount_ShareOneEntry_OtherAccountsGetTheirOwn()
    {
        var a = _ec2.Seed(East, "pending", completesIn: TimeSpan.FromSeconds(3));
        using var first = _engine.StartWaitJob(_clients, new WaitJobOptions { PollInterval = Poll }, default);
        using var second = _engine.StartWaitJob(new FakeClientSource(_ec2), new WaitJobOptions { PollInterval = Poll }, default);
        using var other = _engine.StartWaitJob(new FakeClientSource(_ec2, account: "account:222222222222"), new WaitJobOptions { PollInterval = Poll }, default);
        foreach (var job in new[] { first, second, other }) { job.Add(a, East); job.CompleteAdding(); }
        var peak = 0;
        var outcome = await SnapshotJobRunner.RunAsync(first, _clock, onStep: (_, _) => peak = Math.Max(peak, _engine.AccountRegionsInUse));
        await SnapshotJobRunner.RunAsync(second, _clock);
        await SnapshotJobRunner.RunAsync(other, _clock);

        Assert.Equal(SnapshotState.Completed, Assert.Single(outcome.Finished).Result.State);
        Assert.Equal(2, peak);
        await Eventually(() => _engine.AccountRegionsInUse == 0);
    }

    private static void AllCompleted(JobOutcome outcome, int count)
    {
        Assert.Equal(count, outcome.Finished.Count);
        Assert.All(outcome.Finished, f => Assert.Equal(SnapshotState.Completed, f.Result.State));
    }

    /// <summary>Leases are released when the job's last worker ended, just after its events closed.</summary>
    private static async Task Eventually(Func<bool> condition)
    {
        var until = DateTime.UtcNow + TimeSpan.FromSeconds(5);
        while (!condition())
        {
            if (DateTime.UtcNow > until) Assert.Fail("The condition did not become true.");
            await Task.Delay(10);
        }
    }

    /// <summary>A client source whose DescribeSnapshots fail with RequestExpired from <c>expiry</c> on (its own
    /// session token expired); same account as the other test clients.</summary>
    private sealed class ExpiringClientSource(FakeEc2 ec2, FakeTimeProvider clock, DateTimeOffset expiry) : IEc2ClientSource
    {
        public string Account => "account:111111111111";
        public Amazon.EC2.IAmazonEC2 For(string region) => Wrap(ec2.ClientFor(region));
        public Amazon.EC2.IAmazonEC2 ForCopy(string region) => Wrap(ec2.ClientFor(region));
        public string EndpointKey(string region) => "https://fake.ec2/";

        private Amazon.EC2.IAmazonEC2 Wrap(Amazon.EC2.IAmazonEC2 inner)
        {
            var proxy = System.Reflection.DispatchProxy.Create<Amazon.EC2.IAmazonEC2, ExpiringProxy>();
            ((ExpiringProxy)(object)proxy).Bind(inner, () => clock.GetUtcNow() >= expiry);
            return proxy;
        }
    }

    public class ExpiringProxy : System.Reflection.DispatchProxy
    {
        private Amazon.EC2.IAmazonEC2 _inner = null!;
        private Func<bool> _expired = null!;

        internal void Bind(Amazon.EC2.IAmazonEC2 inner, Func<bool> expired)
        {
            _inner = inner;
            _expired = expired;
        }

        protected override object? Invoke(System.Reflection.MethodInfo? method, object?[]? args)
        {
            if (method!.Name == "DescribeSnapshotsAsync" && _expired())
                return Task.FromException<DescribeSnapshotsResponse>(FakeEc2.Error("RequestExpired", HttpStatusCode.BadRequest, "Request has expired."));
            return method.Invoke(_inner, args);
        }
    }
}
