using System.Net;
using Amazon.EC2;
using Amazon.EC2.Model;

namespace Avtomat.Ec2.Engine.Tests.Support;

/// <summary>The volume and instance side of the fake: CreateSnapshot/CreateSnapshots with EC2's per-volume rules,
/// DescribeVolumes and DescribeInstances with the id filters.</summary>
public sealed partial class FakeEc2
{
    public Dictionary<string, FakeVolume> Volumes { get; } = new();
    public Dictionary<string, FakeInstance> Instances { get; } = new();
    public TimeSpan SnapshotDuration { get; set; } = TimeSpan.FromSeconds(10);
    /// <summary>Adjusts a new snapshot (final state, duration, visibility).</summary>
    public Action<FakeSnapshot>? OnSnapshotCreated { get; set; }
    /// <summary>Runs before a CreateSnapshot(s) is performed: throw to fail it. Args: volume or instance id, call number.</summary>
    public Action<string, int>? BeforeCreate { get; set; }
    public int RuleRejections { get; private set; }
    public Dictionary<string, int> MaxActivePerVolume { get; } = new();
    public Dictionary<string, List<DateTimeOffset>> StartsPerVolume { get; } = new();

    public string SeedVolume(string region, int size = 8, string type = "gp3", string? name = null, Dictionary<string, string>? tags = null)
    {
        lock (_gate)
        {
            var id = $"vol-{_nextId++:x17}";
            var t = tags is null ? new Dictionary<string, string>() : new(tags);
            if (name is not null) t["Name"] = name;
            Volumes[id] = new FakeVolume { Id = id, Region = region, Size = size, Type = type, Tags = t };
            return id;
        }
    }

    public List<string> SeedVolumes(string region, int count, string type = "gp3") => Enumerable.Range(0, count).Select(_ => SeedVolume(region, type: type)).ToList();

    public string SeedInstance(string region, string state = "running", int dataVolumes = 1)
    {
        var root = SeedVolume(region, name: "root");
        lock (_gate)
        {
            var id = $"i-{_nextId++:x17}";
            var instance = new FakeInstance { Id = id, Region = region, State = state, RootDevice = "/dev/xvda" };
            instance.Devices.Add(("/dev/xvda", root));
            Volumes[root].InstanceId = id;
            Volumes[root].Device = "/dev/xvda";
            Instances[id] = instance;
            for (var i = 0; i < dataVolumes; i++)
            {
                var data = $"vol-{_nextId++:x17}";
                var device = $"/dev/sd{(char)('f' + i)}";
                Volumes[data] = new FakeVolume { Id = data, Region = region, Size = 100, Type = "gp3", InstanceId = id, Device = device, Tags = new() { ["Name"] = "data" + i } };
                instance.Devices.Add((device, data));
            }
            return id;
        }
    }

    /// <summary>A snapshot of a volume started outside the engine (counts against the per-volume rules).</summary>
    public string SeedVolumeSnapshot(string volumeId, string state = "pending", TimeSpan? completesIn = null, string? statusMessage = null)
    {
        lock (_gate)
        {
            var v = Volumes[volumeId];
            var s = new FakeSnapshot
            {
                Id = NewId(), Region = v.Region, StartTime = Clock.GetUtcNow(), VolumeId = volumeId, VolumeSize = v.Size,
                FinalState = state == "pending" ? "completed" : state, StatusMessage = statusMessage,
                Duration = state == "pending" ? completesIn ?? SnapshotDuration : TimeSpan.Zero, VisibleFrom = Clock.GetUtcNow(),
            };
            Snapshots[s.Id] = s;
            return s.Id;
        }
    }

    public List<FakeSnapshot> SnapshotsOfVolume(string volumeId)
    {
        lock (_gate) return Snapshots.Values.Where(s => s.VolumeId == volumeId).ToList();
    }

