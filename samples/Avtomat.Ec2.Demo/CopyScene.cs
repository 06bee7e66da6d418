using System.Diagnostics;
using System.Management.Automation;
using System.Management.Automation.Runspaces;
using Avtomat.Ec2.Emulator;

namespace Avtomat.Ec2.Demo;

/// <summary>
/// Scene 1, the README's main-job command: ~200 snapshots in us-east-1 tagged Backup=yes with realistic but scaled copy
/// durations, `$snapshots | Copy-AvSnapshot -SourceRegion us-east-1 -DestinationRegion us-west-2 -Encrypted -CopyTags`,
/// live progress, a result table, the makespan against its lower bound and the API calls the emulator counted.
/// OK only if every snapshot was copied exactly once.
/// </summary>
internal static class CopyScene
{
    private const string SourceRegion = "us-east-1";
    private const string DestinationRegion = "us-west-2";
    private const int Ec2PendingCopyLimit = 20;

    public static async Task<bool> RunAsync(DemoSettings settings, Runspace runspace, PipelineRun runner, bool interactive,
        Stopwatch wallClock)
    {
        // ---- 1. The emulator ----------------------------------------------------------------------------------------
        var options = new EmulatorOptions { Port = 0 };
        var copy = options.Config.Durations.Copy;
        copy.Kind = DurationKind.LogNormal;
        // Real cross-region copies of a 100 GiB snapshot take tens of minutes; here the median same-region copy of
        // 100 GiB takes 2.5 s (linear in the volume size), cross-region copies 1.5× that, with log-normal spread.
        // --quick divides by 4.
        copy.Seconds = settings.Quick ? 0.6 : 2.5;
        copy.Sigma = 0.3;
        copy.ReferenceSizeGiB = 100;
        options.Config.Durations.CrossRegionFactor = 1.5;

        await using var emulator = await Ec2Emulator.StartAsync(options);
        var endpoint = emulator.BaseUrl.ToString();

        var sizes = DemoSettings.VolumeSizes(settings.Count, seed: 42);
        var seeded = emulator.Seed(new SeedRequest
        {
            Region = SourceRegion,
            Snapshots = settings.Count,
            SizesGiB = sizes,
            Tags = new() { ["Backup"] = "yes", ["Team"] = "platform" },
            Description = "Nightly backup",
        });
        var sizeOf = seeded.SnapshotIds.Zip(sizes).ToDictionary(p => p.First, p => p.Second, StringComparer.Ordinal);

        Console.WriteLine($"EC2 emulator at {endpoint}: {seeded.SnapshotIds.Count} snapshots in {SourceRegion} tagged Backup=yes, "
            + $"{sizes.Min()}–{sizes.Max()} GiB ({sizes.Sum() / 1024.0:0.0} TiB in all)");

        // Objects shaped like Get-EC2Snapshot output (Amazon.EC2.Model.Snapshot): what a user pipes in.
        var snapshots = seeded.SnapshotIds.Select(id =>
        {
            var o = new PSObject();
            o.Properties.Add(new PSNoteProperty("SnapshotId", id));
            o.Properties.Add(new PSNoteProperty("VolumeSize", sizeOf[id]));
            o.Properties.Add(new PSNoteProperty("State", "completed"));
            o.Properties.Add(new PSNoteProperty("Progress", "100%"));
            o.Properties.Add(new PSNoteProperty("Encrypted", false));
            o.Properties.Add(new PSNoteProperty("OwnerId", options.DefaultAccountId));
            o.Properties.Add(new PSNoteProperty("Description", "Nightly backup"));
            o.Properties.Add(new PSNoteProperty("Tags", new[] { DemoObjects.Tag("Backup", "yes"), DemoObjects.Tag("Team", "platform") }));
            return o;
        }).ToArray();

        // ---- 2. PowerShell ------------------------------------------------------------------------------------------
        runspace.SessionStateProxy.SetVariable("snapshots", snapshots);
        runspace.SessionStateProxy.SetVariable("endpoint", endpoint);
        var command = $"$snapshots | Copy-AvSnapshot -SourceRegion {SourceRegion} -DestinationRegion {DestinationRegion} "
            + "-Encrypted -CopyTags -EndpointUrl $endpoint -AccessKey $accessKey -SecretKey $secretKey -Verbose";
        Console.WriteLine($"PS> {command}");
        Console.WriteLine();

        // ---- 3. Live progress while it runs -------------------------------------------------------------------------
        var view = new LiveProgress(interactive && !settings.NoProgress, settings.NoProgress, settings.Verbose);
        var outcome = await runner.RunAsync(command, view);

        // ---- 4. Results -----------------------------------------------------------------------------------------------
        var rows = outcome.Results.Select(CopyRow.From).ToList();
        var stats = emulator.GetStats();
        Console.WriteLine();
        Report.Table(rows, sizeOf, maxRows: 10);
        Console.WriteLine();

        var problems = new List<string>();
        Report.PipelineProblems(outcome, problems);
        if (rows.Count != settings.Count) problems.Add($"{rows.Count} results for {settings.Count} snapshots");
        var notCompleted = rows.Count(r => r.State != "Completed");
        if (notCompleted > 0) problems.Add($"{notCompleted} result(s) not Completed");
        var missing = seeded.SnapshotIds.Except(rows.Select(r => r.SourceSnapshotId), StringComparer.Ordinal).Count();
        if (missing > 0) problems.Add($"{missing} snapshot(s) have no result");
        var duplicateIds = rows.Where(r => r.SnapshotId is not null).GroupBy(r => r.SnapshotId).Count(g => g.Count() > 1);
        if (duplicateIds > 0) problems.Add($"{duplicateIds} copy id(s) reported more than once");

        Report.Makespan(rows, Ec2PendingCopyLimit);

        // API calls, as the emulator counted them (every call the SDK sent, retries included).
        var copyCalls = Report.CallsTo(stats, "CopySnapshot");
        var describeCalls = Report.CallsTo(stats, "DescribeSnapshots");
        var otherCalls = stats.TotalCalls - copyCalls - describeCalls;
        Console.WriteLine($"API calls: {stats.TotalCalls} in all (CopySnapshot {copyCalls}, DescribeSnapshots {describeCalls}"
            + (otherCalls > 0 ? $", other {otherCalls}" : "") + $"), {(double)stats.TotalCalls / Math.Max(1, settings.Count):0.00} per snapshot"
            + (stats.Throttled.Count > 0 ? $"; throttled {stats.Throttled.Values.Sum(t => t.Values.Sum())}" : ""));

        var maxPending = Report.MaxPendingIn(stats, DestinationRegion);
        var copiesPerSource = stats.CopiesPerSource
            .Where(p => p.Key.StartsWith(SourceRegion + "/", StringComparison.Ordinal))
            .Select(p => p.Value.GetValueOrDefault(DestinationRegion)).ToList();
        var duplicateSources = copiesPerSource.Count(n => n > 1);
        Console.WriteLine($"Max pending copies in {DestinationRegion}: {maxPending} (EC2 allows {Ec2PendingCopyLimit}); "
            + "copies per source: " + (copiesPerSource.Count == 0 ? "no copies" : duplicateSources == 0 ? "all 1" : $"{duplicateSources} copied more than once")
            + $" ({copiesPerSource.Count} sources)");
        if (maxPending > Ec2PendingCopyLimit) problems.Add($"{maxPending} copies were pending at once in {DestinationRegion}");
        if (duplicateSources > 0) problems.Add($"{duplicateSources} source snapshot(s) were copied more than once");
        if (copiesPerSource.Count != settings.Count) problems.Add($"EC2 saw copies of {copiesPerSource.Count} sources, not {settings.Count}");

        Console.WriteLine($"Wall time: {outcome.Elapsed.TotalSeconds:0.0} s for the pipeline, {wallClock.Elapsed.TotalSeconds:0.0} s for the demo; "
            + $"{outcome.VerboseCount} verbose and {outcome.ProgressCount} progress records");

        return Report.Verdict(problems, outcome,
            $"all {settings.Count} snapshots copied to {DestinationRegion}, encrypted, each exactly once.");
    }
}
