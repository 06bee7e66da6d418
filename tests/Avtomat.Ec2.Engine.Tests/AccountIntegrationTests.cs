using Amazon.Runtime;
using Avtomat.Ec2.Emulator;
using Avtomat.Ec2.Engine.Aws;
using Avtomat.Ec2.Engine.Copy;
using Avtomat.Ec2.Engine.Tests.Support;
using Avtomat.Ec2.Engine.Waiting;
using Xunit.Abstractions;
using DurationModel = Avtomat.Ec2.Emulator.DurationModel;

namespace Avtomat.Ec2.Engine.Tests;

/// <summary>What the engine shares per account and region, against the emulator through the real SDK: in exact virtual
/// time (the emulator in process), except where the socket is the point — the account learned from STS over real HTTP
/// with the module's own client source (<c>…OverHttp…</c>, real time; and an STS endpoint nothing listens on).</summary>
public sealed class AccountIntegrationTests(ITestOutputHelper output) : EngineTestBed
{
    private const string KeyA = "AKIDACCOUNTA";
    private const string KeyB = "AKIDACCOUNTB";

    protected override void Configure(EmulatorOptions options)
    {
        options.Accounts[KeyA] = "111111111111";
        options.Accounts[KeyB] = "222222222222";
    }

    private static CopyJobOptions JobOptions() => new() { PollInterval = TimeSpan.FromMilliseconds(200), VisibilityGrace = TimeSpan.FromSeconds(3) };

    private static SnapshotCopyRequest Request(string id) => new() { SourceSnapshotId = id, SourceRegion = East, DestinationRegion = West };

    [Fact]
    public void TwoAccounts_CopyingToOneRegion_Reach20PendingEach()
    {
        CopyDuration = TimeSpan.FromSeconds(2);
        var jobs = new List<CopyJob>();
        foreach (var key in new[] { KeyA, KeyB })
        {
            var ids = _ec2.Seed(new SeedRequest { AccessKeyId = key, Region = East, Snapshots = 40 }).SnapshotIds;
            var job = _engine.StartCopyJob(Clients(key), JobOptions(), default);
            foreach (var id in ids) job.Add(Request(id));
            job.CompleteAdding();
            jobs.Add(job);
        }

        RunAll(jobs);

        foreach (var job in jobs) job.Dispose();
        Assert.All(jobs.Select(Outcome), o =>
        {
            Assert.Equal(40, o.Finished.Count);
            Assert.All(o.Finished, f => Assert.Equal(SnapshotState.Completed, f.Result.State));
        });
        Assert.All(jobs, j => Assert.Equal(0, j.Statistics.LimitExceeded));
        var stats = _ec2.GetStats();
        output.WriteLine(string.Join(", ", stats.MaxPendingCopies.Select(p => $"{p.Key} {p.Value}")));
        Assert.Equal(20, stats.MaxPendingCopies["111111111111/us-west-2"]);
        Assert.Equal(20, stats.MaxPendingCopies["222222222222/us-west-2"]);
    }

    /// <summary>Real HTTP and real time: the point is STS. Each invocation resolves its account with GetCallerIdentity over
    /// HTTP through the module's own client source (the process caches the answer per access key), then waits for a
    /// completed snapshot (DescribeSnapshots over HTTP too); temporary credentials rotate their access key, all in one
    /// account. Its time is the CPU of a thousand client sources and two thousand HTTP calls.</summary>
    [Fact]
    public async Task ThousandInvocations_OverHttp_WithRotatingAccessKeys_OneAccount_LeaveTheRegistryNoLargerThanOne()
    {
        await using var ec2 = await Ec2Emulator.StartAsync(new EmulatorOptions
        {
            Config = new EmulatorConfig
            {
                Durations = new DurationConfig { Copy = new DurationModel { Kind = DurationKind.Fixed, Seconds = 0.1 }, CrossRegionFactor = 1 },
            },
        });
        var snapshot = ec2.Seed(new SeedRequest { Region = East, Snapshots = 1 }).SnapshotIds[0];
        var engine = new SnapshotEngine(TimeProvider.System);
        var accounts = new HashSet<string>();
        var largest = 0;
        using var sampling = new CancellationTokenSource();
        var sampler = Task.Run(async () =>
        {
            while (!sampling.IsCancellationRequested)
            {
                largest = Math.Max(largest, engine.AccountRegionsInUse);
                await Task.Delay(1);
            }
        });

        // Temporary credentials get a new access key at each refresh; all of them act in the emulator's default account.
        for (var batch = 0; batch < 100; batch++)
        {
            // Each on a thread of its own, as each invocation runs on its runspace's pipeline thread (the account is
            // learned there, synchronously).
            await Task.WhenAll(Enumerable.Range(0, 10).Select(i => Task.Factory.StartNew(() =>
            {
                var key = $"ASIAROTATING{batch:D3}{i}";
                using var clients = new Ec2ClientSource(new SessionAWSCredentials(key, "rotating-secret", "rotating-token"), ec2.BaseUrl.ToString(), "Avtomat.Ec2.Tests/0");
                var (account, problem) = clients.ResolveAccount(East, default);
                Assert.Null(problem);
                lock (accounts) accounts.Add(account);
                using var job = engine.StartWaitJob(clients, new WaitJobOptions { PollInterval = TimeSpan.FromMilliseconds(20) }, default);
                job.Add(snapshot, East);
                job.CompleteAdding();
                var finished = new List<SnapshotEvent>();
                while (!job.IsFinished)
                    if (job.TryTake(out var e, TimeSpan.FromMilliseconds(50)) && e is SnapshotFinishedEvent) finished.Add(e);
                Assert.Equal(SnapshotState.Completed, Assert.IsType<SnapshotFinishedEvent>(Assert.Single(finished)).Result.State);
            }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default)));
        }
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(5);
        while (engine.AccountRegionsInUse > 0 && DateTime.UtcNow < deadline) await Task.Delay(10);
        sampling.Cancel();
        await sampler;

        Assert.Equal(new[] { "account:" + ec2.Options.DefaultAccountId }, accounts);
        Assert.Equal(1, largest);
        Assert.Equal(0, engine.AccountRegionsInUse);
        // Each new key was asked about once (a key seen before is answered from the process's cache).
        Assert.Equal(1000, ec2.GetStats().Calls.Values.Sum(actions => actions.GetValueOrDefault("sts:GetCallerIdentity")));
    }

