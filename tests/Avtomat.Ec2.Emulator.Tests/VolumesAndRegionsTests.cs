using Amazon.EC2;
using Amazon.EC2.Model;
using Avtomat.Ec2.Emulator;
using Avtomat.Ec2.Emulator.Tests.Support;

namespace Avtomat.Ec2.Emulator.Tests;

public class VolumesAndRegionsTests
{
    [Fact]
    public async Task DescribeRegions_ListsEveryConfiguredRegion()
    {
        await using var env = await TestEmulator.StartAsync();

        var response = await env.Client("eu-west-1").DescribeRegionsAsync(new DescribeRegionsRequest());

        var names = response.Regions.OrEmpty().Select(r => r.RegionName).ToList();
        Assert.Equal(EmulatorRegions.Default.Order(), names.Order());
        Assert.All(response.Regions.OrEmpty(), r => Assert.False(string.IsNullOrEmpty(r.Endpoint)));
    }

    [Fact]
    public async Task DescribeRegions_WithCustomRegionList_ListsOnlyThose()
    {
        await using var env = await TestEmulator.StartAsync(o => o.Regions = ["us-east-1", "eu-central-1"]);

        var response = await env.Client("us-east-1").DescribeRegionsAsync(new DescribeRegionsRequest());

        Assert.Equal(new[] { "eu-central-1", "us-east-1" }, response.Regions.OrEmpty().Select(r => r.RegionName).Order());
    }

    [Fact]
    public async Task DescribeRegions_RegionNamesFilter_NarrowsTheList()
    {
        await using var env = await TestEmulator.StartAsync();

        var response = await env.Client().DescribeRegionsAsync(new DescribeRegionsRequest { RegionNames = ["us-west-2", "eu-west-1"] });

        Assert.Equal(new[] { "eu-west-1", "us-west-2" }, response.Regions.OrEmpty().Select(r => r.RegionName).Order());
    }

    [Fact]
    public async Task Call_SignedForRegionTheEmulatorDoesNotServe_IsAClientError()
    {
        await using var env = await TestEmulator.StartAsync(o => o.Regions = ["us-east-1"]);

        var ex = await Assert.ThrowsAsync<AmazonEC2Exception>(() => env.Client("us-west-2").DescribeOwnSnapshotsAsync());

        Assert.InRange((int)ex.StatusCode, 400, 499);
    }

    [Fact]
    public async Task CopySnapshot_FromSourceRegionTheEmulatorDoesNotServe_IsAClientError()
    {
        await using var env = await TestEmulator.StartAsync(o => o.Regions = ["us-east-1", "us-west-2"]);

        var ex = await Assert.ThrowsAsync<AmazonEC2Exception>(() => env.Client("us-west-2").CopyAsync("eu-west-1", "snap-0123456789abcdef0"));

        Assert.InRange((int)ex.StatusCode, 400, 499);
    }

    [Fact]
    public async Task CreateVolume_IsCreatingThenAvailable_AndDescribable()
    {
        await using var env = await TestEmulator.StartAsync(o => o.Config.Durations.VolumeCreateSeconds = 5);
        var ec2 = env.Client("us-west-2");

        var created = (await ec2.CreateVolumeAsync(new CreateVolumeRequest
        {
            AvailabilityZone = "us-west-2a", Size = 20, VolumeType = VolumeType.Gp3,
            TagSpecifications = [new TagSpecification { ResourceType = ResourceType.Volume, Tags = [new Tag("Name", "v")] }],
        })).Volume;

        Assert.StartsWith("vol-", created.VolumeId);
        Assert.Equal(VolumeState.Creating, created.State);
        Assert.Equal(20, created.Size);
        Assert.Equal("us-west-2a", created.AvailabilityZone);

        env.AdvanceSeconds(6);
        var described = Assert.Single((await ec2.DescribeVolumesAsync(new DescribeVolumesRequest { VolumeIds = [created.VolumeId] })).Volumes.OrEmpty());
        Assert.Equal(VolumeState.Available, described.State);
        Assert.Equal(20, described.Size);
        Assert.Equal(VolumeType.Gp3, described.VolumeType);
        Assert.Equal(new Dictionary<string, string> { ["Name"] = "v" }, described.Tags.TagMap());
    }

    [Fact]
    public async Task CreateVolume_FromSnapshot_TakesSnapshotSizeAndRecordsSnapshotId()
    {
        await using var env = await TestEmulator.StartAsync();
        var snap = env.SeedSnapshot("us-east-1", sizeGiB: 64);
        var ec2 = env.Client();

        var vol = (await ec2.CreateVolumeAsync(new CreateVolumeRequest { AvailabilityZone = "us-east-1a", SnapshotId = snap })).Volume;

        Assert.Equal(64, vol.Size);
        Assert.Equal(snap, vol.SnapshotId);
    }

    [Fact]
    public async Task CreateVolume_FromMissingSnapshot_IsInvalidSnapshotNotFound()
    {
        await using var env = await TestEmulator.StartAsync();
        await Expect.Ec2ErrorAsync(() => env.Client().CreateVolumeAsync(new CreateVolumeRequest
        {
            AvailabilityZone = "us-east-1a", SnapshotId = "snap-0123456789abcdef0",
        }), "InvalidSnapshot.NotFound", 400);
    }

    [Fact]
    public async Task CreatedVolume_CanBeSnapshotted()
    {
        await using var env = await TestEmulator.StartAsync(o => o.Config.Durations.VolumeCreateSeconds = 1);
        var ec2 = env.Client();
        var vol = (await ec2.CreateVolumeAsync(new CreateVolumeRequest { AvailabilityZone = "us-east-1a", Size = 4 })).Volume.VolumeId;
        env.AdvanceSeconds(2);

        var snap = (await ec2.CreateSnapshotAsync(new CreateSnapshotRequest { VolumeId = vol })).Snapshot;

        Assert.Equal(vol, snap.VolumeId);
        Assert.Equal(4, snap.VolumeSize);
    }

    [Fact]
    public async Task DescribeVolumes_MissingId_IsInvalidVolumeNotFound_AndRegionsAreSeparate()
    {
        await using var env = await TestEmulator.StartAsync();
        var vol = env.SeedVolume("us-east-1", sizeGiB: 12);

        await Expect.Ec2ErrorAsync(() => env.Client().DescribeVolumesAsync(new DescribeVolumesRequest { VolumeIds = ["vol-0123456789abcdef0"] }),
            "InvalidVolume.NotFound", 400);
        await Expect.Ec2ErrorAsync(() => env.Client("us-west-2").DescribeVolumesAsync(new DescribeVolumesRequest { VolumeIds = [vol] }),
            "InvalidVolume.NotFound", 400);
        var all = (await env.Client().DescribeVolumesAsync(new DescribeVolumesRequest())).Volumes.OrEmpty();
        var found = Assert.Single(all);
        Assert.Equal(vol, found.VolumeId);
        Assert.Equal(12, found.Size);
        Assert.Equal(VolumeState.Available, found.State);
    }
}