    /// <summary>Checks the rules for <paramref name="volume"/> (caller holds _gate).</summary>
    private void CheckRules(FakeVolume volume, DateTimeOffset now)
    {
        var active = Snapshots.Values.Count(s => s.VolumeId == volume.Id && s.StateAt(now) != "completed");
        var limit = volume.Type is "st1" or "sc1" ? 1 : 5;
        if (active >= limit)
        {
            RuleRejections++;
            throw Error("ConcurrentSnapshotLimitExceeded", message: $"Maximum number of in-progress snapshots ({limit}) reached for volume '{volume.Id}'.");
        }
        if (StartsPerVolume.TryGetValue(volume.Id, out var starts) && starts.Count > 0 && now - starts[^1] < TimeSpan.FromSeconds(15))
        {
            RuleRejections++;
            throw Error("SnapshotCreationPerVolumeRateExceeded", message: "The maximum per volume CreateSnapshot request rate has been exceeded.");
        }
    }

    private FakeSnapshot NewVolumeSnapshot(FakeVolume volume, DateTimeOffset now, string? description, IEnumerable<Tag> tags)
    {
        var s = new FakeSnapshot
        {
            Id = NewId(), Region = volume.Region, StartTime = now, Duration = SnapshotDuration, FinalState = "completed", VolumeId = volume.Id,
            Description = description, VolumeSize = volume.Size, VisibleFrom = now,
            Tags = tags.GroupBy(t => t.Key).ToDictionary(g => g.Key, g => g.Last().Value ?? ""),
        };
        OnSnapshotCreated?.Invoke(s);
        Snapshots[s.Id] = s;
        if (!StartsPerVolume.TryGetValue(volume.Id, out var starts)) StartsPerVolume[volume.Id] = starts = new();
        starts.Add(now);
        var active = Snapshots.Values.Count(x => x.VolumeId == volume.Id && x.StateAt(now) != "completed");
        MaxActivePerVolume[volume.Id] = Math.Max(MaxActivePerVolume.GetValueOrDefault(volume.Id), active);
        return s;
    }

    internal CreateSnapshotResponse CreateSnapshot(string account, string region, CreateSnapshotRequest request)
    {
        int callNumber;
        lock (_gate)
        {
            Record("CreateSnapshot", region, request, account);
            callNumber = Calls.Count(c => c.Action == "CreateSnapshot");
        }
        TakeToken(account, region, "CreateSnapshot");
        BeforeCreate?.Invoke(request.VolumeId, callNumber);
        lock (_gate)
        {
            if (!Volumes.TryGetValue(request.VolumeId, out var volume) || volume.Region != region) throw Error("InvalidVolume.NotFound", message: $"The volume '{request.VolumeId}' does not exist.");
            if (request.DryRun == true) throw Error("DryRunOperation", HttpStatusCode.PreconditionFailed, "Request would have succeeded, but DryRun flag is set.");
            var now = Clock.GetUtcNow();
            CheckRules(volume, now);
            var s = NewVolumeSnapshot(volume, now, request.Description, (request.TagSpecifications ?? []).SelectMany(t => t.Tags ?? []));
            return new CreateSnapshotResponse { Snapshot = s.ToSdk(now) };
        }
    }

    internal CreateSnapshotsResponse CreateSnapshots(string account, string region, CreateSnapshotsRequest request)
    {
        int callNumber;
        lock (_gate)
        {
            Record("CreateSnapshots", region, request, account);
            callNumber = Calls.Count(c => c.Action == "CreateSnapshots");
        }
        TakeToken(account, region, "CreateSnapshots");
        var instanceId = request.InstanceSpecification.InstanceId;
        BeforeCreate?.Invoke(instanceId, callNumber);
        lock (_gate)
        {
            if (!Instances.TryGetValue(instanceId, out var instance) || instance.Region != region) throw Error("InvalidInstanceID.NotFound");
            if (request.DryRun == true) throw Error("DryRunOperation", HttpStatusCode.PreconditionFailed, "Request would have succeeded, but DryRun flag is set.");
            var now = Clock.GetUtcNow();
            var volumes = instance.Devices.Where(d => !(request.InstanceSpecification.ExcludeBootVolume == true && d.Device == instance.RootDevice))
                .Select(d => Volumes[d.VolumeId]).ToList();
            foreach (var v in volumes) CheckRules(v, now);
            var tags = (request.TagSpecifications ?? []).SelectMany(t => t.Tags ?? []).ToList();
            var created = volumes.Select(v => NewVolumeSnapshot(v, now, request.Description,
                request.CopyTagsFromSource == CopyTagsFromSource.Volume ? v.Tags.Select(t => new Tag(t.Key, t.Value)).Concat(tags) : tags)).ToList();
            return new CreateSnapshotsResponse
            {
                Snapshots = created.Select(s => new SnapshotInfo
                {
                    SnapshotId = s.Id, VolumeId = s.VolumeId, StartTime = s.StartTime.UtcDateTime, State = Amazon.EC2.SnapshotState.Pending,
                    VolumeSize = s.VolumeSize, Description = s.Description, Progress = "0%",
                    Tags = s.Tags.Select(t => new Tag(t.Key, t.Value)).ToList(),
                }).ToList(),
            };
        }
    }

