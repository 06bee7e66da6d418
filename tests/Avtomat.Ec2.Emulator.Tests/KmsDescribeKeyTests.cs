using System.Net;
using System.Text.Json;
using Amazon.KeyManagementService;
using Amazon.KeyManagementService.Model;
using Amazon.Runtime;
using Avtomat.Ec2.Emulator.Tests.Support;

namespace Avtomat.Ec2.Emulator.Tests;

/// <summary>KMS DescribeKey at the emulator's URL (KMS's JSON protocol, routed by the call's signing service or its
/// X-Amz-Target), through the real AWSSDK.KeyManagementService and the AWS CLI: a key id, key ARN, alias name or alias
/// ARN names one key and answers its KeyMetadata; a predefined alias/aws/ebs names the account-region's AWS managed key;
/// what names no key is NotFoundException, another account's key not granted AccessDeniedException
/// (https://docs.aws.amazon.com/kms/latest/APIReference/API_DescribeKey.html).</summary>
public sealed class KmsDescribeKeyTests : IDisposable
{
    private const string Region = "us-west-2";
    private const string OtherKey = "AKIDOTHERACCOUNT";
    private const string OtherAccount = "444455556666";
    private readonly string _tempDir = Directory.CreateTempSubdirectory("avtomat-ec2-kms-").FullName;

    public void Dispose()
    {
        try { Directory.Delete(_tempDir, recursive: true); } catch (IOException) { }
    }

    private static AmazonKeyManagementServiceClient Kms(TestEmulator env, string accessKeyId = EmulatorClients.DefaultAccessKeyId, string region = Region) =>
        new(new BasicAWSCredentials(accessKeyId, "secret"), new AmazonKeyManagementServiceConfig
        {
            ServiceURL = env.Ec2.BaseUrl.ToString(), AuthenticationRegion = region, MaxErrorRetry = 0,
        });

    private static Task<TestEmulator> StartAsync() => TestEmulator.StartAsync(o => o.Accounts[OtherKey] = OtherAccount);

    [Fact]
    public async Task AKeyByAliasKeyIdKeyArnOrAliasArn_DescribesTheOneKey()
    {
        await using var env = await StartAsync();
        var key = env.Ec2.CreateKmsKey(env.AccountId, Region, "alias/backup");
        using var kms = Kms(env);

        foreach (var name in new[] { "alias/backup", key.KeyId, key.Arn, $"arn:aws:kms:{Region}:{env.AccountId}:alias/backup" })
        {
            var metadata = (await kms.DescribeKeyAsync(new DescribeKeyRequest { KeyId = name })).KeyMetadata;
            Assert.Equal(key.Arn, metadata.Arn);
            Assert.Equal(key.KeyId, metadata.KeyId);
            Assert.Equal(env.AccountId, metadata.AWSAccountId);
            Assert.Equal(KeyManagerType.CUSTOMER, metadata.KeyManager);
            Assert.Equal(KeyState.Enabled, metadata.KeyState);
        }
        var call = env.Ec2.GetCalls("DescribeKey").Last();
        Assert.Equal("kms", call.Service);
        Assert.Equal(Region, call.Region);
    }

    [Fact]
    public async Task AwsEbsAlias_IsTheAccountRegionsAwsManagedKey_TheOneCopySnapshotUsesWithoutAKey()
    {
        await using var env = await StartAsync();
        using var kms = Kms(env);
        var ec2 = env.Client(Region);
        var source = env.Ec2.Seed(new SeedRequest { Region = Region, Snapshots = 1 }).SnapshotIds.Single();

        var metadata = (await kms.DescribeKeyAsync(new DescribeKeyRequest { KeyId = "alias/aws/ebs" })).KeyMetadata;
        var copy = await ec2.CopySnapshotAsync(new Amazon.EC2.Model.CopySnapshotRequest { SourceRegion = Region, SourceSnapshotId = source, Encrypted = true });

        Assert.Equal(KeyManagerType.AWS, metadata.KeyManager);
        Assert.Equal((await ec2.DescribeSnapshotAsync(copy.SnapshotId)).KmsKeyId, metadata.Arn);
    }

