using Amazon.EC2;
using Amazon.EC2.Model;
using Avtomat.Ec2.Emulator;
using Avtomat.Ec2.Engine.Copy;
using Avtomat.Ec2.Engine.Tests.Support;

namespace Avtomat.Ec2.Engine.Tests;

/// <summary>Copies across accounts in exact virtual time, against the emulator's sharing model through the real SDK:
/// snapshots another account shared with the caller, and vault copies (the source account shares each source with the
/// vault account for its copy, and takes back only what it added). What EC2 holds is checked from outside, per account,
/// with each account's own SDK client.</summary>
public sealed class AcrossAccountsTests : EngineTestBed
{
    private const string ProdKey = "AKIDPRODUCTION000001";
    private const string VaultKey = "AKIDVAULTACCOUNT0001";
    private const string OtherKey = "AKIDOTHERACCOUNT0001";
    private const string Prod = "111111111111";
    private const string Vault = "222222222222";
    private const string Other = "333333333333";

    private readonly InProcessClients _prod;
    private readonly InProcessClients _vault;

    public AcrossAccountsTests()
    {
        _prod = Clients(ProdKey);
        _vault = Clients(VaultKey);
    }

    protected override void Configure(EmulatorOptions options)
    {
        options.Accounts[ProdKey] = Prod;
        options.Accounts[VaultKey] = Vault;
        options.Accounts[OtherKey] = Other;
    }

    private static CopyJobOptions Options(IEc2ClientSource? source = null) =>
        new() { PollInterval = TimeSpan.FromMilliseconds(200), VisibilityGrace = TimeSpan.FromSeconds(3), SourceClients = source };

    private static SnapshotCopyRequest Request(string id, string destination = West) =>
        new() { SourceSnapshotId = id, SourceRegion = East, DestinationRegion = destination };

    private List<string> SeedIn(string accessKey, int count, bool encrypted = false) =>
        _ec2.Seed(new SeedRequest { AccessKeyId = accessKey, Region = East, Snapshots = count, Encrypted = encrypted }).SnapshotIds;

    private void Share(string snapshotId, string withAccount) =>
        _prod.For(East).ModifySnapshotAttributeAsync(new ModifySnapshotAttributeRequest
        {
            SnapshotId = snapshotId, Attribute = SnapshotAttributeName.CreateVolumePermission, OperationType = OperationType.Add, UserIds = [withAccount],
        }).GetAwaiter().GetResult();

    /// <summary>Who may create volumes from (and copy) the snapshot, as its owner reads it.</summary>
    private List<string> SharedWith(string snapshotId) =>
        (_prod.For(East).DescribeSnapshotAttributeAsync(new DescribeSnapshotAttributeRequest
            {
                SnapshotId = snapshotId, Attribute = SnapshotAttributeName.CreateVolumePermission,
            }).GetAwaiter().GetResult().CreateVolumePermissions ?? new List<CreateVolumePermission>())
        .Select(p => p.UserId ?? "group:" + p.Group?.Value).ToList();

    private Dictionary<string, string> TagsOf(string snapshotId) =>
        (_prod.For(East).DescribeSnapshotsAsync(new DescribeSnapshotsRequest { SnapshotIds = [snapshotId] }).GetAwaiter().GetResult().Snapshots ?? [])
        .Single().Tags?.ToDictionary(t => t.Key, t => t.Value) ?? new Dictionary<string, string>();

    /// <summary>The copies of <paramref name="sourceId"/> an account owns in <paramref name="region"/>.</summary>
    private static List<Snapshot> CopiesOf(InProcessClients account, string sourceId, string region = West) =>
        account.For(region).DescribeSnapshotsAsync(new DescribeSnapshotsRequest
        {
            OwnerIds = ["self"], Filters = [new Filter("tag:" + CopyTagNames.SourceSnapshotId, [sourceId])],
        }).GetAwaiter().GetResult().Snapshots ?? new List<Snapshot>();

    /// <summary>Calls of <paramref name="action"/> the account made (answered or not).</summary>
    private int CallsBy(string action, string account) => Calls(action).Count(c => c.Account == account);

    // ------------------------------------------------------------------ a snapshot shared with the caller

