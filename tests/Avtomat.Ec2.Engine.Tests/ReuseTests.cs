using Avtomat.Ec2.Emulator;
using Avtomat.Ec2.Engine.Copy;
using Avtomat.Ec2.Engine.Tests.Support;

namespace Avtomat.Ec2.Engine.Tests;

/// <summary>What a re-run reuses, and only that: EC2's own Encrypted and KmsKeyId on an earlier copy decide (never the
/// avtomat:encryption tag alone), KMS aliases resolved to key ARNs; differences of description and tags are said and the
/// tags added; a run where every copy is reused ends without the twin check. Exact virtual time against the emulator,
/// each run on an engine of its own (a new process, in effect).</summary>
public sealed class ReuseTests : EngineTestBed
{
    private static CopyJobOptions Options(Action<CopyJobOptions>? configure = null)
    {
        var o = new CopyJobOptions { PollInterval = TimeSpan.FromSeconds(1) };
        configure?.Invoke(o);
        return o;
    }

    private static SnapshotCopyRequest Copy(string id, Action<SnapshotCopyRequest>? configure = null)
    {
        var r = new SnapshotCopyRequest { SourceSnapshotId = id, SourceRegion = East, DestinationRegion = West };
        configure?.Invoke(r);
        return r;
    }

    private JobOutcome RunNew(IEnumerable<SnapshotCopyRequest> requests, CopyJobOptions? options = null, SnapshotEngine? engine = null)
    {
        using var job = (engine ?? NewEngine()).StartCopyJob(_clients, options ?? Options(), default);
        foreach (var r in requests) job.Add(r);
        job.CompleteAdding();
        return Run(job);
    }

    private int CallsSince(string action, long after, string? region = null) => Calls(action, region).Count(c => c.Number > after);
    private long LastCall => _ec2.GetCalls().Select(c => c.Number).DefaultIfEmpty(0).Max();

    [Fact]
    public void EveryCopyReusedHoursLater_EndsWithItsResults_TwoDescribeCalls()
    {
        var ids = SeedSnapshots(East, 100);
        RunNew(ids.Select(id => Copy(id)));
        AdvanceTo(Now + TimeSpan.FromHours(3));
        var before = LastCall;

        var again = RunNew(ids.Select(id => Copy(id)));

        Assert.All(again.Finished, f => Assert.True(f.Result.Reused));
        // One look at the sources, one at their copies here; nothing after the results.
        Assert.Equal(2, CallsSince("DescribeSnapshots", before));
        Assert.Equal(TimeSpan.FromMilliseconds(100), again.Elapsed);
    }

    [Fact]
    public void OldCopiesOfOtherSources_DoNotDelayANewCopy_NoTwinCheck()
    {
        var ids = SeedSnapshots(East, 100);
        RunNew(ids.Take(99).Select(id => Copy(id)));
        AdvanceTo(Now + TimeSpan.FromHours(3));
        var before = LastCall;

        var again = RunNew(ids.Select(id => Copy(id)));

        Assert.Equal(99, again.Finished.Count(f => f.Result.Reused));
        // The new copy takes 4 s and is reported when it is seen completed: no settling look 5 s after its admission look
        // (hours-old copies stand for no run whose copies may still be invisible). Before: 5.53 s and 7 DescribeSnapshots.
        Assert.True(again.Elapsed < TimeSpan.FromSeconds(5), $"took {again.Elapsed}");
        Assert.Equal(5, CallsSince("DescribeSnapshots", before));
    }

    /// <summary>Tags the copies of <paramref name="sourceIds"/> in us-west-2 by hand (as a user could), outside any job.</summary>
    private void TagCopies(IEnumerable<string> sourceIds, string key, string value)
    {
        var sources = sourceIds.ToHashSet();
        var copies = OwnSnapshots(West).Where(s => s.Tags?.Any(t => t.Key == CopyTagNames.SourceSnapshotId && sources.Contains(t.Value)) == true)
            .Select(s => s.SnapshotId).ToList();
        _clients.For(West).CreateTagsAsync(new Amazon.EC2.Model.CreateTagsRequest
        {
            Resources = copies, Tags = [new Amazon.EC2.Model.Tag { Key = key, Value = value }],
        }).GetAwaiter().GetResult();
    }

