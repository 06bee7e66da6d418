using System.Diagnostics;
using System.Globalization;

namespace Avtomat.Ec2.Benchmarks;

internal static class Program
{
    public static int Main(string[] args)
    {
        BenchOptions options;
        try { options = BenchOptions.Parse(args); }
        catch (ArgumentException e)
        {
            Console.Error.WriteLine(e.Message);
            Console.Error.WriteLine(BenchOptions.Usage);
            return 2;
        }
        if (options.Help)
        {
            Console.WriteLine(BenchOptions.Usage);
            return 0;
        }
        CultureInfo.DefaultThreadCurrentCulture = CultureInfo.InvariantCulture;
        var repoRoot = FindRepoRoot();
        var total = Stopwatch.StartNew();
        void Log(string line) => Console.Error.WriteLine($"[{total.Elapsed:hh\\:mm\\:ss}] {line}");

        // The driver counts busy pool threads: start with enough of them that a blocked one never starves the rest.
        ThreadPool.SetMinThreads(Math.Max(4, Environment.ProcessorCount * 2), 4);
        var runs = Runner.RunAll(options, Log, warmUp: !options.NoWarmUp);

        var report = new BenchmarkReport
        {
            Date = DateTime.UtcNow.ToString("yyyy-MM-dd HH:mm 'UTC'", CultureInfo.InvariantCulture),
            Machine = $"{Environment.ProcessorCount} cores, {System.Runtime.InteropServices.RuntimeInformation.OSDescription.Trim()}, .NET {Environment.Version}",
            Options = options,
            Workload = Runner.WorkloadText,
            Runs = runs,
        };
        if (!options.NoImport)
        {
            Log("Import-Module time: 10 fresh pwsh processes");
            report.ImportTime = ImportTime.Measure(repoRoot, log: Log);
        }
        report.WallSeconds = Math.Round(total.Elapsed.TotalSeconds, 1);

        Console.WriteLine(Report.Markdown(runs, showSeed: options.Seeds.Count > 1));
        if (report.ImportTime is { } import)
            Console.WriteLine(import.MedianMs is { } ms
                ? $"Import-Module (hosted, {import.Manifest}): median {ms:0.0} ms of {import.Milliseconds.Count} fresh pwsh processes " +
                  $"(min {import.Milliseconds.Min():0.0}, max {import.Milliseconds.Max():0.0}); target <= {Targets.ImportMs:0} ms: {(import.Met == true ? "met" : "not met")}"
                : $"Import-Module: {import.Note}");
        else Console.WriteLine("Import-Module: not measured (--no-import or --quick).");
        foreach (var r in runs.Where(r => r.Problems.Count > 0))
            Console.WriteLine($"Problems in {r.Scenario} N={r.N} seed {r.Seed} {r.Strategy}: {string.Join("; ", r.Problems)}");

        var json = Path.IsPathRooted(options.Json) ? options.Json : Path.Combine(repoRoot, options.Json);
        Report.WriteJson(report, json);
        Console.WriteLine($"Results: {Path.GetRelativePath(Environment.CurrentDirectory, json)}; {report.WallSeconds:0} s in all.");
        return runs.All(r => r.AllCompleted) ? 0 : 1;
    }

    private static string FindRepoRoot()
    {
        for (var dir = new DirectoryInfo(Environment.CurrentDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Avtomat.Ec2.sln"))) return dir.FullName;
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Avtomat.Ec2.sln"))) return dir.FullName;
        return Environment.CurrentDirectory;
    }
}

/// <summary>The benchmark's core, also used by the smoke test: every seed, N, scenario and strategy asked for, in that
/// order (strategies side by side on one workload), after a discarded warm-up run of each strategy (JIT and tiered compilation).</summary>
public static class Runner
{
    public const string WorkloadText =
        "Sources 20-200 GiB (uniform); full copy = 20 min x size/110 GiB x log-normal noise (sigma 0.2, clamped at 3 sigma), per source and " +
        "destination; first snapshot (create-then-copy) = 10 min x size/110 GiB x its own noise; source region us-east-1; destinations " +
        "us-west-2 (+ eu-west-1, ap-southeast-2 for three-regions); outside-copies: 5 copies per destination started by another caller in " +
        "the account before the run, pending throughout.";

    /// <summary>The warm-up's size (see <see cref="RunAll"/>).</summary>
    public const int WarmUpCopies = 1000;

    public static List<RunResult> RunAll(BenchOptions options, Action<string>? log = null, bool warmUp = true)
    {
        log ??= _ => { };
        if (warmUp)
        {
            // JIT and tiered compilation settle here, not in the first measured run's CPU figures: measured, a first run of
            // one-region N=1,000 cost 7.1 ms CPU a snapshot and the same run again 1.7 (equal with tiered compilation off);
            // a 100-copy warm-up did not get there. What a long-lived process pays per snapshot is the second figure.
            var wall = Stopwatch.StartNew();
            foreach (var name in options.Strategies)
            {
                ScenarioRunner.Run(Workload.For(Scenario.OneRegion, WarmUpCopies, options.Seeds[0] ^ 0x5eed), BenchOptions.Strategy(name));
                ScenarioRunner.Run(Workload.For(Scenario.CreateThenCopy, WarmUpCopies / 5, options.Seeds[0] ^ 0x5eed), BenchOptions.Strategy(name));
            }
            log($"warm-up ({string.Join(", ", options.Strategies)} on one-region N={WarmUpCopies} and create-then-copy N={WarmUpCopies / 5}, discarded): " +
                $"{wall.Elapsed.TotalSeconds:0.0} s");
        }
        var results = new List<RunResult>();
        foreach (var seed in options.Seeds)
            foreach (var n in options.Counts)
                foreach (var scenario in options.Scenarios.Select(Scenarios.Parse))
                {
                    var workload = Workload.For(scenario, n, seed);
                    var group = new List<RunResult>();
                    foreach (var name in options.Strategies)
                    {
                        var result = ScenarioRunner.Run(workload, BenchOptions.Strategy(name));
                        group.Add(result);
                        results.Add(result);
                        log($"{result.Scenario} N={n} seed {seed} {name}: x{result.MakespanOverLowerBound:0.000} of LB, {result.CallsPerSnapshotMade:0.00} calls/copy, " +
                            $"{result.Throttles} throttles, lag p50 queued {result.QueuedLagP50Seconds:0.0} s, tail {result.TailLagP50Seconds:0.0} s, " +
                            $"retained {(result.RetainedBytesPerTracked is { } kb ? $"{kb / 1024:0.0} KB" : "-")}/snap, all done {result.AllCompleted}; " +
                            $"{result.WallSeconds:0.0} s wall, {result.VirtualSteps} steps" +
                            (result.Problems.Count > 0 ? "; problems: " + string.Join("; ", result.Problems) : ""));
                    }
                    // Some targets compare with the peer's run of the same workload, so they are checked once all have run.
                    var peer = group.FirstOrDefault(r => r.Strategy == "peer");
                    foreach (var result in group) result.Targets = Targets.For(result, peer);
                }
        return results;
    }
}
