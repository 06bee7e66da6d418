using System;
using System.Collections.Generic;
using System.Linq;

namespace Avtomat.Ec2.Engine.Scheduling;

/// <summary>What a snapshot is, for how long it is expected to take.</summary>
internal enum SnapshotKind
{
    /// <summary>A copy whose destination holds no earlier copy of its lineage (EC2 copies every block).</summary>
    FullCopy,
    /// <summary>A copy of a lineage the destination already holds a copy of (EC2 copies the changed blocks).</summary>
    IncrementalCopy,
    /// <summary>A new snapshot of a volume (CreateSnapshot).</summary>
    Snapshot,
    /// <summary>Anything else waited for (Wait-AvSnapshot on a snapshot not made by the module).</summary>
    Other,
}

/// <summary>A duration as a log-normal distribution: the median's log and the spread of the log.</summary>
internal readonly struct Expectation(double mu, double sigma)
{
    /// <summary>ln(median seconds).</summary>
    public double Mu { get; } = mu;
    public double Sigma { get; } = sigma;
    public double MedianSeconds => Math.Exp(Mu);
}

/// <summary>
/// The one duration model of an account and region: how long copies (full and incremental) and new snapshots take
/// there, learned from EC2's own StartTime and CompletionTime (DescribeSnapshots returns both for completed snapshots,
/// also for copies made before this process started), in seconds per GiB of the source, per kind. A prediction is a
/// log-normal: the median of the last <see cref="Capacity"/> samples, the spread of their logs (median absolute
/// deviation) blended with a prior spread that two samples outweigh. Lineages (a source volume that has a copy here
/// already, so its next copy is incremental) are remembered for the most recent <see cref="MaxLineages"/> volumes.
/// The start order, the poll schedule and the progress estimates all read it. Written by the scheduler's loop; read
/// from any thread (progress), under its lock.
/// </summary>
internal sealed class DurationModel
{
    public const int Capacity = 256;
    public const int MaxLineages = 4096;
    /// <summary>Share of a full copy an incremental one is expected to take before one was measured.</summary>
    public const double IncrementalShare = 0.1;
    private const double PriorSigma = 0.5;
    private const double PriorWeight = 2;
    private const double MinSigma = 0.05;

    private readonly object _gate = new();
    private readonly Dictionary<SnapshotKind, Samples> _samples = new();
    private readonly Dictionary<string, LinkedListNode<(string Volume, double? Incremental)>> _lineages = new(StringComparer.Ordinal);
    private readonly LinkedList<(string Volume, double? Incremental)> _lineageOrder = new();

    /// <summary>A <paramref name="kind"/> of <paramref name="sizeGiB"/> took <paramref name="duration"/>.</summary>
    public void Learn(SnapshotKind kind, int? sizeGiB, TimeSpan duration)
    {
        if (duration <= TimeSpan.Zero) return;
        lock (_gate)
        {
            if (!_samples.TryGetValue(kind, out var samples)) _samples[kind] = samples = new Samples();
            samples.Add(Math.Log(duration.TotalSeconds), sizeGiB is > 0 ? Math.Log(duration.TotalSeconds / sizeGiB.Value) : null);
        }
    }

    /// <summary>How long a <paramref name="kind"/> of <paramref name="sizeGiB"/> is expected to take; null while nothing
    /// of the kind was learned here.</summary>
    public Expectation? Predict(SnapshotKind kind, int? sizeGiB)
    {
        lock (_gate)
        {
            if (!_samples.TryGetValue(kind, out var samples)) return null;
            return sizeGiB is > 0 && samples.PerGiB is { } perGiB
                ? new Expectation(perGiB.Mu + Math.Log(sizeGiB.Value), perGiB.Sigma)
                : samples.Whole;
        }
    }

    /// <summary>Something learned about <paramref name="kind"/> here.</summary>
    public bool Knows(SnapshotKind kind)
    {
        lock (_gate) return _samples.ContainsKey(kind);
    }

    /// <summary>The expected seconds of a copy of a <paramref name="sizeGiB"/> source of <paramref name="volumeId"/>, for
    /// the start order: learned when something was, else the size alone orders the queue (a full copy takes time in
    /// proportion to it). Incremental when the lineage has a copy here and nothing forces a full copy.</summary>
    public double ExpectedCopySeconds(string? volumeId, int? sizeGiB, bool mayBeIncremental)
    {
        lock (_gate)
        {
            var size = Math.Max(1, sizeGiB ?? 1);
            var full = _samples.TryGetValue(SnapshotKind.FullCopy, out var samples) && samples.PerGiB is { } perGiB
                ? Math.Exp(perGiB.Mu) * size
                : size;
            if (!mayBeIncremental || volumeId is null || !_lineages.TryGetValue(volumeId, out var node)) return full;
            return node.Value.Incremental ?? (_samples.TryGetValue(SnapshotKind.IncrementalCopy, out var inc) && inc.PerGiB is { } incPerGiB
                ? Math.Exp(incPerGiB.Mu) * size
                : full * IncrementalShare);
        }
    }

    /// <summary>The destination holds a copy of <paramref name="volumeId"/>'s lineage.</summary>
    public bool HasLineage(string? volumeId)
    {
        if (volumeId is null) return false;
        lock (_gate) return _lineages.ContainsKey(volumeId);
    }

    /// <summary>A copy of <paramref name="volumeId"/>'s lineage completed here (<paramref name="incrementalSeconds"/>: how
    /// long it took, when it was incremental).</summary>
    public void Copied(string? volumeId, double? incrementalSeconds)
    {
        if (volumeId is null) return;
        lock (_gate)
        {
            if (_lineages.TryGetValue(volumeId, out var node))
            {
                _lineageOrder.Remove(node);
                node.Value = (volumeId, incrementalSeconds ?? node.Value.Incremental);
            }
            else
            {
                node = new LinkedListNode<(string, double?)>((volumeId, incrementalSeconds));
                _lineages[volumeId] = node;
                // The least recently copied lineage goes first.
                if (_lineages.Count > MaxLineages && _lineageOrder.First is { } oldest)
                {
                    _lineageOrder.RemoveFirst();
                    _lineages.Remove(oldest.Value.Volume);
                }
            }
            _lineageOrder.AddLast(node);
        }
    }

    private sealed class Samples
    {
        private readonly Queue<double> _logSeconds = new();
        private readonly Queue<double> _logPerGiB = new();

        public Expectation Whole { get; private set; }
        public Expectation? PerGiB { get; private set; }

        public void Add(double logSeconds, double? logPerGiB)
        {
            Push(_logSeconds, logSeconds);
            Whole = Summarize(_logSeconds);
            if (logPerGiB is { } value)
            {
                Push(_logPerGiB, value);
                PerGiB = Summarize(_logPerGiB);
            }
        }

        private static void Push(Queue<double> queue, double value)
        {
            if (queue.Count == Capacity) queue.Dequeue();
            queue.Enqueue(value);
        }

        private static Expectation Summarize(Queue<double> values)
        {
            var sorted = values.OrderBy(v => v).ToArray();
            var median = sorted[sorted.Length / 2];
            var deviations = sorted.Select(v => Math.Abs(v - median)).OrderBy(v => v).ToArray();
            var spread = 1.4826 * deviations[deviations.Length / 2];
            var n = sorted.Length - 1; // the median itself says nothing about the spread
            var sigma = Math.Sqrt((PriorWeight * PriorSigma * PriorSigma + n * spread * spread) / (PriorWeight + n));
            return new Expectation(median, Math.Max(MinSigma, sigma));
        }
    }
}
