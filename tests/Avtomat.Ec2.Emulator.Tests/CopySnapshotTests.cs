using Amazon.EC2;
using Amazon.EC2.Model;
using Avtomat.Ec2.Emulator.Tests.Support;

namespace Avtomat.Ec2.Emulator.Tests;

public class CopySnapshotTests
{
    [Fact]
    public async Task CopySnapshot_SameRegion_ReturnsNewPendingSnapshotWithSourceProperties()
    {
        await using var env = await TestEmulator.StartAsync();
        var source = env.SeedSnapshot("us-east-1", sizeGiB: 42, description: "source");
        var ec2 = env.Client("us-east-1");

        var response = await ec2.CopyAsync("us-east-1", source, r => r.Description = "the copy");

        Assert.StartsWith("snap-", response.SnapshotId);
        Assert.NotEqual(source, response.SnapshotId);
        var copy = await ec2.DescribeSnapshotAsync(response.SnapshotId);
        Assert.Equal(SnapshotState.Pending, copy.State);
        Assert.Equal(env.AccountId, copy.OwnerId);
        Assert.Equal(42, copy.VolumeSize);
        Assert.Equal("the copy", copy.Description);
        Assert.Equal("vol-ffffffff", copy.VolumeId);
        Assert.False(copy.Encrypted ?? false);
    }

    [Fact]
    public async Task CopySnapshot_CrossRegion_LandsInDestinationRegionOnly_AndLeavesSourceUntouched()
    {
        await using var env = await TestEmulator.StartAsync();
        var source = env.SeedSnapshot("us-east-1", sizeGiB: 16, description: "orig", tags: new() { ["Name"] = "src" });
        var east = env.Client("us-east-1");
        var west = env.Client("us-west-2");
        var before = await east.DescribeSnapshotAsync(source);

        var response = await west.CopyAsync("us-east-1", source, r => r.Description = "copied");

        var copy = await west.DescribeSnapshotAsync(response.SnapshotId);
        Assert.Equal(env.AccountId, copy.OwnerId);
        Assert.Equal(16, copy.VolumeSize);
        Assert.Equal("copied", copy.Description);
        Assert.Equal("vol-ffffffff", copy.VolumeId);
        Assert.Empty(copy.Tags.OrEmpty()); // EC2 does not copy source tags

        // Not visible in the source region, neither by id nor by filter.
        await Expect.Ec2ErrorAsync(() => east.DescribeSnapshotAsync(response.SnapshotId), "InvalidSnapshot.NotFound", 400);
        Assert.Empty(await east.DescribeOwnSnapshotsAsync(Ec2Extensions.Filter("snapshot-id", response.SnapshotId)));
        Assert.Equal([source], (await east.DescribeOwnSnapshotsAsync()).Select(s => s.SnapshotId));

        var after = await east.DescribeSnapshotAsync(source);
        Assert.Equal(before.State, after.State);
        Assert.Equal(before.Description, after.Description);
        Assert.Equal(before.VolumeId, after.VolumeId);
        Assert.Equal(before.Tags.TagMap(), after.Tags.TagMap());
        Assert.Equal(before.StartTime, after.StartTime);
    }

    [Fact]
    public async Task CopySnapshot_IsRecordedInStatsPerSourceAndDestinationRegion()
    {
        await using var env = await TestEmulator.StartAsync();
        var source = env.SeedSnapshot("us-east-1");
        await env.Client("us-west-2").CopyAsync("us-east-1", source);
        await env.Client("eu-west-1").CopyAsync("us-east-1", source);
        await env.Client("eu-west-1").CopyAsync("us-east-1", source);

        var perDestination = env.Ec2.GetStats().CopiesPerSource[$"us-east-1/{source}"];
        Assert.Equal(1, perDestination["us-west-2"]);
        Assert.Equal(2, perDestination["eu-west-1"]);
    }

