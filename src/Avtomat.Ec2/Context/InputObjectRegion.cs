using System.Management.Automation;
using System.Text.RegularExpressions;

namespace Avtomat.Ec2.Context;

/// <summary>Reads the region a pipeline input object lives in, by shape: a <c>Region</c> property (a string, or a
/// RegionEndpoint of any AWSSDK load, whose name is in SystemName), else — for objects like Get-EC2Volume output, which
/// carry no region — the region of its <c>AvailabilityZone</c> (us-east-1a → us-east-1, us-west-2-lax-1a → us-west-2).</summary>
internal static class InputObjectRegion
{
    private static readonly Regex ZoneRegion = new(@"^(?<region>[a-z]{2}(-[a-z]+)+-\d+)", RegexOptions.CultureInvariant);

    /// <summary>The region, or null when the object names none (strings never do).</summary>
    public static string? Read(PSObject? input, bool fromAvailabilityZone)
    {
        if (input is null || input.BaseObject is string)
        {
            return null;
        }
        var region = input.Properties["Region"]?.Value;
        var text = AsText(region);
        if (!string.IsNullOrWhiteSpace(text))
        {
            return text!.Trim();
        }
        if (fromAvailabilityZone && AsText(input.Properties["AvailabilityZone"]?.Value) is { } zone)
        {
            var match = ZoneRegion.Match(zone.Trim());
            if (match.Success)
            {
                return match.Groups["region"].Value;
            }
        }
        return null;
    }

    /// <summary>True when the object has a non-empty property of that name.</summary>
    public static bool Has(PSObject? input, string property) =>
        input is not null && input.BaseObject is not string && input.Properties[property]?.Value is { } value
        && !string.IsNullOrWhiteSpace(AsText(value));

    private static string? AsText(object? value)
    {
        if (value is null)
        {
            return null;
        }
        if (value is string s)
        {
            return s;
        }
        // A RegionEndpoint (of any AWSSDK load) carries its name in SystemName; anything else is read as text.
        var systemName = PSObject.AsPSObject(value).Properties["SystemName"]?.Value as string;
        return systemName ?? LanguagePrimitives.ConvertTo<string>(value);
    }
}
