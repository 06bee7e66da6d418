using System.Text.Json;
using Amazon.EC2.Model;
using Avtomat.Ec2.Emulator.Tests.Support;

namespace Avtomat.Ec2.Emulator.Tests;

/// <summary>EBS encryption by default and the default KMS key for EBS, per account and region, through the real
/// AWSSDK.EC2 and the AWS CLI v1: the six actions' answers (API reference pages GetEbsEncryptionByDefault,
/// EnableEbsEncryptionByDefault, DisableEbsEncryptionByDefault, GetEbsDefaultKmsKeyId, ModifyEbsDefaultKmsKeyId,
/// ResetEbsDefaultKmsKeyId), and what CopySnapshot, CreateVolume and CreateSnapshot make of them
/// (https://docs.aws.amazon.com/ebs/latest/userguide/encryption-by-default.html: "new EBS volumes and snapshot copies").</summary>
public sealed class EbsEncryptionByDefaultTests : IDisposable
{
    private const string West = "us-west-2";
    private const string East = "us-east-1";
    private readonly string _tempDir = Directory.CreateTempSubdirectory("avtomat-ec2-ebd-").FullName;

    public void Dispose()
    {
        try { Directory.Delete(_tempDir, recursive: true); } catch (IOException) { }
    }

    [Fact]
    public async Task Settings_ArePerAccountAndRegion_TheDefaultKeyIsAnsweredAsAliasUntilChanged()
    {
        await using var env = await TestEmulator.StartAsync(o => o.Accounts["AKIDOTHER"] = "444455556666");
        var west = env.Client(West);
        var east = env.Client(East);
        var otherWest = env.Client(West, "AKIDOTHER");
        var key = env.Ec2.CreateKmsKey(env.AccountId, West, "alias/backup");

        Assert.False((await west.GetEbsEncryptionByDefaultAsync(new GetEbsEncryptionByDefaultRequest())).EbsEncryptionByDefault);
        Assert.Equal("alias/aws/ebs", (await west.GetEbsDefaultKmsKeyIdAsync(new GetEbsDefaultKmsKeyIdRequest())).KmsKeyId);

        Assert.True((await west.EnableEbsEncryptionByDefaultAsync(new EnableEbsEncryptionByDefaultRequest())).EbsEncryptionByDefault);
        var modified = await west.ModifyEbsDefaultKmsKeyIdAsync(new ModifyEbsDefaultKmsKeyIdRequest { KmsKeyId = "alias/backup" });

        Assert.Equal(key.Arn, modified.KmsKeyId);
        Assert.True((await west.GetEbsEncryptionByDefaultAsync(new GetEbsEncryptionByDefaultRequest())).EbsEncryptionByDefault);
        Assert.Equal(key.Arn, (await west.GetEbsDefaultKmsKeyIdAsync(new GetEbsDefaultKmsKeyIdRequest())).KmsKeyId);
        // Another region, another account: untouched.
        Assert.False((await east.GetEbsEncryptionByDefaultAsync(new GetEbsEncryptionByDefaultRequest())).EbsEncryptionByDefault);
        Assert.Equal("alias/aws/ebs", (await east.GetEbsDefaultKmsKeyIdAsync(new GetEbsDefaultKmsKeyIdRequest())).KmsKeyId);
        Assert.False((await otherWest.GetEbsEncryptionByDefaultAsync(new GetEbsEncryptionByDefaultRequest())).EbsEncryptionByDefault);

        var reset = await west.ResetEbsDefaultKmsKeyIdAsync(new ResetEbsDefaultKmsKeyIdRequest());
        Assert.Matches($"^arn:aws:kms:{West}:{env.AccountId}:key/", reset.KmsKeyId);
        Assert.NotEqual(key.Arn, reset.KmsKeyId);
        Assert.Equal("alias/aws/ebs", (await west.GetEbsDefaultKmsKeyIdAsync(new GetEbsDefaultKmsKeyIdRequest())).KmsKeyId);
        Assert.False((await west.DisableEbsEncryptionByDefaultAsync(new DisableEbsEncryptionByDefaultRequest())).EbsEncryptionByDefault);
        Assert.False((await west.GetEbsEncryptionByDefaultAsync(new GetEbsEncryptionByDefaultRequest())).EbsEncryptionByDefault);
    }