    [Fact]
    public void UnencryptedCopiesTaggedDefaultByHand_AreNotReusedForEncrypted_SayingWhatEc2Says()
    {
        var ids = SeedSnapshots(East, 10);
        var plain = RunNew(ids.Select(id => Copy(id)));
        Assert.All(plain.Finished, f => Assert.NotEqual(true, f.Result.Encrypted));
        TagCopies(ids, CopyTagNames.Encryption, "default");
        var before = LastCall;

        var encrypted = RunNew(ids.Select(id => Copy(id, r => r.Encrypted = true)));

        Assert.All(encrypted.Finished, f =>
        {
            Assert.Equal(SnapshotState.Completed, f.Result.State);
            Assert.False(f.Result.Reused);
            Assert.Equal(true, f.Result.Encrypted);
            Assert.NotEqual(plain.FinishedFor(f.Request!.SourceSnapshotId).Result.SnapshotId, f.Result.SnapshotId);
        });
        Assert.Equal(10, CallsSince("CopySnapshot", before));
        Assert.Equal(10, encrypted.Messages.Count(m => m.Contains("is not reused: EC2 says it is not encrypted, and this run asks for encryption with the default EBS key (arn:aws:kms:us-west-2:")));
        // The default key was resolved once for the job, not once per copy.
        Assert.Equal(1, CallsSince("DescribeKey", before));

        // The copies EC2 encrypted with the default key are the ones a later -Encrypted run reuses.
        var again = RunNew(ids.Select(id => Copy(id, r => r.Encrypted = true)));
        Assert.All(again.Finished, f =>
        {
            Assert.True(f.Result.Reused);
            Assert.Equal(encrypted.FinishedFor(f.Request!.SourceSnapshotId).Result.SnapshotId, f.Result.SnapshotId);
        });
    }

    [Fact]
    public void EncryptedCopiesTaggedNoneByHand_AreNotReusedForAPlainCopy()
    {
        var ids = SeedSnapshots(East, 3);
        RunNew(ids.Select(id => Copy(id, r => r.Encrypted = true)));
        TagCopies(ids, CopyTagNames.Encryption, "none");

        var plain = RunNew(ids.Select(id => Copy(id)));

        Assert.All(plain.Finished, f => Assert.False(f.Result.Reused));
        Assert.Equal(3, plain.Messages.Count(m => m.Contains("EC2 says it is encrypted with arn:aws:kms:us-west-2:") && m.Contains("this run asks for an unencrypted copy")));
    }

    [Fact]
    public void OneKeyByAliasKeyIdKeyArnOrAliasArn_IsOneKey_CopiedOnce_ResolvedOncePerJob()
    {
        var key = _ec2.CreateKmsKey(AccountId, West, "alias/backup");
        var ids = SeedSnapshots(East, 20);
        var before = LastCall;
        var first = RunNew(ids.Select(id => Copy(id, r => r.KmsKeyId = "alias/backup")));
        Assert.All(first.Finished, f => Assert.Equal(key.Arn, f.Result.KmsKeyId));
        Assert.Equal(1, CallsSince("DescribeKey", before));

        foreach (var name in new[] { key.Arn, key.KeyId, $"arn:aws:kms:{West}:{AccountId}:alias/backup", "alias/backup" })
        {
            var copies = CallsSince("CopySnapshot", 0);
            var describes = CallsSince("DescribeKey", 0);
            var again = RunNew(ids.Select(id => Copy(id, r => r.KmsKeyId = name)));
            Assert.All(again.Finished, f =>
            {
                Assert.True(f.Result.Reused, name);
                Assert.Equal(first.FinishedFor(f.Request!.SourceSnapshotId).Result.SnapshotId, f.Result.SnapshotId);
            });
            Assert.Equal(copies, CallsSince("CopySnapshot", 0));
            Assert.Equal(describes + 1, CallsSince("DescribeKey", 0));
        }

        // Another key is another key, whatever the tags say.
        var other = _ec2.CreateKmsKey(AccountId, West, "alias/other");
        var otherRun = RunNew(ids.Take(2).Select(id => Copy(id, r => r.KmsKeyId = "alias/other")));
        Assert.All(otherRun.Finished, f =>
        {
            Assert.False(f.Result.Reused);
            Assert.Equal(other.Arn, f.Result.KmsKeyId);
        });
    }

