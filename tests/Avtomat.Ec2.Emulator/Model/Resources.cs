namespace Avtomat.Ec2.Emulator.Model;

/// <summary>The lifecycle fixed at creation: when it ends, how it ends and the coarse progress steps on the way.
/// Evaluated lazily from the clock, so a fake clock drives it deterministically.</summary>
internal sealed class SnapshotLifecycle
{
    public required DateTimeOffset Start { get; init; }
    /// <summary>When the snapshot leaves <c>pending</c>.</summary>
    public required DateTimeOffset End { get; init; }
    /// <summary><c>completed</c> or <c>error</c>.</summary>
    public required string FinalState { get; init; }
    public string? FinalMessage { get; init; }
    /// <summary>(time offset from start in seconds, percent) in increasing order; percent stays below 100.</summary>
    public required IReadOnlyList<(double AtSeconds, int Percent)> Steps { get; init; }

    public static SnapshotLifecycle Finished(DateTimeOffset at, string state = "completed", string? message = null) =>
        Finished(at, at, state, message);

    /// <summary>A lifecycle that started at <paramref name="start"/> and ended at <paramref name="end"/>.</summary>
    public static SnapshotLifecycle Finished(DateTimeOffset start, DateTimeOffset end, string state = "completed", string? message = null) =>
        new() { Start = start, End = end, FinalState = state, FinalMessage = message, Steps = [] };

    public (string State, int Percent, string? Message) At(DateTimeOffset now)
    {
        if (now >= End)
            return FinalState == "completed" ? ("completed", 100, null) : (FinalState, PercentAt(End), FinalMessage);
        return ("pending", PercentAt(now), null);
    }

    private int PercentAt(DateTimeOffset t)
    {
        var elapsed = (t - Start).TotalSeconds;
        var percent = 0;
        foreach (var (at, p) in Steps)
            if (elapsed >= at) percent = p;
        return percent;
    }
}

internal sealed class SnapshotRecord
{
    public required string Id { get; init; }
    public required string OwnerId { get; init; }
    public required string Region { get; init; }
    public required string VolumeId { get; init; }
    public required int VolumeSize { get; init; }
    public string? Description { get; init; }
    public bool Encrypted { get; init; }
    /// <summary>Always a key ARN when encrypted.</summary>
    public string? KmsKeyId { get; init; }
    public string? OutpostArn { get; init; }
    /// <summary>Local Zone of a copy made with DestinationAvailabilityZone.</summary>
    public string? AvailabilityZone { get; init; }
    public required DateTimeOffset StartTime { get; init; }
    /// <summary>Creation order across the emulator: the stable order of Describe and its paging.</summary>
    public required long Sequence { get; init; }
    public required SnapshotLifecycle Lifecycle { get; init; }
    /// <summary>Eventual consistency: DescribeSnapshots does not see the snapshot before this time.</summary>
    public DateTimeOffset VisibleFrom { get; init; }
    public Dictionary<string, string> Tags { get; } = new(StringComparer.Ordinal);

    /// <summary>createVolumePermission: the account ids it is shared with, in the order added; null when none. Changed
    /// only through <see cref="EmulatorState.Share"/>/<see cref="EmulatorState.Unshare"/> (they keep the indexes).</summary>
    public List<string>? CreateVolumeUserIds { get; set; }
    /// <summary>createVolumePermission group <c>all</c>: public. Changed only through <see cref="EmulatorState.SetPublic"/>.</summary>
    public bool CreateVolumePublic { get; set; }

    /// <summary>DescribeSnapshots: "The snapshots available to you include public snapshots, private snapshots that you
    /// own, and private snapshots owned by other AWS accounts for which you have explicit create volume permissions"
    /// (https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DescribeSnapshots.html).</summary>
    public bool CanBeSeenBy(string account) =>
        OwnerId == account || CreateVolumePublic || CreateVolumeUserIds?.Contains(account) == true;

    /// <summary>Shared with <paramref name="account"/> by name (explicit permission), not only through the group all.</summary>
    public bool IsExplicitlySharedWith(string account) => CreateVolumeUserIds?.Contains(account) == true;

