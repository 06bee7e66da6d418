using System;
using System.Collections.Generic;
using System.Linq;
using Avtomat.Ec2.Engine.Internal;

namespace Avtomat.Ec2.Engine.Copy;

/// <summary>
/// What copies into one account and destination region took, as the copy window's order wants it: the expected
/// duration of a copy before it starts, in seconds. A full copy takes time in proportion to the source's size (EC2
/// copies at a per-copy throughput), so before anything finished the size alone orders the queue. Once copies finish,
/// their seconds per GiB give the scale. A copy of a snapshot whose volume already has a copy here (made by this process)
/// is incremental: EC2 moves only the blocks changed since, so its expectation is that lineage's last incremental copy,
/// or a tenth of a full copy until one was seen. Shared by every job that copies there; thread-safe.
/// </summary>
internal sealed class CopyDurations
{
    /// <summary>Share of a full copy an incremental one is expected to take before one was measured.</summary>
    internal const double IncrementalShare = 0.1;

    private readonly object _gate = new();
    private readonly RecentValues _secondsPerGiB = new();
    private readonly Dictionary<string, double?> _lineages = new(StringComparer.Ordinal);

    /// <summary>Expected seconds of a copy of a <paramref name="sizeGiB"/> source of <paramref name="volumeId"/>.</summary>
    public double ExpectedSeconds(string? volumeId, int? sizeGiB)
    {
        lock (_gate)
        {
            // Before anything finished, the size alone orders the queue.
            var full = Math.Max(1, sizeGiB ?? 1) * (_secondsPerGiB.Median() ?? 1);
            if (volumeId is null || !_lineages.TryGetValue(volumeId, out var incremental)) return full;
            return incremental ?? full * IncrementalShare;
        }
    }

    /// <summary>True when a copy of <paramref name="volumeId"/> already completed here (the next one is incremental).</summary>
    public bool HasLineage(string? volumeId)
    {
        if (volumeId is null) return false;
        lock (_gate) return _lineages.ContainsKey(volumeId);
    }

    /// <summary>A copy completed: <paramref name="incremental"/> when its lineage already had a copy here.</summary>
    public void Completed(string? volumeId, int? sizeGiB, TimeSpan duration, bool incremental)
    {
        if (duration <= TimeSpan.Zero) return;
        lock (_gate)
        {
            if (incremental)
            {
                if (volumeId is not null) _lineages[volumeId] = duration.TotalSeconds;
                return;
            }
            if (sizeGiB is > 0) _secondsPerGiB.Add(duration.TotalSeconds / sizeGiB.Value);
            if (volumeId is not null && !_lineages.ContainsKey(volumeId))
            {
                if (_lineages.Count >= 4 * RecentValues.Capacity) _lineages.Remove(_lineages.Keys.First());
                _lineages[volumeId] = null;
            }
        }
    }
}
