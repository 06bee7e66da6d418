using System.Globalization;
using Avtomat.Ec2.Emulator.Http;
using Avtomat.Ec2.Emulator.Model;

namespace Avtomat.Ec2.Emulator.Actions;

/// <summary>DescribeInstances over seeded instances (there is no RunInstances): the Reservation/Instance shapes with
/// state, placement, root device, block device mappings and tags.</summary>
internal static class InstanceActions
{
    private static readonly HashSet<string> InstanceFilters = new(StringComparer.Ordinal)
    {
        "instance-id", "instance-state-name", "instance-state-code", "availability-zone", "instance-type", "image-id",
        "reservation-id", "owner-id", "root-device-name", "root-device-type", "block-device-mapping.device-name",
        "block-device-mapping.volume-id", "block-device-mapping.status", "block-device-mapping.attach-time",
        "block-device-mapping.delete-on-termination", "launch-time", "tag-key", "tag-value",
    };

    public static void DescribeInstances(ActionContext c, XmlOut x)
    {
        var r = c.Request;
        var ids = r.GetList("InstanceId");
        var filters = r.GetFilters();
        Query.ValidateFilterNames(filters, InstanceFilters);
        if (r.GetNonEmpty("MaxResults") is not null && ids.Count > 0) // wording plausible (unverified)
            throw Ec2Error.BadRequest("InvalidParameterCombination",
                "The parameter instancesSet cannot be used with the parameter maxResults");
        var maxResults = Query.MaxResults(r, 5, 1000);
        var nextToken = r.GetNonEmpty("NextToken");
        _ = r.GetBool("IncludeManagedResources");
        foreach (var id in ids) ValidateInstanceId(id);
        c.StopIfDryRun();

        var candidates = c.Region.Instances.Values.OrderBy(i => i.Sequence).ToList();
        if (ids.Count > 0)
        {
            var missing = ids.Where(id => !c.Region.Instances.ContainsKey(id)).Distinct(StringComparer.Ordinal).ToList();
            if (missing.Count > 0) throw Ec2Error.InstanceNotFound(missing); // one unknown id fails the whole call
            var wanted = ids.ToHashSet(StringComparer.Ordinal);
            candidates = candidates.Where(i => wanted.Contains(i.Id)).ToList();
        }
        var matched = Query.ApplyFilters(candidates, filters, (i, name) => InstanceFilterValues(c.Region, i, name)).ToList();
        // Pages count instances; a page's instances are grouped back into their reservations (in order).
        var (page, token) = Query.Page(matched, i => i.Sequence, maxResults, nextToken, "i");

        if (page.Count == 0) x.Empty("reservationSet");
        else
        {
            x.Open("reservationSet");
            foreach (var reservation in page.GroupBy(i => i.ReservationId))
            {
                x.Open("item")
                    .Element("reservationId", reservation.Key)
                    .Element("ownerId", reservation.First().OwnerId)
                    .Empty("groupSet")
                    .Open("instancesSet");
                foreach (var instance in reservation) { x.Open("item"); WriteInstance(x, c.Region, instance); x.Close("item"); }
                x.Close("instancesSet").Close("item");
            }
            x.Close("reservationSet");
        }
        x.Element("nextToken", token);
    }

    private static IEnumerable<string?> InstanceFilterValues(RegionState region, InstanceRecord i, string name)
    {
        var tagValues = Query.TagFilterValues(i.Tags, name);
        if (tagValues is not null) return tagValues;
        var attachments = i.VolumeIds.Select(id => region.Volumes[id]).Where(v => v.Attachment is not null)
            .Select(v => (Volume: v, Attachment: v.Attachment!)).ToList();
        return name switch
        {
            "instance-id" => [i.Id],
            "instance-state-name" => [i.State],
            "instance-state-code" => [i.StateCode.ToString(CultureInfo.InvariantCulture)],
            "availability-zone" => [i.AvailabilityZone],
            "instance-type" => [i.InstanceType],
            "image-id" => [i.ImageId],
            "reservation-id" => [i.ReservationId],
            "owner-id" => [i.OwnerId],
            "root-device-name" => [i.RootDeviceName],
            "root-device-type" => ["ebs"],
            "launch-time" => [XmlOut.FormatTime(i.LaunchTime)],
            "block-device-mapping.device-name" => attachments.Select(a => a.Attachment.Device),
            "block-device-mapping.volume-id" => attachments.Select(a => a.Volume.Id),
            "block-device-mapping.status" => attachments.Select(a => a.Attachment.State),
            "block-device-mapping.attach-time" => attachments.Select(a => XmlOut.FormatTime(a.Attachment.AttachTime)),
            "block-device-mapping.delete-on-termination" => attachments.Select(a => Query.Bool(a.Attachment.DeleteOnTermination)),
            _ => [],
        };
    }

    /// <summary>The Instance shape, limited to what the emulator models (no network, security groups or IAM).</summary>
    private static void WriteInstance(XmlOut x, RegionState region, InstanceRecord i)
    {
        x.Element("instanceId", i.Id)
            .Element("imageId", i.ImageId)
            .Open("instanceState").Element("code", i.StateCode).Element("name", i.State).Close("instanceState")
            .Element("privateDnsName", "")
            .Element("dnsName", "")
            .Element("reason", i.State == "stopped" ? "User initiated" : "")
            .Element("amiLaunchIndex", 0)
            .Empty("productCodes")
            .Element("instanceType", i.InstanceType)
            .Element("launchTime", i.LaunchTime)
            .Open("placement").Element("availabilityZone", i.AvailabilityZone).Element("groupName", "")
                .Element("tenancy", "default").Close("placement")
            .Open("monitoring").Element("state", "disabled").Close("monitoring")
            .Element("architecture", "x86_64")
            .Element("rootDeviceType", "ebs")
            .Element("rootDeviceName", i.RootDeviceName);
        x.Open("blockDeviceMapping");
        foreach (var volumeId in i.VolumeIds)
        {
            var attachment = region.Volumes[volumeId].Attachment;
            if (attachment is null) continue;
            x.Open("item").Element("deviceName", attachment.Device)
                .Open("ebs").Element("volumeId", volumeId).Element("status", attachment.State)
                .Element("attachTime", attachment.AttachTime).Element("deleteOnTermination", attachment.DeleteOnTermination)
                .Close("ebs").Close("item");
        }
        x.Close("blockDeviceMapping")
            .Element("virtualizationType", "hvm")
            .TagSet(i.Tags)
            .Element("hypervisor", "xen")
            .Element("ebsOptimized", true)
            .Element("enaSupport", true)
            .Element("bootMode", "uefi-preferred")
            .Element("platformDetails", "Linux/UNIX");
    }

    public static void ValidateInstanceId(string id)
    {
        if (!EmulatorState.InstanceIdPattern().IsMatch(id)) // wording plausible (unverified)
            throw Ec2Error.BadRequest("InvalidInstanceID.Malformed", $"Invalid id: \"{id}\" (expecting \"i-...\")");
    }
}
