using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Avtomat.Ec2.Benchmarks;

public sealed class BenchmarkReport
{
    public string Date { get; set; } = "";
    public string Machine { get; set; } = "";
    public BenchOptions Options { get; set; } = new();
    public string Workload { get; set; } = "";
    public List<RunResult> Runs { get; set; } = new();
    public ImportTimeResult? ImportTime { get; set; }
    public double WallSeconds { get; set; }
}

public static class Report
{
    private static readonly CultureInfo C = CultureInfo.InvariantCulture;

    /// <param name="showSeed">A Seed column after N (when more than one seed was run).</param>
    public static string Markdown(IReadOnlyList<RunResult> runs, bool showSeed = false)
    {
        var sb = new StringBuilder();
        sb.AppendLine((showSeed ? "| Scenario | N | Seed | Strategy |" : "| Scenario | N | Strategy |") + " Makespan | LB | ×LB | Calls/copy | Throttles | Lag p50 queued | Lag p95 queued | Lag p50 tail | Lag p95 tail | CPU/snap | Alloc/snap | Retained/snap | All done | Targets |");
        sb.AppendLine((showSeed ? "|---|---:|---:|---|" : "|---|---:|---|") + "---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|");
        foreach (var r in runs)
        {
            var targets = r.Targets.Count == 0 ? "" : string.Join("; ", r.Targets.Select(t => $"{t.Name} {t.Limit}: {(t.Met ? "met" : "**not met**")}"));
            sb.Append(CultureInfo.InvariantCulture, $"| {r.Scenario} | {r.N} | ");
            if (showSeed) sb.Append(CultureInfo.InvariantCulture, $"{r.Seed} | ");
            sb.Append(CultureInfo.InvariantCulture, $"{r.Strategy} | {Hours(r.MakespanSeconds)} | {Hours(r.LowerBoundSeconds)} | ")
              .Append(r.MakespanOverLowerBound.ToString("0.000", C)).Append(" | ")
              .Append(r.CallsPerSnapshotMade.ToString("0.00", C)).Append(" | ")
              .Append(r.Throttles.ToString(C)).Append(" | ")
              .Append(Lag(r.QueuedLagP50Seconds, r.QueuedLagP50PercentOfMedianCopy)).Append(" | ")
              .Append(Lag(r.QueuedLagP95Seconds, r.QueuedLagP95PercentOfMedianCopy)).Append(" | ")
              .Append(Lag(r.TailLagP50Seconds, r.TailLagP50PercentOfMedianCopy)).Append(" | ")
              .Append(Lag(r.TailLagP95Seconds, r.TailLagP95PercentOfMedianCopy)).Append(" | ")
              .Append(r.CpuMsPerTracked.ToString("0.000", C)).Append(" ms | ")
              .Append((r.BytesPerTracked / 1024).ToString("0.0", C)).Append(" KB | ")
              .Append(r.RetainedBytesPerTracked is { } retained ? (retained / 1024).ToString("0.0", C) + " KB" : "–").Append(" | ")
              .Append(r.AllCompleted ? "yes" : "**NO**").Append(r.Unnoticed > 0 ? $" ({r.Unnoticed} not waited for)" : "").Append(" | ")
              .Append(targets).AppendLine(" |");
        }
        return sb.ToString();
    }

    private static string Hours(double seconds) => seconds >= 2 * 3600
        ? (seconds / 3600).ToString("0.00", C) + " h"
        : (seconds / 60).ToString("0.0", C) + " min";

    private static string Lag(double seconds, double percent) => double.IsNaN(seconds)
        ? "–"
        : $"{seconds.ToString("0.0", C)} s ({percent.ToString("0.00", C)}%)";

    public static void WriteJson(BenchmarkReport report, string path)
    {
        var full = Path.GetFullPath(path);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        File.WriteAllText(full, JsonSerializer.Serialize(report, JsonOptions));
    }

    /// <summary>Indented; a figure with nothing to measure (no copy noticed) is written as "NaN".</summary>
    public static readonly JsonSerializerOptions JsonOptions = new()
    {
        WriteIndented = true,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
        Converters = { new JsonStringEnumConverter() },
    };
}
