using System;
using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using System.Threading;
using Amazon;
using Amazon.Runtime;
using Amazon.SecurityToken;
using Amazon.SecurityToken.Model;

namespace Avtomat.Ec2.Engine.Aws;

/// <summary>
/// Learns the account that credentials act in, to key the engine's shared state per account (EC2's limits and buckets
/// are per account and region). The cheapest reliable means is STS GetCallerIdentity: one call, allowed for every
/// principal (no IAM permission can deny it), answered by the regional STS endpoint (or the -EndpointUrl's host, where
/// an emulator answers it). Answers are cached per access key id for the process (an access key never changes account),
/// so rotating temporary credentials cost one call per new key. When the account cannot be learned (STS unreachable, a
/// private network without an STS endpoint), a stand-in derived from the access key id is used, and remembered for the
/// key too so later invocations do not wait for STS again: invocations with the same key still share everything,
/// others do not; the caller is told why.
/// </summary>
internal static class AccountResolver
{
    /// <summary>Bounds the process-wide cache; cleared when full (a long-running host with rotating keys).</summary>
    private const int MaxCached = 1024;

    /// <summary>How long a stand-in (STS did not answer) is remembered: long enough that a run of invocations does not
    /// wait for an unreachable STS each time, short enough that a passing failure does not key everything by the access
    /// key for the rest of the process.</summary>
    internal static readonly TimeSpan StandInLifetime = TimeSpan.FromMinutes(5);

    private static readonly ConcurrentDictionary<string, (string Account, DateTime Until)> AccountsByKey = new(StringComparer.Ordinal);

    /// <summary>The account key (<c>account:123456789012</c>, or a stand-in) and, for a stand-in, why STS did not answer.</summary>
    public static (string Account, string? Problem) Resolve(AWSCredentials credentials, string? serviceUrl, string region,
        string userAgentComponent, CancellationToken cancellationToken)
    {
        ImmutableCredentials resolved;
        try
        {
            resolved = credentials.GetCredentials();
        }
        catch (Exception ex)
        {
            return ("source:" + Guid.NewGuid().ToString("N"), $"the credentials could not be resolved ({ex.GetType().Name})");
        }
        if (string.IsNullOrEmpty(resolved?.AccessKey))
            return ("source:" + Guid.NewGuid().ToString("N"), "the credentials have no access key id");

        var keyHash = Hash(resolved!.AccessKey);
        if (AccountsByKey.TryGetValue(keyHash, out var known) && known.Until > DateTime.UtcNow)
            return (known.Account, known.Account.StartsWith("key:", StringComparison.Ordinal) ? "STS GetCallerIdentity failed moments ago in this process for these credentials" : null);
        try
        {
            var config = new AmazonSecurityTokenServiceConfig
            {
                RetryMode = RequestRetryMode.Standard,
                MaxErrorRetry = 1,
                // Short: this runs on the pipeline thread before any work starts.
                Timeout = TimeSpan.FromSeconds(5),
            };
            if (serviceUrl is not null) config.ServiceURL = serviceUrl;
            else config.RegionEndpoint = RegionEndpoint.GetBySystemName(region);
            // Signed for this region whatever the URL (-EndpointUrl, AWS_ENDPOINT_URL(_STS), a profile's endpoint_url).
            config.AuthenticationRegion = region;
            using var sts = new EngineStsClient(credentials, config);
            sts.BeforeRequestEvent += (_, e) =>
            {
                if (e is WebServiceRequestEventArgs { Request: Amazon.Runtime.Internal.IAmazonWebServiceRequest request })
                    request.UserAgentDetails?.AddUserAgentComponent(userAgentComponent);
            };
            var identity = sts.GetCallerIdentityAsync(new GetCallerIdentityRequest(), cancellationToken).GetAwaiter().GetResult();
            if (string.IsNullOrEmpty(identity.Account)) return (Remember(keyHash, "key:" + keyHash), "STS GetCallerIdentity answered without an account");
            return (Remember(keyHash, "account:" + identity.Account), null);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
        catch (Exception ex)
        {
            var code = (ex as AmazonServiceException)?.ErrorCode;
            return (Remember(keyHash, "key:" + keyHash), "STS GetCallerIdentity failed: " + (string.IsNullOrEmpty(code) ? ex.GetType().Name : code));
        }
    }

    /// <summary>An account is remembered for the process (an access key never changes account); a stand-in for
    /// <see cref="StandInLifetime"/>, then STS is asked again.</summary>
    private static string Remember(string keyHash, string account)
    {
        if (AccountsByKey.Count >= MaxCached) AccountsByKey.Clear();
        AccountsByKey[keyHash] = (account, account.StartsWith("key:", StringComparison.Ordinal) ? DateTime.UtcNow + StandInLifetime : DateTime.MaxValue);
        return account;
    }

    /// <summary>Forgets what was learned (tests).</summary>
    internal static void Forget() => AccountsByKey.Clear();

    /// <summary>The first 16 hex digits of the SHA-256 of the access key id: never the key, never the secret.</summary>
    private static string Hash(string accessKeyId)
    {
        using var sha = SHA256.Create();
        var hash = sha.ComputeHash(Encoding.UTF8.GetBytes(accessKeyId));
        return BitConverter.ToString(hash, 0, 8).Replace("-", "").ToLowerInvariant();
    }
}