    [Fact]
    public async Task CopySnapshot_MissingSource_FailsWithInvalidSnapshotNotFound()
    {
        await using var env = await TestEmulator.StartAsync();
        var west = env.Client("us-west-2");

        await Expect.Ec2ErrorAsync(() => west.CopyAsync("us-east-1", "snap-0123456789abcdef0"), "InvalidSnapshot.NotFound", 400);
        Assert.Empty(await west.DescribeOwnSnapshotsAsync());
    }

    [Fact]
    public async Task CopySnapshot_SourceInAnotherRegionThanSourceRegion_IsNotFound()
    {
        await using var env = await TestEmulator.StartAsync();
        var source = env.SeedSnapshot("us-east-1");

        await Expect.Ec2ErrorAsync(() => env.Client("us-west-2").CopyAsync("eu-west-1", source), "InvalidSnapshot.NotFound", 400);
    }

    [Fact]
    public async Task CopySnapshot_WithTagSpecification_TagsTheCopyAndReturnsTagSet_ButNotTheSource()
    {
        await using var env = await TestEmulator.StartAsync();
        var source = env.SeedSnapshot("us-east-1", tags: new() { ["Origin"] = "seed" });
        var west = env.Client("us-west-2");

        var response = await west.CopyAsync("us-east-1", source, r => r.TagSpecifications =
        [
            new TagSpecification
            {
                ResourceType = ResourceType.Snapshot,
                Tags = [new Tag("Name", "copy-1"), new Tag("Job", "abc")],
            },
        ]);

        var expected = new Dictionary<string, string> { ["Name"] = "copy-1", ["Job"] = "abc" };
        Assert.Equal(expected, response.Tags.TagMap());
        var copy = await west.DescribeSnapshotAsync(response.SnapshotId);
        Assert.Equal(expected, copy.Tags.TagMap());
        var src = await env.Client("us-east-1").DescribeSnapshotAsync(source);
        Assert.Equal(new Dictionary<string, string> { ["Origin"] = "seed" }, src.Tags.TagMap());
    }

    [Theory]
    [InlineData(15)]
    [InlineData(30)]
    [InlineData(2880)]
    public async Task CopySnapshot_CompletionDurationMinutesInRangeAndStep_IsAcceptedAsTimeBasedCopy(int minutes)
    {
        await using var env = await TestEmulator.StartAsync();
        var source = env.SeedSnapshot("us-east-1");
        var west = env.Client("us-west-2");

        var response = await west.CopyAsync("us-east-1", source, r => r.CompletionDurationMinutes = minutes);

        var copy = await west.DescribeSnapshotAsync(response.SnapshotId);
        Assert.Equal(minutes, copy.CompletionDurationMinutes);
        Assert.Equal(TransferType.TimeBased, copy.TransferType);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(14)]
    [InlineData(20)]
    [InlineData(2895)]
    [InlineData(-15)]
    public async Task CopySnapshot_CompletionDurationMinutesOutOfRangeOrStep_IsInvalidParameterValue(int minutes)
    {
        await using var env = await TestEmulator.StartAsync();
        var source = env.SeedSnapshot("us-east-1");
        var west = env.Client("us-west-2");

        await Expect.Ec2ErrorAsync(() => west.CopyAsync("us-east-1", source, r => r.CompletionDurationMinutes = minutes),
            "InvalidParameterValue", 400);
        Assert.Empty(await west.DescribeOwnSnapshotsAsync());
    }

    [Fact]
    public async Task CopySnapshot_DryRun_Answers412DryRunOperation_AndCreatesNothing()
    {
        await using var env = await TestEmulator.StartAsync();
        var source = env.SeedSnapshot("us-east-1");
        var west = env.Client("us-west-2", maxErrorRetry: 2);

        await Expect.Ec2ErrorAsync(() => west.CopyAsync("us-east-1", source, r => r.DryRun = true), "DryRunOperation", 412);

        Assert.Empty(await west.DescribeOwnSnapshotsAsync());
        Assert.False(env.Ec2.GetStats().CopiesPerSource.TryGetValue($"us-east-1/{source}", out var per) && per.Values.Sum() > 0);
    }
}

