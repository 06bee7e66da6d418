using Amazon.EC2;
using Amazon.EC2.Model;
using Avtomat.Ec2.Emulator;
using Avtomat.Ec2.Emulator.Tests.Support;

namespace Avtomat.Ec2.Emulator.Tests;

/// <summary>Seeded instances, DescribeInstances, volume attachments and CreateSnapshots through AWSSDK.EC2.</summary>
public class InstanceTests
{
    private static SeedResult SeedInstances(TestEmulator env, int instances = 1, int dataVolumes = 2, string state = "running",
        string region = "us-east-1", string? volumeType = null, Dictionary<string, string>? tags = null,
        Dictionary<string, string>? instanceTags = null, string? namePrefix = "web")
        => env.Ec2.Seed(new SeedRequest
        {
            Region = region, Instances = instances, DataVolumesPerInstance = dataVolumes, InstanceState = state,
            VolumeType = volumeType, Tags = tags, InstanceTags = instanceTags, NamePrefix = namePrefix, SizeGiB = 20,
        });

    // ---------------------------------------------------------------- seeding and DescribeInstances

    [Fact]
    public async Task Seed_Instances_AreDescribedWithStatePlacementRootDeviceMappingsAndTags()
    {
        await using var env = await TestEmulator.StartAsync();
        var seeded = SeedInstances(env, instances: 2, dataVolumes: 2, instanceTags: new() { ["Env"] = "prod" });
        var ec2 = env.Client();

        var response = await ec2.DescribeInstancesAsync(new DescribeInstancesRequest());

        var reservation = Assert.Single(response.Reservations.OrEmpty());
        Assert.StartsWith("r-", reservation.ReservationId);
        Assert.Equal(env.AccountId, reservation.OwnerId);
        Assert.Equal(seeded.InstanceIds, reservation.Instances.Select(i => i.InstanceId));
        Assert.Equal(6, seeded.VolumeIds.Count);
        var first = reservation.Instances[0];
        Assert.Matches("^i-[0-9a-f]{17}$", first.InstanceId);
        Assert.Equal(InstanceStateName.Running, first.State.Name);
        Assert.Equal(16, first.State.Code);
        Assert.Equal("us-east-1a", first.Placement.AvailabilityZone);
        Assert.Equal("/dev/xvda", first.RootDeviceName);
        Assert.Equal(DeviceType.Ebs, first.RootDeviceType);
        Assert.Equal(new Dictionary<string, string> { ["Env"] = "prod", ["Name"] = "web-1" }, first.Tags.TagMap());
        var volumes = seeded.InstanceVolumeIds[first.InstanceId];
        Assert.Equal(new[] { "/dev/xvda", "/dev/sdf", "/dev/sdg" }, first.BlockDeviceMappings.Select(m => m.DeviceName));
        Assert.Equal(volumes, first.BlockDeviceMappings.Select(m => m.Ebs.VolumeId));
        Assert.All(first.BlockDeviceMappings, m =>
        {
            Assert.Equal(AttachmentStatus.Attached, m.Ebs.Status);
            Assert.Equal(TestEmulator.Epoch.UtcDateTime, m.Ebs.AttachTime);
        });
        Assert.Equal(new bool?[] { true, false, false }, first.BlockDeviceMappings.Select(m => m.Ebs.DeleteOnTermination));
    }

    [Fact]
    public async Task Seed_StoppedInstances_HaveStateCode80()
    {
        await using var env = await TestEmulator.StartAsync();
        var id = SeedInstances(env, state: "stopped").InstanceIds.Single();

        var response = await env.Client().DescribeInstancesAsync(new DescribeInstancesRequest { InstanceIds = [id] });

        var instance = Assert.Single(Assert.Single(response.Reservations.OrEmpty()).Instances);
        Assert.Equal(InstanceStateName.Stopped, instance.State.Name);
        Assert.Equal(80, instance.State.Code);
    }

    [Fact]
    public async Task Seed_RejectsUnknownInstanceStateAndTooManyDataVolumes()
    {
        await using var env = await TestEmulator.StartAsync();

        Assert.Throws<ArgumentException>(() => env.Ec2.Seed(new SeedRequest { Instances = 1, InstanceState = "terminated" }));
        Assert.Throws<ArgumentException>(() => env.Ec2.Seed(new SeedRequest { Instances = 1, DataVolumesPerInstance = 21 }));
    }