    [Fact]
    public void KeyNotResolvable_ReusesOnlyWhatMatchesAsGiven_AndSaysTheAliasCouldNotBeResolved()
    {
        var key = _ec2.CreateKmsKey(AccountId, West, "alias/backup");
        var ids = SeedSnapshots(East, 4);
        RunNew(ids.Select(id => Copy(id, r => r.KmsKeyId = key.Arn)));
        Intercept = call => call.Action == "DescribeKey" ? CallDecision.Error("AccessDeniedException", 400, "not authorized to perform: kms:DescribeKey") : null;

        // The key id is inside the ARN EC2 reports: reused without DescribeKey's answer.
        var byId = RunNew(ids.Select(id => Copy(id, r => r.KmsKeyId = key.KeyId)));
        Assert.All(byId.Finished, f => Assert.True(f.Result.Reused));
        Assert.Contains(byId.Messages, m => m.Contains($"KMS key {key.KeyId} could not be resolved to its key ARN in {West} (AccessDeniedException"));

        // An alias cannot be compared with a key ARN as given: copied again, and said so once.
        var byAlias = RunNew(ids.Take(2).Select(id => Copy(id, r => r.KmsKeyId = "alias/backup")));
        Assert.All(byAlias.Finished, f => Assert.False(f.Result.Reused));
        Assert.Single(byAlias.Messages, m => m.Contains("KMS key alias/backup could not be resolved to its key ARN") && m.Contains("Allow kms:DescribeKey on the key, or give its key ARN."));
    }

    [Fact]
    public void HundredReusedCopiesWithAnotherDescriptionAndTags_OneWarning_TagsAddedInOneCall()
    {
        var ids = SeedSnapshots(East, 100);
        RunNew(ids.Select(id => Copy(id, r =>
        {
            r.DescriptionTemplate = "Nightly {SourceSnapshotId}";
            r.Tags = new Dictionary<string, string> { ["Backup"] = "daily" };
        })));
        var before = LastCall;
        Dictionary<string, string> Asked() => new() { ["Backup"] = "weekly", ["Team"] = "ops" };

        var again = RunNew(ids.Select(id => Copy(id, r => r.Tags = Asked())));

        Assert.All(again.Finished, f =>
        {
            Assert.Equal(SnapshotState.Completed, f.Result.State);
            Assert.True(f.Result.Reused);
            Assert.Equal($"Nightly {f.Request!.SourceSnapshotId}", f.Result.Description);
            Assert.Equal("weekly", f.Result.Tags["Backup"]);
            Assert.Equal("ops", f.Result.Tags["Team"]);
        });
        var warning = Assert.Single(again.Warnings);
        Assert.StartsWith("100 reused copies in us-west-2 differ from this run's request: 100 in description (EC2 cannot change a snapshot's description: " +
                          "it stays; -CopyAgain makes new copies with this run's); 100 in the requested tags (added now with CreateTags). ", warning);
        var first = again.Finished.Select(f => f.Result).First(r => warning.Contains(r.SnapshotId!));
        Assert.Contains($"{first.SnapshotId} (copy of {first.SourceSnapshotId}): description 'Nightly {first.SourceSnapshotId}', this run asks " +
                        $"'Copy of {first.SourceSnapshotId} from us-east-1'; tags Backup=daily → weekly, Team=(none) → ops", warning);
        Assert.EndsWith("; and 95 more.", warning);
        Assert.True(warning.Length < 1500, warning);
        // One call tags all hundred (the same tags for each), paced like any call.
        var tagging = Calls("CreateTags", West).Where(c => c.Number > before).ToList();
        var call = Assert.Single(tagging);
        Assert.Equal(100, call.Parameters.Keys.Count(k => k.StartsWith("ResourceId.", StringComparison.Ordinal)));
        Assert.All(OwnSnapshots(West), s =>
        {
            Assert.Contains(s.Tags, t => t.Key == "Backup" && t.Value == "weekly");
            Assert.Contains(s.Tags, t => t.Key == "Team" && t.Value == "ops");
        });

        // Asked the same again: nothing differs, no warning, no call.
        var same = RunNew(ids.Take(3).Select(id => Copy(id, r => { r.Tags = Asked(); r.DescriptionTemplate = "Nightly {SourceSnapshotId}"; })));
        Assert.Empty(same.Warnings);
        Assert.Single(Calls("CreateTags", West).Where(c => c.Number > before));
    }

    [Fact]
    public void TagsThatCannotBeAdded_AreSaidInTheWarning_TheCopiesStillReused()
    {
        var ids = SeedSnapshots(East, 2);
        RunNew(ids.Select(id => Copy(id)));
        Intercept = call => call.Action == "CreateTags" ? CallDecision.Error("UnauthorizedOperation", 403, "You are not authorized to perform this operation.") : null;

        var again = RunNew(ids.Select(id => Copy(id, r => r.Tags = new Dictionary<string, string> { ["Backup"] = "daily" })));

        Assert.All(again.Finished, f => Assert.True(f.Result.Reused));
        var warning = Assert.Single(again.Warnings);
        Assert.StartsWith("2 reused copies in us-west-2 differ from this run's request: 2 in the requested tags (not added: CreateTags: UnauthorizedOperation", warning);
    }

