namespace Avtomat.Ec2.Engine;

/// <summary>Optionally implemented by an <see cref="IEc2ClientSource"/>: a non-secret identity of its credentials (e.g. a
/// SHA-256 prefix of the access key id, never the secret). The engine keys its process-wide shared state (poller, request
/// pacing, per-volume rules) by endpoint, region and this identity, so different accounts never share a call or a
/// bucket. A source without it is treated as an identity of its own (nothing is shared with other sources).</summary>
public interface IEc2CredentialIdentity
{
    /// <summary>Stable for the source's lifetime; equal for sources with the same credentials.</summary>
    string CredentialIdentity { get; }
}