    [Fact]
    public async Task DescribeInstances_Filters_ByStateTagTagKeyZoneAndId()
    {
        await using var env = await TestEmulator.StartAsync();
        var running = SeedInstances(env, instances: 2, instanceTags: new() { ["Backup"] = "daily" }, namePrefix: "app").InstanceIds;
        var stopped = SeedInstances(env, instances: 1, state: "stopped", namePrefix: "db").InstanceIds;
        var ec2 = env.Client();

        async Task<List<string>> Ids(params Filter[] filters) =>
            (await ec2.DescribeInstancesAsync(new DescribeInstancesRequest { Filters = filters.ToList() }))
            .Reservations.OrEmpty().SelectMany(r => r.Instances).Select(i => i.InstanceId).ToList();

        Assert.Equal(running, await Ids(Ec2Extensions.Filter("instance-state-name", "running")));
        Assert.Equal(stopped, await Ids(Ec2Extensions.Filter("instance-state-name", "stopped")));
        Assert.Equal(running, await Ids(Ec2Extensions.Filter("tag:Backup", "daily")));
        Assert.Equal(running, await Ids(Ec2Extensions.Filter("tag-key", "Backup")));
        Assert.Equal(stopped, await Ids(Ec2Extensions.Filter("tag:Name", "db-*")));
        Assert.Equal(running.Concat(stopped), await Ids(Ec2Extensions.Filter("availability-zone", "us-east-1a")));
        Assert.Empty(await Ids(Ec2Extensions.Filter("availability-zone", "us-east-1b")));
        Assert.Equal([running[1]], await Ids(Ec2Extensions.Filter("instance-id", running[1])));
        Assert.Equal([running[0]], await Ids(Ec2Extensions.Filter("tag:Backup", "daily"), Ec2Extensions.Filter("tag:Name", "app-1")));
    }

    [Fact]
    public async Task DescribeInstances_OtherRegionsAndAccounts_SeeNothing()
    {
        await using var env = await TestEmulator.StartAsync(o => o.Accounts["AKIDOTHER"] = "111122223333");
        SeedInstances(env);

        var otherRegion = await env.Client("us-west-2").DescribeInstancesAsync(new DescribeInstancesRequest());
        var otherAccount = await env.Client("us-east-1", "AKIDOTHER").DescribeInstancesAsync(new DescribeInstancesRequest());

        Assert.Empty(otherRegion.Reservations.OrEmpty());
        Assert.Empty(otherAccount.Reservations.OrEmpty());
    }

    [Fact]
    public async Task DescribeInstances_Pages_WithMaxResultsAndNextToken()
    {
        await using var env = await TestEmulator.StartAsync();
        var ids = SeedInstances(env, instances: 12, dataVolumes: 0).InstanceIds;
        var ec2 = env.Client();

        var seen = new List<string>();
        string? token = null;
        var pages = 0;
        do
        {
            var page = await ec2.DescribeInstancesAsync(new DescribeInstancesRequest { MaxResults = 5, NextToken = token });
            seen.AddRange(page.Reservations.OrEmpty().SelectMany(r => r.Instances).Select(i => i.InstanceId));
            token = page.NextToken;
            pages++;
        } while (token is not null);

        Assert.Equal(3, pages);
        Assert.Equal(ids, seen);
    }

    [Fact]
    public async Task DescribeInstances_MaxResultsOutOfRange_IsInvalidParameterValue()
    {
        await using var env = await TestEmulator.StartAsync();

        await Expect.Ec2ErrorAsync(() => env.Client().DescribeInstancesAsync(new DescribeInstancesRequest { MaxResults = 4 }),
            "InvalidParameterValue", 400);
    }

    [Fact]
    public async Task DescribeInstances_UnknownId_FailsTheWholeCallWithNotFound()
    {
        await using var env = await TestEmulator.StartAsync();
        var id = SeedInstances(env).InstanceIds.Single();

        var ex = await Expect.Ec2ErrorAsync(
            () => env.Client().DescribeInstancesAsync(new DescribeInstancesRequest { InstanceIds = [id, "i-0123456789abcdef0"] }),
            "InvalidInstanceID.NotFound", 400);
        Assert.Equal("The instance ID 'i-0123456789abcdef0' does not exist", ex.Message);
    }