    // ------------------------------------------------------------------ EBS encryption by default, the default KMS key

    private void InWest(Func<Amazon.EC2.IAmazonEC2, Task> call) => call(_clients.For(West)).GetAwaiter().GetResult();

    private void EnableEncryptionByDefault() =>
        InWest(c => c.EnableEbsEncryptionByDefaultAsync(new Amazon.EC2.Model.EnableEbsEncryptionByDefaultRequest()));

    private void DefaultKey(string key) =>
        InWest(c => c.ModifyEbsDefaultKmsKeyIdAsync(new Amazon.EC2.Model.ModifyEbsDefaultKmsKeyIdRequest { KmsKeyId = key }));

    private static CallDecision? DenyEbsSettings(CallInfo call) =>
        call.Action is "GetEbsEncryptionByDefault" or "GetEbsDefaultKmsKeyId"
            ? CallDecision.Error("UnauthorizedOperation", 403, "You are not authorized to perform this operation.") : null;

    [Fact]
    public void EncryptionByDefaultOn_ASecondRunReusesEveryCopy_AskingEachSettingOnce_AsFastAsBefore()
    {
        EnableEncryptionByDefault();
        var ids = SeedSnapshots(East, 100);
        var first = RunNew(ids.Select(id => Copy(id)));
        var awsManaged = OwnSnapshots(West).Select(s => s.KmsKeyId).Distinct().Single();
        Assert.All(OwnSnapshots(West), s => Assert.True(s.Encrypted));
        Assert.All(first.Finished, f => Assert.Equal(true, f.Result.Encrypted));
        AdvanceTo(Now + TimeSpan.FromHours(3));
        var before = LastCall;

        var again = RunNew(ids.Select(id => Copy(id)));

        Assert.All(again.Finished, f =>
        {
            Assert.True(f.Result.Reused);
            Assert.Equal(first.FinishedFor(f.Request!.SourceSnapshotId).Result.SnapshotId, f.Result.SnapshotId);
        });
        Assert.Equal(0, CallsSince("CopySnapshot", before));
        // Once per job and region each: whether EC2 encrypts (yes), with which key (alias/aws/ebs), that key's ARN.
        Assert.Equal(1, CallsSince("GetEbsEncryptionByDefault", before));
        Assert.Equal(1, CallsSince("GetEbsDefaultKmsKeyId", before));
        Assert.Equal(1, CallsSince("DescribeKey", before));
        Assert.Equal(2, CallsSince("DescribeSnapshots", before));
        Assert.Equal(TimeSpan.FromMilliseconds(100), again.Elapsed);
        Assert.Single(again.Messages, m => m.StartsWith("EBS encryption by default is on in us-west-2: EC2 encrypts every copy made there", StringComparison.Ordinal));
        Assert.StartsWith($"arn:aws:kms:{West}:{AccountId}:key/", awsManaged);
    }

    [Fact]
    public void EncryptionByDefaultOn_UnencryptedCopiesTaggedDefaultByHand_AreStillNotReusedForEncrypted()
    {
        var ids = SeedSnapshots(East, 10);
        RunNew(ids.Select(id => Copy(id)));
        TagCopies(ids, CopyTagNames.Encryption, "default");
        EnableEncryptionByDefault();
        var before = LastCall;

        var encrypted = RunNew(ids.Select(id => Copy(id, r => r.Encrypted = true)));

        Assert.All(encrypted.Finished, f =>
        {
            Assert.False(f.Result.Reused);
            Assert.Equal(true, f.Result.Encrypted);
        });
        Assert.Equal(10, CallsSince("CopySnapshot", before));
        // -Encrypted: whether encryption by default is on does not matter, only which key is the default.
        Assert.Equal(0, CallsSince("GetEbsEncryptionByDefault", before));
        Assert.Equal(10, encrypted.Messages.Count(m => m.Contains("is not reused: EC2 says it is not encrypted, and this run asks for encryption with the default EBS key (arn:aws:kms:us-west-2:")));

        // With encryption by default on, a run without -Encrypted makes what -Encrypted made: those copies are reused.
        var mid = LastCall;
        var plain = RunNew(ids.Select(id => Copy(id)));
        Assert.All(plain.Finished, f =>
        {
            Assert.True(f.Result.Reused);
            Assert.Equal(encrypted.FinishedFor(f.Request!.SourceSnapshotId).Result.SnapshotId, f.Result.SnapshotId);
        });
        Assert.Equal(0, CallsSince("CopySnapshot", mid));
    }