public class CopySnapshotEncryptionTests
{
    [Fact]
    public async Task CopySnapshot_EncryptedWithoutKey_UsesTheDestinationRegionDefaultKey()
    {
        await using var env = await TestEmulator.StartAsync();
        var source = env.SeedSnapshot("us-east-1");
        var west = env.Client("us-west-2");
        var euw = env.Client("eu-west-1");

        var a = await west.DescribeSnapshotAsync((await west.CopyAsync("us-east-1", source, r => r.Encrypted = true)).SnapshotId);
        var b = await west.DescribeSnapshotAsync((await west.CopyAsync("us-east-1", source, r => r.Encrypted = true)).SnapshotId);
        var c = await euw.DescribeSnapshotAsync((await euw.CopyAsync("us-east-1", source, r => r.Encrypted = true)).SnapshotId);

        Assert.True(a.Encrypted);
        Assert.StartsWith($"arn:aws:kms:us-west-2:{env.AccountId}:", a.KmsKeyId);
        Assert.Equal(a.KmsKeyId, b.KmsKeyId); // one default key per region
        Assert.True(c.Encrypted);
        Assert.StartsWith($"arn:aws:kms:eu-west-1:{env.AccountId}:", c.KmsKeyId);
    }

    [Fact]
    public async Task CopySnapshot_EncryptedWithExplicitKey_UsesThatKey()
    {
        await using var env = await TestEmulator.StartAsync();
        var source = env.SeedSnapshot("us-east-1");
        var west = env.Client("us-west-2");
        var key = $"arn:aws:kms:us-west-2:{env.AccountId}:key/1234abcd-12ab-34cd-56ef-1234567890ab";

        var id = (await west.CopyAsync("us-east-1", source, r => { r.Encrypted = true; r.KmsKeyId = key; })).SnapshotId;

        var copy = await west.DescribeSnapshotAsync(id);
        Assert.True(copy.Encrypted);
        Assert.Equal(key, copy.KmsKeyId);
    }

    [Fact]
    public async Task CopySnapshot_OfEncryptedSource_IsEncryptedEvenWithoutEncryptedFlag()
    {
        await using var env = await TestEmulator.StartAsync();
        var sourceKey = $"arn:aws:kms:us-east-1:{env.AccountId}:key/00000000-1111-2222-3333-444444444444";
        var source = env.SeedSnapshot("us-east-1", encrypted: true, kmsKeyId: sourceKey);
        var west = env.Client("us-west-2");

        var copy = await west.DescribeSnapshotAsync((await west.CopyAsync("us-east-1", source)).SnapshotId);

        Assert.True(copy.Encrypted);
        Assert.False(string.IsNullOrEmpty(copy.KmsKeyId));
    }

    [Fact]
    public async Task CopySnapshot_UnencryptedSourceWithoutEncryptedFlag_StaysUnencrypted()
    {
        await using var env = await TestEmulator.StartAsync();
        var source = env.SeedSnapshot("us-east-1");
        var west = env.Client("us-west-2");

        var copy = await west.DescribeSnapshotAsync((await west.CopyAsync("us-east-1", source)).SnapshotId);

        Assert.False(copy.Encrypted ?? false);
        Assert.True(string.IsNullOrEmpty(copy.KmsKeyId));
    }