    [Fact]
    public async Task DescribeInstances_MalformedId_IsMalformed()
    {
        await using var env = await TestEmulator.StartAsync();

        await Expect.Ec2ErrorAsync(
            () => env.Client().DescribeInstancesAsync(new DescribeInstancesRequest { InstanceIds = ["vol-0123456789abcdef0"] }),
            "InvalidInstanceID.Malformed", 400);
    }

    [Fact]
    public async Task DescribeInstances_DrawsFromItsOwnTokenBucket()
    {
        await using var env = await TestEmulator.StartAsync(o => o.Config.Limits.Buckets["DescribeInstances"] = new BucketConfig(2, 1));
        var ec2 = env.Client();

        await ec2.DescribeInstancesAsync(new DescribeInstancesRequest());
        await ec2.DescribeInstancesAsync(new DescribeInstancesRequest());
        await Expect.Ec2ErrorAsync(() => ec2.DescribeInstancesAsync(new DescribeInstancesRequest()), "RequestLimitExceeded", 503);
        env.AdvanceSeconds(1);
        await ec2.DescribeInstancesAsync(new DescribeInstancesRequest());
    }

    // ---------------------------------------------------------------- DescribeVolumes attachments

    [Fact]
    public async Task DescribeVolumes_AttachedVolumes_AreInUseWithAttachment()
    {
        await using var env = await TestEmulator.StartAsync();
        var seeded = SeedInstances(env, dataVolumes: 1);
        var instanceId = seeded.InstanceIds.Single();
        var (rootId, dataId) = (seeded.InstanceVolumeIds[instanceId][0], seeded.InstanceVolumeIds[instanceId][1]);

        var volumes = (await env.Client().DescribeVolumesAsync(new DescribeVolumesRequest { VolumeIds = [rootId, dataId] })).Volumes.OrEmpty();

        var root = volumes.Single(v => v.VolumeId == rootId);
        Assert.Equal(VolumeState.InUse, root.State);
        Assert.Equal(8, root.Size);
        Assert.Equal("web-1-root", root.Tags.TagMap()["Name"]);
        var attachment = Assert.Single(root.Attachments);
        Assert.Equal(rootId, attachment.VolumeId);
        Assert.Equal(instanceId, attachment.InstanceId);
        Assert.Equal("/dev/xvda", attachment.Device);
        Assert.Equal(VolumeAttachmentState.Attached, attachment.State);
        Assert.Equal(TestEmulator.Epoch.UtcDateTime, attachment.AttachTime);
        Assert.True(attachment.DeleteOnTermination);
        var data = volumes.Single(v => v.VolumeId == dataId);
        Assert.Equal(20, data.Size);
        Assert.Equal("/dev/sdf", Assert.Single(data.Attachments).Device);
        Assert.False(data.Attachments[0].DeleteOnTermination);
    }

    [Fact]
    public async Task DescribeVolumes_AttachmentFilters_SelectByInstanceDeviceAndStatus()
    {
        await using var env = await TestEmulator.StartAsync();
        var seeded = SeedInstances(env, instances: 2, dataVolumes: 1);
        var loose = env.SeedVolume();
        var first = seeded.InstanceIds[0];
        var ec2 = env.Client();

        async Task<List<string>> Ids(params Filter[] filters) =>
            (await ec2.DescribeVolumesAsync(new DescribeVolumesRequest { Filters = filters.ToList() }))
            .Volumes.OrEmpty().Select(v => v.VolumeId).ToList();

        Assert.Equal(seeded.InstanceVolumeIds[first], await Ids(Ec2Extensions.Filter("attachment.instance-id", first)));
        Assert.Equal(seeded.InstanceIds.Select(i => seeded.InstanceVolumeIds[i][0]),
            await Ids(Ec2Extensions.Filter("attachment.device", "/dev/xvda")));
        Assert.Equal(seeded.VolumeIds, await Ids(Ec2Extensions.Filter("attachment.status", "attached")));
        Assert.Equal([loose], await Ids(Ec2Extensions.Filter("status", "available")));
        Assert.Equal(seeded.VolumeIds, await Ids(Ec2Extensions.Filter("status", "in-use")));
    }

