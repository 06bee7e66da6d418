using System.Diagnostics;
using System.Management.Automation;
using System.Management.Automation.Runspaces;
using Avtomat.Ec2.Emulator;

namespace Avtomat.Ec2.Demo;

/// <summary>
/// Scene 2, the one-line disaster-recovery backup: ~60 volumes in us-east-1 tagged Backup=daily (and a few that are not),
/// `Get-EC2Volume -Filter @{Name='tag:Backup';Values='daily'} | New-AvSnapshot -CopyVolumeTags |
/// Copy-AvSnapshot -DestinationRegion us-west-2,eu-west-1 -Encrypted -CopyTags`, live progress for the three stages
/// (creation in us-east-1, copies to each destination), a result table and the figures: how far copying overlapped
/// creation, wall time against an ideal, API calls per snapshot, throttles and EC2's limits. OK only if every tagged
/// volume got exactly one snapshot and exactly one encrypted copy per destination, without a single throttle.
/// </summary>
internal static class BackupScene
{
    private const string SourceRegion = "us-east-1";
    private static readonly string[] Destinations = ["us-west-2", "eu-west-1"];
    private const int Ec2PendingCopyLimit = 20;
    private const int Ec2PendingSnapshotsPerVolume = 5;
    /// <summary>EC2's CreateSnapshot token bucket: 100 calls at once, then 5 a second.</summary>
    private const int CreateBurst = 100;
    private const double CreatePerSecond = 5;

    /// <summary>AWS.Tools' Get-EC2Volume is not needed for the demo: a stand-in function filters <c>$ec2Volumes</c>
    /// (objects shaped like Amazon.EC2.Model.Volume) by <c>tag:KEY</c> filters as EC2 does. Core cmdlets only.</summary>
    private const string GetEc2VolumeStandIn = """
        function global:Get-EC2Volume {
            [CmdletBinding()]
            param([hashtable[]] $Filter, [string] $Region)
            foreach ($volume in $global:ec2Volumes) {
                $match = $true
                foreach ($f in $Filter) {
                    if ($f.Name -notlike 'tag:*') { throw "The stand-in Get-EC2Volume only filters on tags, not '$($f.Name)'." }
                    $key = $f.Name.Substring(4)
                    $values = @($f.Values)
                    if (-not @($volume.Tags | Where-Object { $_.Key -ceq $key -and $values -contains $_.Value })) { $match = $false }
                }
                if ($match) { $volume }
            }
        }
        """;

