using System;
using System.Collections.Generic;
using System.Text.RegularExpressions;
using Amazon;

namespace Avtomat.Ec2.Engine.Context;

/// <summary>The regions the engine's AWSSDK copy knows (Amazon.RegionEndpoint), as plain names, so the cmdlets can
/// complete and check region names without an SDK type of their own.</summary>
public static class AwsRegions
{
    // us-east-1, us-gov-west-1, cn-northwest-1, eu-isoe-west-1, ap-southeast-5, xx-newplace-9
    private static readonly Regex Shape = new("^[a-z]{2}(-[a-z]+)+-[0-9]{1,2}$", RegexOptions.CultureInvariant);

    private static readonly Lazy<IReadOnlyDictionary<string, string>> KnownRegions = new(() =>
    {
        var map = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var r in RegionEndpoint.EnumerableAllRegions)
        {
            if (!string.IsNullOrEmpty(r.SystemName) && Shape.IsMatch(r.SystemName)) map[r.SystemName] = r.DisplayName ?? r.SystemName;
        }
        return map;
    });

    /// <summary>Known region names (sorted) with their display names, e.g. us-west-2 → "US West (Oregon)".</summary>
    public static IReadOnlyDictionary<string, string> Known => KnownRegions.Value;

    /// <summary>True when <paramref name="region"/> has the shape of a region name (lower case, e.g. us-east-1).</summary>
    public static bool IsWellFormed(string? region) => region != null && Shape.IsMatch(region);
}