    [Fact]
    public async Task Seed_VolumesCarryTagsAndVolumeType()
    {
        await using var env = await TestEmulator.StartAsync();
        var seeded = env.Ec2.Seed(new SeedRequest
        {
            Volumes = 2, VolumeType = "st1", SizeGiB = 500, NamePrefix = "logs", Tags = new() { ["Backup"] = "daily" },
        });

        var volumes = (await env.Client().DescribeVolumesAsync(new DescribeVolumesRequest
        {
            Filters = [Ec2Extensions.Filter("tag:Backup", "daily")],
        })).Volumes.OrEmpty();

        Assert.Equal(seeded.VolumeIds, volumes.Select(v => v.VolumeId));
        Assert.All(volumes, v => Assert.Equal(VolumeType.St1, v.VolumeType));
        Assert.Equal(new[] { "logs-1", "logs-2" }, volumes.Select(v => v.Tags.TagMap()["Name"]));
    }

    // ---------------------------------------------------------------- CreateSnapshots

    [Fact]
    public async Task CreateSnapshots_SnapshotsEveryAttachedVolume_AtOneStartTime()
    {
        await using var env = await TestEmulator.StartAsync();
        var seeded = SeedInstances(env, dataVolumes: 2);
        var instanceId = seeded.InstanceIds.Single();
        var ec2 = env.Client();

        var response = await ec2.CreateSnapshotsAsync(new CreateSnapshotsRequest
        {
            InstanceSpecification = new InstanceSpecification { InstanceId = instanceId },
            Description = "nightly",
        });

        var snapshots = response.Snapshots.OrEmpty();
        Assert.Equal(seeded.InstanceVolumeIds[instanceId], snapshots.Select(s => s.VolumeId));
        Assert.All(snapshots, s =>
        {
            Assert.Matches("^snap-[0-9a-f]{17}$", s.SnapshotId);
            Assert.Equal(SnapshotState.Pending, s.State);
            Assert.Equal("nightly", s.Description);
            Assert.Equal(env.AccountId, s.OwnerId);
            Assert.Equal("0%", s.Progress);
            Assert.False(s.Encrypted);
            Assert.Equal(TestEmulator.Epoch.UtcDateTime, s.StartTime);
        });
        Assert.Equal(new int?[] { 8, 20, 20 }, snapshots.Select(s => s.VolumeSize));

        env.AdvanceSeconds(10);
        var described = await ec2.DescribeOwnSnapshotsAsync(Ec2Extensions.Filter("description", "nightly"));
        Assert.Equal(snapshots.Select(s => s.SnapshotId).Order(), described.Select(s => s.SnapshotId).Order());
        Assert.All(described, s => Assert.Equal(SnapshotState.Completed, s.State));

        var stats = env.Ec2.GetStats();
        Assert.All(seeded.InstanceVolumeIds[instanceId], v => Assert.Equal(1, stats.SnapshotsPerVolume[v]));
        Assert.All(seeded.InstanceVolumeIds[instanceId], v => Assert.Equal(1, stats.MaxPendingSnapshotsPerVolume[v]));
        Assert.Equal(TestEmulator.Epoch, stats.LastSnapshotStartTime);
    }

    [Fact]
    public async Task CreateSnapshots_ExcludeBootVolume_SkipsTheRootVolume()
    {
        await using var env = await TestEmulator.StartAsync();
        var seeded = SeedInstances(env, dataVolumes: 2);
        var instanceId = seeded.InstanceIds.Single();

        var response = await env.Client().CreateSnapshotsAsync(new CreateSnapshotsRequest
        {
            InstanceSpecification = new InstanceSpecification { InstanceId = instanceId, ExcludeBootVolume = true },
        });

        Assert.Equal(seeded.InstanceVolumeIds[instanceId].Skip(1), response.Snapshots.OrEmpty().Select(s => s.VolumeId));
    }

    [Fact]
    public async Task CreateSnapshots_ExcludeDataVolumeIds_SkipsThose()
    {
        await using var env = await TestEmulator.StartAsync();
        var seeded = SeedInstances(env, dataVolumes: 3);
        var instanceId = seeded.InstanceIds.Single();
        var volumes = seeded.InstanceVolumeIds[instanceId];

        var response = await env.Client().CreateSnapshotsAsync(new CreateSnapshotsRequest
        {
            InstanceSpecification = new InstanceSpecification { InstanceId = instanceId, ExcludeDataVolumeIds = [volumes[1], volumes[3]] },
        });

        Assert.Equal(new[] { volumes[0], volumes[2] }, response.Snapshots.OrEmpty().Select(s => s.VolumeId));
    }

