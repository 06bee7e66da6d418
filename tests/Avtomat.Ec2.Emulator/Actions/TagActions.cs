using Avtomat.Ec2.Emulator.Http;

namespace Avtomat.Ec2.Emulator.Actions;

/// <summary>CreateTags and DeleteTags on the caller's own snapshots and volumes.</summary>
internal static class TagActions
{
    public static void CreateTags(ActionContext c, XmlOut x)
    {
        var r = c.Request;
        var resources = ResourceIds(r);
        var tags = r.GetTags("Tag");
        if (tags.Count == 0) throw Ec2Error.MissingParameter("Tag");
        Query.ValidateTags(tags);

        var targets = TagsOf(c, resources);
        c.StopIfDryRun();
        foreach (var target in targets) Query.ApplyTags(target, tags);
        x.Element("return", true);
    }

    /// <summary>DeleteTags (https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DeleteTags.html): "Specify a tag key
    /// and an optional tag value to delete specific tags. If you specify a tag key without a tag value, we delete any tag
    /// with this key regardless of its value. If you specify a tag key with an empty string as the tag value, we delete the
    /// tag only if its value is an empty string. If you omit this parameter, we delete all user-defined tags for the
    /// specified resources. We do not delete AWS-generated tags (tags that have the aws: prefix)." Tag keys "May not
    /// begin with aws:" (the error is CreateTags' own, plausible for DeleteTags: unverified). Deleting a tag a resource
    /// does not have is no error (plausible, unverified). Like CreateTags, only the caller's own resources: another
    /// account's snapshot shared with the caller is InvalidSnapshot.NotFound (plausible, unverified).</summary>
    public static void DeleteTags(ActionContext c, XmlOut x)
    {
        var r = c.Request;
        var resources = ResourceIds(r);
        // Tag.N.Value absent (null) and empty ("") mean different things here, so not r.GetTags (which reads both as "").
        var tags = r.GetStructList("Tag")
            .Select(t => (Key: t.Get("Key") ?? throw Ec2Error.MissingParameter("Tag.Key"), Value: t.Get("Value"))).ToList();
        Query.ValidateTags(tags.Select(t => new KeyValuePair<string, string>(t.Key, t.Value ?? "")).ToList());

        var targets = TagsOf(c, resources);
        c.StopIfDryRun();
        foreach (var target in targets)
        {
            if (tags.Count == 0)
            {
                foreach (var key in target.Keys.Where(k => !k.StartsWith("aws:", StringComparison.Ordinal)).ToList()) target.Remove(key);
                continue;
            }
            foreach (var (key, value) in tags)
                if (value is null || target.TryGetValue(key, out var current) && current == value) target.Remove(key);
        }
        x.Element("return", true);
    }

    /// <summary>The wire name is ResourceId.N (botocore locationName); Resources.N is accepted too.</summary>
    private static List<string> ResourceIds(Ec2Request r)
    {
        var resources = r.GetList("ResourceId");
        if (resources.Count == 0) resources = r.GetList("Resources");
        if (resources.Count == 0) throw Ec2Error.MissingParameter("ResourceId");
        return resources;
    }

    /// <summary>The tags of each resource, all of them the caller's own in the signing region, else the NotFound error.</summary>
    private static List<Dictionary<string, string>> TagsOf(ActionContext c, List<string> resources)
    {
        var targets = new List<Dictionary<string, string>>();
        foreach (var id in resources)
        {
            if (id.StartsWith("snap-", StringComparison.Ordinal))
            {
                SnapshotActions.ValidateSnapshotId(id);
                targets.Add(c.Region.Snapshots.TryGetValue(id, out var s) ? s.Tags : throw Ec2Error.SnapshotNotFound(id));
            }
            else if (id.StartsWith("vol-", StringComparison.Ordinal))
            {
                VolumeActions.ValidateVolumeId(id);
                targets.Add(c.Region.Volumes.TryGetValue(id, out var v) ? v.Tags : throw Ec2Error.VolumeNotFound(id));
            }
            else throw Ec2Error.BadRequest("InvalidID", $"The ID '{id}' is not valid");
        }
        return targets;
    }
}
