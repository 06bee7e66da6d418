namespace Avtomat.Ec2.Benchmarks;

public enum Scenario { OneRegion, ThreeRegions, CreateThenCopy, OutsideCopies }

public static class Scenarios
{
    public static readonly IReadOnlyList<Scenario> All = [Scenario.OneRegion, Scenario.ThreeRegions, Scenario.CreateThenCopy, Scenario.OutsideCopies];

    public static string Name(Scenario s) => s switch
    {
        Scenario.OneRegion => "one-region",
        Scenario.ThreeRegions => "three-regions",
        Scenario.CreateThenCopy => "create-then-copy",
        Scenario.OutsideCopies => "outside-copies",
        _ => s.ToString(),
    };

    public static Scenario Parse(string name)
    {
        foreach (var s in All)
            if (Name(s) == name.Trim().ToLowerInvariant()) return s;
        throw new ArgumentException($"Unknown scenario '{name}' (one of: {string.Join(", ", All.Select(Name))}).");
    }
}

/// <summary>
/// What one scenario copies, fixed by the seed before any strategy runs, so every strategy gets exactly the same
/// durations (the emulator is told them through <c>EmulatorOptions.DurationOf</c>, keyed by source and destination,
/// whatever order the calls come in). Sizes are uniform in 20–200 GiB; a full copy takes
/// <see cref="MedianCopySeconds"/> × size / 110 GiB × a log-normal noise (σ 0.2, clamped at ±3σ), drawn per source and
/// destination: a median of about 20 minutes, the longest about an hour. A first snapshot of a volume (create-then-copy)
/// takes half that, with its own noise.
/// </summary>
public sealed class Workload
{
    public const string SourceRegion = "us-east-1";
    public const int Ec2CopyLimit = 20;
    public const int CreateBurst = 100;
    public const double CreatePerSecond = 5;
    public const double MedianCopySeconds = 1200;
    public const double MedianSnapshotSeconds = 600;
    public const double ReferenceSizeGiB = 110;
    public const double Sigma = 0.2;

    public required Scenario Scenario { get; init; }
    public required int Count { get; init; }
    public required int Seed { get; init; }
    public required IReadOnlyList<string> Destinations { get; init; }
    public required int[] SizesGiB { get; init; }
    /// <summary>[source index][destination index] seconds.</summary>
    public required double[][] CopySeconds { get; init; }
    /// <summary>Seconds per volume's snapshot (create-then-copy), else null.</summary>
    public double[]? SnapshotSeconds { get; init; }
    /// <summary>Copy slots per destination held by copies started outside the process, for the whole run.</summary>
    public int OutsideCopies { get; init; }

    public bool CreatesSnapshots => SnapshotSeconds is not null;
    /// <summary>Snapshots the strategy has to track: every copy, plus every created snapshot.</summary>
    public int Tracked => Count * Destinations.Count + (CreatesSnapshots ? Count : 0);
    public int Copies => Count * Destinations.Count;

    public static Workload For(Scenario scenario, int count, int seed)
    {
        // One stream per scenario and N, the same for every strategy.
        var random = new Random(unchecked(seed * 31 + (int)scenario * 7919 + count));
        string[] destinations = scenario == Scenario.ThreeRegions ? ["us-west-2", "eu-west-1", "ap-southeast-2"] : ["us-west-2"];
        var sizes = new int[count];
        var copies = new double[count][];
        double[]? snapshots = scenario == Scenario.CreateThenCopy ? new double[count] : null;
        for (var i = 0; i < count; i++)
        {
            sizes[i] = 20 + random.Next(181);
            copies[i] = new double[destinations.Length];
            for (var d = 0; d < destinations.Length; d++)
                copies[i][d] = Math.Round(MedianCopySeconds * sizes[i] / ReferenceSizeGiB * Noise(random), 3);
            if (snapshots is not null) snapshots[i] = Math.Round(MedianSnapshotSeconds * sizes[i] / ReferenceSizeGiB * Noise(random), 3);
        }
        return new Workload
        {
            Scenario = scenario, Count = count, Seed = seed, Destinations = destinations, SizesGiB = sizes, CopySeconds = copies,
            SnapshotSeconds = snapshots, OutsideCopies = scenario == Scenario.OutsideCopies ? 5 : 0,
        };
    }

    private static double Noise(Random random)
    {
        var u1 = 1.0 - random.NextDouble();
        var u2 = random.NextDouble();
        var z = Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2.0 * Math.PI * u2);
        return Math.Exp(Sigma * Math.Clamp(z, -3, 3));
    }

    public IEnumerable<double> AllCopySeconds => CopySeconds.SelectMany(c => c);

    public double MedianCopy => Median(AllCopySeconds.ToList());
    public double LongestCopy => AllCopySeconds.Max();

    /// <summary>
    /// A lower bound on the makespan of any schedule that respects EC2's limits, per destination, then the largest:
    /// <list type="bullet">
    /// <item>copies only: max(longest copy, sum of copies / slots), slots = 20 − the outside copies (they hold their slots
    /// for the whole run: EC2 counts them against the same 20);</item>
    /// <item>create-then-copy: a copy starts only after its snapshot completed, and CreateSnapshot is limited to EC2's
    /// bucket (100 at once, then 5 a second), so max(
    ///   max over k of (the earliest the k-th CreateSnapshot can be accepted, max(0, k − 100) / 5 s, + the k-th longest
    ///   chain snapshot + copy) — the best any order of creations can do,
    ///   the shortest snapshot + sum of copies / 20 — no copy can start before the first snapshot completes).</item>
    /// </list>
    /// </summary>
    public (double Seconds, string How) LowerBound()
    {
        var slots = Ec2CopyLimit - OutsideCopies;
        var best = (Seconds: 0.0, How: "");
        for (var d = 0; d < Destinations.Count; d++)
        {
            var copies = CopySeconds.Select(c => c[d]).ToArray();
            (double, string) bound;
            if (SnapshotSeconds is { } snaps)
            {
                var chains = copies.Select((c, i) => c + snaps[i]).OrderByDescending(x => x).ToArray();
                var rate = chains.Select((c, k) => Math.Max(0, k + 1 - CreateBurst) / CreatePerSecond + c).Max();
                var window = snaps.Min() + copies.Sum() / slots;
                bound = rate >= window
                    ? (rate, $"creation rate + chain {rate:0} s")
                    : (window, $"shortest snapshot {snaps.Min():0} s + copies {copies.Sum():0} s / {slots}");
            }
            else
            {
                var longest = copies.Max();
                var window = copies.Sum() / slots;
                bound = longest >= window ? (longest, $"longest copy {longest:0} s") : (window, $"copies {copies.Sum():0} s / {slots}");
            }
            if (bound.Item1 > best.Seconds) best = (bound.Item1, Destinations.Count > 1 ? $"{Destinations[d]}: {bound.Item2}" : bound.Item2);
        }
        return best;
    }

    public static double Median(IReadOnlyList<double> values) => Percentile(values, 0.5);

    public static double Percentile(IReadOnlyList<double> values, double p)
    {
        if (values.Count == 0) return double.NaN;
        var sorted = values.Order().ToArray();
        var rank = p * (sorted.Length - 1);
        var lo = (int)Math.Floor(rank);
        var hi = (int)Math.Ceiling(rank);
        return sorted[lo] + (sorted[hi] - sorted[lo]) * (rank - lo);
    }
}
