using System.Diagnostics;
using System.Management.Automation;
using Amazon.EC2;
using Amazon.EC2.Model;
using Amazon.Runtime;
using Avtomat.Ec2.Emulator;
using Avtomat.Ec2.PowerShell.Tests.CopyAvSnapshot;
using Xunit.Abstractions;

namespace Avtomat.Ec2.PowerShell.Tests;

/// <summary>
/// The issue's one-line disaster-recovery backup, end to end on the emulator with EC2's real limits:
/// <code>Get-EC2Volume -Filter @{Name='tag:Backup';Values='daily'} | New-AvSnapshot -CopyVolumeTags |
///     Copy-AvSnapshot -DestinationRegion us-west-2,eu-west-1 -Encrypted -CopyTags</code>
/// AWS.Tools is not installable here, so <c>Get-EC2Volume</c> is a stand-in function that emits
/// <c>[pscustomobject]</c>s shaped like its output (<c>Amazon.EC2.Model.Volume</c>: no Region property, tags as Key/Value
/// objects), built from what DescribeVolumes returns. Everything is checked from EC2's side (emulator counters and
/// DescribeSnapshots through the SDK), not from what the cmdlets said.
/// </summary>
public sealed class BackupPipelineTests(ITestOutputHelper output)
{
    private const string Source = "us-east-1";
    private static readonly string[] Destinations = ["us-west-2", "eu-west-1"];
    private const int Ec2PendingCopyLimit = 20;

    /// <summary>
    /// A stand-in for AWS.Tools' Get-EC2Volume: filters <c>$ec2Volumes</c> (objects shaped like Amazon.EC2.Model.Volume)
    /// by <c>tag:KEY</c> filters, the way EC2 does (any of the values matches). Core cmdlets only.
    /// </summary>
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

