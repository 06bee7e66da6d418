using System;
using System.Collections.Generic;
using System.Linq;

namespace Avtomat.Ec2.Engine;

/// <summary>A job's state in one region (where its snapshots are made or copied to), for one parent progress record.</summary>
public sealed class RegionProgress
{
    /// <summary>Where the snapshots are made: the destination of copies, the region of creations and waits.</summary>
    public string Region { get; set; } = "";
    /// <summary>Distinct source regions of the requests (copies: usually one; creations and waits: the region itself).</summary>
    public IReadOnlyList<string> SourceRegions { get; set; } = Array.Empty<string>();
    public int Total { get; set; }
    public int Queued { get; set; }
    /// <summary>Accepted by EC2 and not finished yet.</summary>
    public int InProgress { get; set; }
    public int Completed { get; set; }
    /// <summary>Failed or timed out.</summary>
    public int Failed { get; set; }
    /// <summary>0..100 including the partial progress of snapshots in flight.</summary>
    public double PercentComplete { get; set; }
    /// <summary>Estimated time until the last one finishes; null until it can be estimated.</summary>
    public TimeSpan? EstimatedRemaining { get; set; }
    public IReadOnlyList<InFlightItem> InFlight { get; set; } = Array.Empty<InFlightItem>();

    /// <summary>0..100: the finished ones plus the partial progress of those in flight.</summary>
    internal static double PercentDone(int total, int finished, IEnumerable<InFlightItem> inFlight) =>
        total == 0 ? 0 : Math.Min(100, (finished + inFlight.Sum(c => c.Progress / 100.0)) * 100.0 / total);
}

/// <summary>One snapshot EC2 has accepted and not yet finished.</summary>
public sealed class InFlightItem
{
    /// <summary>What it was made from: the source snapshot of a copy, the volume of a creation; for a wait, the
    /// snapshot itself.</summary>
    public string SourceId { get; set; } = "";
    public string SnapshotId { get; set; } = "";
    public int Progress { get; set; }
    public DateTime StartTime { get; set; }
}

/// <summary>Counters of one job (for summaries and benchmarks).</summary>
public sealed class JobStatistics
{
    /// <summary>EC2 calls made, per action name.</summary>
    public IReadOnlyDictionary<string, int> Calls { get; set; } = new Dictionary<string, int>();
    public int Throttled { get; set; }
    public int Retries { get; set; }
    public int LimitExceeded { get; set; }
    public int UncertainOutcomes { get; set; }
    public int DuplicatesRemoved { get; set; }
}