    [Fact]
    public async Task CreateSnapshots_ExcludingTheRootVolumeById_IsInvalid()
    {
        await using var env = await TestEmulator.StartAsync();
        var seeded = SeedInstances(env);
        var instanceId = seeded.InstanceIds.Single();

        await Expect.Ec2ErrorAsync(() => env.Client().CreateSnapshotsAsync(new CreateSnapshotsRequest
        {
            InstanceSpecification = new InstanceSpecification { InstanceId = instanceId, ExcludeDataVolumeIds = [seeded.InstanceVolumeIds[instanceId][0]] },
        }), "InvalidParameterValue", 400);
        Assert.Empty(await env.Client().DescribeOwnSnapshotsAsync());
    }

    [Fact]
    public async Task CreateSnapshots_CopyTagsFromSourceAndTagSpecification_TagEverySnapshot()
    {
        await using var env = await TestEmulator.StartAsync();
        var seeded = SeedInstances(env, dataVolumes: 1, tags: new() { ["Backup"] = "daily", ["Team"] = "a" });
        var instanceId = seeded.InstanceIds.Single();

        var response = await env.Client().CreateSnapshotsAsync(new CreateSnapshotsRequest
        {
            InstanceSpecification = new InstanceSpecification { InstanceId = instanceId },
            CopyTagsFromSource = CopyTagsFromSource.Volume,
            TagSpecifications = [new TagSpecification { ResourceType = ResourceType.Snapshot, Tags = [new Tag("Team", "b"), new Tag("avtomat:request-token", "t1")] }],
        });

        var snapshots = response.Snapshots.OrEmpty();
        Assert.Equal(new Dictionary<string, string>
        {
            ["Backup"] = "daily", ["Name"] = "web-1-root", ["Team"] = "b", ["avtomat:request-token"] = "t1",
        }, snapshots[0].Tags.TagMap());
        Assert.Equal("web-1-data1", snapshots[1].Tags.TagMap()["Name"]);
        var byToken = await env.Client().DescribeOwnSnapshotsAsync(Ec2Extensions.Filter("tag:avtomat:request-token", "t1"));
        Assert.Equal(snapshots.Select(s => s.SnapshotId), byToken.Select(s => s.SnapshotId));
    }

    [Fact]
    public async Task CreateSnapshots_WithoutCopyTags_TagsOnlyFromTagSpecification()
    {
        await using var env = await TestEmulator.StartAsync();
        var instanceId = SeedInstances(env, dataVolumes: 0, tags: new() { ["Backup"] = "daily" }).InstanceIds.Single();

        var response = await env.Client().CreateSnapshotsAsync(new CreateSnapshotsRequest
        {
            InstanceSpecification = new InstanceSpecification { InstanceId = instanceId },
            TagSpecifications = [new TagSpecification { ResourceType = ResourceType.Snapshot, Tags = [new Tag("k", "v")] }],
        });

        Assert.Equal(new Dictionary<string, string> { ["k"] = "v" }, Assert.Single(response.Snapshots.OrEmpty()).Tags.TagMap());
    }

    [Fact]
    public async Task CreateSnapshots_DryRun_Is412AndCreatesNothing()
    {
        await using var env = await TestEmulator.StartAsync();
        var instanceId = SeedInstances(env).InstanceIds.Single();

        await Expect.Ec2ErrorAsync(() => env.Client().CreateSnapshotsAsync(new CreateSnapshotsRequest
        {
            InstanceSpecification = new InstanceSpecification { InstanceId = instanceId }, DryRun = true,
        }), "DryRunOperation", 412);
        Assert.Empty(await env.Client().DescribeOwnSnapshotsAsync());
    }

    [Fact]
    public async Task CreateSnapshots_UnknownInstance_IsNotFound_AndMalformedIdIsMalformed()
    {
        await using var env = await TestEmulator.StartAsync();
        var ec2 = env.Client();

        var ex = await Expect.Ec2ErrorAsync(() => ec2.CreateSnapshotsAsync(new CreateSnapshotsRequest
        {
            InstanceSpecification = new InstanceSpecification { InstanceId = "i-0123456789abcdef0" },
        }), "InvalidInstanceID.NotFound", 400);
        Assert.Equal("The instance ID 'i-0123456789abcdef0' does not exist", ex.Message);
        await Expect.Ec2ErrorAsync(() => ec2.CreateSnapshotsAsync(new CreateSnapshotsRequest
        {
            InstanceSpecification = new InstanceSpecification { InstanceId = "inst-1" },
        }), "InvalidInstanceID.Malformed", 400);
    }

