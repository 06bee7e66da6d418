using System.Text.Json;

namespace Avtomat.Ec2.Probes;

/// <summary>
/// Probe 4: ONE pwsh process makes --invocations Copy-AvSnapshot calls of --per sources each (waited; every call copies
/// new sources), and reports the engine's SnapshotEngine.Shared.AccountRegionsInUse (read by reflection from the module's
/// own load context) after each call, and the managed heap after a full GC every --every calls (Probe-LongLived.ps1).
/// </summary>
internal static class LongLivedProbe
{
    public static async Task<int> RunAsync(string[] args)
    {
        var invocations = Args.Int(args, "--invocations", 120);
        var per = Args.Int(args, "--per", 3);
        var every = Args.Int(args, "--every", 20);
        var copySeconds = Args.Double(args, "--copy-seconds", 1);
        var limit = TimeSpan.FromSeconds(Args.Double(args, "--limit", 1800));
        var folder = Paths.NewRunFolder("long-lived", Args.Get(args, "--out"));
        var report = new Report(folder);
        await using var emulator = await ProbeEmulator.StartAsync(new CopyDurations(copySeconds, 0, 4000, fixedSeconds: copySeconds), randomSeed: 4000);
        var ids = emulator.Seed(invocations * per);
        var idsFile = Path.Combine(folder, "ids.txt");
        File.WriteAllLines(idsFile, ids);
        var resultFile = Path.Combine(folder, "result.json");
        report.Line($"# {invocations} Copy-AvSnapshot invocations of {per} sources each (copies {copySeconds} s), in one pwsh process. Logs: {folder}");
        report.Line();
        var process = PwshRun.Start("Probe-LongLived.ps1", new[]
        {
            "-Endpoint", emulator.Url, "-IdsFile", idsFile, "-ResultFile", resultFile,
            "-Invocations", invocations.ToString(), "-PerInvocation", per.ToString(), "-SampleEvery", every.ToString(),
        }, Path.Combine(folder, "pwsh.out"));
        if (!await process.WaitAsync(limit))
        {
            report.Line($"The pwsh process did not end within {limit.TotalSeconds} s: killed.");
            process.Kill();
        }
        process.Close();
        if (!File.Exists(resultFile))
        {
            report.Line("No result file; see pwsh.out:");
            foreach (var l in File.ReadLines(Path.Combine(folder, "pwsh.out")).TakeLast(30)) report.Line("    " + l);
            return 1;
        }
        using var doc = JsonDocument.Parse(File.ReadAllText(resultFile));
        var root = doc.RootElement;
        report.Line($"Took {Report.F(root.GetProperty("Seconds").GetDouble())} s; results by state: {root.GetProperty("States")}; " +
                    $"copies EC2 made: {emulator.Stats().CopiesPerDestination.Values.Sum()}.");
        report.Line();
        report.Line("| After invocation | AccountRegionsInUse | Registry.Refilling | Heap after full GC (bytes) | System.Threading.Timer.ActiveCount | Elapsed (s) |");
        report.Line("|---:|---:|---:|---:|---:|---:|");
        var inUse = new List<int>();
        foreach (var s in root.GetProperty("Samples").EnumerateArray())
        {
            var regions = s.GetProperty("AccountRegionsInUse");
            if (regions.ValueKind == JsonValueKind.Number) inUse.Add(regions.GetInt32());
            if (s.GetProperty("HeapBytes").ValueKind != JsonValueKind.Number) continue;
            report.Line($"| {s.GetProperty("Invocation")} | {Show(regions)} | {Show(s, "Refilling")} | {s.GetProperty("HeapBytes").GetInt64():N0} | {Show(s, "TimerActiveCount")} | {Report.F(s.GetProperty("Seconds").GetDouble())} |");
        }
        report.Line();
        report.Line($"AccountRegionsInUse after each invocation: min {inUse.DefaultIfEmpty().Min()}, max {inUse.DefaultIfEmpty().Max()}; " +
                    $"sequence (every 10th): {string.Join(" ", inUse.Where((_, i) => i % 10 == 9))}");
        return 0;
    }

    private static string Show(JsonElement e) => e.ValueKind == JsonValueKind.Null ? "-" : e.ToString();
    private static string Show(JsonElement e, string name) => e.TryGetProperty(name, out var v) ? Show(v) : "-";
}
