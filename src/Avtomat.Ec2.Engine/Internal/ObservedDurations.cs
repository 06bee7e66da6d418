using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Linq;

namespace Avtomat.Ec2.Engine.Internal;

/// <summary>How long finished snapshots (copies or creations) took per region, for the remaining-time estimates of
/// progress records. Thread-safe: workers add, the pipeline thread reads.</summary>
internal sealed class ObservedDurations
{
    private readonly ConcurrentDictionary<string, List<TimeSpan>> _byRegion = new(StringComparer.Ordinal);

    public void Add(string region, TimeSpan duration)
    {
        var list = _byRegion.GetOrAdd(region, _ => new List<TimeSpan>());
        lock (list) list.Add(duration);
    }

    /// <summary>The average in seconds, or null until something finished in <paramref name="region"/>.</summary>
    public double? AverageSeconds(string region)
    {
        if (!_byRegion.TryGetValue(region, out var list)) return null;
        lock (list) return list.Count == 0 ? null : list.Average(d => d.TotalSeconds);
    }

    /// <summary>Seconds left for one in flight: the unfinished share of the average, or what the average leaves of the
    /// time it has run, whichever is more (progress is coarse and often lags).</summary>
    public static double RemainingSeconds(double average, InFlightItem inFlight, DateTime now) =>
        Math.Max(average * (1 - inFlight.Progress / 100.0), average - (now - inFlight.StartTime).TotalSeconds);
}
