using Avtomat.Ec2.Emulator.Http;

namespace Avtomat.Ec2.Emulator.Actions;

/// <summary>DescribeRegions: the regions this emulator serves, all opted in.</summary>
internal static class RegionActions
{
    private static readonly HashSet<string> RegionFilters = new(StringComparer.Ordinal) { "region-name", "endpoint", "opt-in-status" };

    public static void DescribeRegions(ActionContext c, XmlOut x)
    {
        var r = c.Request;
        var names = r.GetList("RegionName");
        var filters = r.GetFilters();
        Query.ValidateFilterNames(filters, RegionFilters);
        _ = r.GetBool("AllRegions");
        foreach (var name in names)
            if (!c.State.IsKnownRegion(name))
                throw Ec2Error.InvalidParameterValue($"Invalid region: {name}");
        c.StopIfDryRun();

        IEnumerable<string> regions = c.State.Options.Regions;
        if (names.Count > 0) regions = regions.Where(names.Contains);
        var matched = Query.ApplyFilters(regions, filters, (region, name) => name switch
        {
            "region-name" => [region],
            "endpoint" => [Endpoint(region)],
            "opt-in-status" => ["opt-in-not-required"],
            _ => [],
        }).ToList();
        if (matched.Count == 0) { x.Empty("regionInfo"); return; }
        x.Open("regionInfo");
        foreach (var region in matched)
            x.Open("item").Element("regionName", region).Element("regionEndpoint", Endpoint(region))
                .Element("optInStatus", "opt-in-not-required").Close("item");
        x.Close("regionInfo");
    }

    private static string Endpoint(string region) => $"ec2.{region}.amazonaws.com";
}
