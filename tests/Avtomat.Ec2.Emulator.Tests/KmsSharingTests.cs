using Amazon.EC2;
using Amazon.EC2.Model;
using Avtomat.Ec2.Emulator.Tests.Support;
using static Avtomat.Ec2.Emulator.Tests.SharingTests;

namespace Avtomat.Ec2.Emulator.Tests;

/// <summary>KMS keys with an owner account: a copy of a shared encrypted snapshot needs the source key granted to the
/// caller (the copy is accepted and ends in error "Given key ID is not accessible" otherwise), lands encrypted with the
/// caller's own default key unless a KmsKeyId says otherwise, and a KmsKeyId of another account must be granted too.</summary>
public class KmsSharingTests
{
    private const string Denied = "Given key ID is not accessible";

    /// <summary>A's snapshot in us-east-1, encrypted with A's customer key alias/shared and shared with B.</summary>
    private static string SeedShared(TestEmulator env, string kmsKeyId = "alias/shared") => env.Ec2.Seed(new SeedRequest
    {
        Region = "us-east-1", Snapshots = 1, KmsKeyId = kmsKeyId, CreateVolumePermissionUserIds = [B],
    }).SnapshotIds.Single();

    private static async Task<Snapshot> CopyAndWaitAsync(TestEmulator env, IAmazonEC2 client, string source,
        Action<CopySnapshotRequest>? configure = null)
    {
        var id = (await client.CopyAsync("us-east-1", source, configure)).SnapshotId;
        env.Advance(TimeSpan.FromHours(1));
        return await client.DescribeSnapshotAsync(id);
    }

    private static string DefaultKeyOf(TestEmulator env, string account, string region) =>
        Assert.Single(env.Ec2.GetKmsKeys(account, region), k => k.KeyManager == "AWS").Arn;

    [Fact]
    public async Task CopyOfASharedCmkSnapshot_EndsInErrorUntilTheKeyIsGranted_ThenIsEncryptedWithTheCallersDefaultKey()
    {
        await using var env = await StartAsync();
        var snap = SeedShared(env);
        var bWest = env.Client("us-west-2", KeyB);
        var sourceKey = (await env.Client("us-east-1", KeyB).DescribeSnapshotAsync(snap)).KmsKeyId;

        var denied = await CopyAndWaitAsync(env, bWest, snap);

        Assert.Equal((SnapshotState.Error, Denied, B), (denied.State, denied.StateMessage, denied.OwnerId));

        // The key alias/shared already named: created, it is the snapshot's key; granted, B may use it.
        var key = env.Ec2.CreateKmsKey(A, "us-east-1", "alias/shared");
        Assert.Equal(sourceKey, key.Arn);
        Assert.Equal(SnapshotState.Error, (await CopyAndWaitAsync(env, bWest, snap)).State); // created is not granted
        env.Ec2.GrantKmsKey(key.KeyId, B);

        var copy = await CopyAndWaitAsync(env, bWest, snap);

        Assert.Equal((SnapshotState.Completed, true, B), (copy.State, copy.Encrypted ?? false, copy.OwnerId));
        Assert.Equal(DefaultKeyOf(env, B, "us-west-2"), copy.KmsKeyId);
        Assert.Contains($":{B}:", copy.KmsKeyId);

        // Within the source's region too: B's default key there, not A's key.
        var inEast = await CopyAndWaitAsync(env, env.Client("us-east-1", KeyB), snap);
        Assert.Equal((SnapshotState.Completed, DefaultKeyOf(env, B, "us-east-1")), (inEast.State, inEast.KmsKeyId));

        env.Ec2.RevokeKmsKey(key.Arn, B);

        var again = await CopyAndWaitAsync(env, bWest, snap);
        Assert.Equal((SnapshotState.Error, Denied), (again.State, again.StateMessage));
    }

