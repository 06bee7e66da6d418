using System.Diagnostics;
using System.Text.Json;
using Avtomat.Ec2.Benchmarks;
using Avtomat.Ec2.Engine.Tests.Support;

namespace Avtomat.Ec2.Engine.Tests;

/// <summary>The benchmark (tests/Avtomat.Ec2.Benchmarks) on 20 sources: every scenario and strategy, in virtual time, in
/// a process of its own (its driver waits for the whole thread pool to be idle, which a test host never quite is), as
/// <c>dotnet run --project tests/Avtomat.Ec2.Benchmarks -- --n 20</c> runs it. Checks the table's and the JSON's shape
/// and that every copy was made exactly once and completed.</summary>
public sealed class BenchmarkSmokeTests
{
    [Fact]
    public void Every_strategy_makes_and_completes_every_copy_of_every_scenario_and_the_report_has_one_row_each()
    {
        var json = Path.Combine(Path.GetTempPath(), $"avtomat-bench-{Guid.NewGuid():N}.json");
        try
        {
            var (exit, stdout, stderr, _) = RunBenchmark($"--n 20 --no-import --no-warmup --json \"{json}\"");
            Assert.True(exit == 0, $"exit {exit}\n{stdout}\n{stderr}");

            var table = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Where(l => l.StartsWith('|')).ToList();
            Assert.Equal(2 + Scenarios.All.Count * 3, table.Count); // header, separator, one row per scenario and strategy
            Assert.All(table, line => Assert.Equal(18, line.Count(c => c == '|'))); // 17 columns with one seed
            Assert.All(table.Skip(2), line => Assert.Contains("| yes", line));

            var report = JsonSerializer.Deserialize<BenchmarkReport>(File.ReadAllText(json), Report.JsonOptions)!;
            var runs = report.Runs;
            Assert.Equal(Scenarios.All.Count * 3, runs.Count);
            foreach (var r in runs)
            {
                var label = $"{r.Scenario} {r.Strategy}";
                Assert.True(r.AllCompleted, $"{label}: {string.Join("; ", r.Problems)}");
                Assert.Equal(20, r.N);
                Assert.Equal((0, 0), (r.Missing, r.Duplicates));
                Assert.Equal(r.Copies, r.Noticed + r.Unnoticed);
                Assert.Equal(r.Noticed, r.QueuedNoticed + r.TailNoticed); // every noticed copy in one phase
                if (r.Strategy == "engine") Assert.NotNull(r.RetainedBytesPerTracked); // measured at its peak
                else Assert.Null(r.RetainedBytesPerTracked);
                if (r.Strategy == "engine") Assert.Equal(0, r.Unnoticed); // the engine waits for every copy
                Assert.True(r.MakespanSeconds >= r.LowerBoundSeconds * 0.999999, $"{label}: makespan below its lower bound");
                Assert.True(r.LowerBoundSeconds > 30 * 60, $"{label}: copies take minutes, so the lower bound is at least the longest");
                Assert.True(r.Calls >= r.Copies + r.SnapshotsCreated, $"{label}: at least one call per snapshot made");
                if (r.Noticed > 0) Assert.True(r.LagP50Seconds >= 0 && r.LagP95Seconds >= r.LagP50Seconds, label);
                else Assert.True(double.IsNaN(r.LagP50Seconds), label); // the peer may end before any of 20 copies completes
                Assert.Contains(r.Targets, t => t.Name == "throttles");
                Assert.Equal(0, r.Throttles);
                Assert.True(r.CpuMsPerTracked > 0 && r.BytesPerTracked > 0, label);
            }
            Assert.Equal(new[] { "engine", "fixed-batch", "peer" }, runs.Select(r => r.Strategy).Distinct());
            Assert.All(runs.Where(r => r.Scenario == "three-regions"), r => Assert.Equal(3, r.Destinations.Count));
            Assert.All(runs.Where(r => r.Scenario == "create-then-copy"), r => Assert.Equal(20, r.SnapshotsCreated));
            Assert.All(runs.Where(r => r.Scenario == "outside-copies"), r => Assert.Equal(5, r.OutsideCopiesPerDestination));
            // The same durations for every strategy of a scenario: the same lower bound.
            Assert.All(runs.GroupBy(r => r.Scenario), g => Assert.Single(g.Select(r => r.LowerBoundSeconds).Distinct()));
            // Hours of virtual time; seconds of wall time.
            Assert.True(runs.Sum(r => r.MakespanSeconds) > 5 * 3600);
        }
        finally
        {
            File.Delete(json);
        }
    }

    [Fact]
    public async Task The_virtual_clock_fires_timers_in_order_and_only_when_advanced()
    {
        var start = new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
        var clock = new VirtualClock(start);
        var fired = new System.Collections.Concurrent.ConcurrentQueue<string>();
        using var late = clock.CreateTimer(_ => fired.Enqueue("late"), null, TimeSpan.FromSeconds(5), Timeout.InfiniteTimeSpan);
        using var periodic = clock.CreateTimer(_ => fired.Enqueue("tick"), null, TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(2));
        var delay = Task.Delay(TimeSpan.FromSeconds(3), clock);

        Assert.Equal(start.AddSeconds(2), clock.NextDue);
        await Task.Delay(50);
        Assert.Empty(fired);
        Assert.False(delay.IsCompleted);

        async Task Step(int expectedFired, double atSeconds)
        {
            Assert.True(clock.AdvanceToNextTimer());
            Assert.Equal(start.AddSeconds(atSeconds), clock.GetUtcNow());
            for (var i = 0; i < 200 && fired.Count < expectedFired; i++) await Task.Delay(10); // callbacks run on the pool
        }
        await Step(1, 2);
        await Step(1, 3);
        await delay.WaitAsync(TimeSpan.FromSeconds(5));
        await Step(2, 4);
        await Step(3, 5);
        Assert.Equal(new[] { "tick", "tick", "late" }, fired);
        periodic.Dispose();
        Assert.Null(clock.NextDue);
        Assert.False(clock.AdvanceToNextTimer());
    }

    /// <summary>The benchmark's own build output beside this test assembly's configuration (the project reference builds it).</summary>
    private static (int Exit, string Stdout, string Stderr, TimeSpan Wall) RunBenchmark(string arguments)
    {
        var here = AppContext.BaseDirectory; // …/tests/Avtomat.Ec2.Engine.Tests/bin/<Configuration>/<tfm>/
        var tfm = new DirectoryInfo(here).Name;
        var configuration = new DirectoryInfo(here).Parent!.Name;
        var tests = new DirectoryInfo(here).Parent!.Parent!.Parent!.Parent!.FullName;
        var dll = Path.Combine(tests, "Avtomat.Ec2.Benchmarks", "bin", configuration, tfm, "Avtomat.Ec2.Benchmarks.dll");
        Assert.True(File.Exists(dll), $"{dll} is not built");
        var info = new ProcessStartInfo("dotnet", $"\"{dll}\" {arguments}")
        {
            RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
            WorkingDirectory = Path.GetDirectoryName(tests)!,
        };
        var wall = Stopwatch.StartNew();
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromMinutes(5)))
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail("The benchmark did not finish within 5 minutes.\n" + stderr.Result);
        }
        return (process.ExitCode, stdout.Result, stderr.Result, wall.Elapsed);
    }
}
