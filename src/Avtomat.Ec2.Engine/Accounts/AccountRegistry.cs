using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using Avtomat.Ec2.Engine.Internal;

namespace Avtomat.Ec2.Engine.Accounts;

/// <summary>
/// The engine's process-wide shared state, one <see cref="AccountRegion"/> per (endpoint, account, region): EC2's
/// limits and token buckets are per account and region, so every job in the process that works there shares one copy
/// window, one poller, one set of request pacers and one set of per-volume rules. Jobs lease what they use; an entry
/// nobody leases is evicted at once, so the registry never holds more than the account-regions in use (a window that
/// nothing uses is back at EC2's limit the next time). Only its request buckets that are not full again are kept until
/// the next lease (a full bucket is the same as a new one, so those are forgotten): a run that starts right after
/// another one spent a burst waits for EC2's refill instead of collecting RequestLimitExceeded. No credentials are kept
/// here: the account key is non-secret.
/// </summary>
internal sealed class AccountRegistry
{
    private readonly object _gate = new();
    private readonly Dictionary<string, AccountRegion> _entries = new(StringComparer.Ordinal);
    /// <summary>Request buckets of evicted entries that were not full yet, by entry key then bucket name.</summary>
    private readonly Dictionary<string, Dictionary<string, RequestPacer>> _refilling = new(StringComparer.Ordinal);
    private readonly Func<string, string, AccountRegion> _create;

    public AccountRegistry(Func<string, string, AccountRegion> create) => _create = create;

    /// <summary>Account-regions in use now.</summary>
    public int Count { get { lock (_gate) return _entries.Count; } }

    /// <summary>Account-regions nobody uses whose request buckets are kept until they are full again (tests).</summary>
    internal int Refilling { get { lock (_gate) return _refilling.Count; } }

    /// <summary>The shared state of (endpoint, account, region), created on first use; dispose the lease when done.</summary>
    public AccountRegionLease Lease(string endpointKey, string account, string region)
    {
        var key = endpointKey + "|" + account + "|" + region;
        lock (_gate)
        {
            if (!_entries.TryGetValue(key, out var entry))
            {
                _entries[key] = entry = _create(key, region);
                if (_refilling.TryGetValue(key, out var pacers))
                {
                    _refilling.Remove(key);
                    entry.Resume(pacers);
                }
            }
            entry.Leases++;
            return new AccountRegionLease(this, entry);
        }
    }

    internal void Release(AccountRegion entry)
    {
        lock (_gate)
        {
            if (--entry.Leases > 0) return;
            if (_entries.TryGetValue(entry.Key, out var current) && ReferenceEquals(current, entry)) _entries.Remove(entry.Key);
            // Forget buckets that are full again (anyone's), keep this entry's that are not.
            foreach (var key in _refilling.Where(p => p.Value.Values.All(b => b.IsFull)).Select(p => p.Key).ToList()) _refilling.Remove(key);
            var refilling = entry.Refilling();
            if (refilling.Count > 0) _refilling[entry.Key] = refilling;
        }
        entry.Dispose();
    }
}

/// <summary>A job's hold on an <see cref="AccountRegion"/>; released once.</summary>
internal sealed class AccountRegionLease : IDisposable
{
    private readonly AccountRegistry _registry;
    private int _released;

    public AccountRegionLease(AccountRegistry registry, AccountRegion shared)
    {
        _registry = registry;
        Shared = shared;
    }

    public AccountRegion Shared { get; }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _released, 1) == 0) _registry.Release(Shared);
    }
}
