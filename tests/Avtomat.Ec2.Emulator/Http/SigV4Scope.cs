using System.Text.RegularExpressions;

namespace Avtomat.Ec2.Emulator.Http;

/// <summary>The credential scope of a signed request: who signed (→ account), for which region and service.</summary>
internal sealed record SigV4Credential(string AccessKeyId, string Region, string Service);

/// <summary>Reads the credential scope of a SigV4 <c>Authorization</c> header (or presigned query).
/// The signature itself is NOT verified: the emulator only needs the access key (→ account), the region and the service.</summary>
internal static partial class SigV4Scope
{
    [GeneratedRegex(@"^AWS4-HMAC-SHA256\s+Credential=([^/\s,]+)/(\d{8})/([^/\s,]+)/([^/\s,]+)/aws4_request", RegexOptions.CultureInvariant)]
    private static partial Regex HeaderPattern();

    [GeneratedRegex(@"^([^/]+)/(\d{8})/([^/]+)/([^/]+)/aws4_request$", RegexOptions.CultureInvariant)]
    private static partial Regex QueryCredentialPattern();

    /// <summary>The scope, or null when the request is unsigned or its scope unreadable. The header wins over the query.</summary>
    public static SigV4Credential? TryParse(string? authorization, string? queryCredential)
    {
        if (!string.IsNullOrEmpty(authorization)) return FromMatch(HeaderPattern().Match(authorization));
        if (!string.IsNullOrEmpty(queryCredential)) return FromMatch(QueryCredentialPattern().Match(queryCredential));
        return null;
    }

    /// <summary>The scope, or throws a 401 AuthFailure.</summary>
    public static SigV4Credential Parse(string? authorization, string? queryCredential)
    {
        if (TryParse(authorization, queryCredential) is { } credential) return credential;
        // Real EC2 answers unsigned requests with 401 too (plausible wording).
        if (string.IsNullOrEmpty(authorization) && string.IsNullOrEmpty(queryCredential))
            throw Ec2Error.AuthFailure("Request is missing Authentication Token");
        throw Ec2Error.AuthFailure("AWS was not able to validate the provided access credentials");
    }

    /// <summary>The session token of temporary credentials: the <c>X-Amz-Security-Token</c> header, or the same
    /// parameter of a presigned call; null without one.</summary>
    public static string? SessionToken(Microsoft.AspNetCore.Http.HttpRequest request, Ec2Request parameters)
    {
        var header = request.Headers["X-Amz-Security-Token"].ToString();
        return header.Length > 0 ? header : parameters.GetNonEmpty("X-Amz-Security-Token");
    }

    private static SigV4Credential? FromMatch(Match m) =>
        m.Success ? new SigV4Credential(m.Groups[1].Value, m.Groups[3].Value, m.Groups[4].Value) : null;
}
