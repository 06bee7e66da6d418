using Avtomat.Ec2.Emulator.Http;

namespace Avtomat.Ec2.Emulator.Actions;

/// <summary>CreateTags on snapshots and volumes.</summary>
internal static class TagActions
{
    public static void CreateTags(ActionContext c, XmlOut x)
    {
        var r = c.Request;
        // The wire name is ResourceId.N (botocore locationName); Resources.N is accepted too.
        var resources = r.GetList("ResourceId");
        if (resources.Count == 0) resources = r.GetList("Resources");
        if (resources.Count == 0) throw Ec2Error.MissingParameter("ResourceId");
        var tags = r.GetTags("Tag");
        if (tags.Count == 0) throw Ec2Error.MissingParameter("Tag");
        Query.ValidateTags(tags);

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
        c.StopIfDryRun();
        foreach (var target in targets) Query.ApplyTags(target, tags);
        x.Element("return", true);
    }
}
