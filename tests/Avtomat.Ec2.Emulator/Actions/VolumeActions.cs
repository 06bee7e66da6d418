using System.Globalization;
using System.Text.RegularExpressions;
using Avtomat.Ec2.Emulator.Http;
using Avtomat.Ec2.Emulator.Model;

namespace Avtomat.Ec2.Emulator.Actions;

/// <summary>CreateVolume, DescribeVolumes.</summary>
internal static class VolumeActions
{
    /// <summary>Size limits in GiB per volume type (EBS documentation).</summary>
    private static readonly Dictionary<string, (int Min, int Max)> SizeLimits = new(StringComparer.Ordinal)
    {
        ["gp2"] = (1, 16384), ["gp3"] = (1, 16384), ["io1"] = (4, 16384), ["io2"] = (4, 65536),
        ["st1"] = (125, 16384), ["sc1"] = (125, 16384), ["standard"] = (1, 1024),
    };

    public static void CreateVolume(ActionContext c, XmlOut x)
    {
        var r = c.Request;
        var zone = r.Require("AvailabilityZone");
        if (!IsZoneOf(zone, c.Region.Name))
            throw Ec2Error.InvalidParameterValue($"Invalid availability zone: [{zone}]");
        var type = r.GetNonEmpty("VolumeType") ?? "gp3";
        if (!SizeLimits.TryGetValue(type, out var sizeLimit))
            throw Ec2Error.InvalidValue("volumeType", type, "Expecting one of gp2, gp3, io1, io2, st1, sc1, standard.");
        var size = r.GetInt("Size");
        var snapshotId = r.GetNonEmpty("SnapshotId");
        var iops = r.GetInt("Iops");
        var throughput = r.GetInt("Throughput");
        if (type is "io1" or "io2" && iops is null) throw Ec2Error.MissingParameter("iops");
        var encryptedFlag = r.GetBool("Encrypted");
        var kmsKeyId = r.GetNonEmpty("KmsKeyId");
        if (kmsKeyId is not null && !encryptedFlag)
            throw Ec2Error.BadRequest("InvalidParameterDependency", "The parameter KmsKeyId requires the parameter Encrypted to be set.");
        var tags = r.GetTagSpecifications("volume");
        Query.ValidateTags(tags);

        SnapshotRecord? snapshot = null;
        if (snapshotId is not null)
        {
            SnapshotActions.ValidateSnapshotId(snapshotId);
            if (!c.Region.Snapshots.TryGetValue(snapshotId, out snapshot)) throw Ec2Error.SnapshotNotFound(snapshotId);
            if (snapshot.StateAt(c.Now).State != "completed") // plausible (unverified)
                throw Ec2Error.BadRequest("IncorrectState", $"Snapshot '{snapshotId}' is not completed.");
        }
        if (size is null && snapshot is null) throw Ec2Error.MissingParameter("size");
        var finalSize = size ?? snapshot!.VolumeSize;
        if (snapshot is not null && finalSize < snapshot.VolumeSize)
            throw Ec2Error.InvalidParameterValue(
                $"Volume of {finalSize}GiB is too small; minimum is {snapshot.VolumeSize}GiB.");
        if (finalSize < sizeLimit.Min || finalSize > sizeLimit.Max)
            throw Ec2Error.InvalidParameterValue(
                $"Volume of size {finalSize}GiB is {(finalSize < sizeLimit.Min ? "smaller than" : "larger than")} the {(finalSize < sizeLimit.Min ? "minimum" : "maximum")} size allowed for {type} volumes ({(finalSize < sizeLimit.Min ? sizeLimit.Min : sizeLimit.Max)}GiB).");

        c.StopIfDryRun();

        // "After you enable encryption by default, the EBS volumes that you create are always encrypted, either using the
        // default KMS key or the KMS key that you specified"
        // (https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_EnableEbsEncryptionByDefault.html); without a
        // KmsKeyId an unencrypted snapshot's volume gets the default KMS key for EBS
        // (https://docs.aws.amazon.com/ebs/latest/userguide/encryption-examples.html).
        var encrypted = encryptedFlag || snapshot?.Encrypted == true || c.Region.EbsEncryptionByDefault;
        string? keyArn = null;
        if (encrypted)
            keyArn = kmsKeyId is not null ? KmsKeys.ResolveArn(kmsKeyId, c.Account, c.Region.Name)
                : snapshot?.KmsKeyId ?? c.Region.DefaultEbsKeyArn;
        var volume = NewVolume(c.State, zone, finalSize, type, c.Now, c.Config.Durations.VolumeCreateSeconds,
            snapshotId, encrypted, keyArn, iops, throughput);
        Query.ApplyTags(volume.Tags, tags);
        c.Region.Volumes.Add(volume.Id, volume);
        WriteVolume(x, volume, c.Now);
    }

    public static VolumeRecord NewVolume(EmulatorState state, string zone, int size, string type, DateTimeOffset now,
        double createSeconds, string? snapshotId, bool encrypted, string? keyArn, int? iops = null, int? throughput = null) => new()
    {
        Id = state.NewId("vol"),
        AvailabilityZone = zone,
        Size = size,
        SnapshotId = snapshotId,
        VolumeType = type,
        // gp3 has a 3000 IOPS / 125 MiB/s baseline; gp2 3 IOPS per GiB (100..16000).
        Iops = iops ?? type switch { "gp3" => 3000, "gp2" => Math.Clamp(size * 3, 100, 16000), _ => null },
        Throughput = throughput ?? (type == "gp3" ? 125 : null),
        Encrypted = encrypted,
        KmsKeyId = keyArn,
        CreateTime = now,
        AvailableAt = now + TimeSpan.FromSeconds(Math.Max(0, createSeconds)),
        Sequence = state.NextSequence(),
    };

