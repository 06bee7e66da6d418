namespace Avtomat.Ec2.Emulator.Model;

/// <summary>Why a call's credentials are rejected (<see cref="CredentialConfig"/>); each service words it its own way.</summary>
internal enum CredentialFault { InvalidAccessKey, ExpiredAccessKey, OptInRequired, ActionDenied }

internal static class CredentialChecks
{
    /// <summary>Does the key authenticate at all? Null when it does.</summary>
    public static CredentialFault? Authentication(CredentialConfig config, string accessKeyId)
    {
        if (config.InvalidAccessKeys.Contains(accessKeyId, StringComparer.Ordinal)) return CredentialFault.InvalidAccessKey;
        if (config.ExpiredAccessKeys.Contains(accessKeyId, StringComparer.Ordinal)) return CredentialFault.ExpiredAccessKey;
        return null;
    }

    /// <summary>An EC2 call: authentication, then the region's opt-in, then the key's permission for the action. Null when allowed.</summary>
    public static CredentialFault? Ec2(CredentialConfig config, string accessKeyId, string region, string action)
    {
        if (Authentication(config, accessKeyId) is { } fault) return fault;
        if (config.OptInRequiredRegions.Contains(region, StringComparer.Ordinal)) return CredentialFault.OptInRequired;
        if (config.DeniedActions.TryGetValue(accessKeyId, out var denied)
            && denied.Any(d => d == "*" || string.Equals(d, action, StringComparison.Ordinal)))
            return CredentialFault.ActionDenied;
        return null;
    }
}