    [Fact]
    public async Task OneLinePipeline_300Volumes_SnapshotsAndCopiesEach_OverlapsStages_WithinEveryEc2Limit()
    {
        const int tagged = 300;
        const int untagged = 7;
        // Short real durations (virtual time cannot drive a hosted pipeline that polls on the wall clock). Snapshots take
        // 1–2 s; same-region copies 0.3–0.6 s, so cross-region ones 0.45–0.9 s. EC2's request-rate buckets stay as they
        // are, all of them: CreateSnapshot 100 burst, 5/s (the 200 calls after the burst need 40 s), and CopySnapshot 50
        // burst, 5/s per destination (copies that finish in under a second turn EC2's 20-copy window over far faster
        // than 5 a second, so the engine's pacing, not the window, sets the copies' pace: 300 per destination need 50 s
        // after EC2's burst of 50, alongside the creation). Measured: 56 s, 0 throttled.
        await using var bed = await CopyTestBed.StartAsync(configure: c =>
        {
            c.Durations.Snapshot = new DurationModel { Kind = DurationKind.Uniform, MinSeconds = 1, MaxSeconds = 2 };
            c.Durations.Copy = new DurationModel { Kind = DurationKind.Uniform, MinSeconds = 0.3, MaxSeconds = 0.6 };
        });

        var volumes = SeedVolumes(bed, tagged, untagged);
        var backup = volumes.Where(v => v.Tags.GetValueOrDefault("Backup") == "daily").Select(v => v.VolumeId).ToHashSet();
        Assert.Equal(tagged, backup.Count);
        bed.Host.Run("$global:ec2Volumes = $args", (await VolumeObjectsAsync(bed)).Cast<object>().ToArray());
        bed.Host.Run(GetEc2VolumeStandIn);
        Assert.Equal(tagged, bed.Host.Run("@(Get-EC2Volume -Filter @{Name='tag:Backup';Values='daily'}).Count")[0].BaseObject);

        var clock = Stopwatch.StartNew();
        var run = bed.Invoke("""
            Get-EC2Volume -Filter @{Name='tag:Backup';Values='daily'} |
                New-AvSnapshot -CopyVolumeTags -Region us-east-1 @aws -OutVariable created |
                Copy-AvSnapshot -DestinationRegion us-west-2,eu-west-1 -Encrypted -CopyTags @aws
            """);
        var wall = clock.Elapsed;
        Assert.True(run.Errors.Count == 0 && run.Thrown is null, run.Describe());
        var created = bed.Host.Run("$created").Select(o => new CreatedView(o)).ToList();
        var copies = run.Results;
        var stats = bed.Emulator.GetStats();

        // ---- What the cmdlets reported -------------------------------------------------------------------------
        Assert.Equal(tagged, created.Count);
        Assert.All(created, s => Assert.Equal("Completed", s.State));
        Assert.All(created, s => Assert.Equal(Source, s.Region));
        Assert.Equal(backup.OrderBy(v => v), created.Select(s => s.VolumeId).OrderBy(v => v));
        Assert.Equal(tagged * Destinations.Length, copies.Count);
        Assert.All(copies, c => Assert.Equal("Completed", c.State));
        Assert.All(copies, c => Assert.True(c.Encrypted, c.ToString()));
        Assert.Equal(copies.Count, copies.Select(c => c.SnapshotId).Distinct().Count());

        // ---- With progress: one parent for the creation and one per destination, each ending Completed -------------
        foreach (var activity in new[] { $"Creating {tagged} snapshots in {Source}" }
                     .Concat(Destinations.Select(d => $"Copying {tagged} snapshots {Source} → {d}")))
        {
            Assert.Contains(run.Progress, p => p.ParentActivityId < 0 && p.Activity == activity && p.RecordType == ProgressRecordType.Completed);
        }

        // ---- What EC2 holds ---------------------------------------------------------------------------------------
        var sources = await DescribeOwnSnapshotsAsync(bed, Source);
        Assert.Equal(tagged, sources.Count);
        var sourceOfVolume = sources.ToDictionary(s => s.VolumeId, StringComparer.Ordinal); // throws on a 2nd snapshot of a volume
        Assert.Equal(backup.OrderBy(v => v), sourceOfVolume.Keys.OrderBy(v => v));
        var volumeById = volumes.ToDictionary(v => v.VolumeId);
        foreach (var snapshot in sources)
        {
            Assert.Equal("completed", snapshot.State?.Value);
            Assert.False(snapshot.Encrypted);
            var tags = TagsOf(snapshot);
            foreach (var (key, value) in volumeById[snapshot.VolumeId].Tags)
            {
                Assert.Equal(value, tags.GetValueOrDefault(key)); // -CopyVolumeTags
            }
        }
        var sourceIds = sources.Select(s => s.SnapshotId).ToHashSet(StringComparer.Ordinal);
        var allCopies = new List<Snapshot>();
        foreach (var destination in Destinations)
        {
            var inRegion = await DescribeOwnSnapshotsAsync(bed, destination);
            Assert.Equal(tagged, inRegion.Count);
            var copiedFrom = inRegion.Select(c => TagsOf(c).GetValueOrDefault("avtomat:source-snapshot-id")).ToList();
            Assert.Equal(sourceIds.OrderBy(i => i), copiedFrom.OrderBy(i => i)); // one copy per source, none twice
            foreach (var copy in inRegion)
            {
                Assert.Equal("completed", copy.State?.Value);
                Assert.True(copy.Encrypted, copy.SnapshotId);
                var source = sources.Single(s => s.SnapshotId == TagsOf(copy)["avtomat:source-snapshot-id"]);
                var tags = TagsOf(copy);
                foreach (var (key, value) in volumeById[source.VolumeId].Tags)
                {
                    Assert.Equal(value, tags.GetValueOrDefault(key)); // the volume's tags made it to the copy (-CopyTags)
                }
            }
            allCopies.AddRange(inRegion);
        }

        // ---- The stages overlapped: copying started while snapshots were still being created ----------------------
        // In EC2's own timestamps: the first copy started before the last snapshot was even started (so certainly
        // before it finished). And in the cmdlets' results: the first copy was accepted before the last snapshot was
        // seen completed.
        var firstCopyStart = allCopies.Min(c => c.StartTime!.Value);
        var lastSourceStart = sources.Max(s => s.StartTime!.Value);
        Assert.True(firstCopyStart < lastSourceStart,
            $"the first copy started at {firstCopyStart:O}, after the last snapshot started at {lastSourceStart:O}");
        Assert.True(stats.FirstCopyStartTime < stats.LastSnapshotEndTime,
            $"emulator: first copy started {stats.FirstCopyStartTime:O}, last snapshot finished {stats.LastSnapshotEndTime:O}");
        var firstCopyAccepted = copies.Min(c => (DateTime?)c.Object.Properties["StartTime"].Value);
        var lastCreationFinished = created.Max(s => s.CompletionTime);
        Assert.True(firstCopyAccepted < lastCreationFinished,
            $"the first copy was accepted at {firstCopyAccepted:O}, after the last snapshot completed at {lastCreationFinished:O}");

        // ---- EC2's limits were never hit ------------------------------------------------------------------------------
        Assert.True(stats.Throttled.Count == 0, "RequestLimitExceeded: " + Describe(stats.Throttled));
        foreach (var destination in Destinations)
        {
            Assert.InRange(stats.MaxPendingCopies.GetValueOrDefault($"{CopyTestBed.Account}/{destination}"), 1, Ec2PendingCopyLimit);
        }
        Assert.Equal(0, stats.VolumeRuleRejections);
        Assert.All(stats.MaxPendingSnapshotsPerVolume.Values, n => Assert.InRange(n, 1, 5));
        Assert.Equal(backup.OrderBy(v => v), stats.SnapshotsPerVolume.Keys.OrderBy(v => v));
        Assert.All(stats.SnapshotsPerVolume.Values, n => Assert.Equal(1, n));
        Assert.All(stats.CopiesPerSource.Values, perDestination =>
            Assert.All(Destinations, d => Assert.Equal(1, perDestination.GetValueOrDefault(d))));
        Assert.False(stats.Errors.Values.Any(codes => codes.ContainsKey("RequestLimitExceeded") || codes.ContainsKey("ResourceLimitExceeded")),
            "errors: " + Describe(stats.Errors));

        // ---- Figures --------------------------------------------------------------------------------------------------
        long Calls(string action) => stats.Calls.Values.Sum(a => a.GetValueOrDefault(action));
        output.WriteLine(FormattableString.Invariant(
            $"N={tagged} volumes → {sources.Count} snapshots, {allCopies.Count} copies; wall time {wall.TotalSeconds:0.0} s (CreateSnapshot pacing alone needs {(tagged - 100) / 5.0:0} s, CopySnapshot pacing {(tagged - 50) / 5.0:0} s per destination)"));
        output.WriteLine(FormattableString.Invariant(
            $"first copy started {(lastSourceStart - firstCopyStart).TotalSeconds:0.0} s before the last snapshot started"));
        output.WriteLine(FormattableString.Invariant(
            $"API calls: {stats.TotalCalls} ({(double)stats.TotalCalls / tagged:0.00} per volume, {(double)stats.TotalCalls / (sources.Count + allCopies.Count):0.00} per snapshot made); ")
            + string.Join(", ", stats.Calls.Values.SelectMany(a => a).GroupBy(p => p.Key).OrderBy(g => g.Key).Select(g => $"{g.Key} {g.Sum(p => p.Value)}")));
        output.WriteLine($"throttled: {stats.Throttled.Count}; errors: {Describe(stats.Errors)}; max pending copies: " +
            string.Join(", ", Destinations.Select(d => $"{d} {stats.MaxPendingCopies.GetValueOrDefault($"{CopyTestBed.Account}/{d}")}")) +
            $"; max pending snapshots per volume: {stats.MaxPendingSnapshotsPerVolume.Values.DefaultIfEmpty(0).Max()}; " +
            $"CreateSnapshot calls {Calls("CreateSnapshot")}, CopySnapshot calls {Calls("CopySnapshot")}");
    }