    private static readonly HashSet<string> VolumeFilters = new(StringComparer.Ordinal)
    {
        "volume-id", "status", "size", "availability-zone", "volume-type", "encrypted", "snapshot-id", "tag-key",
        "tag-value", "create-time", "kms-key-id", "attachment.instance-id", "attachment.device", "attachment.status",
        "attachment.attach-time", "attachment.delete-on-termination", "multi-attach-enabled",
    };

    public static void DescribeVolumes(ActionContext c, XmlOut x)
    {
        var r = c.Request;
        var ids = r.GetList("VolumeId");
        var filters = r.GetFilters();
        Query.ValidateFilterNames(filters, VolumeFilters);
        if (r.GetNonEmpty("MaxResults") is not null && ids.Count > 0)
            throw Ec2Error.BadRequest("InvalidParameterCombination",
                "The parameter volumeSet cannot be used with the parameter maxResults");
        var maxResults = Query.MaxResults(r, 5, 500);
        var nextToken = r.GetNonEmpty("NextToken");
        foreach (var id in ids) ValidateVolumeId(id);
        c.StopIfDryRun();

        var candidates = c.Region.Volumes.Values.OrderBy(v => v.Sequence).ToList();
        if (ids.Count > 0)
        {
            foreach (var id in ids)
                if (!c.Region.Volumes.ContainsKey(id)) throw Ec2Error.VolumeNotFound(id);
            var wanted = ids.ToHashSet(StringComparer.Ordinal);
            candidates = candidates.Where(v => wanted.Contains(v.Id)).ToList();
        }
        var now = c.Now;
        var matched = Query.ApplyFilters(candidates, filters, (v, name) => VolumeFilterValues(v, name, now)).ToList();
        var (page, token) = Query.Page(matched, v => v.Sequence, maxResults, nextToken, "vol");
        if (page.Count == 0) x.Empty("volumeSet");
        else
        {
            x.Open("volumeSet");
            foreach (var v in page) { x.Open("item"); WriteVolume(x, v, now); x.Close("item"); }
            x.Close("volumeSet");
        }
        x.Element("nextToken", token);
    }

    private static IEnumerable<string?> VolumeFilterValues(VolumeRecord v, string name, DateTimeOffset now) =>
        Query.TagFilterValues(v.Tags, name) ?? name switch
        {
            "volume-id" => [v.Id],
            "status" => [v.StateAt(now)],
            "size" => [v.Size.ToString(CultureInfo.InvariantCulture)],
            "availability-zone" => [v.AvailabilityZone],
            "volume-type" => [v.VolumeType],
            "encrypted" => [Query.Bool(v.Encrypted)],
            "snapshot-id" => [v.SnapshotId ?? ""],
            "create-time" => [XmlOut.FormatTime(v.CreateTime)],
            "kms-key-id" => [v.KmsKeyId],
            "attachment.instance-id" => [v.Attachment?.InstanceId],
            "attachment.device" => [v.Attachment?.Device],
            "attachment.status" => [v.Attachment?.State],
            "attachment.attach-time" => [v.Attachment is { } a ? XmlOut.FormatTime(a.AttachTime) : null],
            "attachment.delete-on-termination" => [v.Attachment is { } d ? Query.Bool(d.DeleteOnTermination) : null],
            "multi-attach-enabled" => ["false"],
            _ => [],
        };

    /// <summary>The Volume shape (DescribeVolumes item, CreateVolume response).</summary>
    public static void WriteVolume(XmlOut x, VolumeRecord v, DateTimeOffset now)
    {
        x.Element("volumeId", v.Id)
            .Element("size", v.Size)
            .Element("snapshotId", v.SnapshotId ?? "")
            .Element("availabilityZone", v.AvailabilityZone)
            .Element("status", v.StateAt(now))
            .Element("createTime", v.CreateTime);
        if (v.Attachment is not { } a) x.Empty("attachmentSet");
        else
            x.Open("attachmentSet").Open("item")
                .Element("volumeId", v.Id)
                .Element("instanceId", a.InstanceId)
                .Element("device", a.Device)
                .Element("status", a.State)
                .Element("attachTime", a.AttachTime)
                .Element("deleteOnTermination", a.DeleteOnTermination)
                .Close("item").Close("attachmentSet");
        x
            .TagSet(v.Tags)
            .Element("volumeType", v.VolumeType)
            .Element("iops", v.Iops)
            .Element("throughput", v.Throughput)
            .Element("encrypted", v.Encrypted)
            .Element("kmsKeyId", v.KmsKeyId)
            .Element("multiAttachEnabled", false);
    }

    public static void ValidateVolumeId(string id)
    {
        if (!EmulatorState.VolumeIdPattern().IsMatch(id))
            throw Ec2Error.BadRequest("InvalidVolumeID.Malformed", $"Invalid id: \"{id}\" (expecting \"vol-...\")");
    }

    /// <summary>Ordinary zones (REGION + letter a–f) and Local Zones of the region.</summary>
    public static bool IsZoneOf(string zone, string region) =>
        zone.Length == region.Length + 1 && zone.StartsWith(region, StringComparison.Ordinal) && zone[^1] is >= 'a' and <= 'f'
        || SnapshotActions.IsLocalZoneOf(zone, region);
}