    [Fact]
    public async Task CreateSnapshots_MissingInstanceSpecification_IsMissingParameter()
    {
        await using var env = await TestEmulator.StartAsync();

        var (status, xml, _) = await RawEc2.CallAsync(env.Ec2.BaseUrl, "us-east-1", "CreateSnapshots", ("Description", "x"));

        Assert.Equal(400, (int)status);
        Assert.Equal("MissingParameter", RawEc2.AssertErrorEnvelope(xml));
    }

    [Fact]
    public async Task CreateSnapshots_PerVolumeRateRule_FailsTheWholeCall()
    {
        await using var env = await TestEmulator.StartAsync();
        var seeded = SeedInstances(env, dataVolumes: 1);
        var instanceId = seeded.InstanceIds.Single();
        var ec2 = env.Client();
        // One volume of the set was snapshotted 5 s ago: the 15 s rule fails the whole set.
        await ec2.CreateSnapshotAsync(new CreateSnapshotRequest { VolumeId = seeded.InstanceVolumeIds[instanceId][1] });
        env.AdvanceSeconds(5);

        await Expect.Ec2ErrorAsync(() => ec2.CreateSnapshotsAsync(new CreateSnapshotsRequest
        {
            InstanceSpecification = new InstanceSpecification { InstanceId = instanceId },
        }), "SnapshotCreationPerVolumeRateExceeded", 400);

        Assert.Single(await ec2.DescribeOwnSnapshotsAsync());
        Assert.Equal(1, env.Ec2.GetStats().VolumeRuleRejections);
        env.AdvanceSeconds(10);
        var retried = await ec2.CreateSnapshotsAsync(new CreateSnapshotsRequest
        {
            InstanceSpecification = new InstanceSpecification { InstanceId = instanceId },
        });
        Assert.Equal(2, retried.Snapshots.OrEmpty().Count);
        Assert.Equal(15, env.Ec2.GetStats().MinSecondsBetweenVolumeSnapshots);
    }

    [Fact]
    public async Task CreateSnapshots_ThroughputVolumeWithPendingSnapshot_IsConcurrentLimitExceeded()
    {
        await using var env = await TestEmulator.StartAsync(o => o.Config.Durations.Snapshot = new DurationModel { Kind = DurationKind.Fixed, Seconds = 120 });
        var seeded = SeedInstances(env, dataVolumes: 1, volumeType: "st1");
        var instanceId = seeded.InstanceIds.Single();
        var ec2 = env.Client();
        await ec2.CreateSnapshotsAsync(new CreateSnapshotsRequest { InstanceSpecification = new InstanceSpecification { InstanceId = instanceId } });
        env.AdvanceSeconds(20);

        // The gp3 root volume could take another, the st1 data volume (limit 1) cannot: nothing is created.
        await Expect.Ec2ErrorAsync(() => ec2.CreateSnapshotsAsync(new CreateSnapshotsRequest
        {
            InstanceSpecification = new InstanceSpecification { InstanceId = instanceId },
        }), "ConcurrentSnapshotLimitExceeded", 400);
        Assert.Equal(2, (await ec2.DescribeOwnSnapshotsAsync()).Count);

        var rootOnly = await ec2.CreateSnapshotsAsync(new CreateSnapshotsRequest
        {
            InstanceSpecification = new InstanceSpecification { InstanceId = instanceId, ExcludeDataVolumeIds = [seeded.InstanceVolumeIds[instanceId][1]] },
        });
        Assert.Equal(seeded.InstanceVolumeIds[instanceId][0], Assert.Single(rootOnly.Snapshots.OrEmpty()).VolumeId);
        Assert.Equal(2, env.Ec2.GetStats().MaxPendingSnapshotsPerVolume[seeded.InstanceVolumeIds[instanceId][0]]);
    }