    internal DescribeVolumesResponse DescribeVolumes(string account, string region, DescribeVolumesRequest request)
    {
        Record("DescribeVolumes", region, request, account);
        TakeToken(account, region, DescribeBucket("DescribeVolumes", request.Filters, request.MaxResults, request.NextToken));
        lock (_gate)
        {
            IEnumerable<FakeVolume> items = Volumes.Values.Where(v => v.Region == region);
            foreach (var f in request.Filters ?? [])
            {
                if (f.Name == "volume-id") items = items.Where(v => f.Values.Contains(v.Id));
                else throw new NotSupportedException(f.Name);
            }
            return new DescribeVolumesResponse { Volumes = items.Select(v => v.ToSdk()).ToList() };
        }
    }

    internal DescribeInstancesResponse DescribeInstances(string account, string region, DescribeInstancesRequest request)
    {
        Record("DescribeInstances", region, request, account);
        TakeToken(account, region, DescribeBucket("DescribeInstances", request.Filters, request.MaxResults, request.NextToken));
        lock (_gate)
        {
            IEnumerable<FakeInstance> items = Instances.Values.Where(i => i.Region == region);
            foreach (var f in request.Filters ?? [])
            {
                if (f.Name == "instance-id") items = items.Where(i => f.Values.Contains(i.Id));
                else throw new NotSupportedException(f.Name);
            }
            return new DescribeInstancesResponse
            {
                Reservations = items.Select(i => new Reservation { Instances = [i.ToSdk()] }).ToList(),
            };
        }
    }
}

public sealed class FakeVolume
{
    public string Id { get; set; } = "";
    public string Region { get; set; } = "";
    public int Size { get; set; }
    public string Type { get; set; } = "gp3";
    public Dictionary<string, string> Tags { get; set; } = new();
    public string? InstanceId { get; set; }
    public string? Device { get; set; }

    public Volume ToSdk() => new()
    {
        VolumeId = Id, Size = Size, VolumeType = new VolumeType(Type), State = VolumeState.InUse, Encrypted = false,
        Tags = Tags.Select(t => new Tag(t.Key, t.Value)).ToList(),
        Attachments = InstanceId is null ? [] : [new VolumeAttachment { InstanceId = InstanceId, Device = Device, State = VolumeAttachmentState.Attached, VolumeId = Id }],
    };
}

public sealed class FakeInstance
{
    public string Id { get; set; } = "";
    public string Region { get; set; } = "";
    public string State { get; set; } = "running";
    public string RootDevice { get; set; } = "/dev/xvda";
    public List<(string Device, string VolumeId)> Devices { get; } = new();

    public Instance ToSdk() => new()
    {
        InstanceId = Id, RootDeviceName = RootDevice, State = new InstanceState { Name = new InstanceStateName(State) },
        BlockDeviceMappings = Devices.Select(d => new InstanceBlockDeviceMapping { DeviceName = d.Device, Ebs = new EbsInstanceBlockDevice { VolumeId = d.VolumeId } }).ToList(),
    };
}