    [Fact]
    public async Task NoSuchKey_IsNotFoundException_AnotherAccountsKeyNotGranted_IsAccessDenied_UntilGranted()
    {
        await using var env = await StartAsync();
        var theirs = env.Ec2.CreateKmsKey(OtherAccount, Region, "alias/vault");
        using var kms = Kms(env);

        var unknownAlias = await Assert.ThrowsAsync<NotFoundException>(() => kms.DescribeKeyAsync(new DescribeKeyRequest { KeyId = "alias/aws/nothing" }));
        var unknownKey = await Assert.ThrowsAsync<NotFoundException>(() =>
            kms.DescribeKeyAsync(new DescribeKeyRequest { KeyId = $"arn:aws:kms:{Region}:{OtherAccount}:key/00000000-0000-0000-0000-000000000000" }));
        var otherRegion = await Assert.ThrowsAsync<NotFoundException>(() =>
            kms.DescribeKeyAsync(new DescribeKeyRequest { KeyId = $"arn:aws:kms:us-east-1:{env.AccountId}:key/00000000-0000-0000-0000-000000000000" }));
        var denied = await Assert.ThrowsAsync<AmazonKeyManagementServiceException>(() => kms.DescribeKeyAsync(new DescribeKeyRequest { KeyId = theirs.Arn }));
        env.Ec2.GrantKmsKey(theirs.Arn, env.AccountId);
        var granted = (await kms.DescribeKeyAsync(new DescribeKeyRequest { KeyId = $"arn:aws:kms:{Region}:{OtherAccount}:alias/vault" })).KeyMetadata;

        Assert.Equal($"Alias arn:aws:kms:{Region}:{env.AccountId}:alias/aws/nothing is not found.", unknownAlias.Message);
        Assert.Equal(HttpStatusCode.BadRequest, unknownKey.StatusCode);
        Assert.Equal("NotFoundException", otherRegion.ErrorCode);
        Assert.Equal("AccessDeniedException", denied.ErrorCode);
        Assert.Contains("kms:DescribeKey", denied.Message);
        Assert.Equal(theirs.Arn, granted.Arn);
        Assert.Equal(OtherAccount, granted.AWSAccountId);
    }

    [AwsCliFact]
    public async Task AwsCli_DescribeKey_ByAlias_AndNotFound()
    {
        await using var env = await StartAsync();
        var key = env.Ec2.CreateKmsKey(env.AccountId, Region, "alias/backup");

        ExternalTools.ProcessResult Cli(string keyId) => ExternalTools.Run(ExternalTools.AwsCli!,
            ["kms", "describe-key", "--key-id", keyId, "--endpoint-url", env.Ec2.BaseUrl.ToString(), "--output", "json", "--region", Region],
            ExternalTools.IsolatedAwsEnvironment(_tempDir), TimeSpan.FromSeconds(90));
        var found = Cli("alias/backup");
        var missing = Cli("alias/missing-in-" + OtherAccount);

        Assert.True(found.ExitCode == 0, found.StdErr);
        var metadata = JsonDocument.Parse(found.StdOut).RootElement.GetProperty("KeyMetadata");
        Assert.Equal(key.Arn, metadata.GetProperty("Arn").GetString());
        Assert.Equal("CUSTOMER", metadata.GetProperty("KeyManager").GetString());
        // The emulator's leniency: any alias of the caller's own account names a key (as for CopySnapshot's KmsKeyId).
        Assert.Equal(0, missing.ExitCode);
        var notFound = Cli($"arn:aws:kms:{Region}:{OtherAccount}:alias/none");
        Assert.NotEqual(0, notFound.ExitCode);
        Assert.Contains("NotFoundException", notFound.StdErr);
    }
}