    [Fact]
    public void ASnapshotSharedWithTheCaller_IsCopiedIntoTheCallersAccount_AndARerunReusesIt()
    {
        var id = SeedIn(ProdKey, 1)[0];
        Share(id, Vault);

        var first = Run(Start(_vault, null, id));
        var second = Run(Start(_vault, null, id));

        var copy = first.FinishedFor(id).Result;
        Assert.Equal(SnapshotState.Completed, copy.State);
        var made = Assert.Single(CopiesOf(_vault, id));
        Assert.Equal(copy.SnapshotId, made.SnapshotId);
        Assert.Equal(Vault, made.OwnerId);
        Assert.Empty(CopiesOf(_prod, id));
        Assert.True(second.FinishedFor(id).Result.Reused);
        Assert.Equal(1, CallsBy("CopySnapshot", Vault));
        // Sharing was the owner's doing: the copying account never touched the source's permissions.
        Assert.Equal(0, CallsBy("ModifySnapshotAttribute", Vault));
        Assert.Equal([Vault], SharedWith(id));
    }

    [Fact]
    public void ASnapshotOfAnotherAccount_NotSharedWithTheCaller_IsNotFound_SayingItMayNeedToBeShared()
    {
        var id = SeedIn(ProdKey, 1)[0];

        var outcome = Run(Start(_vault, null, id));

        var finished = outcome.FinishedFor(id);
        Assert.Equal(SnapshotState.Failed, finished.Result.State);
        Assert.Equal("SnapshotNotFound", finished.Error!.ErrorId);
        Assert.Contains("shares it with this one", finished.Error.RecommendedAction);
        Assert.Contains("-DestinationProfileName", finished.Error.RecommendedAction);
        Assert.Equal(0, CallsBy("CopySnapshot", Vault));
    }

    [Fact]
    public void ASharedSnapshotEncryptedWithAKeyNotGranted_EndsInError_NamingTheKeyItsAccountAndThePermissions_ThenCopiesOnceGranted()
    {
        var key = _ec2.CreateKmsKey(Prod, East, "alias/shared-backups");
        var id = _ec2.Seed(new SeedRequest { AccessKeyId = ProdKey, Region = East, Snapshots = 1, Encrypted = true, KmsKeyId = key.Arn }).SnapshotIds[0];
        Share(id, Vault);

        var refused = Run(Start(_vault, null, id));

        var finished = refused.FinishedFor(id);
        Assert.Equal(SnapshotState.Failed, finished.Result.State);
        var error = finished.Error!;
        Assert.Equal("SourceKeyNotAccessible", error.ErrorId);
        Assert.Equal(EngineErrorCategory.PermissionDenied, error.Category);
        Assert.Equal(id, error.TargetId);
        Assert.Contains("Given key ID is not accessible", error.Message);
        Assert.Contains(key.Arn, error.Message);
        Assert.Contains($"of account {Prod}", error.Message);
        foreach (var permission in new[] { "kms:DescribeKey", "kms:CreateGrant", "kms:GenerateDataKey", "kms:GenerateDataKeyWithoutPlaintext", "kms:ReEncrypt*", "kms:Decrypt" })
            Assert.Contains(permission, error.RecommendedAction);
        Assert.Contains("key policy", error.RecommendedAction);
        Assert.DoesNotContain(VaultKey, error.Message + error.RecommendedAction);
        Assert.DoesNotContain(ProdKey, error.Message + error.RecommendedAction);

        // Granted, and the failed copy deleted as the error says: the next run copies it, with the vault's own key.
        _ec2.GrantKmsKey(key.Arn, Vault);
        var failedCopy = finished.Result.SnapshotId!;
        _vault.For(West).DeleteSnapshotAsync(new DeleteSnapshotRequest { SnapshotId = failedCopy }).GetAwaiter().GetResult();
        var granted = Run(Start(_vault, null, id));

        Assert.Equal(SnapshotState.Completed, granted.FinishedFor(id).Result.State);
        var copy = Assert.Single(CopiesOf(_vault, id));
        Assert.True(copy.Encrypted);
        Assert.Contains($":{Vault}:", copy.KmsKeyId);
    }

    // ------------------------------------------------------------------ vault copies