    [Fact]
    public void AccessKeyExpiring_InTheMiddleOfACopyJob_EndsItWithCredentialsExpired_AndFreesTheWindow()
    {
        CopyDuration = TimeSpan.FromSeconds(30);
        var ids = SeedSnapshots(East, 25);
        using var job = _engine.StartCopyJob(_clients, JobOptions(), default);
        foreach (var id in ids) job.Add(Request(id));
        job.CompleteAdding();

        DateTimeOffset? expiredAt = null;
        var lastCallBefore = 0L;
        var outcome = Run(job, onInstant: (_, now) =>
        {
            if (expiredAt is null && job.GetProgress().Single().InProgress >= 20)
            {
                _ec2.Config.Credentials.ExpiredAccessKeys.Add(AccessKey);
                expiredAt = now;
                lastCallBefore = _ec2.GetCalls().Max(c => c.Number);
            }
        });

        Assert.NotNull(expiredAt);
        Assert.Equal(25, outcome.Finished.Count);
        Assert.All(outcome.Finished, f =>
        {
            // The 20 EC2 had started may still complete: not known (Pending), never Failed; the 5 queued failed.
            Assert.Equal(f.Result.SnapshotId is null ? SnapshotState.Failed : SnapshotState.Pending, f.Result.State);
            Assert.Equal("CredentialsExpired", f.Error!.ErrorId);
            Assert.Equal("RequestExpired", f.Error.AwsErrorCode);
        });
        // Ended by the first call after the expiry (it was: within 5 s of real time): EC2 answered it RequestExpired, and
        // the job ended at that instant, one poll after the expiry.
        var firstAfter = _ec2.GetCalls().First(c => c.Number > lastCallBefore);
        Assert.Equal("RequestExpired", firstAfter.ErrorCode);
        Assert.Equal(firstAfter.At, outcome.EndedAt);
        Assert.True(outcome.EndedAt - expiredAt <= TimeSpan.FromSeconds(1), $"ended {outcome.EndedAt - expiredAt} after the expiry");
        Assert.Equal(0, _engine.View(_clients, West)!.WindowInUse);
        Assert.DoesNotContain(outcome.Events.OfType<EngineMessageEvent>(), m => m.Message.Contains("benchmark-secret-not-a-real-one"));
    }

    /// <summary>A real socket: nothing listens on port 1, so the STS call fails at once (no emulator, no clock).</summary>
    [Fact]
    public void Account_WhenStsCannotBeReached_IsAStandInForTheAccessKey_AndSaysWhy_WithoutSecrets()
    {
        // Nothing listens on port 1: the STS call fails at once.
        using var a = new Ec2ClientSource(new BasicAWSCredentials("AKIDUNREACHABLE1", "top-secret-value"), "http://127.0.0.1:1", "Avtomat.Ec2.Tests/0");
        using var b = new Ec2ClientSource(new BasicAWSCredentials("AKIDUNREACHABLE1", "top-secret-value"), "http://127.0.0.1:1", "Avtomat.Ec2.Tests/0");
        using var c = new Ec2ClientSource(new BasicAWSCredentials("AKIDUNREACHABLE2", "top-secret-value"), "http://127.0.0.1:1", "Avtomat.Ec2.Tests/0");

        var (accountA, problem) = a.ResolveAccount(East, default);
        var (accountB, _) = b.ResolveAccount(East, default);
        var (accountC, _) = c.ResolveAccount(East, default);

        Assert.StartsWith("key:", accountA);
        Assert.Equal(accountA, accountB);
        Assert.NotEqual(accountA, accountC);
        Assert.NotNull(problem);
        Assert.Contains("STS GetCallerIdentity failed", problem);
        Assert.DoesNotContain("AKIDUNREACHABLE", accountA + problem);
        Assert.DoesNotContain("top-secret", accountA + problem);
        Assert.Equal(accountA, a.Account); // learned once
    }
}