    [Fact]
    public async Task Modify_NeedsAWellFormedKey_DryRunAsksOnly()
    {
        await using var env = await TestEmulator.StartAsync();
        var west = env.Client(West);

        await Expect.Ec2ErrorAsync(() => west.ModifyEbsDefaultKmsKeyIdAsync(new ModifyEbsDefaultKmsKeyIdRequest { KmsKeyId = "backup" }),
            "InvalidParameterValue", 400);
        await Expect.Ec2ErrorAsync(() => west.EnableEbsEncryptionByDefaultAsync(new EnableEbsEncryptionByDefaultRequest { DryRun = true }),
            "DryRunOperation", 412);

        Assert.False((await west.GetEbsEncryptionByDefaultAsync(new GetEbsEncryptionByDefaultRequest())).EbsEncryptionByDefault);
        Assert.Equal("alias/aws/ebs", (await west.GetEbsDefaultKmsKeyIdAsync(new GetEbsDefaultKmsKeyIdRequest())).KmsKeyId);
    }

    [Fact]
    public async Task CopySnapshot_EncryptionByDefault_EncryptsEveryCopyWithTheDefaultKey_AGivenKeyStillWins()
    {
        await using var env = await TestEmulator.StartAsync();
        var west = env.Client(West);
        var source = env.SeedSnapshot(East);
        var key = env.Ec2.CreateKmsKey(env.AccountId, West, "alias/backup");
        var other = env.Ec2.CreateKmsKey(env.AccountId, West, "alias/other");

        var plainBefore = await west.DescribeSnapshotAsync((await west.CopyAsync(East, source)).SnapshotId);
        await west.EnableEbsEncryptionByDefaultAsync(new EnableEbsEncryptionByDefaultRequest());
        var byDefault = await west.DescribeSnapshotAsync((await west.CopyAsync(East, source)).SnapshotId);
        await west.ModifyEbsDefaultKmsKeyIdAsync(new ModifyEbsDefaultKmsKeyIdRequest { KmsKeyId = key.KeyId });
        var byCustomerDefault = await west.DescribeSnapshotAsync((await west.CopyAsync(East, source)).SnapshotId);
        var given = await west.DescribeSnapshotAsync((await west.CopySnapshotAsync(new CopySnapshotRequest
        {
            SourceRegion = East, SourceSnapshotId = source, Encrypted = true, KmsKeyId = "alias/other",
        })).SnapshotId);
        await west.DisableEbsEncryptionByDefaultAsync(new DisableEbsEncryptionByDefaultRequest());
        var plainAfter = await west.DescribeSnapshotAsync((await west.CopyAsync(East, source)).SnapshotId);
        var encryptedAfter = await west.DescribeSnapshotAsync((await west.CopySnapshotAsync(new CopySnapshotRequest
        {
            SourceRegion = East, SourceSnapshotId = source, Encrypted = true,
        })).SnapshotId);

        Assert.False(plainBefore.Encrypted);
        Assert.True(byDefault.Encrypted);
        Assert.Equal($"arn:aws:kms:{West}:{env.AccountId}:key/", byDefault.KmsKeyId[..^36]);
        Assert.NotEqual(key.Arn, byDefault.KmsKeyId); // the AWS managed key
        Assert.True(byCustomerDefault.Encrypted);
        Assert.Equal(key.Arn, byCustomerDefault.KmsKeyId);
        Assert.Equal(other.Arn, given.KmsKeyId);
        Assert.False(plainAfter.Encrypted);
        // Off again, -Encrypted without a key still uses the default key the account chose.
        Assert.Equal(key.Arn, encryptedAfter.KmsKeyId);
        env.AdvanceSeconds(3600);
        foreach (var id in new[] { byDefault.SnapshotId, byCustomerDefault.SnapshotId, encryptedAfter.SnapshotId })
            Assert.Equal("completed", (await west.DescribeSnapshotAsync(id)).State.Value);
    }