    [Fact]
    public void AVaultCopy_SharesWhatIsNotShared_CopiesInTheVault_AndTakesBackOnlyWhatItAdded()
    {
        var ids = SeedIn(ProdKey, 3);
        var (fresh, sharedBefore, sharedWithOther) = (ids[0], ids[1], ids[2]);
        Share(sharedBefore, Vault);
        Share(sharedWithOther, Other);
        var setUp = CallsBy("ModifySnapshotAttribute", Prod);

        var outcome = Run(Start(_vault, _prod, ids.ToArray()));

        Assert.All(outcome.Finished, f => Assert.Equal(SnapshotState.Completed, f.Result.State));
        foreach (var id in ids)
        {
            var copy = Assert.Single(CopiesOf(_vault, id));
            Assert.Equal(Vault, copy.OwnerId);
            Assert.Equal(outcome.FinishedFor(id).Result.SnapshotId, copy.SnapshotId);
            Assert.Empty(CopiesOf(_prod, id));
        }
        // What it added is gone, what was there before stays, and no marker is left on any source.
        Assert.Empty(SharedWith(fresh));
        Assert.Equal([Vault], SharedWith(sharedBefore));
        Assert.Equal([Other], SharedWith(sharedWithOther));
        Assert.All(ids, id => Assert.DoesNotContain(TagsOf(id).Keys, k => k.StartsWith(CopyTagNames.SharedWithPrefix)));
        // The permission calls were made by the source account, for the two sources not shared with the vault.
        Assert.Equal(4, CallsBy("ModifySnapshotAttribute", Prod) - setUp);
        Assert.Equal(0, CallsBy("ModifySnapshotAttribute", Vault));
        Assert.Equal(3, CallsBy("CopySnapshot", Vault));
        Assert.Equal(0, CallsBy("CopySnapshot", Prod));
        Assert.Contains(outcome.Messages, m => m.Contains($"Shared {fresh}") && m.Contains(Vault));
        Assert.Contains(outcome.Messages, m => m.Contains(sharedBefore) && m.Contains("not added by this module"));
    }

    [Fact]
    public void AVaultCopyStoppedHalfWay_ThenRunAgain_MakesOneCopyOfEach_AndLeavesNoPermissionItAdded()
    {
        CopyDuration = TimeSpan.FromSeconds(30);
        var ids = SeedIn(ProdKey, 30);
        var preExisting = ids[29];
        Share(preExisting, Vault);

        // Stopped once EC2 accepted the first window: 20 copies pending, 10 not started.
        var stopped = Start(_vault, _prod, ids.ToArray());
        var first = Outcome(stopped);
        RunAll([stopped], onInstant: _ =>
        {
            if (first.Accepted.Count >= 20) stopped.Dispose();
        });
        var pending = first.Finished.Where(f => f.Result.State == SnapshotState.Pending).Select(f => f.Request!.SourceSnapshotId).ToList();
        var notStarted = first.Finished.Where(f => f.Result.State == SnapshotState.Queued).Select(f => f.Request!.SourceSnapshotId).ToList();
        Assert.Equal(20, pending.Count);
        Assert.Equal(10, notStarted.Count);
        // A copy still pending keeps its share (and its marker); one never started has neither.
        Assert.All(pending.Where(id => id != preExisting), id =>
        {
            Assert.Equal([Vault], SharedWith(id));
            Assert.Contains(CopyTagNames.SharedWithPrefix + Vault, TagsOf(id).Keys);
        });
        Assert.All(notStarted.Where(id => id != preExisting), id => Assert.Empty(SharedWith(id)));
        // One warning for them all, with the count of sources whose copies were pending (the one shared before is not ours).
        var kept = Assert.Single(first.Warnings, w => w.Contains("stay shared with account " + Vault));
        Assert.StartsWith($"{pending.Count(id => id != preExisting)} source(s) in {East}", kept);

        var second = Run(Start(_vault, _prod, ids.ToArray()));

        Assert.All(second.Finished, f => Assert.Equal(SnapshotState.Completed, f.Result.State));
        Assert.All(ids, id => Assert.Single(CopiesOf(_vault, id)));
        // 30 copies accepted in all (the re-run may also meet EC2's limit while the stopped run's copies are pending).
        Assert.Equal(30, Calls("CopySnapshot").Count(c => c.Account == Vault && c.ErrorCode is null));
        Assert.All(ids.Where(id => id != preExisting), id => Assert.Empty(SharedWith(id)));
        Assert.Equal([Vault], SharedWith(preExisting));
        Assert.All(ids, id => Assert.DoesNotContain(TagsOf(id).Keys, k => k.StartsWith(CopyTagNames.SharedWithPrefix)));
    }

