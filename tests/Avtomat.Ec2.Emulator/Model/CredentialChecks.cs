namespace Avtomat.Ec2.Emulator.Model;

/// <summary>Why a call's credentials are rejected (<see cref="CredentialConfig"/>, or issued credentials that expired or
/// came without their session token); each service words it its own way.</summary>
internal enum CredentialFault { InvalidAccessKey, ExpiredAccessKey, OptInRequired, ActionDenied }

internal static class CredentialChecks
{
    /// <summary>Does the key authenticate at all? Null when it does. A key the emulator issued must come with its own
    /// session token and is expired from its Expiration on (the emulator's clock).</summary>
    public static CredentialFault? Authentication(EmulatorState state, string accessKeyId, string? sessionToken)
    {
        var config = state.Config.Credentials;
        if (config.InvalidAccessKeys.Contains(accessKeyId, StringComparer.Ordinal)) return CredentialFault.InvalidAccessKey;
        if (config.ExpiredAccessKeys.Contains(accessKeyId, StringComparer.Ordinal)) return CredentialFault.ExpiredAccessKey;
        if (state.Issued.Find(accessKeyId) is { } issued)
        {
            if (!string.Equals(issued.SessionToken, sessionToken, StringComparison.Ordinal)) return CredentialFault.InvalidAccessKey;
            if (state.Now >= issued.Expiration) return CredentialFault.ExpiredAccessKey;
        }
        return null;
    }

    /// <summary>An EC2 call: authentication, then the region's opt-in, then the key's permission for the action. Null when allowed.</summary>
    public static CredentialFault? Ec2(EmulatorState state, string accessKeyId, string? sessionToken, string region, string action)
    {
        if (Authentication(state, accessKeyId, sessionToken) is { } fault) return fault;
        var config = state.Config.Credentials;
        if (config.OptInRequiredRegions.Contains(region, StringComparer.Ordinal)) return CredentialFault.OptInRequired;
        if (config.DeniedActions.TryGetValue(accessKeyId, out var denied)
            && denied.Any(d => d == "*" || string.Equals(d, action, StringComparison.Ordinal)))
            return CredentialFault.ActionDenied;
        return null;
    }
}
