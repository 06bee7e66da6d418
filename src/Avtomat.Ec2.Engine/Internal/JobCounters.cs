using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using Avtomat.Ec2.Engine.Copy;

namespace Avtomat.Ec2.Engine.Internal;

/// <summary>Thread-safe counters behind <see cref="JobStatistics"/>.</summary>
internal sealed class JobCounters
{
    private readonly ConcurrentDictionary<string, int> _calls = new();
    private readonly ConcurrentDictionary<string, int> _callsByRegion = new();
    private int _throttled, _retries, _limitExceeded, _uncertain, _duplicates;

    public void Call(string action, string region)
    {
        _calls.AddOrUpdate(action, 1, (_, n) => n + 1);
        _callsByRegion.AddOrUpdate(region + "|" + action, 1, (_, n) => n + 1);
    }

    public void Throttled() => Interlocked.Increment(ref _throttled);
    public void Retry() => Interlocked.Increment(ref _retries);
    public void LimitExceeded() => Interlocked.Increment(ref _limitExceeded);
    public void Uncertain() => Interlocked.Increment(ref _uncertain);
    public void DuplicateRemoved() => Interlocked.Increment(ref _duplicates);

    /// <summary>Calls made in <paramref name="region"/>, per action.</summary>
    public IReadOnlyDictionary<string, int> CallsIn(string region)
    {
        var prefix = region + "|";
        return _callsByRegion.Where(p => p.Key.StartsWith(prefix, System.StringComparison.Ordinal))
            .ToDictionary(p => p.Key.Substring(prefix.Length), p => p.Value);
    }

    public JobStatistics Snapshot() => new()
    {
        Calls = new Dictionary<string, int>(_calls),
        Throttled = Volatile.Read(ref _throttled),
        Retries = Volatile.Read(ref _retries),
        LimitExceeded = Volatile.Read(ref _limitExceeded),
        UncertainOutcomes = Volatile.Read(ref _uncertain),
        DuplicatesRemoved = Volatile.Read(ref _duplicates),
    };
}
