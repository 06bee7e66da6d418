using System.Security.Cryptography;
using System.Text;

namespace Avtomat.Ec2.Emulator.Model;

/// <summary>KMS key identities without a KMS: any id, alias or ARN resolves to a deterministic key ARN.</summary>
internal static class KmsKeys
{
    public const string DefaultEbsAlias = "alias/aws/ebs";

    /// <summary>The AWS managed EBS key (alias/aws/ebs) of an account and region.</summary>
    public static string DefaultKeyArn(string account, string region) =>
        $"arn:aws:kms:{region}:{account}:key/{DeterministicGuid($"{account}/{region}/{DefaultEbsAlias}")}";

    /// <summary>Key ARN for a key id, key ARN, alias name or alias ARN, as seen from <paramref name="region"/>.</summary>
    public static string ResolveArn(string keyId, string account, string region)
    {
        if (keyId.StartsWith("arn:", StringComparison.Ordinal))
        {
            var parts = keyId.Split(':', 6);
            if (parts.Length == 6 && parts[5].StartsWith("alias/", StringComparison.Ordinal))
                return AliasKeyArn(parts[5], parts[4], parts[3]);
            return keyId;
        }
        if (keyId.StartsWith("alias/", StringComparison.Ordinal)) return AliasKeyArn(keyId, account, region);
        return $"arn:aws:kms:{region}:{account}:key/{keyId}";
    }

    private static string AliasKeyArn(string alias, string account, string region) =>
        alias == DefaultEbsAlias
            ? DefaultKeyArn(account, region)
            : $"arn:aws:kms:{region}:{account}:key/{DeterministicGuid($"{account}/{region}/{alias}")}";

    public static bool IsWellFormed(string keyId) =>
        keyId.StartsWith("arn:aws:kms:", StringComparison.Ordinal) && keyId.Split(':').Length == 6
        || keyId.StartsWith("alias/", StringComparison.Ordinal) && keyId.Length > 6
        || Guid.TryParse(keyId, out _) || keyId.StartsWith("mrk-", StringComparison.Ordinal);

    /// <summary>Region of a key ARN.</summary>
    public static string? RegionOf(string keyArn)
    {
        var parts = keyArn.Split(':');
        return parts.Length >= 4 ? parts[3] : null;
    }

    /// <summary>Every name a key is known by (raw, key ARN, key id, alias, alias ARN), for matching the inaccessible list.</summary>
    public static HashSet<string> Identities(string keyId, string account, string region)
    {
        var set = new HashSet<string>(StringComparer.Ordinal) { keyId };
        var arn = ResolveArn(keyId, account, region);
        set.Add(arn);
        var slash = arn.IndexOf(":key/", StringComparison.Ordinal);
        if (slash >= 0) set.Add(arn[(slash + 5)..]);
        if (keyId.StartsWith("alias/", StringComparison.Ordinal)) set.Add($"arn:aws:kms:{region}:{account}:{keyId}");
        if (keyId.StartsWith("arn:", StringComparison.Ordinal) && keyId.Contains(":alias/", StringComparison.Ordinal))
            set.Add(keyId[(keyId.IndexOf(":alias/", StringComparison.Ordinal) + 1)..]);
        return set;
    }

    private static Guid DeterministicGuid(string text) => new(MD5.HashData(Encoding.UTF8.GetBytes(text)));
}