    [Fact]
    public async Task FireAndForgetVariant_NoWaitAtEachStage_ThenWaitAvSnapshot_CopiesPendingSourcesOnce()
    {
        // New-AvSnapshot -NoWait hands on snapshots that are still pending: Copy-AvSnapshot waits for each, then copies
        // it; Copy-AvSnapshot -NoWait hands on copies that are still pending; Wait-AvSnapshot waits where they live.
        await using var bed = await CopyTestBed.StartAsync(configure: c =>
        {
            c.Durations.Snapshot = new DurationModel { Kind = DurationKind.Uniform, MinSeconds = 1, MaxSeconds = 2.5 };
            c.Durations.Copy = new DurationModel { Kind = DurationKind.Fixed, Seconds = 1 };
        });
        var volumes = SeedVolumes(bed, tagged: 6, untagged: 2);
        bed.Host.Run("$global:ec2Volumes = $args", (await VolumeObjectsAsync(bed)).Cast<object>().ToArray());
        bed.Host.Run(GetEc2VolumeStandIn);

        var run = bed.Invoke("""
            Get-EC2Volume -Filter @{Name='tag:Backup';Values='daily'} |
                New-AvSnapshot -CopyVolumeTags -Region us-east-1 @aws -NoWait -OutVariable started |
                Copy-AvSnapshot -DestinationRegion us-west-2,eu-west-1 -Encrypted -CopyTags @aws -NoWait -OutVariable copying |
                Wait-AvSnapshot @aws
            """);
        Assert.True(run.Errors.Count == 0 && run.Thrown is null, run.Describe());

        var started = bed.Host.Run("$started").Select(o => new CreatedView(o)).ToList();
        Assert.Equal(6, started.Count);
        Assert.All(started, s => Assert.Equal("Pending", s.State));
        var copying = bed.Host.Run("$copying").Select(o => new SnapshotCopyResultView(o)).ToList();
        Assert.Equal(12, copying.Count);
        Assert.All(copying, c => { Assert.Equal("Pending", c.State); Assert.StartsWith("snap-", c.SnapshotId); });

        var done = run.Output.Select(o => new CreatedView(o)).ToList();
        Assert.Equal(copying.Select(c => c.SnapshotId).OrderBy(i => i), done.Select(d => d.SnapshotId).OrderBy(i => i));
        Assert.All(done, d => Assert.Equal("Completed", d.State));
        foreach (var destination in Destinations)
        {
            Assert.Equal(6, done.Count(d => d.Region == destination));
            var inRegion = await DescribeOwnSnapshotsAsync(bed, destination);
            Assert.Equal(6, inRegion.Count);
            Assert.All(inRegion, c => { Assert.Equal("completed", c.State?.Value); Assert.True(c.Encrypted); Assert.Equal("daily", TagsOf(c)["Backup"]); });
        }
        var stats = bed.Emulator.GetStats();
        Assert.Equal(6, stats.CopiesPerSource.Count);
        Assert.All(stats.CopiesPerSource.Values, perDestination =>
            Assert.All(Destinations, d => Assert.Equal(1, perDestination.GetValueOrDefault(d))));
        Assert.Empty(stats.Throttled);
        Assert.Equal(volumes.Where(v => v.Tags.GetValueOrDefault("Backup") == "daily").Select(v => v.VolumeId).OrderBy(v => v),
            stats.SnapshotsPerVolume.Keys.OrderBy(v => v));
    }