    public static async Task<bool> RunAsync(DemoSettings settings, Runspace runspace, PipelineRun runner, bool interactive,
        Stopwatch wallClock)
    {
        // ---- 1. The emulator: a fleet of volumes, EC2's limits as they are -----------------------------------------
        var options = new EmulatorOptions { Port = 0 };
        var durations = options.Config.Durations;
        // A first (full) snapshot of a 100 GiB volume takes tens of minutes in EBS; here 1 s, a same-region copy
        // 1.5 s and a cross-region copy 1.5× that (2.25 s), linear in the size with log-normal spread. --quick shortens
        // the copies (to a quarter) more than the snapshots, so that creation still outlasts the first poll.
        durations.Snapshot = new DurationModel
        {
            Kind = DurationKind.LogNormal, Seconds = settings.Quick ? 0.8 : 1.0, Sigma = 0.3, ReferenceSizeGiB = 100,
        };
        durations.Copy = new DurationModel
        {
            Kind = DurationKind.LogNormal, Seconds = settings.Quick ? 0.4 : 1.5, Sigma = 0.3, ReferenceSizeGiB = 100,
        };
        durations.CrossRegionFactor = 1.5;

        await using var emulator = await Ec2Emulator.StartAsync(options);
        var endpoint = emulator.BaseUrl.ToString();

        var count = settings.Volumes;
        var others = Math.Max(2, count / 8);
        var sizes = DemoSettings.VolumeSizes(count + others, seed: 7);
        var volumes = new List<DemoVolume>();
        for (var i = 0; i < count + others; i++)
        {
            var backup = i < count;
            var size = sizes[i];
            var tags = new Dictionary<string, string>(StringComparer.Ordinal)
            {
                ["Name"] = backup ? $"app-{i + 1:00}" : $"scratch-{i - count + 1:00}",
                ["Team"] = i % 3 == 0 ? "payments" : "platform",
            };
            if (backup) tags["Backup"] = "daily";
            else if (i % 2 == 0) tags["Backup"] = "weekly";
            var type = size >= 500 ? "st1" : "gp3";
            var id = emulator.Seed(new SeedRequest
            {
                Region = SourceRegion, Volumes = 1, SizeGiB = size, VolumeType = type, Tags = tags,
            }).VolumeIds.Single();
            volumes.Add(new DemoVolume(id, size, type, tags, backup));
        }
        var toBackUp = volumes.Where(v => v.Backup).ToList();
        Console.WriteLine($"EC2 emulator at {endpoint}: {volumes.Count} volumes in {SourceRegion}, {count} of them tagged Backup=daily, "
            + $"{toBackUp.Min(v => v.SizeGiB)}–{toBackUp.Max(v => v.SizeGiB)} GiB ({toBackUp.Sum(v => v.SizeGiB) / 1024.0:0.0} TiB to back up)");

        // ---- 2. PowerShell --------------------------------------------------------------------------------------------
        runspace.SessionStateProxy.SetVariable("ec2Volumes", volumes.Select(v => v.ToGetEc2VolumeObject(SourceRegion + "a")).ToArray());
        runspace.SessionStateProxy.SetVariable("endpoint", endpoint);
        using (var setup = PowerShell.Create())
        {
            setup.Runspace = runspace;
            setup.AddScript(GetEc2VolumeStandIn + "\n$global:aws = @{ EndpointUrl = $endpoint; AccessKey = $accessKey; SecretKey = $secretKey }\n"
                + "$global:created = $null");
            setup.Invoke();
        }
        const string command = "Get-EC2Volume -Filter @{Name='tag:Backup';Values='daily'} | "
            + "New-AvSnapshot -CopyVolumeTags -Region us-east-1 @aws -OutVariable created -Verbose | "
            + "Copy-AvSnapshot -DestinationRegion us-west-2,eu-west-1 -Encrypted -CopyTags @aws -Verbose";
        Console.WriteLine("Get-EC2Volume is a stand-in function here (no AWS.Tools needed): it returns objects shaped like its output.");
        Console.WriteLine("PS> $aws = @{ EndpointUrl = $endpoint; AccessKey = $accessKey; SecretKey = $secretKey }   # the emulator");
        Console.WriteLine($"PS> {command}");
        Console.WriteLine();

        // ---- 3. Live progress while it runs: the creation in us-east-1 and one parent per destination ----------------
        var view = new LiveProgress(interactive && !settings.NoProgress, settings.NoProgress, settings.Verbose);
        var outcome = await runner.RunAsync(command, view);

        // ---- 4. Results -----------------------------------------------------------------------------------------------
        var copies = outcome.Results.Select(CopyRow.From).ToList();
        var created = CreatedRows(runspace);
        var stats = emulator.GetStats();
        var volumeOf = created.Where(c => c.SnapshotId is not null)
            .ToDictionary(c => c.SnapshotId!, c => volumes.FirstOrDefault(v => v.VolumeId == c.VolumeId), StringComparer.Ordinal);
        var sizeOf = volumeOf.Where(p => p.Value is not null).ToDictionary(p => p.Key, p => p.Value!.SizeGiB, StringComparer.Ordinal);
        Console.WriteLine();
        Report.Table(copies, sizeOf, maxRows: 10);
        Console.WriteLine();

        var problems = new List<string>();
        Report.PipelineProblems(outcome, problems);

        // Snapshots: one per tagged volume, none of the others, the volume's tags on each.
        var createdCompleted = created.Count(c => c.State == "Completed");
        var snapshotted = created.Select(c => c.VolumeId).ToHashSet(StringComparer.Ordinal);
        var missedVolumes = toBackUp.Count(v => !snapshotted.Contains(v.VolumeId));
        var strayVolumes = created.Count(c => !toBackUp.Any(v => v.VolumeId == c.VolumeId));
        var snapshotTagsOk = created.Count(c => volumes.FirstOrDefault(v => v.VolumeId == c.VolumeId) is { } v && v.Tags.All(t => c.Tags.GetValueOrDefault(t.Key) == t.Value));
        Console.WriteLine($"Snapshots in {SourceRegion}: {created.Count} for {count} volumes tagged Backup=daily ({others} other volumes left alone); "
            + $"{createdCompleted} Completed; volume tags on {snapshotTagsOk}");
        if (created.Count != count) problems.Add($"{created.Count} snapshots for {count} volumes");
        if (createdCompleted != created.Count) problems.Add($"{created.Count - createdCompleted} snapshot(s) not Completed");
        if (missedVolumes > 0) problems.Add($"{missedVolumes} tagged volume(s) got no snapshot");
        if (strayVolumes > 0) problems.Add($"{strayVolumes} snapshot(s) of volumes not tagged Backup=daily");
        if (snapshotTagsOk != created.Count) problems.Add($"{created.Count - snapshotTagsOk} snapshot(s) lack their volume's tags");

        // Copies: one per snapshot and destination, encrypted, with the volume's tags (through the snapshot's).
        var perDestination = Destinations.Select(d => (Region: d, Rows: copies.Where(c => c.Region == d).ToList())).ToList();
        var copyTagsOk = copies.Count(c => volumeOf.GetValueOrDefault(c.SourceSnapshotId) is { } v && v.Tags.All(t => c.Tags.GetValueOrDefault(t.Key) == t.Value));
        Console.WriteLine("Copies: " + string.Join(", ", perDestination.Select(p =>
                $"{p.Region} {p.Rows.Count(r => r.State == "Completed")} of {p.Rows.Count} Completed ({p.Rows.Count(r => r.Encrypted)} encrypted)"))
            + $"; volume tags on {copyTagsOk} of {copies.Count}");
        if (copies.Count != count * Destinations.Length) problems.Add($"{copies.Count} copy results for {count * Destinations.Length} copies");
        var notCompleted = copies.Count(r => r.State != "Completed");
        if (notCompleted > 0) problems.Add($"{notCompleted} copy result(s) not Completed");
        var notEncrypted = copies.Count(r => !r.Encrypted);
        if (notEncrypted > 0) problems.Add($"{notEncrypted} copies not encrypted");
        if (copyTagsOk != copies.Count) problems.Add($"{copies.Count - copyTagsOk} copies lack their volume's tags");
        foreach (var (region, _) in perDestination)
        {
            var perSource = stats.CopiesPerSource.Where(p => p.Key.StartsWith(SourceRegion + "/", StringComparison.Ordinal))
                .Select(p => p.Value.GetValueOrDefault(region)).Where(n => n > 0).ToList();
            if (perSource.Count != count) problems.Add($"EC2 saw copies of {perSource.Count} snapshots to {region}, not {count}");
            if (perSource.Any(n => n > 1)) problems.Add($"{perSource.Count(n => n > 1)} snapshot(s) copied to {region} more than once");
        }

        // The stages overlapped: EC2's own clock says when the first copy started and when the last snapshot finished.
        var firstSnapshotStart = created.Where(c => c.StartTime is not null).Select(c => c.StartTime!.Value).DefaultIfEmpty().Min();
        if (stats.FirstCopyStartTime is { } firstCopy && stats.LastSnapshotEndTime is { } lastSnapshotEnd && firstSnapshotStart != default)
        {
            var t0 = new DateTimeOffset(DateTime.SpecifyKind(firstSnapshotStart, DateTimeKind.Utc));
            var overlap = lastSnapshotEnd - firstCopy;
            Console.WriteLine($"Overlap: the first copy started {(firstCopy - t0).TotalSeconds:0.0} s after the first snapshot, "
                + $"the last snapshot finished at {(lastSnapshotEnd - t0).TotalSeconds:0.0} s"
                + (overlap > TimeSpan.Zero ? $": copying ran alongside creation for {overlap.TotalSeconds:0.0} s" : " — no overlap"));
            if (overlap <= TimeSpan.Zero) problems.Add("copying did not start before the last snapshot finished");
        }
        else problems.Add("the emulator saw no copy or no snapshot");

        // Wall time against an ideal: no schedule beats the slowest volume's snapshot followed by its slowest copy, the
        // busiest destination's copy time over EC2's 20 concurrent copies, or EC2's CreateSnapshot rate (100, then 5/s).
        var chain = created.Where(c => c.Duration is not null).Select(c =>
                c.Duration!.Value.TotalSeconds + copies.Where(r => r.SourceSnapshotId == c.SnapshotId && r.Duration is not null)
                    .Select(r => r.Duration!.Value.TotalSeconds).DefaultIfEmpty(0).Max())
            .DefaultIfEmpty(0).Max();
        var busiest = perDestination.Select(p => p.Rows.Where(r => r.Duration is not null).Sum(r => r.Duration!.Value.TotalSeconds)).DefaultIfEmpty(0).Max();
        var pacing = Math.Max(0, count - CreateBurst) / CreatePerSecond;
        var ideal = Math.Max(chain, Math.Max(busiest / Ec2PendingCopyLimit, pacing));
        Console.WriteLine($"Wall time: {outcome.Elapsed.TotalSeconds:0.0} s for the pipeline against an ideal of {ideal:0.0} s "
            + $"(×{outcome.Elapsed.TotalSeconds / Math.Max(0.001, ideal):0.00}; ideal = max(slowest snapshot + its copy {chain:0.0} s, "
            + $"busiest destination's copies {busiest:0} s / {Ec2PendingCopyLimit} = {busiest / Ec2PendingCopyLimit:0.0} s, "
            + $"CreateSnapshot rate {pacing:0.0} s))");

        // API calls and throttles, as the emulator counted them (every call the SDK sent, retries included).
        var made = created.Count + copies.Count(c => c.SnapshotId is not null);
        var throttled = stats.Throttled.Values.Sum(t => t.Values.Sum());
        Console.WriteLine($"API calls: {stats.TotalCalls} in all ("
            + string.Join(", ", stats.Calls.Values.SelectMany(a => a).GroupBy(p => p.Key).OrderByDescending(g => g.Sum(p => p.Value))
                .Select(g => $"{g.Key} {g.Sum(p => p.Value)}"))
            + $"), {(double)stats.TotalCalls / Math.Max(1, count):0.00} per volume, {(double)stats.TotalCalls / Math.Max(1, made):0.00} per snapshot made "
            + $"({made}: {created.Count} snapshots + {made - created.Count} copies); throttled (RequestLimitExceeded): {throttled}");
        if (throttled > 0) problems.Add($"{throttled} call(s) were throttled");

        // EC2's limits: pending copies per destination, per-volume snapshot rules.
        var maxPerVolume = stats.MaxPendingSnapshotsPerVolume.Values.DefaultIfEmpty(0).Max();
        Console.WriteLine("Max pending copies: " + string.Join(", ", Destinations.Select(d => $"{d} {Report.MaxPendingIn(stats, d)}"))
            + $" (EC2 allows {Ec2PendingCopyLimit}); max pending snapshots per volume {maxPerVolume} (EC2 allows {Ec2PendingSnapshotsPerVolume}); "
            + $"per-volume rule rejections {stats.VolumeRuleRejections}");
        foreach (var d in Destinations)
        {
            if (Report.MaxPendingIn(stats, d) > Ec2PendingCopyLimit) problems.Add($"{Report.MaxPendingIn(stats, d)} copies were pending at once in {d}");
        }
        if (maxPerVolume > Ec2PendingSnapshotsPerVolume) problems.Add($"{maxPerVolume} snapshots of one volume were pending at once");
        if (stats.VolumeRuleRejections > 0) problems.Add($"EC2 rejected {stats.VolumeRuleRejections} snapshot(s) for its per-volume rules");

        Console.WriteLine($"Wall time: {outcome.Elapsed.TotalSeconds:0.0} s for the pipeline, {wallClock.Elapsed.TotalSeconds:0.0} s for the demo; "
            + $"{outcome.VerboseCount} verbose and {outcome.ProgressCount} progress records");

        return Report.Verdict(problems, outcome,
            $"{count} volumes snapshotted in {SourceRegion} and copied to {string.Join(" and ", Destinations)}, encrypted, "
            + "each exactly once, copies overlapping creation, without a single throttle.");
    }