    [Fact]
    public async Task CopySnapshot_KmsKeyIdWithoutEncrypted_IsRejectedAndCreatesNothing()
    {
        await using var env = await TestEmulator.StartAsync();
        var source = env.SeedSnapshot("us-east-1");
        var west = env.Client("us-west-2");

        var ex = await Assert.ThrowsAsync<AmazonEC2Exception>(() => west.CopyAsync("us-east-1", source,
            r => r.KmsKeyId = $"arn:aws:kms:us-west-2:{env.AccountId}:key/1234abcd-12ab-34cd-56ef-1234567890ab"));

        Assert.Equal(400, (int)ex.StatusCode);
        Assert.False(string.IsNullOrEmpty(ex.ErrorCode));
        Assert.Empty(await west.DescribeOwnSnapshotsAsync());
    }

    [Fact]
    public async Task CopySnapshot_WithInaccessibleKey_CallSucceeds_ButCopyEndsInErrorWithStatusMessage()
    {
        var badKey = "arn:aws:kms:us-west-2:123456789012:key/deaddead-dead-dead-dead-deaddeaddead";
        await using var env = await TestEmulator.StartAsync(o =>
        {
            o.Config.Faults.InaccessibleKmsKeys = [badKey];
            o.Config.Durations.Copy = new() { Kind = Emulator.DurationKind.Fixed, Seconds = 60 };
        });
        var source = env.SeedSnapshot("us-east-1");
        var west = env.Client("us-west-2");

        var id = (await west.CopyAsync("us-east-1", source, r => { r.Encrypted = true; r.KmsKeyId = badKey; })).SnapshotId;
        env.Advance(TimeSpan.FromHours(2));

        var copy = await west.DescribeSnapshotAsync(id);
        Assert.Equal(SnapshotState.Error, copy.State);
        Assert.Contains("not accessible", copy.StateMessage, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task CopySnapshot_WithAccessibleKey_WhileAnotherKeyIsInaccessible_Completes()
    {
        await using var env = await TestEmulator.StartAsync(o =>
        {
            o.Config.Faults.InaccessibleKmsKeys = ["arn:aws:kms:us-west-2:123456789012:key/deaddead-dead-dead-dead-deaddeaddead"];
            o.Config.Durations.Copy = new() { Kind = Emulator.DurationKind.Fixed, Seconds = 60 };
        });
        var source = env.SeedSnapshot("us-east-1");
        var west = env.Client("us-west-2");
        var good = "arn:aws:kms:us-west-2:123456789012:key/900dd00d-0000-0000-0000-000000000000";

        var id = (await west.CopyAsync("us-east-1", source, r => { r.Encrypted = true; r.KmsKeyId = good; })).SnapshotId;
        env.Advance(TimeSpan.FromHours(2));

        Assert.Equal(SnapshotState.Completed, (await west.DescribeSnapshotAsync(id)).State);
    }
}

public class CopySnapshotOutpostTests
{
    private const string OutpostArn = "arn:aws:outposts:us-west-2:123456789012:outpost/op-0123456789abcdef0";

    [Fact]
    public async Task CopySnapshot_ToOutpostOfDestinationRegion_IsAlwaysEncrypted()
    {
        await using var env = await TestEmulator.StartAsync();
        var source = env.SeedSnapshot("us-west-2");
        var west = env.Client("us-west-2");

        var id = (await west.CopyAsync("us-west-2", source, r => r.DestinationOutpostArn = OutpostArn)).SnapshotId;

        var copy = await west.DescribeSnapshotAsync(id);
        Assert.True(copy.Encrypted);
        Assert.Equal(OutpostArn, copy.OutpostArn);
    }

    [Fact]
    public async Task CopySnapshot_FromOutpostSnapshot_IsRejected()
    {
        await using var env = await TestEmulator.StartAsync();
        var source = env.SeedSnapshot("us-west-2", outpostArn: OutpostArn);
        var west = env.Client("us-west-2");

        var ex = await Assert.ThrowsAsync<AmazonEC2Exception>(() => west.CopyAsync("us-west-2", source));

        Assert.InRange((int)ex.StatusCode, 400, 499);
        Assert.Equal([source], (await west.DescribeOwnSnapshotsAsync()).Select(s => s.SnapshotId));
    }
}