    public bool IsCopy { get; init; }
    /// <summary>"REGION/snap-…" of the first snapshot of this copy lineage (itself when not a copy).</summary>
    public required string LineageRoot { get; init; }
    /// <summary>"REGION/vol-…" of the volume the data comes from: a created snapshot's own volume, a copy's source's
    /// lineage (a copy's own VolumeId is the arbitrary vol-ffffffff). What EC2's incremental rule tracks: "the most recent
    /// snapshot copy of a volume" (https://docs.aws.amazon.com/ebs/latest/userguide/ebs-copy-snapshot.html).</summary>
    public required string LineageVolume { get; init; }
    /// <summary>A copy's source (region and id); null for created snapshots.</summary>
    public string? SourceRegion { get; init; }
    public string? SourceSnapshotId { get; init; }
    /// <summary>"standard" or "time-based" for copies, null for created snapshots.</summary>
    public string? TransferType { get; init; }
    public int? CompletionDurationMinutes { get; init; }
    public string StorageTier => "standard";

    public (string State, int Percent, string? Message) StateAt(DateTimeOffset now) => Lifecycle.At(now);
    public bool IsPending(DateTimeOffset now) => now < Lifecycle.End;
}

internal sealed class VolumeRecord
{
    public required string Id { get; init; }
    public required string AvailabilityZone { get; init; }
    public required int Size { get; init; }
    public string? SnapshotId { get; init; }
    public required string VolumeType { get; init; }
    public int? Iops { get; init; }
    public int? Throughput { get; init; }
    public bool Encrypted { get; init; }
    public string? KmsKeyId { get; init; }
    public required DateTimeOffset CreateTime { get; init; }
    public required DateTimeOffset AvailableAt { get; init; }
    public required long Sequence { get; init; }
    public Dictionary<string, string> Tags { get; } = new(StringComparer.Ordinal);

    /// <summary>Set while the volume is attached to an instance (seeded instances only).</summary>
    public VolumeAttachmentRecord? Attachment { get; set; }

    /// <summary>creating, then available, or in-use while attached.</summary>
    public string StateAt(DateTimeOffset now) => now < AvailableAt ? "creating" : Attachment is null ? "available" : "in-use";

    /// <summary>st1/sc1 volumes allow fewer concurrent snapshots.</summary>
    public bool IsThroughputOptimized => VolumeType is "st1" or "sc1";
}

/// <summary>A volume's attachment (VolumeAttachment in DescribeVolumes, EbsInstanceBlockDevice in DescribeInstances).</summary>
internal sealed class VolumeAttachmentRecord
{
    public required string InstanceId { get; init; }
    /// <summary>Device name, e.g. <c>/dev/xvda</c> (root) or <c>/dev/sdf</c>.</summary>
    public required string Device { get; init; }
    public required DateTimeOffset AttachTime { get; init; }
    public bool DeleteOnTermination { get; init; }
    /// <summary>Always <c>attached</c>: attaching and detaching are not modelled.</summary>
    public string State => "attached";
}

/// <summary>An EC2 instance, as far as snapshots need one: state, zone, root device and attached EBS volumes.
/// Instances only come from seeding (no RunInstances) and never change state.</summary>
internal sealed class InstanceRecord
{
    public required string Id { get; init; }
    public required string ReservationId { get; init; }
    public required string OwnerId { get; init; }
    public required string AvailabilityZone { get; init; }
    /// <summary><c>running</c> or <c>stopped</c>.</summary>
    public required string State { get; init; }
    public required string InstanceType { get; init; }
    public required string ImageId { get; init; }
    public string RootDeviceName { get; init; } = "/dev/xvda";
    public required DateTimeOffset LaunchTime { get; init; }
    public required long Sequence { get; init; }
    /// <summary>Attached volume ids in device order (root first).</summary>
    public List<string> VolumeIds { get; } = new();
    public Dictionary<string, string> Tags { get; } = new(StringComparer.Ordinal);

    /// <summary>EC2's instance state codes: 16 running, 80 stopped.</summary>
    public int StateCode => State switch { "pending" => 0, "running" => 16, "shutting-down" => 32, "terminated" => 48, "stopping" => 64, _ => 80 };
}