    [Fact]
    public async Task CreateSnapshots_EncryptedVolumes_GiveEncryptedSnapshots()
    {
        await using var env = await TestEmulator.StartAsync();
        var instanceId = env.Ec2.Seed(new SeedRequest { Instances = 1, DataVolumesPerInstance = 1, Encrypted = true }).InstanceIds.Single();

        var response = await env.Client().CreateSnapshotsAsync(new CreateSnapshotsRequest
        {
            InstanceSpecification = new InstanceSpecification { InstanceId = instanceId },
        });

        Assert.All(response.Snapshots.OrEmpty(), s => Assert.True(s.Encrypted));
    }

    [Fact]
    public async Task CreateSnapshots_IsPacedByItsOwnBucket()
    {
        await using var env = await TestEmulator.StartAsync(o =>
        {
            o.Config.Limits.Buckets["CreateSnapshots"] = new BucketConfig(1, 1);
            o.Config.Limits.MinSecondsBetweenVolumeSnapshots = 0;
        });
        var instanceId = SeedInstances(env, dataVolumes: 0).InstanceIds.Single();
        var ec2 = env.Client();
        var request = new CreateSnapshotsRequest { InstanceSpecification = new InstanceSpecification { InstanceId = instanceId } };

        await ec2.CreateSnapshotsAsync(request);
        await Expect.Ec2ErrorAsync(() => ec2.CreateSnapshotsAsync(request), "RequestLimitExceeded", 503);
        Assert.Equal(1, env.Ec2.GetStats().Throttled[$"{env.AccountId}/us-east-1"]["CreateSnapshots"]);
    }

    // ---------------------------------------------------------------- CreateSnapshot on attached volumes, stats

    [Fact]
    public async Task CreateSnapshot_OnAnAttachedVolume_WorksAndCarriesTags()
    {
        await using var env = await TestEmulator.StartAsync();
        var seeded = SeedInstances(env, dataVolumes: 1);
        var volumeId = seeded.InstanceVolumeIds[seeded.InstanceIds.Single()][1];

        var snapshot = (await env.Client().CreateSnapshotAsync(new CreateSnapshotRequest
        {
            VolumeId = volumeId, Description = "one",
            TagSpecifications = [new TagSpecification { ResourceType = ResourceType.Snapshot, Tags = [new Tag("avtomat:request-token", "abc")] }],
        })).Snapshot;

        Assert.Equal(volumeId, snapshot.VolumeId);
        Assert.Equal(SnapshotState.Pending, snapshot.State);
        Assert.Equal(20, snapshot.VolumeSize);
        Assert.Equal(TestEmulator.Epoch.UtcDateTime, snapshot.StartTime);
        Assert.Equal("abc", snapshot.Tags.TagMap()["avtomat:request-token"]);
        var byToken = await env.Client().DescribeOwnSnapshotsAsync(Ec2Extensions.Filter("tag:avtomat:request-token", "abc"));
        Assert.Equal(snapshot.SnapshotId, Assert.Single(byToken).SnapshotId);
    }

    [Fact]
    public async Task Stats_RecordCreationAndCopyTimes()
    {
        await using var env = await TestEmulator.StartAsync(o => o.Config.Durations.Snapshot = new DurationModel { Kind = DurationKind.Fixed, Seconds = 30 });
        var volumes = env.Ec2.Seed(new SeedRequest { Volumes = 2 }).VolumeIds;
        var ec2 = env.Client();
        var first = (await ec2.CreateSnapshotAsync(new CreateSnapshotRequest { VolumeId = volumes[0] })).Snapshot;
        env.AdvanceSeconds(31);
        await ec2.CopyAsync("us-east-1", first.SnapshotId);
        env.AdvanceSeconds(1);
        await ec2.CreateSnapshotAsync(new CreateSnapshotRequest { VolumeId = volumes[1] });

        var stats = env.Ec2.GetStats();

        Assert.Equal(TestEmulator.Epoch.AddSeconds(31), stats.FirstCopyStartTime);
        Assert.Equal(TestEmulator.Epoch.AddSeconds(32), stats.LastSnapshotStartTime);
        Assert.Equal(TestEmulator.Epoch.AddSeconds(62), stats.LastSnapshotEndTime);
        Assert.Null(stats.MinSecondsBetweenVolumeSnapshots); // no volume was snapshotted twice
        Assert.True(stats.FirstCopyStartTime < stats.LastSnapshotEndTime);
    }
}
