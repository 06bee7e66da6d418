using System.Runtime.CompilerServices;
using Amazon.Runtime;
using Avtomat.Ec2.Engine;
using Avtomat.Ec2.Engine.Aws;
using Avtomat.Ec2.Engine.Copy;

namespace Avtomat.Ec2.Probes;

/// <summary>
/// Probe 5 (engine API directly, emulator over HTTP in this process): --jobs copy jobs on one SnapshotEngine, one copy
/// each, each drained until finished, references dropped; then a full GC and a count of the jobs still alive
/// (WeakReference). Three ways: a CancellationToken whose source stays alive (jobs not disposed; then disposed; then the
/// source disposed), and CancellationToken.None. And: does Dispose() on a finished job create a timer (the engine's clock
/// counts the timers created through it)?
/// </summary>
internal static class FinishedJobsProbe
{
    public static async Task<int> RunAsync(string[] args)
    {
        var jobs = Args.Int(args, "--jobs", 20);
        var folder = Paths.NewRunFolder("finished-jobs", Args.Get(args, "--out"));
        var report = new Report(folder);
        await using var emulator = await ProbeEmulator.StartAsync(new CopyDurations(0.5, 0, 5000, fixedSeconds: 0.5), randomSeed: 5000);
        var ids = emulator.Seed(jobs * 4 + 8);
        var time = new CountingTime();
        var engine = new SnapshotEngine(time);
        using var clients = new Ec2ClientSource(new BasicAWSCredentials(ProbeEmulator.AccessKey, ProbeEmulator.SecretKey), emulator.Url, "Avtomat.Ec2.Probes/1.0");
        report.Line($"# {jobs} finished copy jobs on one SnapshotEngine: still reachable after a full GC? (engine API, emulator {emulator.Url})");
        report.Line();
        report.Line("| Case | Jobs | Alive after full GC | AccountRegionsInUse | Timers created by Dispose() of the finished jobs (due times) | System.Threading.Timer.ActiveCount |");
        report.Line("|---|---:|---:|---:|---|---:|");
        var next = 0;

        // A: a token whose source lives on (a host's long-lived token), the jobs not disposed.
        using (var cts = new CancellationTokenSource())
        {
            var refs = new List<(WeakReference Job, CopyJob? Keep)>();
            for (var i = 0; i < jobs; i++) refs.Add((await RunOneAsync(engine, clients, ids[next++], cts.Token, dispose: false), null));
            await FlushAsync(engine, clients, ids[next++]);
            report.Line($"| A: long-lived token, not disposed | {jobs} | {Alive(refs.Select(r => r.Job))} | {engine.AccountRegionsInUse} | - | {Timer.ActiveCount} |");

            // B: the same jobs, kept, disposed one by one after they finished (as the cmdlet does at the end of an invocation).
            var kept = new List<CopyJob>();
            for (var i = 0; i < jobs; i++) kept.Add(await RunKeptAsync(engine, clients, ids[next++], cts.Token));
            var created = time.Created;
            var before = time.CreatedTimers.Count;
            foreach (var job in kept) job.Dispose();
            var byDispose = time.CreatedTimers.Skip(before).ToList();
            var weak = kept.Select(j => new WeakReference(j)).ToList();
            kept.Clear();
            report.Line($"| B: long-lived token, Dispose() after finishing | {jobs} | {Alive(weak)} right after Dispose | {engine.AccountRegionsInUse} | " +
                        $"{byDispose.Count}: {string.Join(", ", byDispose.GroupBy(t => t.Due).Select(g => $"{g.Count()}× {g.Key.TotalSeconds} s"))} | {Timer.ActiveCount} |");
            await Task.Delay(TimeSpan.FromSeconds(22));
            report.Line($"| B, 22 s later (after the grace timers fired) | {jobs} | {Alive(weak)} | {engine.AccountRegionsInUse} | - | {Timer.ActiveCount} |");

            // A again, once the token's source is disposed.
            cts.Dispose();
            report.Line($"| A, after the token's CancellationTokenSource.Dispose() | {jobs} | {Alive(refs.Select(r => r.Job))} | {engine.AccountRegionsInUse} | - | {Timer.ActiveCount} |");
        }

        // C: no token at all.
        var none = new List<WeakReference>();
        for (var i = 0; i < jobs; i++) none.Add(await RunOneAsync(engine, clients, ids[next++], CancellationToken.None, dispose: false));
        await FlushAsync(engine, clients, ids[next++]);
        report.Line($"| C: CancellationToken.None, not disposed | {jobs} | {Alive(none)} | {engine.AccountRegionsInUse} | - | {Timer.ActiveCount} |");

        // D: a cancellable token that ends with the job (like the cmdlet's own per-invocation source), not disposed.
        var own = new List<WeakReference>();
        for (var i = 0; i < jobs; i++) own.Add(await RunOwnTokenAsync(engine, clients, ids[next++]));
        await FlushAsync(engine, clients, ids[next++]);
        report.Line($"| D: a token source per job, dropped with it | {jobs} | {Alive(own)} | {engine.AccountRegionsInUse} | - | {Timer.ActiveCount} |");
        report.Line();
        report.Line("Before each count one more job (not counted, no token) runs, so the last counted job is not the one the probe's own async plumbing still references.");
        report.Line($"Timers created through the engine's clock in all: {time.Created} (Delay calls included).");
        return 0;
    }

    /// <summary>"N" or "N (jobs #i, #j)" when only a few are alive (which ones: the last one is often the probe's own).</summary>
    private static string Alive(IEnumerable<WeakReference> refs)
    {
        for (var i = 0; i < 3; i++)
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
        }
        GC.Collect();
        var alive = refs.Select((r, i) => (r, i)).Where(p => p.r.IsAlive).Select(p => p.i + 1).ToList();
        return alive.Count is > 0 and <= 3 ? $"{alive.Count} (job #{string.Join(", #", alive)})" : alive.Count.ToString();
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static async Task<WeakReference> RunOneAsync(SnapshotEngine engine, IEc2ClientSource clients, string source, CancellationToken token, bool dispose)
    {
        var job = await RunKeptAsync(engine, clients, source, token);
        if (dispose) job.Dispose();
        return new WeakReference(job);
    }

    /// <summary>One more job, not counted: whatever the probe's own continuations still hold is this one.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static async Task FlushAsync(SnapshotEngine engine, IEc2ClientSource clients, string source) =>
        await RunOneAsync(engine, clients, source, CancellationToken.None, dispose: false);

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static async Task<WeakReference> RunOwnTokenAsync(SnapshotEngine engine, IEc2ClientSource clients, string source)
    {
        var cts = new CancellationTokenSource();
        return new WeakReference(await RunKeptAsync(engine, clients, source, cts.Token));
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static async Task<CopyJob> RunKeptAsync(SnapshotEngine engine, IEc2ClientSource clients, string source, CancellationToken token)
    {
        var job = engine.StartCopyJob(clients, new CopyJobOptions(), token);
        job.Add(new SnapshotCopyRequest { SourceSnapshotId = source, SourceRegion = ProbeEmulator.Source, DestinationRegion = ProbeEmulator.Destination });
        job.CompleteAdding();
        await Task.Run(() =>
        {
            while (!job.IsFinished) job.TryTake(out _, TimeSpan.FromMilliseconds(250));
        });
        var state = job.Statistics; // touch: it finished
        _ = state;
        // Let the engine's own end-of-job work (lease release) run.
        await Task.Delay(200);
        return job;
    }
}