    [Fact]
    public void TwoDestinationRegions_ShareTheSourceOnce_AndTakeItBackAfterTheLastCopy()
    {
        var id = SeedIn(ProdKey, 1)[0];
        var job = _engine.StartCopyJob(_vault, Options(_prod), default);
        job.Add(Request(id, West));
        job.Add(Request(id, "eu-west-1"));
        job.CompleteAdding();

        var outcome = Run(job);

        Assert.Equal(2, outcome.Finished.Count(f => f.Result.State == SnapshotState.Completed));
        Assert.Single(CopiesOf(_vault, id, West));
        Assert.Single(CopiesOf(_vault, id, "eu-west-1"));
        Assert.Equal(2, CallsBy("ModifySnapshotAttribute", Prod)); // one add, one remove (nothing shared by hand here)
        Assert.Empty(SharedWith(id));
    }

    [Fact]
    public void AVaultCopyOfASourceEncryptedWithTheAwsManagedKey_FailsBeforeAnyCopy_SayingHowToFix_AndLeavesNothingShared()
    {
        var id = _ec2.Seed(new SeedRequest { AccessKeyId = ProdKey, Region = East, Snapshots = 1, Encrypted = true, KmsKeyId = "alias/aws/ebs" }).SnapshotIds[0];

        var outcome = Run(Start(_vault, _prod, id));

        var error = outcome.FinishedFor(id).Error!;
        Assert.Equal("SourceKeyNotShareable", error.ErrorId);
        Assert.Equal("OperationNotPermitted", error.AwsErrorCode);
        Assert.Contains($"-KmsKeyId", error.RecommendedAction);
        Assert.Contains($"account {Vault} may use", error.RecommendedAction);
        Assert.Equal(0, CallsBy("CopySnapshot", Vault));
        Assert.Empty(SharedWith(id));
        Assert.DoesNotContain(TagsOf(id).Keys, k => k.StartsWith(CopyTagNames.SharedWithPrefix));
    }

    [Fact]
    public void AVaultDryRun_SaysWhichAccountDoesWhat_AndChangesNothing()
    {
        var id = SeedIn(ProdKey, 1)[0];
        var options = Options(_prod);
        options.DryRun = true;
        var job = _engine.StartCopyJob(_vault, options, default);
        job.Add(Request(id));
        job.CompleteAdding();

        var outcome = Run(job);

        var finished = outcome.FinishedFor(id);
        Assert.Equal(SnapshotState.DryRun, finished.Result.State);
        Assert.Contains($"(account {Prod}) would be shared with account {Vault}", finished.Result.StatusMessage);
        Assert.Contains($"CopySnapshot in account {Vault} cannot be checked", finished.Result.StatusMessage);
        Assert.Contains(outcome.Messages, m => m.Contains($"as account {Prod}") && m.Contains($"made in account {Vault}"));
        Assert.Empty(Calls("ModifySnapshotAttribute"));
        Assert.Empty(Calls("CreateTags"));
        Assert.Empty(Calls("CopySnapshot"));
        Assert.Empty(SharedWith(id));
    }

    [Fact]
    public void AVaultCopyWithoutBothAccountsKnown_IsRefusedBeforeAnyCall()
    {
        var unknown = new StandInAccount(_prod);
        var calls = _ec2.GetCalls().Count;

        var error = Assert.Throws<ArgumentException>(() => _engine.StartCopyJob(_vault, Options(unknown), default));

        Assert.Contains("STS GetCallerIdentity", error.Message);
        Assert.Equal(calls, _ec2.GetCalls().Count);
    }

    private CopyJob Start(InProcessClients clients, InProcessClients? source, params string[] ids)
    {
        var job = _engine.StartCopyJob(clients, Options(source), default);
        foreach (var id in ids) job.Add(Request(id));
        job.CompleteAdding();
        return job;
    }

    /// <summary>Clients whose account could not be learned (a stand-in key, as when STS did not answer).</summary>
    private sealed class StandInAccount(IEc2ClientSource inner) : IEc2ClientSource
    {
        public IAmazonEC2 For(string region) => inner.For(region);
        public IAmazonEC2 ForCopy(string region) => inner.ForCopy(region);
        public string EndpointKey(string region) => inner.EndpointKey(region);
        public string Account => "key:0123456789abcdef";
    }
}
