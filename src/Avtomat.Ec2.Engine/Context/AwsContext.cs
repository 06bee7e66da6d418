using System;
using Amazon.Runtime;

namespace Avtomat.Ec2.Engine.Context;

/// <summary>Credentials and region resolved in the AWS Tools order, and where each came from (for verbose output;
/// never the secret itself). What crosses to the cmdlets is plain text; the credentials stay inside the engine, typed by
/// the engine's own AWSSDK copy.</summary>
public sealed class AwsContext
{
    internal AwsContext(AWSCredentials credentials, string credentialSource, string region, string regionSource, string? endpointUrl)
    {
        Credentials = credentials;
        CredentialSource = credentialSource;
        Region = region;
        RegionSource = regionSource;
        EndpointUrl = endpointUrl;
    }

    /// <summary>Refreshable credentials (wrapped, never snapshotted, so assumed-role credentials renew).</summary>
    internal AWSCredentials Credentials { get; }
    /// <summary>E.g. "parameter -ProfileName 'prod'", "$StoredAWSCredentials", "environment (AWS_ACCESS_KEY_ID)".</summary>
    public string CredentialSource { get; }
    public string Region { get; }
    /// <summary>E.g. "parameter -Region", "$StoredAWSRegion", "AWS_DEFAULT_REGION".</summary>
    public string RegionSource { get; }
    /// <summary>-EndpointUrl: the service URL for every region (signing region = the call's region).</summary>
    public string? EndpointUrl { get; }

    /// <summary>A URL fit for messages: user info (user:password@) removed.</summary>
    public static string RedactUrl(string url)
    {
        if (Uri.TryCreate(url, UriKind.Absolute, out var uri) && !string.IsNullOrEmpty(uri.UserInfo))
            return url.Replace(uri.UserInfo + "@", "****@");
        return url;
    }
}