    private sealed record SeededVolume(string VolumeId, Dictionary<string, string> Tags);

    /// <summary>Volumes of a fleet, each with its own Name tag: the tagged ones to back up and a few that are not.</summary>
    private static List<SeededVolume> SeedVolumes(CopyTestBed bed, int tagged, int untagged)
    {
        (string Type, int SizeGiB)[] kinds = [("gp3", 8), ("gp3", 100), ("gp2", 50), ("io2", 200), ("st1", 500)];
        var volumes = new List<SeededVolume>();
        for (var i = 0; i < tagged + untagged; i++)
        {
            var (type, size) = kinds[i % kinds.Length];
            var tags = new Dictionary<string, string>(StringComparer.Ordinal)
            {
                ["Name"] = i < tagged ? $"data-{i:000}" : $"scratch-{i - tagged}",
                ["Team"] = i % 2 == 0 ? "platform" : "payments",
            };
            if (i < tagged) tags["Backup"] = "daily";
            else if (i % 2 == 0) tags["Backup"] = "weekly"; // tagged, but not for this job
            var id = Assert.Single(bed.Emulator.Seed(new SeedRequest
            {
                Region = Source, Volumes = 1, SizeGiB = size, VolumeType = type, Tags = tags,
            }).VolumeIds);
            volumes.Add(new SeededVolume(id, tags));
        }
        return volumes;
    }