    [Fact]
    public async Task KmsKeyIdOfAnotherAccount_MustBeGrantedToTheCaller()
    {
        await using var env = await StartAsync();
        var snap = env.Ec2.Seed(new SeedRequest { Region = "us-east-1", Snapshots = 1, CreateVolumePermissionUserIds = [B] }).SnapshotIds.Single();
        var vault = env.Ec2.CreateKmsKey(C, "us-west-2"); // C's key, no alias
        var bWest = env.Client("us-west-2", KeyB);
        void WithKey(CopySnapshotRequest r) { r.Encrypted = true; r.KmsKeyId = vault.Arn; }

        var denied = await CopyAndWaitAsync(env, bWest, snap, WithKey);
        Assert.Equal((SnapshotState.Error, Denied), (denied.State, denied.StateMessage));

        env.Ec2.GrantKmsKey(vault.Arn, B);
        var copy = await CopyAndWaitAsync(env, bWest, snap, WithKey);

        Assert.Equal((SnapshotState.Completed, vault.Arn), (copy.State, copy.KmsKeyId));
        // A key of one's own account is usable, created here or not (the emulator's behaviour before keys had owners).
        var own = await CopyAndWaitAsync(env, bWest, snap, r => { r.Encrypted = true; r.KmsKeyId = "alias/bs-own"; });
        Assert.Equal(SnapshotState.Completed, own.State);
        Assert.Contains($":{B}:key/", own.KmsKeyId);
    }

    [Fact]
    public async Task TheOwnersOwnCopies_KeepTodaysKeyRules()
    {
        await using var env = await StartAsync();
        var snap = SeedShared(env);
        var a = env.Client("us-east-1");

        var sameRegion = await CopyAndWaitAsync(env, a, snap);
        var otherRegion = await CopyAndWaitAsync(env, env.Client("us-west-2"), snap);

        Assert.Equal((SnapshotState.Completed, (await a.DescribeSnapshotAsync(snap)).KmsKeyId), (sameRegion.State, sameRegion.KmsKeyId));
        Assert.Equal((SnapshotState.Completed, DefaultKeyOf(env, A, "us-west-2")), (otherRegion.State, otherRegion.KmsKeyId));
    }

    [Fact]
    public async Task AnotherAccountsAwsManagedKey_CanNeverBeGranted()
    {
        await using var env = await StartAsync();
        env.SeedSnapshot("us-east-1", encrypted: true);
        var managed = DefaultKeyOf(env, A, "us-east-1");

        var ex = Assert.Throws<ArgumentException>(() => env.Ec2.GrantKmsKey(managed, B));
        Assert.Contains("AWS managed", ex.Message);
        Assert.Throws<ArgumentException>(() => env.Ec2.CreateKmsKey(A, "us-east-1", "alias/aws/ebs"));
        Assert.Throws<ArgumentException>(() => env.Ec2.CreateKmsKey("1234", "us-east-1"));
        var key = env.Ec2.CreateKmsKey(A, "us-east-1", "alias/once");
        Assert.Throws<ArgumentException>(() => env.Ec2.CreateKmsKey(A, "us-east-1", "alias/once"));
        Assert.Throws<ArgumentException>(() => env.Ec2.GrantKmsKey(key.KeyId, A)); // its own account
        Assert.Throws<ArgumentException>(() => env.Ec2.GrantKmsKey("no-such-key", B));
    }

    [Fact]
    public async Task InaccessibleKeysFault_NamedByArn_FailsEveryonesCopies_EvenWhenGranted()
    {
        await using var env = await StartAsync();
        var snap = SeedShared(env);
        var key = env.Ec2.CreateKmsKey(A, "us-east-1", "alias/shared");
        env.Ec2.GrantKmsKey(key.KeyId, B);
        env.Ec2.Config.Faults.InaccessibleKmsKeys.Add(key.Arn);

        var ownCopy = await CopyAndWaitAsync(env, env.Client("us-west-2"), snap);
        var sharedCopy = await CopyAndWaitAsync(env, env.Client("us-west-2", KeyB), snap);

        Assert.Equal((SnapshotState.Error, Denied), (ownCopy.State, ownCopy.StateMessage));
        Assert.Equal((SnapshotState.Error, Denied), (sharedCopy.State, sharedCopy.StateMessage));
    }
}
