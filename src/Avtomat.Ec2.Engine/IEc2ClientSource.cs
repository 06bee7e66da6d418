using Amazon.EC2;
using Amazon.KeyManagementService;

namespace Avtomat.Ec2.Engine;

/// <summary>EC2 clients for one invocation. Credentials and endpoints live here, never in the engine's static state.</summary>
public interface IEc2ClientSource
{
    /// <summary>A client for ordinary calls in <paramref name="region"/> (SDK Standard retries).</summary>
    IAmazonEC2 For(string region);

    /// <summary>A client for CopySnapshot in <paramref name="region"/>: no SDK retries and no reused connections,
    /// because CopySnapshot is not idempotent and a re-sent request creates a second copy.</summary>
    IAmazonEC2 ForCopy(string region);

    /// <summary>Identifies where <paramref name="region"/>'s calls go (the service URL, or the region's endpoint).</summary>
    string EndpointKey(string region);

    /// <summary>The account these credentials act in, as the key of what the engine shares per account and region
    /// (copy window, poller, request pacing, per-volume rules): <c>account:</c> and the 12-digit id when it is known,
    /// otherwise a non-secret stand-in for the credentials (never the secret). Learned once, before a job starts, and
    /// the same for the source's lifetime.</summary>
    string Account { get; }
}

/// <summary>A client source that also gives KMS clients (same credentials, region and endpoint as its EC2 clients): the
/// engine resolves a -KmsKeyId alias or key id to the key ARN EC2 reports on a copy. A source without it (or a failing
/// DescribeKey) makes the engine compare keys as given.</summary>
public interface IKmsClientSource
{
    /// <summary>A KMS client for ordinary calls in <paramref name="region"/> (SDK Standard retries).</summary>
    IAmazonKeyManagementService Kms(string region);
}