    /// <summary>Every volume of the region as Get-EC2Volume would emit it (Amazon.EC2.Model.Volume's properties).</summary>
    private static async Task<List<PSObject>> VolumeObjectsAsync(CopyTestBed bed)
    {
        using var client = Client(bed, Source);
        var response = await client.DescribeVolumesAsync(new DescribeVolumesRequest());
        return response.Volumes.Select(v =>
        {
            var o = new PSObject();
            void Add(string name, object? value) => o.Properties.Add(new PSNoteProperty(name, value));
            Add("Attachments", Array.Empty<object>());
            Add("AvailabilityZone", v.AvailabilityZone);
            Add("CreateTime", v.CreateTime);
            Add("Encrypted", v.Encrypted ?? false);
            Add("Iops", v.Iops);
            Add("KmsKeyId", v.KmsKeyId);
            Add("MultiAttachEnabled", false);
            Add("Size", v.Size);
            Add("SnapshotId", v.SnapshotId ?? "");
            Add("State", v.State?.Value);
            Add("Tags", (v.Tags ?? []).Select(t =>
            {
                var tag = new PSObject();
                tag.Properties.Add(new PSNoteProperty("Key", t.Key));
                tag.Properties.Add(new PSNoteProperty("Value", t.Value));
                return tag;
            }).ToArray());
            Add("Throughput", v.Throughput);
            Add("VolumeId", v.VolumeId);
            Add("VolumeType", v.VolumeType?.Value);
            return o;
        }).ToList();
    }

    private static async Task<List<Snapshot>> DescribeOwnSnapshotsAsync(CopyTestBed bed, string region)
    {
        using var client = Client(bed, region);
        var all = new List<Snapshot>();
        string? next = null;
        do
        {
            var page = await client.DescribeSnapshotsAsync(new DescribeSnapshotsRequest
            {
                OwnerIds = ["self"], MaxResults = 1000, NextToken = next,
            });
            all.AddRange(page.Snapshots ?? []);
            next = page.NextToken;
        }
        while (!string.IsNullOrEmpty(next));
        return all;
    }

    private static AmazonEC2Client Client(CopyTestBed bed, string region) =>
        new(new BasicAWSCredentials(CopyTestBed.AccessKey, CopyTestBed.SecretKey),
            new AmazonEC2Config { ServiceURL = bed.Url, AuthenticationRegion = region, MaxErrorRetry = 0 });

    private static Dictionary<string, string> TagsOf(Snapshot snapshot) =>
        (snapshot.Tags ?? []).ToDictionary(t => t.Key, t => t.Value ?? "", StringComparer.Ordinal);

    private static string Describe(Dictionary<string, Dictionary<string, long>> counters) =>
        counters.Count == 0 ? "none" : string.Join("; ", counters.Select(p => $"{p.Key}: " + string.Join(", ", p.Value.Select(a => $"{a.Key} {a.Value}"))));

    /// <summary>A New-AvSnapshot result, read by property name (as a script would).</summary>
    private sealed class CreatedView(PSObject o)
    {
        public string SnapshotId => (string)o.Properties["SnapshotId"].Value;
        public string Region => (string)o.Properties["Region"].Value;
        public string VolumeId => (string)o.Properties["VolumeId"].Value;
        public string State => o.Properties["State"].Value.ToString()!;
        public DateTime? CompletionTime => (DateTime?)o.Properties["CompletionTime"].Value;
    }
}
