using System.Text.RegularExpressions;

namespace Avtomat.Ec2.Emulator.Http;

/// <summary>Reads the credential scope of a SigV4 <c>Authorization</c> header (or presigned query).
/// The signature itself is NOT verified: the emulator only needs the access key (→ account) and the region.</summary>
internal static partial class SigV4Scope
{
    [GeneratedRegex(@"^AWS4-HMAC-SHA256\s+Credential=([^/\s,]+)/(\d{8})/([^/\s,]+)/([^/\s,]+)/aws4_request", RegexOptions.CultureInvariant)]
    private static partial Regex HeaderPattern();

    [GeneratedRegex(@"^([^/]+)/(\d{8})/([^/]+)/([^/]+)/aws4_request$", RegexOptions.CultureInvariant)]
    private static partial Regex QueryCredentialPattern();

    /// <summary>Returns (accessKeyId, region) or throws a 401 AuthFailure.</summary>
    public static (string AccessKeyId, string Region) Parse(string? authorization, string? queryCredential)
    {
        if (!string.IsNullOrEmpty(authorization))
        {
            var m = HeaderPattern().Match(authorization);
            if (!m.Success)
                throw Ec2Error.AuthFailure("AWS was not able to validate the provided access credentials");
            return (m.Groups[1].Value, m.Groups[3].Value);
        }
        if (!string.IsNullOrEmpty(queryCredential))
        {
            var m = QueryCredentialPattern().Match(queryCredential);
            if (m.Success) return (m.Groups[1].Value, m.Groups[3].Value);
            throw Ec2Error.AuthFailure("AWS was not able to validate the provided access credentials");
        }
        // Real EC2 answers unsigned requests with 401 too (plausible wording).
        throw Ec2Error.AuthFailure("Request is missing Authentication Token");
    }
}
