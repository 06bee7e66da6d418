using System.Globalization;

namespace Avtomat.Ec2.Probes;

/// <summary>
/// Probe 2: Copy-AvSnapshot of --sources sources in a pwsh process against an emulator that answers --internal of every
/// EC2 call with HTTP 500 InternalError and --unavailable with 503 Unavailable, --runs times, each with an outer limit of
/// --limit seconds (then the process is killed). Counts the runs that never returned; for each such run, the last
/// verbose lines, the items that never finished (with the last line about each), and the EC2 calls per minute over its
/// last minutes (the emulator's stats, sampled every 5 s).
/// </summary>
internal static class HangProbe
{
    public static async Task<int> RunAsync(string[] args)
    {
        var runs = Args.Int(args, "--runs", 7);
        var sources = Args.Int(args, "--sources", 100);
        var internalRate = Args.Double(args, "--internal", 0.2);
        var unavailableRate = Args.Double(args, "--unavailable", 0.2);
        var median = Args.Double(args, "--median", 20);
        var sigma = Args.Double(args, "--sigma", 0.5);
        var limit = TimeSpan.FromSeconds(Args.Double(args, "--limit", 600));
        var firstSeed = Args.Int(args, "--seed", 1);
        var folder = Paths.NewRunFolder("hang", Args.Get(args, "--out"));
        var report = new Report(folder);
        report.Line($"# Copy-AvSnapshot of {sources} sources with faults on every EC2 action: InternalError (500) {internalRate}, Unavailable (503) {unavailableRate}");
        report.Line($"Copies log-normal median {median} s, sigma {sigma}; outer limit {limit.TotalSeconds} s per run, then killed. Logs: {folder}");
        report.Line();
        report.Line("| Run | Seed | Returned | Took (s) | Results (states) | Copies EC2 made | EC2 calls | Faults injected | Last result at (s) | Calls in the last 3 min | Calls in the last 1 min |");
        report.Line("|---:|---:|---|---:|---|---:|---:|---:|---:|---:|---:|");
        var details = new List<string>();
        var hung = 0;
        for (var run = 1; run <= runs; run++)
        {
            var seed = firstSeed + run - 1;
            var durations = new CopyDurations(median, sigma, seed: 2000 + seed);
            await using var emulator = await ProbeEmulator.StartAsync(durations, randomSeed: 7000 + seed, config =>
            {
                config.Faults.InternalErrorRate = internalRate;
                config.Faults.UnavailableRate = unavailableRate;
            });
            var ids = emulator.Seed(sources);
            var idsFile = Path.Combine(folder, $"run{run}-ids.txt");
            File.WriteAllLines(idsFile, ids);
            var log = Path.Combine(folder, $"run{run}.log");
            var resultFile = Path.Combine(folder, $"run{run}.json");
            var process = PwshRun.Start("Probe-Copy.ps1", new[] { "-Endpoint", emulator.Url, "-IdsFile", idsFile, "-LogFile", log, "-ResultFile", resultFile },
                Path.Combine(folder, $"run{run}.out"));
            var samples = new List<(double Seconds, long Calls, Dictionary<string, long> ByAction)>();
            var exited = false;
            while (DateTime.UtcNow - process.Started < limit)
            {
                var calls = ProbeEmulator.Ec2Calls(emulator.Stats());
                samples.Add(((DateTime.UtcNow - process.Started).TotalSeconds, ProbeEmulator.Total(calls), calls));
                if (await process.WaitAsync(TimeSpan.FromSeconds(5))) { exited = true; break; }
            }
            var end = DateTime.UtcNow;
            var finalCalls = ProbeEmulator.Ec2Calls(emulator.Stats());
            samples.Add(((end - process.Started).TotalSeconds, ProbeEmulator.Total(finalCalls), finalCalls));
            if (!exited)
            {
                hung++;
                process.Kill();
            }
            process.Close();
            File.WriteAllLines(Path.Combine(folder, $"run{run}-calls.tsv"),
                samples.Select(s => $"{s.Seconds:0.0}\t{s.Calls}\t" + string.Join(" ", s.ByAction.OrderBy(p => p.Key).Select(p => $"{p.Key}={p.Value}"))));

            var stats = emulator.Stats();
            var lines = LogLines.Read(log);
            var startLine = lines.FirstOrDefault(l => l.Kind == "START");
            var callStart = startLine.Kind is null ? process.Started : startLine.At;
            var results = lines.Where(l => l.Kind == "RESULT").ToList();
            var lastResult = results.Count > 0 ? (results[^1].At - callStart).TotalSeconds : double.NaN;
            var states = string.Join(", ", results.Select(l => l.Text.Split(' ')[3]).GroupBy(s => s).Select(g => $"{g.Key} {g.Count()}"));
            long CallsSince(double secondsBeforeEnd)
            {
                var at = samples[^1].Seconds - secondsBeforeEnd;
                var before = samples.LastOrDefault(s => s.Seconds <= at);
                return samples[^1].Calls - (before.ByAction is null ? 0 : before.Calls);
            }
            var faults = stats.Faults.Values.Sum();
            report.Line($"| {run} | {seed} | {(exited ? "yes" : "**no (killed)**")} | {Report.F((end - process.Started).TotalSeconds)} | {results.Count}: {states} | " +
                        $"{stats.CopiesPerDestination.Values.Sum()} | {ProbeEmulator.Total(finalCalls)} | {faults} | {Report.F(lastResult)} | {CallsSince(180)} | {CallsSince(60)} |");

            if (!exited)
            {
                details.Add($"## Run {run} (seed {seed}) never returned: killed after {limit.TotalSeconds} s");
                details.Add("");
                var finished = results.Select(l => l.Text.Split(' ')[0]).ToHashSet(StringComparer.Ordinal);
                var unfinished = ids.Where(id => !finished.Contains(id)).ToList();
                details.Add($"{results.Count} results written, {unfinished.Count} sources never got one. Last result {Report.F(lastResult)} s after the call started.");
                details.Add("");
                details.Add("Last 15 log lines (UTC, kind, text):");
                details.Add("```");
                foreach (var l in lines.TakeLast(15)) details.Add($"{(l.At - callStart).TotalSeconds,8:0.0} s {l.Kind} {l.Text}");
                details.Add("```");
                details.Add("Each unfinished source's last line:");
                details.Add("```");
                foreach (var id in unfinished)
                {
                    var last = lines.LastOrDefault(l => l.Text.Contains(id, StringComparison.Ordinal));
                    details.Add(last.Kind is null ? $"{id}: never mentioned" : $"{id}: {(last.At - callStart).TotalSeconds,7:0.0} s {last.Kind} {last.Text}");
                }
                details.Add("```");
                details.Add("EC2 calls per minute over the run (emulator stats; minute: calls, by action):");
                details.Add("```");
                for (var minute = 0; minute * 60 < samples[^1].Seconds; minute++)
                {
                    var from = samples.LastOrDefault(s => s.Seconds <= minute * 60);
                    var to = samples.LastOrDefault(s => s.Seconds <= (minute + 1) * 60);
                    var fromCalls = from.ByAction ?? new Dictionary<string, long>();
                    var byAction = to.ByAction.Select(p => (p.Key, N: p.Value - fromCalls.GetValueOrDefault(p.Key))).Where(p => p.N > 0)
                        .OrderBy(p => p.Key).Select(p => $"{p.Key} {p.N}");
                    details.Add($"{minute,2}-{minute + 1,2} min: {to.Calls - (from.ByAction is null ? 0 : from.Calls),5}  {string.Join(", ", byAction)}");
                }
                details.Add("```");
                details.Add("");
            }
            else if (CopyRunResult.Read(resultFile) is { } r)
            {
                details.Add($"Run {run}: returned after {Report.F(r.Seconds)} s; {r.StatsLine}");
                details.Add("");
            }
        }
        report.Line();
        report.Line($"**{hung} of {runs} runs never returned within {limit.TotalSeconds} s.**");
        report.Line();
        foreach (var d in details) report.Line(d);
        return 0;
    }
}
