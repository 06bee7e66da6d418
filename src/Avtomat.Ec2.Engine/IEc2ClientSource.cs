using Amazon.EC2;

namespace Avtomat.Ec2.Engine;

/// <summary>EC2 clients for one invocation. Credentials and endpoints live here, never in the engine's static state.</summary>
public interface IEc2ClientSource
{
    /// <summary>A client for ordinary calls in <paramref name="region"/> (SDK Standard retries).</summary>
    IAmazonEC2 For(string region);

    /// <summary>A client for CopySnapshot in <paramref name="region"/>: no SDK retries and no reused connections,
    /// because CopySnapshot is not idempotent and a re-sent request creates a second copy.</summary>
    IAmazonEC2 ForCopy(string region);

    /// <summary>Identifies where <paramref name="region"/>'s calls go (the service URL, or the region's endpoint),
    /// so the process-wide copy limiter keeps one window per real destination.</summary>
    string EndpointKey(string region);
}
