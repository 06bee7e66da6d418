using System;
using System.Collections.Generic;
using System.Linq;
using System.Management.Automation;
using Avtomat.Ec2.Engine.Context;

namespace Avtomat.Ec2.Context;

/// <summary>AWS region names: the SDK's known list (from the engine), and the shape any region name has, so a
/// region newer than our SDK copy still works (with a warning) while a typo in the shape is rejected.</summary>
public static class RegionNames
{
    /// <summary>Known region names (sorted) with their display names, e.g. us-west-2 → "US West (Oregon)" (the engine's
    /// AWSSDK copy's list).</summary>
    public static IReadOnlyDictionary<string, string> Known => AwsRegions.Known;

    public static bool IsKnown(string? region) => region != null && Known.ContainsKey(region);

    /// <summary>True when <paramref name="region"/> has the shape of a region name (lower case, e.g. us-east-1).</summary>
    public static bool IsWellFormed(string? region) => AwsRegions.IsWellFormed(region);

    /// <summary>The display name of a known region, or null.</summary>
    public static string? DisplayName(string region) => Known.TryGetValue(region, out var name) ? name : null;

    /// <summary>The warning for a well-formed region the SDK does not know, or null when it is known.</summary>
    public static string? UnknownRegionWarning(string region, string source)
        => IsKnown(region) ? null
            : $"Region '{region}' ({source}) is not in this AWSSDK's region list; using it anyway (it may be newer than the SDK). Check the spelling if calls fail.";

    /// <summary>The error text for a malformed region name.</summary>
    public static string MalformedMessage(string? region)
        => $"'{region}' is not an AWS region name. Use a name like 'us-east-1' or 'eu-west-2' (lower case); press Tab after the parameter to list the known regions.";

    /// <summary>Validates a region name: malformed ⇒ <see cref="ValidationMetadataException"/>.</summary>
    public static void Validate(string? region)
    {
        if (!IsWellFormed(region)) throw new ValidationMetadataException(MalformedMessage(region));
    }

    internal static IEnumerable<KeyValuePair<string, string>> Matching(string prefix)
    {
        prefix ??= "";
        var byName = Known.Where(r => r.Key.StartsWith(prefix, StringComparison.OrdinalIgnoreCase)).ToList();
        if (byName.Count > 0 || prefix.Length == 0) return byName;
        // "oregon" or "frank": match the display name too.
        return Known.Where(r => r.Value.IndexOf(prefix, StringComparison.OrdinalIgnoreCase) >= 0).ToList();
    }
}

/// <summary>
/// Validates AWS region names (a string or each element of a string[]): well-formed names pass — known ones silently,
/// unknown ones (newer regions) are allowed and the cmdlet warns about them (<see cref="AwsCmdlet.WarnIfUnknownRegion"/>) —
/// and malformed ones fail parameter binding with an actionable message.
/// </summary>
[AttributeUsage(AttributeTargets.Property | AttributeTargets.Field)]
public sealed class ValidateRegionAttribute : ValidateEnumeratedArgumentsAttribute
{
    protected override void ValidateElement(object element)
    {
        var value = element is PSObject pso ? pso.BaseObject : element;
        RegionNames.Validate(value as string ?? value?.ToString());
    }
}