    [Fact]
    public void CustomerDefaultKey_AnEncryptedReRunReuses_WithoutDescribeKey_AndACopyWithAnotherKeyIsNotReused()
    {
        var key = _ec2.CreateKmsKey(AccountId, West, "alias/ebs-default");
        var ids = SeedSnapshots(East, 20);
        // Made before the account chose its default key: encrypted with the AWS managed key.
        var managed = RunNew(ids.Take(5).Select(id => Copy(id, r => r.Encrypted = true)));
        DefaultKey("alias/ebs-default");
        var before = LastCall;

        var first = RunNew(ids.Select(id => Copy(id, r => r.Encrypted = true)));

        Assert.All(first.Finished, f =>
        {
            Assert.False(f.Result.Reused);
            Assert.Equal(key.Arn, f.Result.KmsKeyId);
        });
        Assert.Equal(5, first.Messages.Count(m => m.Contains("is not reused: EC2 says it is encrypted with arn:aws:kms:us-west-2:") &&
                                                 m.Contains($"this run asks for encryption with the default EBS key ({key.Arn})")));
        // EC2 named the default key by its key ARN: nothing to resolve.
        Assert.Equal(1, CallsSince("GetEbsDefaultKmsKeyId", before));
        Assert.Equal(0, CallsSince("DescribeKey", before));
        Assert.Contains(managed.Finished, f => f.Result.KmsKeyId != key.Arn);

        var mid = LastCall;
        var again = RunNew(ids.Select(id => Copy(id, r => r.Encrypted = true)));
        Assert.All(again.Finished, f =>
        {
            Assert.True(f.Result.Reused);
            Assert.Equal(first.FinishedFor(f.Request!.SourceSnapshotId).Result.SnapshotId, f.Result.SnapshotId);
        });
        Assert.Equal(0, CallsSince("CopySnapshot", mid));

        // A -KmsKeyId asks EC2 for no setting: its own key decides.
        var given = LastCall;
        var byAlias = RunNew(ids.Take(3).Select(id => Copy(id, r => r.KmsKeyId = "alias/ebs-default")));
        Assert.All(byAlias.Finished, f => Assert.True(f.Result.Reused));
        Assert.Equal(0, CallsSince("GetEbsEncryptionByDefault", given) + CallsSince("GetEbsDefaultKmsKeyId", given));
    }

    [Fact]
    public void SettingsDenied_ReusesAnUnencryptedCopyOrOneWithTheAwsManagedKey_SaysSoOnce_NeverAnUnencryptedOneForEncrypted()
    {
        var ids = SeedSnapshots(East, 6);
        RunNew(ids.Take(3).Select(id => Copy(id)));
        EnableEncryptionByDefault();
        RunNew(ids.Skip(3).Select(id => Copy(id)));
        TagCopies(ids, CopyTagNames.Encryption, "default");
        Intercept = DenyEbsSettings;
        var before = LastCall;

        // Unknown whether EC2 encrypts: both the unencrypted copies (made before) and the encrypted ones (aws/ebs) are reused.
        var plain = RunNew(ids.Select(id => Copy(id)));

        Assert.All(plain.Finished, f => Assert.True(f.Result.Reused));
        Assert.Equal(0, CallsSince("CopySnapshot", before));
        Assert.Single(plain.Messages, m => m.Contains("Whether EBS encryption by default is on in us-west-2 could not be read (UnauthorizedOperation") &&
                                          m.EndsWith("Allow ec2:GetEbsEncryptionByDefault to reuse only the copy EC2 would make now.", StringComparison.Ordinal));
        Assert.Single(plain.Messages, m => m.Contains("The default KMS key for EBS in us-west-2 could not be read (UnauthorizedOperation") &&
                                          m.Contains("taken to be the AWS managed key (alias/aws/ebs)"));
        Assert.Equal(1, CallsSince("DescribeKey", before));

        // -Encrypted: the unencrypted copies are not reused, whatever their tag says; the aws/ebs ones are.
        var mid = LastCall;
        var encrypted = RunNew(ids.Select(id => Copy(id, r => r.Encrypted = true)));
        Assert.Equal(3, encrypted.Finished.Count(f => f.Result.Reused));
        Assert.All(encrypted.Finished.Where(f => !f.Result.Reused), f => Assert.Contains(f.Request!.SourceSnapshotId, ids.Take(3)));
        Assert.Equal(3, CallsSince("CopySnapshot", mid));
        Assert.Equal(0, CallsSince("GetEbsEncryptionByDefault", mid));
    }
}
