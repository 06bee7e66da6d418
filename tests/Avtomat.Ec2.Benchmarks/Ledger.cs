using Avtomat.Ec2.Emulator;

namespace Avtomat.Ec2.Benchmarks;

/// <summary>What EC2 (the emulator) actually did, recorded as it happened: it answers the emulator's
/// <c>DurationOf</c> with the workload's durations, and writes down when each snapshot and copy started and ends. The
/// truth for makespans, completion checks and detection lags — nothing here comes from the strategies.</summary>
public sealed class Ledger
{
    /// <summary>How long the copies started outside the process take: longer than any run, so they hold their slots.</summary>
    public static readonly TimeSpan OutsideCopyDuration = TimeSpan.FromDays(365);

    private readonly object _gate = new();
    private readonly Workload _workload;
    private readonly Dictionary<string, int> _sourceIndex = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int> _volumeIndex = new(StringComparer.Ordinal);
    private readonly HashSet<string> _outsideSources = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int> _destinationIndex;

    public Ledger(Workload workload)
    {
        _workload = workload;
        _destinationIndex = workload.Destinations.Select((d, i) => (d, i)).ToDictionary(p => p.d, p => p.i, StringComparer.Ordinal);
        CopyEnds = workload.CopySeconds.Select(c => new List<DateTimeOffset>[c.Length]).ToArray();
        CopyStarts = workload.CopySeconds.Select(c => new List<DateTimeOffset>[c.Length]).ToArray();
        for (var i = 0; i < CopyEnds.Length; i++)
            for (var d = 0; d < CopyEnds[i].Length; d++)
            {
                CopyEnds[i][d] = new List<DateTimeOffset>(1);
                CopyStarts[i][d] = new List<DateTimeOffset>(1);
            }
        // Everything the ledger writes during a run is allocated here, before it: the retained-memory measurement
        // (RunContext.MeasureRetained) then does not count the benchmark's own records.
        if (workload.SnapshotSeconds is not null)
            for (var v = 0; v < workload.Count; v++) SnapshotEnds[v] = new List<DateTimeOffset>(1);
    }

    /// <summary>Copies of the workload EC2 accepted so far (duplicates included).</summary>
    public int CopiesStarted { get { lock (_gate) return _copiesStarted; } }
    private int _copiesStarted;

    /// <summary>[source][destination]: when each copy EC2 accepted ends (more than one: a duplicate).</summary>
    public List<DateTimeOffset>[][] CopyEnds { get; }
    /// <summary>[source][destination]: when EC2 accepted (started) each copy, in the order of <see cref="CopyEnds"/>.</summary>
    public List<DateTimeOffset>[][] CopyStarts { get; }
    /// <summary>Per volume (create-then-copy: every volume, from the start): when each snapshot EC2 accepted ends.</summary>
    public Dictionary<int, List<DateTimeOffset>> SnapshotEnds { get; } = new();
    /// <summary>Copies of sources the workload does not know (nothing else should be copied).</summary>
    public int Strays { get; private set; }

    public void MapSource(string snapshotId, int index) { lock (_gate) _sourceIndex[snapshotId] = index; }
    public void MapVolume(string volumeId, int index) { lock (_gate) _volumeIndex[volumeId] = index; }
    public void MapOutsideSource(string snapshotId) { lock (_gate) _outsideSources.Add(snapshotId); }

    /// <summary>The emulator's <c>DurationOf</c>.</summary>
    public double? DurationOf(NewSnapshotInfo info)
    {
        lock (_gate)
        {
            if (info.IsCopy)
            {
                if (info.SourceSnapshotId is { } src && _outsideSources.Contains(src)) return OutsideCopyDuration.TotalSeconds;
                var known = info.SourceSnapshotId is { } id && _sourceIndex.TryGetValue(id, out var byId) ? byId
                    : _volumeIndex.TryGetValue(info.VolumeId, out var byVolume) ? byVolume : -1;
                if (known < 0 || !_destinationIndex.TryGetValue(info.Region, out var d)) { Strays++; return null; }
                var seconds = _workload.CopySeconds[known][d];
                CopyEnds[known][d].Add(info.Start + TimeSpan.FromSeconds(seconds));
                CopyStarts[known][d].Add(info.Start);
                _copiesStarted++;
                return seconds;
            }
            if (_workload.SnapshotSeconds is { } snaps && _volumeIndex.TryGetValue(info.VolumeId, out var v))
            {
                SnapshotEnds[v].Add(info.Start + TimeSpan.FromSeconds(snaps[v]));
                return snaps[v];
            }
            Strays++;
            return null;
        }
    }

    public int SourceIndexOf(string snapshotId) { lock (_gate) return _sourceIndex.TryGetValue(snapshotId, out var i) ? i : -1; }
    public int VolumeIndexOf(string volumeId) { lock (_gate) return _volumeIndex.TryGetValue(volumeId, out var i) ? i : -1; }
    public int DestinationIndexOf(string region) => _destinationIndex.TryGetValue(region, out var d) ? d : -1;
}
