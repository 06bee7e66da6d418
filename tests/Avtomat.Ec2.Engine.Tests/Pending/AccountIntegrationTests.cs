using Amazon.Runtime;
using Avtomat.Ec2.Emulator;
using Avtomat.Ec2.Engine.Aws;
using Avtomat.Ec2.Engine.Copy;
using Avtomat.Ec2.Engine.Tests.Support;
using Avtomat.Ec2.Engine.Waiting;
using Xunit.Abstractions;

namespace Avtomat.Ec2.Engine.Tests;

/// <summary>What the engine shares per account and region, against the emulator through the real SDK (and STS).</summary>
public sealed class AccountIntegrationTests(ITestOutputHelper output)
{
    private static EmulatorOptions Options(double copySeconds) => new()
    {
        Accounts = { ["AKIDACCOUNTA"] = "111111111111", ["AKIDACCOUNTB"] = "222222222222" },
        Config = new EmulatorConfig
        {
            Durations = new DurationConfig { Copy = new DurationModel { Kind = DurationKind.Fixed, Seconds = copySeconds }, CrossRegionFactor = 1 },
        },
    };

    private static CopyJobOptions JobOptions() => new() { PollInterval = TimeSpan.FromMilliseconds(200), VisibilityGrace = TimeSpan.FromSeconds(3) };

    [Fact]
    public async Task TwoAccounts_CopyingToOneRegion_Reach20PendingEach()
    {
        await using var ec2 = await Ec2Emulator.StartAsync(Options(2));
        var engine = new SnapshotEngine(TimeProvider.System);
        var jobs = new List<(CopyJob Job, IEc2ClientSourceLifetime Clients)>();
        foreach (var key in new[] { "AKIDACCOUNTA", "AKIDACCOUNTB" })
        {
            var ids = ec2.Seed(new SeedRequest { AccessKeyId = key, Region = "us-east-1", Snapshots = 40 }).SnapshotIds;
            var clients = new EmulatorClientSource(ec2, key);
            var job = engine.StartCopyJob(clients, JobOptions(), default);
            foreach (var id in ids) job.Add(new SnapshotCopyRequest { SourceSnapshotId = id, SourceRegion = "us-east-1", DestinationRegion = "us-west-2" });
            job.CompleteAdding();
            jobs.Add((job, clients));
        }

        var outcomes = await Task.WhenAll(jobs.Select(j => Task.Run(() => JobRunner.DrainRealTime(j.Job, TimeSpan.FromSeconds(60)))));

        foreach (var (job, clients) in jobs) { job.Dispose(); clients.Dispose(); }
        Assert.All(outcomes, o =>
        {
            Assert.Equal(40, o.Finished.Count);
            Assert.All(o.Finished, f => Assert.Equal(SnapshotState.Completed, f.Result.State));
            Assert.Equal(0, o.Statistics.LimitExceeded);
        });
        var stats = ec2.GetStats();
        output.WriteLine(string.Join(", ", stats.MaxPendingCopies.Select(p => $"{p.Key} {p.Value}")));
        Assert.Equal(20, stats.MaxPendingCopies["111111111111/us-west-2"]);
        Assert.Equal(20, stats.MaxPendingCopies["222222222222/us-west-2"]);
    }

    [Fact]
    public async Task ThousandInvocations_WithRotatingAccessKeys_OneAccount_LeaveTheRegistryNoLargerThanOne()
    {
        await using var ec2 = await Ec2Emulator.StartAsync(Options(0.1));
        var snapshot = ec2.Seed(new SeedRequest { Region = "us-east-1", Snapshots = 1 }).SnapshotIds[0];
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
                var (account, problem) = clients.ResolveAccount("us-east-1", default);
                Assert.Null(problem);
                lock (accounts) accounts.Add(account);
                using var job = engine.StartWaitJob(clients, new WaitJobOptions { PollInterval = TimeSpan.FromMilliseconds(20) }, default);
                job.Add(snapshot, "us-east-1");
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
    public async Task AccessKeyExpiring_InTheMiddleOfACopyJob_EndsItWithCredentialsExpired_AndFreesTheWindow()
    {
        await using var ec2 = await Ec2Emulator.StartAsync(Options(30));
        var ids = ec2.Seed(new SeedRequest { Region = "us-east-1", Snapshots = 25 }).SnapshotIds;
        using var clients = new EmulatorClientSource(ec2);
        var engine = new SnapshotEngine(TimeProvider.System);
        using var west = engine.Lease(clients, "us-west-2");
        using var job = engine.StartCopyJob(clients, JobOptions(), default);
        foreach (var id in ids) job.Add(new SnapshotCopyRequest { SourceSnapshotId = id, SourceRegion = "us-east-1", DestinationRegion = "us-west-2" });
        job.CompleteAdding();

        var expiredAt = DateTime.MinValue;
        var outcome = JobRunner.DrainRealTime(job, TimeSpan.FromSeconds(20), e =>
        {
            if (e is CopyAcceptedEvent && expiredAt == DateTime.MinValue && job.GetProgress().Single().InProgress >= 20)
            {
                ec2.Config.Credentials.ExpiredAccessKeys.Add("AKIDENGINETEST");
                expiredAt = DateTime.UtcNow;
            }
        });

        Assert.NotEqual(DateTime.MinValue, expiredAt);
        Assert.Equal(25, outcome.Finished.Count);
        Assert.All(outcome.Finished, f =>
        {
            Assert.Equal(SnapshotState.Failed, f.Result.State);
            Assert.Equal("CredentialsExpired", f.Error!.ErrorId);
            Assert.Equal("RequestExpired", f.Error.AwsErrorCode);
        });
        Assert.True(DateTime.UtcNow - expiredAt < TimeSpan.FromSeconds(5), "ended within a few polls");
        Assert.Equal(0, west.Shared.CopyWindow.InUse);
        Assert.DoesNotContain(outcome.Events.OfType<EngineMessageEvent>(), m => m.Message.Contains("engine-test-secret"));
    }

    [Fact]
    public void Account_WhenStsCannotBeReached_IsAStandInForTheAccessKey_AndSaysWhy_WithoutSecrets()
    {
        // Nothing listens on port 1: the STS call fails at once.
        using var a = new Ec2ClientSource(new BasicAWSCredentials("AKIDUNREACHABLE1", "top-secret-value"), "http://127.0.0.1:1", "Avtomat.Ec2.Tests/0");
        using var b = new Ec2ClientSource(new BasicAWSCredentials("AKIDUNREACHABLE1", "top-secret-value"), "http://127.0.0.1:1", "Avtomat.Ec2.Tests/0");
        using var c = new Ec2ClientSource(new BasicAWSCredentials("AKIDUNREACHABLE2", "top-secret-value"), "http://127.0.0.1:1", "Avtomat.Ec2.Tests/0");

        var (accountA, problem) = a.ResolveAccount("us-east-1", default);
        var (accountB, _) = b.ResolveAccount("us-east-1", default);
        var (accountC, _) = c.ResolveAccount("us-east-1", default);

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
