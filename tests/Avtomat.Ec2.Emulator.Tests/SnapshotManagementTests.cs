using Amazon.EC2;
using Amazon.EC2.Model;
using Avtomat.Ec2.Emulator.Tests.Support;

namespace Avtomat.Ec2.Emulator.Tests;

/// <summary>CreateSnapshot, CreateTags and DeleteSnapshot.</summary>
public class SnapshotManagementTests
{
    [Fact]
    public async Task CreateSnapshot_OfVolume_ReturnsPendingSnapshotWithVolumeProperties()
    {
        await using var env = await TestEmulator.StartAsync();
        var vol = env.SeedVolume(sizeGiB: 30);
        var ec2 = env.Client();

        var response = await ec2.CreateSnapshotAsync(new CreateSnapshotRequest
        {
            VolumeId = vol,
            Description = "manual",
            TagSpecifications = [new TagSpecification { ResourceType = ResourceType.Snapshot, Tags = [new Tag("Name", "s1")] }],
        });

        var snap = response.Snapshot;
        Assert.StartsWith("snap-", snap.SnapshotId);
        Assert.Equal(SnapshotState.Pending, snap.State);
        Assert.Equal(vol, snap.VolumeId);
        Assert.Equal(30, snap.VolumeSize);
        Assert.Equal(env.AccountId, snap.OwnerId);
        Assert.Equal("manual", snap.Description);
        Assert.Equal(new Dictionary<string, string> { ["Name"] = "s1" }, snap.Tags.TagMap());
        var described = await ec2.DescribeSnapshotAsync(snap.SnapshotId);
        Assert.Equal(vol, described.VolumeId);
        Assert.Equal(new Dictionary<string, string> { ["Name"] = "s1" }, described.Tags.TagMap());
        Assert.Equal(1, env.Ec2.GetStats().SnapshotsPerVolume[vol]);
    }

    [Fact]
    public async Task CreateSnapshot_OfMissingVolume_IsInvalidVolumeNotFound()
    {
        await using var env = await TestEmulator.StartAsync();
        await Expect.Ec2ErrorAsync(() => env.Client().CreateSnapshotAsync(new CreateSnapshotRequest { VolumeId = "vol-0123456789abcdef0" }),
            "InvalidVolume.NotFound", 400);
    }

    [Fact]
    public async Task CreateSnapshot_OfVolumeInAnotherRegion_IsInvalidVolumeNotFound()
    {
        await using var env = await TestEmulator.StartAsync();
        var vol = env.SeedVolume("us-east-1");
        await Expect.Ec2ErrorAsync(() => env.Client("us-west-2").CreateSnapshotAsync(new CreateSnapshotRequest { VolumeId = vol }),
            "InvalidVolume.NotFound", 400);
    }

    [Fact]
    public async Task CreateSnapshot_DryRun_Answers412AndCreatesNothing()
    {
        await using var env = await TestEmulator.StartAsync();
        var vol = env.SeedVolume();
        var ec2 = env.Client();

        await Expect.Ec2ErrorAsync(() => ec2.CreateSnapshotAsync(new CreateSnapshotRequest { VolumeId = vol, DryRun = true }), "DryRunOperation", 412);
        Assert.Empty(await ec2.DescribeOwnSnapshotsAsync());
    }

    [Fact]
    public async Task CreateTags_AddsAndOverwritesTagsOnSnapshot()
    {
        await using var env = await TestEmulator.StartAsync();
        var id = env.SeedSnapshot(tags: new() { ["Keep"] = "1", ["Env"] = "dev" });
        var ec2 = env.Client();

        await ec2.CreateTagsAsync(new CreateTagsRequest { Resources = [id], Tags = [new Tag("Env", "prod"), new Tag("New", "")] });

        var snap = await ec2.DescribeSnapshotAsync(id);
        Assert.Equal(new Dictionary<string, string> { ["Keep"] = "1", ["Env"] = "prod", ["New"] = "" }, snap.Tags.TagMap());
        Assert.Equal([id], (await ec2.DescribeOwnSnapshotsAsync(Ec2Extensions.Filter("tag:Env", "prod"))).Select(s => s.SnapshotId));
    }

    [Fact]
    public async Task CreateTags_OnSeveralResources_TagsEachOfThem()
    {
        await using var env = await TestEmulator.StartAsync();
        var ids = env.Ec2.Seed(new() { Snapshots = 3 }).SnapshotIds;
        var ec2 = env.Client();

        await ec2.CreateTagsAsync(new CreateTagsRequest { Resources = [ids[0], ids[1]], Tags = [new Tag("Batch", "7")] });

        var tagged = await ec2.DescribeOwnSnapshotsAsync(Ec2Extensions.Filter("tag:Batch", "7"));
        Assert.Equal(new[] { ids[0], ids[1] }.Order(), tagged.Select(s => s.SnapshotId).Order());
    }

    [Fact]
    public async Task CreateTags_OnMissingSnapshot_IsInvalidSnapshotNotFound()
    {
        await using var env = await TestEmulator.StartAsync();
        await Expect.Ec2ErrorAsync(() => env.Client().CreateTagsAsync(new CreateTagsRequest
        {
            Resources = ["snap-0123456789abcdef0"], Tags = [new Tag("A", "b")],
        }), "InvalidSnapshot.NotFound", 400);
    }

    [Fact]
    public async Task DeleteSnapshot_RemovesIt_AndDeletingAgainIsNotFound()
    {
        await using var env = await TestEmulator.StartAsync();
        var keep = env.SeedSnapshot();
        var gone = env.SeedSnapshot();
        var ec2 = env.Client();

        await ec2.DeleteSnapshotAsync(new DeleteSnapshotRequest { SnapshotId = gone });

        await Expect.Ec2ErrorAsync(() => ec2.DescribeSnapshotAsync(gone), "InvalidSnapshot.NotFound", 400);
        Assert.Equal([keep], (await ec2.DescribeOwnSnapshotsAsync()).Select(s => s.SnapshotId));
        await Expect.Ec2ErrorAsync(() => ec2.DeleteSnapshotAsync(new DeleteSnapshotRequest { SnapshotId = gone }), "InvalidSnapshot.NotFound", 400);
    }

    [Fact]
    public async Task DeleteSnapshot_FromAnotherRegion_IsNotFoundAndKeepsIt()
    {
        await using var env = await TestEmulator.StartAsync();
        var id = env.SeedSnapshot("us-east-1");

        await Expect.Ec2ErrorAsync(() => env.Client("us-west-2").DeleteSnapshotAsync(new DeleteSnapshotRequest { SnapshotId = id }),
            "InvalidSnapshot.NotFound", 400);
        Assert.Equal(id, (await env.Client("us-east-1").DescribeSnapshotAsync(id)).SnapshotId);
    }

    [Fact]
    public async Task DeleteSnapshot_OfPendingCopy_FreesItsSlotInTheCopyLimit()
    {
        await using var env = await TestEmulator.StartAsync(o => o.Config.Limits.MaxPendingCopiesPerRegion = 1);
        var source = env.SeedSnapshot("us-east-1");
        var west = env.Client("us-west-2");
        var first = (await west.CopyAsync("us-east-1", source)).SnapshotId;
        await Expect.Ec2ErrorAsync(() => west.CopyAsync("us-east-1", source), "ResourceLimitExceeded", 400);

        await west.DeleteSnapshotAsync(new DeleteSnapshotRequest { SnapshotId = first });

        Assert.StartsWith("snap-", (await west.CopyAsync("us-east-1", source)).SnapshotId);
    }
}
