using Avtomat.Ec2.Emulator;

namespace Avtomat.Ec2.Probes;

/// <summary>
/// Probe 1: two pwsh processes, each Copy-AvSnapshot of the same sources to one destination with default options,
/// against ONE emulator; the second starts --offset seconds after the first (0: the same instant; both import the
/// module first, then wait for their start instant). Per repetition: copies EC2 made per source (stats), extra copies,
/// duplicates left in the destination at the end, what each run reported (duplicates removed, copies it deleted as
/// another run's twin, reused) and how long each took.
/// </summary>
internal static class TwoRunsProbe
{
    public static async Task<int> RunAsync(string[] args)
    {
        var offset = Args.Double(args, "--offset", 0);
        var repeat = Args.Int(args, "--repeat", offset == 0 ? 4 : 2);
        var sources = Args.Int(args, "--sources", 100);
        var median = Args.Double(args, "--median", 20);
        var sigma = Args.Double(args, "--sigma", 0.5);
        var warmUp = Args.Flag(args, "--warm-up");
        var lead = Args.Double(args, "--lead", warmUp ? 45 : 20);
        var limit = TimeSpan.FromSeconds(Args.Double(args, "--limit", 900));
        var folder = Paths.NewRunFolder($"two-runs-{offset:0}s{(warmUp ? "-warm" : "")}", Args.Get(args, "--out"));
        var report = new Report(folder);
        report.Line($"# Two runs over the same {sources} sources, second started {offset} s after the first ({repeat} repetitions)");
        report.Line(warmUp
            ? "Warm start: each pwsh first copies a warm-up source to eu-west-1 (1 s copy), then waits for its start instant."
            : "Cold start: each pwsh imports the module, then waits for its start instant (first call in the process).");
        report.Line($"Copies: log-normal, median {median} s, sigma {sigma} (same duration for every copy of one source); EC2 limits as default (20 pending copies per region). Logs: {folder}");
        report.Line();
        report.Line("| Rep | Run | Start instant | Call began / account known / first copy accepted (s after the first start instant) | Took (s) | Copies made (accepted, own) | Reused/waited earlier | Own copy deleted as twin | Duplicates removed (reported) | CopySnapshot calls | States |");
        report.Line("|---:|---|---:|---|---:|---:|---:|---:|---:|---:|---|");
        var totals = new List<string>();
        for (var rep = 1; rep <= repeat; rep++)
        {
            var durations = new CopyDurations(median, sigma, seed: 1000 + rep);
            await using var emulator = await ProbeEmulator.StartAsync(durations, randomSeed: 20261123 + rep);
            var ids = emulator.Seed(sources);
            var warmIds = warmUp ? emulator.Seed(2) : new List<string>();
            foreach (var id in warmIds) durations.Overrides[id] = 1;
            var idsFile = Path.Combine(folder, $"rep{rep}-ids.txt");
            File.WriteAllLines(idsFile, ids);
            var t0 = DateTime.UtcNow.AddSeconds(lead);
            var runs = new List<(string Name, PwshRun Run, string Log, string Result, DateTime StartAt)>();
            foreach (var (name, at) in new[] { ("A", t0), ("B", t0.AddSeconds(offset)) })
            {
                var warm = warmUp ? new[] { "-WarmUpSnapshotId", warmIds[runs.Count] } : Array.Empty<string>();
                var log = Path.Combine(folder, $"rep{rep}-{name}.log");
                var result = Path.Combine(folder, $"rep{rep}-{name}.json");
                var run = PwshRun.Start("Probe-Copy.ps1", new[]
                {
                    "-Endpoint", emulator.Url, "-IdsFile", idsFile, "-LogFile", log, "-ResultFile", result,
                    "-StartAtUtc", at.ToString("o"),
                }.Concat(warm), Path.Combine(folder, $"rep{rep}-{name}.out"));
                runs.Add((name, run, log, result, at));
            }
            foreach (var r in runs)
            {
                if (!await r.Run.WaitAsync(limit - (DateTime.UtcNow - r.Run.Started)))
                {
                    report.Line($"| {rep} | {r.Name} | did not return within {limit.TotalSeconds} s: killed |");
                    r.Run.Kill();
                }
                r.Run.Close();
            }

            var stats = emulator.Stats();
            var perSource = ProbeEmulator.CopiesPerSource(stats).Where(p => ids.Contains(p.Key)).ToDictionary(p => p.Key, p => p.Value);
            var made = perSource.Values.Sum();
            var owned = await emulator.OwnedSnapshotsAsync(ProbeEmulator.Destination);
            var left = owned.Where(s => ProbeEmulator.Tag(s, "avtomat:source-snapshot-id") is not null)
                .GroupBy(s => ProbeEmulator.Tag(s, "avtomat:source-snapshot-id")!).ToDictionary(g => g.Key, g => g.Count());
            var duplicatesLeft = left.Values.Sum(n => Math.Max(0, n - 1));
            var sourcesWithDuplicates = left.Values.Count(n => n > 1);
            var missing = ids.Count(id => !left.ContainsKey(id));

            foreach (var r in runs)
            {
                var result = CopyRunResult.Read(r.Result);
                var lines = LogLines.Read(r.Log);
                var accepted = lines.Count(l => l.Kind == "VERBOSE" && l.Text.EndsWith(" accepted", StringComparison.Ordinal));
                var waitedPending = lines.Count(l => l.Kind == "VERBOSE" && l.Text.Contains("an earlier run's copy is still pending", StringComparison.Ordinal));
                var reusedDone = lines.Count(l => l.Kind == "VERBOSE" && l.Text.Contains(": reused, copied", StringComparison.Ordinal));
                var deletedAsTwin = lines.Count(l => l.Kind == "VERBOSE" && l.Text.Contains("another run copied it moments before this one", StringComparison.Ordinal));
                var copyCalls = result?.StatsLine is { } s && System.Text.RegularExpressions.Regex.Match(s, @"CopySnapshot (\d+)") is { Success: true } m ? m.Groups[1].Value : "?";
                var states = result is null ? "no result file" : string.Join(", ", result.Results.GroupBy(x => x.State + (x.Reused ? "(reused)" : "")).Select(g => $"{g.Key} {g.Count()}"));
                string At(Func<(DateTime At, string Kind, string Text), bool> match) =>
                    lines.FirstOrDefault(match) is { Kind: not null } l ? Report.F((l.At - t0).TotalSeconds, "0.00") : "-";
                var timing = At(l => l.Kind == "START") + " / " + At(l => l.Text.StartsWith("Account:", StringComparison.Ordinal)) + " / " +
                             At(l => l.Kind == "VERBOSE" && l.Text.EndsWith(" accepted", StringComparison.Ordinal));
                report.Line($"| {rep} | {r.Name} | +{(r.StartAt - t0).TotalSeconds:0} s | {timing} | {Report.F(result?.Seconds ?? double.NaN)} | {accepted - waitedPending} | " +
                            $"{reusedDone + waitedPending} | {deletedAsTwin} | {result?.DuplicatesRemoved?.ToString() ?? "?"} | {copyCalls} | {states} |");
            }
            var histogram = string.Join(", ", perSource.Values.GroupBy(n => n).OrderBy(g => g.Key).Select(g => $"{g.Count()} sources ×{g.Key}"));
            totals.Add($"| {rep} | {made} | {made - sources} | {histogram} | {duplicatesLeft} (on {sourcesWithDuplicates} sources) | {missing} | " +
                       $"{stats.MaxPendingCopies.Values.DefaultIfEmpty(0).Max()} | {ProbeEmulator.Ec2Calls(stats).GetValueOrDefault("DeleteSnapshot")} | " +
                       $"{stats.Errors.GetValueOrDefault("CopySnapshot")?.GetValueOrDefault("ResourceLimitExceeded") ?? 0} |");
        }
        report.Line();
        report.Line("| Rep | Copies EC2 made | Extra copies made | Copies per source (stats) | Duplicates left at the end | Sources without a copy | Max pending copies | DeleteSnapshot calls | ResourceLimitExceeded |");
        report.Line("|---:|---:|---:|---|---:|---:|---:|---:|---:|");
        foreach (var t in totals) report.Line(t);
        return 0;
    }
}
