namespace Avtomat.Ec2.Probes;

/// <summary>
/// Probe 6: Copy-AvSnapshot of --n sources in a pwsh process (default options), copies log-normal (median --median s,
/// sigma --sigma, the durations set by the probe and recorded). From outside: makespan (call start to last result, and to
/// the return) against LB = max(longest copy, sum of copy durations / 20), EC2 calls per copy (emulator stats), and how
/// long after the last copy completed in EC2 the last result came and the command returned.
/// </summary>
internal static class MakespanProbe
{
    public static async Task<int> RunAsync(string[] args)
    {
        var n = Args.Int(args, "--n", 100);
        var repeat = Args.Int(args, "--repeat", 1);
        var median = Args.Double(args, "--median", 20);
        var sigma = Args.Double(args, "--sigma", 0.5);
        var firstSeed = Args.Int(args, "--seed", 1);
        var limit = TimeSpan.FromSeconds(Args.Double(args, "--limit", 900));
        var folder = Paths.NewRunFolder($"makespan-n{n}", Args.Get(args, "--out"));
        var report = new Report(folder);
        report.Line($"# Copy-AvSnapshot of {n} sources, copies log-normal median {median} s sigma {sigma}; EC2 window 20. Logs: {folder}");
        report.Line();
        report.Line("| Rep | Seed | Makespan to last result (s) | To return (s) | LB (s) | ×LB | Longest copy (s) | Sum/20 (s) | Last EC2 completion (s) | Last result after it (s) | Return after it (s) | EC2 calls | Calls/copy | By action | Max pending |");
        report.Line("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|");
        for (var rep = 1; rep <= repeat; rep++)
        {
            var seed = firstSeed + rep - 1;
            var durations = new CopyDurations(median, sigma, seed: 6000 + seed);
            await using var emulator = await ProbeEmulator.StartAsync(durations, randomSeed: 6000 + seed);
            var ids = emulator.Seed(n);
            var idsFile = Path.Combine(folder, $"rep{rep}-ids.txt");
            File.WriteAllLines(idsFile, ids);
            var log = Path.Combine(folder, $"rep{rep}.log");
            var resultFile = Path.Combine(folder, $"rep{rep}.json");
            var process = PwshRun.Start("Probe-Copy.ps1", new[] { "-Endpoint", emulator.Url, "-IdsFile", idsFile, "-LogFile", log, "-ResultFile", resultFile },
                Path.Combine(folder, $"rep{rep}.out"));
            if (!await process.WaitAsync(limit))
            {
                report.Line($"| {rep} | {seed} | did not return within {limit.TotalSeconds} s: killed |");
                process.Kill();
                process.Close();
                continue;
            }
            process.Close();
            var stats = emulator.Stats();
            var result = CopyRunResult.Read(resultFile);
            if (result is null)
            {
                report.Line($"| {rep} | {seed} | no result file (see rep{rep}.out) |");
                continue;
            }
            var copies = durations.Copies;
            var longest = copies.Max(c => c.Seconds);
            var sum = copies.Sum(c => c.Seconds);
            var lb = Math.Max(longest, sum / 20);
            var start = result.Start;
            var lastResult = result.Results.Max(r => r.ReceivedUtc).ToUniversalTime();
            var lastCompletion = copies.Max(c => c.Start.UtcDateTime.AddSeconds(c.Seconds));
            var makespan = (lastResult - start).TotalSeconds;
            var calls = ProbeEmulator.Ec2Calls(stats);
            var total = ProbeEmulator.Total(calls);
            report.Line($"| {rep} | {seed} | {Report.F(makespan)} | {Report.F(result.Seconds)} | {Report.F(lb)} | {Report.F(makespan / lb, "0.00")} | {Report.F(longest)} | {Report.F(sum / 20)} | " +
                        $"{Report.F((lastCompletion - start).TotalSeconds)} | {Report.F((lastResult - lastCompletion).TotalSeconds)} | {Report.F((result.End - lastCompletion).TotalSeconds)} | " +
                        $"{total} | {Report.F((double)total / n, "0.00")} | {string.Join(", ", calls.OrderBy(p => p.Key).Select(p => $"{p.Key} {p.Value}"))} | " +
                        $"{stats.MaxPendingCopies.Values.DefaultIfEmpty(0).Max()} |");
            // Per copy: how long after its end in EC2 the command reported it.
            var ends = copies.GroupBy(c => c.Source).ToDictionary(g => g.Key, g => g.Max(c => c.Start.UtcDateTime.AddSeconds(c.Seconds)));
            var lags = result.Results.Where(r => ends.ContainsKey(r.SourceSnapshotId))
                .Select(r => (r.ReceivedUtc.ToUniversalTime() - ends[r.SourceSnapshotId]).TotalSeconds).Order().ToList();
            var last = copies.OrderBy(c => c.Start.UtcDateTime.AddSeconds(c.Seconds)).Last();
            var firstStart = copies.Min(c => c.Start.UtcDateTime);
            var lastStart = copies.Max(c => c.Start.UtcDateTime);
            report.Line($"|  | first copy started {Report.F((firstStart - start).TotalSeconds)} s after the call, last started {Report.F((lastStart - start).TotalSeconds)} s; " +
                        $"the copy that ended last started at {Report.F((last.Start.UtcDateTime - start).TotalSeconds)} s and took {Report.F(last.Seconds)} s; " +
                        $"copies in flight on average (sum of durations / (last completion − first start)): {Report.F(sum / (lastCompletion - firstStart).TotalSeconds)} |");
            if (lags.Count > 0)
                report.Line($"|  | detection lag per copy (result received − end in EC2): p50 {Report.F(lags[lags.Count / 2])} s, p95 {Report.F(lags[(int)(lags.Count * 0.95)])} s, max {Report.F(lags[^1])} s; {result.StatsLine} |");
        }
        return 0;
    }
}