    private static List<CreatedRow> CreatedRows(Runspace runspace)
    {
        var value = runspace.SessionStateProxy.GetVariable("created");
        var items = value switch
        {
            null => Enumerable.Empty<object>(),
            System.Collections.IEnumerable list and not string => list.Cast<object>(),
            _ => new[] { value },
        };
        return items.Select(o => CreatedRow.From(o as PSObject ?? new PSObject(o))).ToList();
    }

    private sealed record DemoVolume(string VolumeId, int SizeGiB, string VolumeType, Dictionary<string, string> Tags, bool Backup)
    {
        /// <summary>What Get-EC2Volume emits for it (Amazon.EC2.Model.Volume's properties; no Region, tags as Key/Value).</summary>
        public PSObject ToGetEc2VolumeObject(string zone)
        {
            var o = new PSObject();
            void Add(string name, object? value) => o.Properties.Add(new PSNoteProperty(name, value));
            Add("Attachments", Array.Empty<object>());
            Add("AvailabilityZone", zone);
            Add("Encrypted", false);
            Add("Iops", VolumeType == "gp3" ? 3000 : (int?)null);
            Add("Size", SizeGiB);
            Add("SnapshotId", "");
            Add("State", "available");
            Add("Tags", Tags.Select(t => DemoObjects.Tag(t.Key, t.Value)).ToArray());
            Add("VolumeId", VolumeId);
            Add("VolumeType", VolumeType);
            return o;
        }
    }
}
