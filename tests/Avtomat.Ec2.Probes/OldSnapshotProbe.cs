using System.Text.Json;

namespace Avtomat.Ec2.Probes;

/// <summary>
/// Probe 3: Wait-AvSnapshot of an old completed snapshot together with a missing id. The emulator seeds snapshots with
/// start time = its clock's now, so the probe moves the emulator's clock back --age-days, seeds the old snapshot, and
/// moves it forward again: the snapshot really started that long ago. Each case runs in a fresh pwsh (a fresh engine);
/// reported: what each id ended as, when the command returned, and the DescribeSnapshots calls it made (stats delta).
/// A control case does the same with a snapshot seeded seconds before.
/// </summary>
internal static class OldSnapshotProbe
{
    private const string MissingId = "snap-0000000000000000a";

    public static async Task<int> RunAsync(string[] args)
    {
        var ageDays = Args.Double(args, "--age-days", 30);
        var limit = TimeSpan.FromSeconds(Args.Double(args, "--limit", 480));
        var folder = Paths.NewRunFolder("old-snapshot", Args.Get(args, "--out"));
        var report = new Report(folder);
        await using var emulator = await ProbeEmulator.StartAsync(new CopyDurations(20, 0.5, 3000), randomSeed: 3000);
        emulator.Clock.Offset = -TimeSpan.FromDays(ageDays);
        var old = emulator.Seed(1, sizeGiB: 100)[0];
        emulator.Clock.Offset = TimeSpan.Zero;
        report.Line($"# Wait-AvSnapshot with an old completed snapshot ({old}, started {ageDays} days ago on the emulator's clock) and a missing id ({MissingId})");
        report.Line($"Each case in a fresh pwsh; outer limit {limit.TotalSeconds} s. Logs: {folder}");
        report.Line();
        report.Line("| Case | -Timeout | Returned after (s) | Old/fresh snapshot | Missing id | Error ids | DescribeSnapshots calls | When each Describe came (s after start) |");
        report.Line("|---|---:|---:|---|---|---|---:|---|");

        var cases = new List<(string Name, Func<string[]> Ids, int Timeout)>
        {
            ("old + missing", () => new[] { old, MissingId }, 60),
            ("old + missing", () => new[] { old, MissingId }, 0),
            ("missing alone", () => new[] { MissingId }, 0),
            ("control: fresh + missing", () => new[] { emulator.Seed(1, sizeGiB: 100)[0], MissingId }, 60),
            ("control: old alone", () => new[] { old }, 60),
        };
        var n = 0;
        foreach (var (name, idsOf, timeout) in cases)
        {
            n++;
            var ids = idsOf();
            var log = Path.Combine(folder, $"case{n}.log");
            var resultFile = Path.Combine(folder, $"case{n}.json");
            var before = ProbeEmulator.Ec2Calls(emulator.Stats()).GetValueOrDefault("DescribeSnapshots");
            var process = PwshRun.Start("Probe-Wait.ps1", new[]
            {
                "-Endpoint", emulator.Url, "-SnapshotId", string.Join(",", ids), "-LogFile", log, "-ResultFile", resultFile,
                "-Timeout", timeout.ToString(System.Globalization.CultureInfo.InvariantCulture),
            }, Path.Combine(folder, $"case{n}.out"));
            // Sample the Describe count every second to tell when the polls came.
            var times = new List<double>();
            var last = before;
            var returned = false;
            while (DateTime.UtcNow - process.Started < limit)
            {
                if (await process.WaitAsync(TimeSpan.FromMilliseconds(500))) { returned = true; break; }
                var now = ProbeEmulator.Ec2Calls(emulator.Stats()).GetValueOrDefault("DescribeSnapshots");
                for (var i = last; i < now; i++) times.Add((DateTime.UtcNow - process.Started).TotalSeconds);
                last = now;
            }
            if (!returned) process.Kill();
            process.Close();
            var after = ProbeEmulator.Ec2Calls(emulator.Stats()).GetValueOrDefault("DescribeSnapshots");
            for (var i = last; i < after; i++) times.Add((DateTime.UtcNow - process.Started).TotalSeconds);

            var lines = LogLines.Read(log);
            var start = lines.FirstOrDefault(l => l.Kind == "START").At;
            var offsetToCall = start == default ? 0 : (start - process.Started).TotalSeconds;
            string Outcome(string id)
            {
                var result = lines.LastOrDefault(l => l.Kind == "RESULT" && l.Text.StartsWith(id, StringComparison.Ordinal));
                return result.Kind is null ? "no result" : $"{result.Text[(id.Length + 1)..].Split(' ')[0]} at {(result.At - start).TotalSeconds:0.0} s";
            }
            var errorIds = string.Join("; ", lines.Where(l => l.Kind == "ERROR").Select(l => l.Text.Split(':')[0].Split(',')[0]));
            var end = lines.FirstOrDefault(l => l.Kind == "END");
            var took = end.Kind is null ? "never (killed)" : Report.F((end.At - start).TotalSeconds);
            var first = ids.Length > 1 || ids[0] != MissingId ? Outcome(ids[0]) : "-";
            var missing = ids.Contains(MissingId) ? Outcome(MissingId) : "-";
            report.Line($"| {name} | {(timeout > 0 ? timeout.ToString() : "none")} | {took} | {first} | {missing} | {errorIds} | {after - before} | " +
                        $"{string.Join(", ", times.Select(t => Report.F(t - offsetToCall)))} |");
        }
        report.Line();
        report.Line("(Describe times are sampled every 0.5 s from the emulator's stats, measured from the START line of the script, i.e. just before the cmdlet was called.)");
        return 0;
    }
}