    [Fact]
    public async Task CopySnapshot_ACustomerDefaultKeyThatCannotBeUsed_FailsTheCopyAsAGivenKeyWould()
    {
        await using var env = await TestEmulator.StartAsync(o => o.Config.Faults.InaccessibleKmsKeys.Add("alias/gone"));
        var west = env.Client(West);
        var source = env.SeedSnapshot(East);
        await west.ModifyEbsDefaultKmsKeyIdAsync(new ModifyEbsDefaultKmsKeyIdRequest { KmsKeyId = "alias/gone" });

        var copy = await west.CopySnapshotAsync(new CopySnapshotRequest { SourceRegion = East, SourceSnapshotId = source, Encrypted = true });
        env.AdvanceSeconds(3600);

        var failed = await west.DescribeSnapshotAsync(copy.SnapshotId);
        Assert.Equal("error", failed.State.Value);
        Assert.Equal("Given key ID is not accessible", failed.StateMessage);
    }

    [Fact]
    public async Task CreateVolume_IsEncryptedByDefault_CreateSnapshot_KeepsItsVolumesEncryption()
    {
        await using var env = await TestEmulator.StartAsync();
        var west = env.Client(West);
        var plainVolume = env.SeedVolume(West);
        var key = env.Ec2.CreateKmsKey(env.AccountId, West, "alias/backup");
        await west.EnableEbsEncryptionByDefaultAsync(new EnableEbsEncryptionByDefaultRequest());
        await west.ModifyEbsDefaultKmsKeyIdAsync(new ModifyEbsDefaultKmsKeyIdRequest { KmsKeyId = key.Arn });

        var newVolume = (await west.CreateVolumeAsync(new CreateVolumeRequest { AvailabilityZone = West + "a", Size = 8 })).Volume;
        var snapshotOfOld = (await west.CreateSnapshotAsync(new CreateSnapshotRequest { VolumeId = plainVolume })).Snapshot;

        Assert.True(newVolume.Encrypted);
        Assert.Equal(key.Arn, newVolume.KmsKeyId);
        Assert.False(snapshotOfOld.Encrypted);
        Assert.Null(snapshotOfOld.KmsKeyId);
    }

    private ExternalTools.ProcessResult Cli(TestEmulator env, params string[] args) =>
        ExternalTools.Run(ExternalTools.AwsCli!,
            ["ec2", .. args, "--endpoint-url", env.Ec2.BaseUrl.ToString(), "--region", West, "--output", "json"],
            ExternalTools.IsolatedAwsEnvironment(_tempDir), TimeSpan.FromSeconds(90));

    private JsonElement CliJson(TestEmulator env, params string[] args)
    {
        var result = Cli(env, args);
        Assert.True(result.ExitCode == 0, $"aws ec2 {string.Join(' ', args)} failed ({result.ExitCode}): {result.StdErr}");
        return JsonDocument.Parse(result.StdOut).RootElement.Clone();
    }

    [AwsCliFact]
    public async Task AwsCli_ParsesEveryAnswer()
    {
        await using var env = await TestEmulator.StartAsync();
        var key = env.Ec2.CreateKmsKey(env.AccountId, West, "alias/backup");

        Assert.False(CliJson(env, "get-ebs-encryption-by-default").GetProperty("EbsEncryptionByDefault").GetBoolean());
        Assert.True(CliJson(env, "enable-ebs-encryption-by-default").GetProperty("EbsEncryptionByDefault").GetBoolean());
        Assert.True(CliJson(env, "get-ebs-encryption-by-default").GetProperty("EbsEncryptionByDefault").GetBoolean());
        Assert.Equal("alias/aws/ebs", CliJson(env, "get-ebs-default-kms-key-id").GetProperty("KmsKeyId").GetString());
        Assert.Equal(key.Arn, CliJson(env, "modify-ebs-default-kms-key-id", "--kms-key-id", "alias/backup").GetProperty("KmsKeyId").GetString());
        Assert.Equal(key.Arn, CliJson(env, "get-ebs-default-kms-key-id").GetProperty("KmsKeyId").GetString());
        Assert.StartsWith($"arn:aws:kms:{West}:{env.AccountId}:key/", CliJson(env, "reset-ebs-default-kms-key-id").GetProperty("KmsKeyId").GetString());
        Assert.False(CliJson(env, "disable-ebs-encryption-by-default").GetProperty("EbsEncryptionByDefault").GetBoolean());
        var refused = Cli(env, "modify-ebs-default-kms-key-id", "--kms-key-id", "backup");
        Assert.NotEqual(0, refused.ExitCode);
        Assert.Contains("InvalidParameterValue", refused.StdErr);
    }
}
