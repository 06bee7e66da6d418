using System;
using System.Collections.Concurrent;

namespace Avtomat.Ec2.Engine.Internal;

/// <summary>
/// Whether a job's calls in a region still reach EC2. A connection that cannot be made (refused, TLS, unreachable) is
/// retried like a transient failure until no call there has succeeded for <c>bound</c>; a host name that does not
/// resolve is certain at once (a mistyped region such as us-east-9, or one not enabled). Then every item waiting on that
/// endpoint ends with EndpointUnreachable instead of retrying for ever.
/// </summary>
internal sealed class EndpointHealth
{
    private readonly TimeProvider _time;
    private readonly TimeSpan _bound;
    private readonly Func<string, string> _endpointOf;
    private readonly DateTimeOffset _started;
    private readonly ConcurrentDictionary<string, DateTimeOffset> _lastSuccess = new(StringComparer.Ordinal);

    public EndpointHealth(TimeProvider time, TimeSpan bound, Func<string, string> endpointOf)
    {
        _time = time;
        _bound = bound;
        _endpointOf = endpointOf;
        _started = time.GetUtcNow();
    }

    public void Succeeded(string region) => _lastSuccess[region] = _time.GetUtcNow();

    /// <summary>After a connection failure: the error that ends the region's items now, or null to retry.</summary>
    public RegionFailedException? Failed(string region, Exception exception, bool hostNotFound)
    {
        var since = _lastSuccess.TryGetValue(region, out var last) ? last : _started;
        var quiet = _time.GetUtcNow() - since;
        if (!hostNotFound && quiet < _bound) return null;
        return new RegionFailedException(region, EngineErrors.EndpointUnreachable(region, region, _endpointOf(region), hostNotFound, quiet, exception));
    }
}
