using System.Text.RegularExpressions;

namespace Avtomat.Ec2.Validation;

/// <summary>Outpost ARNs (arn:aws:outposts:REGION:ACCOUNT:outpost/op-0123456789abcdef0) and the region they belong to.</summary>
internal static class OutpostArn
{
    public const string Example = "arn:aws:outposts:REGION:ACCOUNT:outpost/op-0123456789abcdef0";

    private static readonly Regex Pattern = new(
        @"^arn:aws[a-z-]*:outposts:(?<region>[a-z]{2}(-[a-z]+)+-\d+):(?<account>\d{12}):outpost/op-[0-9a-f]{17}$",
        RegexOptions.CultureInvariant);

    /// <summary>The Outpost's region, or null when <paramref name="arn"/> is not an Outpost ARN.</summary>
    public static string? RegionOf(string arn)
    {
        var match = Pattern.Match(arn.Trim());
        return match.Success ? match.Groups["region"].Value : null;
    }
}
