using System.Management.Automation;
using Amazon.EC2;
using Amazon.EC2.Model;
using Avtomat.Ec2.PowerShell.Tests.CopyAvSnapshot;

namespace Avtomat.Ec2.PowerShell.Tests.NewAvSnapshot;

/// <summary>New-AvSnapshot end to end on the in-process emulator: binding, both parameter sets, templates and tags,
/// -WhatIf, -DryRun, -NoWait, -Timeout, errors, the root-volume warning and progress.</summary>
public sealed class NewAvSnapshotTests
{
    [Fact]
    public async Task VolumeIds_BindByValueAndByPosition_AndWaitForCompletion()
    {
        await using var bed = await SnapshotTestSupport.StartAsync();
        var volumes = bed.SeedVolumes(3).VolumeIds;

        var piped = bed.Invoke("$args | New-AvSnapshot @aws -Region us-east-1", volumes[0], volumes[1]);
        Assert.True(piped.Errors.Count == 0, piped.Describe());
        Assert.Equal(volumes.Take(2).OrderBy(v => v), piped.Snapshots().Select(s => s.VolumeId).OrderBy(v => v));
        Assert.All(piped.Snapshots(), s =>
        {
            Assert.Equal("Avtomat.Ec2.SnapshotResult", s.TypeName);
            Assert.Equal("Completed", s.State);
            Assert.Equal(100, s.Progress);
            Assert.Equal("us-east-1", s.Region);
            Assert.StartsWith("snap-", s.SnapshotId);
            Assert.NotNull(s.CompletionTime);
        });

        var positional = bed.Invoke("New-AvSnapshot $args[0] @aws -Region us-east-1", volumes[2]);
        Assert.Equal(volumes[2], Assert.Single(positional.Snapshots()).VolumeId);
        Assert.Equal(3, bed.Emulator.GetStats().SnapshotsPerVolume.Values.Sum());
    }

    [Fact]
    public async Task GetEc2VolumeOutput_Binds_AndItsAvailabilityZoneGivesTheRegion()
    {
        await using var bed = await SnapshotTestSupport.StartAsync();
        var westVolumes = bed.SeedVolumes(2, "us-west-2").VolumeIds;
        var (west, westToo) = (westVolumes[0], westVolumes[1]);
        var east = bed.SeedVolumes(1, "us-east-1").VolumeIds[0];
        // What Get-EC2Volume emits: Amazon.EC2.Model.Volume (no Region property, an AvailabilityZone).
        var volume = new Volume { VolumeId = west, AvailabilityZone = "us-west-2a", Size = 8, VolumeType = VolumeType.Gp3, State = VolumeState.Available };

        // No -Region and no default region: each object's own region is used; an object with an AvailabilityZone and no
        // Region (a [pscustomobject] shaped like Get-EC2Volume output) is snapshotted in the zone's region.
        var run = bed.Invoke(@"
            $lookalike = [pscustomobject]@{ VolumeId = $args[1]; Region = 'us-east-1'; Size = 8 }
            $zoneOnly = [pscustomobject]@{ VolumeId = $args[2]; AvailabilityZone = 'us-west-2a'; Size = 8; VolumeType = 'gp3' }
            $args[0], $lookalike, $zoneOnly | New-AvSnapshot @aws", volume, east, westToo);
        Assert.True(run.Errors.Count == 0, run.Describe());
        Assert.Equal(3, run.Snapshots().Count);
        Assert.Contains(run.Snapshots(), s => s.VolumeId == west && s.Region == "us-west-2" && s.State == "Completed");
        Assert.Contains(run.Snapshots(), s => s.VolumeId == east && s.Region == "us-east-1" && s.State == "Completed");
        Assert.Contains(run.Snapshots(), s => s.VolumeId == westToo && s.Region == "us-west-2" && s.State == "Completed");
    }

    [Fact]
    public async Task OwnResults_BindByVolumeIdAndRegion_InTheVolumeSet()
    {
        await using var bed = await SnapshotTestSupport.StartAsync();
        var volumes = bed.SeedVolumes(1, "eu-west-1").VolumeIds;
        // A result carries VolumeId, InstanceId and Region: it binds to the default (volume) set.
        var run = bed.Invoke(@"
            $checked = @(New-AvSnapshot @aws -VolumeId $args[0] -Region eu-west-1 -DryRun)
            $checked
            $checked | New-AvSnapshot @aws", volumes[0]);
        Assert.True(run.Errors.Count == 0, run.Describe());
        var results = run.Snapshots();
        Assert.Equal(new[] { "Completed", "DryRun" }, results.Select(r => r.State).OrderBy(s => s));
        Assert.All(results, r => Assert.Equal("eu-west-1", r.Region));
    }

    [Fact]
    public async Task InstanceSet_SnapshotsAllVolumesTogether_AndExcludeBootVolumeLeavesTheRootOut()
    {
        await using var bed = await SnapshotTestSupport.StartAsync();
        var seeded = bed.SeedInstances(2, dataVolumes: 2, state: "stopped");
        var (first, second) = (seeded.InstanceIds[0], seeded.InstanceIds[1]);

        var all = bed.Invoke("New-AvSnapshot @aws -InstanceId $args[0] -Region us-east-1", first);
        Assert.True(all.Errors.Count == 0, all.Describe());
        Assert.Equal(seeded.InstanceVolumeIds[first].OrderBy(v => v), all.Snapshots().Select(s => s.VolumeId).OrderBy(v => v));
        Assert.All(all.Snapshots(), s => { Assert.Equal(first, s.InstanceId); Assert.Equal("Completed", s.State); });
        Assert.Single(all.Snapshots().Select(s => s.StartTime).Distinct()); // one point in time

        // By property name, from objects shaped like (Get-EC2Instance).Instances.
        var data = bed.Invoke("[pscustomobject]@{ InstanceId = $args[0]; InstanceType = 't3.micro' } | New-AvSnapshot @aws -Region us-east-1 -ExcludeBootVolume", second);
        Assert.True(data.Errors.Count == 0, data.Describe());
        Assert.Equal(seeded.InstanceVolumeIds[second].Skip(1).OrderBy(v => v), data.Snapshots().Select(s => s.VolumeId).OrderBy(v => v));
    }

    [Fact]
    public async Task DescriptionTemplate_Tags_AndCopyVolumeTags_AreSetAtCreation()
    {
        await using var bed = await SnapshotTestSupport.StartAsync();
        var volumes = bed.SeedVolumes(1, tags: new() { ["Backup"] = "daily", ["Team"] = "db" }, namePrefix: "data").VolumeIds;
        var run = bed.Invoke("New-AvSnapshot @aws $args[0] -Region us-east-1 -Description 'Nightly {VolumeName} ({VolumeId})' -Tag @{ Purpose = 'dr'; Team = 'ops' } -CopyVolumeTags",
            volumes[0]);
        Assert.True(run.Errors.Count == 0, run.Describe());
        var result = Assert.Single(run.Snapshots());
        // The result says what was set...
        Assert.Equal($"Nightly data-1 ({volumes[0]})", result.Description);
        Assert.Equal("dr", result.Tags["Purpose"]);
        Assert.Equal("daily", result.Tags["Backup"]);
        // ...and EC2 holds it.
        var snapshot = await bed.DescribeAsync("us-east-1", result.SnapshotId!);
        Assert.Equal($"Nightly data-1 ({volumes[0]})", snapshot.Description);
        var tags = snapshot.Tags.ToDictionary(t => t.Key, t => t.Value);
        Assert.Equal("dr", tags["Purpose"]);
        Assert.Equal("ops", tags["Team"]); // -Tag wins
        Assert.Equal("daily", tags["Backup"]);
        Assert.Equal("data-1", tags["Name"]);
        Assert.Equal(volumes[0], tags["avtomat:source-volume-id"]);
    }

    [Fact]
    public async Task WhatIf_MakesNoCall_AndDryRun_CreatesNothing()
    {
        await using var bed = await SnapshotTestSupport.StartAsync();
        var volumes = bed.SeedVolumes(2).VolumeIds;

        var whatIf = bed.Invoke("$args | New-AvSnapshot @aws -Region us-east-1 -WhatIf", volumes[0], volumes[1]);
        Assert.True(whatIf.Errors.Count == 0, whatIf.Describe());
        Assert.Empty(whatIf.Output);
        Assert.Equal(0, bed.Emulator.GetStats().TotalCalls);

        var dryRun = bed.Invoke("$args | New-AvSnapshot @aws -Region us-east-1 -DryRun", volumes[0], volumes[1]);
        Assert.True(dryRun.Errors.Count == 0, dryRun.Describe());
        Assert.Equal(2, dryRun.Snapshots().Count);
        Assert.All(dryRun.Snapshots(), s => { Assert.Equal("DryRun", s.State); Assert.Null(s.SnapshotId); });
        Assert.Empty(bed.Emulator.GetStats().SnapshotsPerVolume);
    }

    [Fact]
    public async Task NoWait_OutputsPendingSnapshots_AsSoonAsEc2AcceptedThem()
    {
        await using var bed = await SnapshotTestSupport.StartAsync(60);
        var volumes = bed.SeedVolumes(3).VolumeIds;
        var run = bed.Invoke("$args | New-AvSnapshot @aws -Region us-east-1 -NoWait", volumes.Cast<object>().ToArray());
        Assert.True(run.Errors.Count == 0, run.Describe());
        Assert.True(run.Elapsed < TimeSpan.FromSeconds(20), $"took {run.Elapsed}");
        Assert.Equal(3, run.Snapshots().Count);
        Assert.All(run.Snapshots(), s => { Assert.Equal("Pending", s.State); Assert.StartsWith("snap-", s.SnapshotId); });
    }

    [Fact]
    public async Task Timeout_GivesTimedOutResults_WithOperationTimeoutErrors()
    {
        await using var bed = await SnapshotTestSupport.StartAsync(120);
        var volumes = bed.SeedVolumes(2).VolumeIds;
        var run = bed.Invoke("$args | New-AvSnapshot @aws -Region us-east-1 -TimeoutSec 2", volumes[0], volumes[1]);
        Assert.True(run.Elapsed < TimeSpan.FromSeconds(20), $"took {run.Elapsed}");
        Assert.Equal(2, run.Snapshots().Count);
        Assert.All(run.Snapshots(), s => { Assert.Equal("TimedOut", s.State); Assert.StartsWith("snap-", s.SnapshotId); });
        Assert.Equal(2, run.Errors.Count);
        Assert.All(run.Errors, e =>
        {
            Assert.Equal(ErrorCategory.OperationTimeout, e.CategoryInfo.Category);
            Assert.Contains(run.Snapshots(), s => Equals(s.SnapshotId, e.TargetObject));
        });
    }

    [Fact]
    public async Task MissingVolume_FailsAlone_WithIdCategoryAndTarget()
    {
        await using var bed = await SnapshotTestSupport.StartAsync();
        var volumes = bed.SeedVolumes(2).VolumeIds;
        const string missing = "vol-0000000000000000a";
        var run = bed.Invoke("$args | New-AvSnapshot @aws -Region us-east-1", volumes[0], missing, volumes[1]);

        Assert.Equal(2, run.Snapshots().Count(s => s.State == "Completed"));
        Assert.Equal("Failed", Assert.Single(run.Snapshots(), s => s.VolumeId == missing).State);
        var error = Assert.Single(run.Errors);
        Assert.Equal("VolumeNotFound,Avtomat.Ec2.Commands.NewAvSnapshotCommand", error.FullyQualifiedErrorId);
        Assert.Equal(ErrorCategory.ObjectNotFound, error.CategoryInfo.Category);
        Assert.Equal(missing, error.TargetObject);
        Assert.Equal("Avtomat.Ec2.SnapshotException", error.Exception.GetType().FullName);
    }

    [Fact]
    public async Task RootVolumeOfARunningInstance_WarnsOnce()
    {
        await using var bed = await SnapshotTestSupport.StartAsync();
        var seeded = bed.SeedInstances(2, dataVolumes: 1, state: "running");
        var roots = seeded.InstanceIds.Select(i => seeded.InstanceVolumeIds[i][0]).ToList();
        var data = seeded.InstanceVolumeIds[seeded.InstanceIds[0]][1];
        var run = bed.Invoke("$args | New-AvSnapshot @aws -Region us-east-1", roots[0], roots[1], data);
        Assert.True(run.Errors.Count == 0, run.Describe());
        Assert.Equal(3, run.Snapshots().Count);
        Assert.Single(run.Warnings, w => w.Contains("root", StringComparison.OrdinalIgnoreCase));
    }

    [Fact]
    public async Task InvalidValues_FailBeforeAnyCall()
    {
        await using var bed = await SnapshotTestSupport.StartAsync();
        foreach (var script in new[]
                 {
                     "New-AvSnapshot @aws -VolumeId 'snap-0123456789abcdef0' -Region us-east-1",
                     "New-AvSnapshot @aws -InstanceId 'vol-0123456789abcdef0' -Region us-east-1",
                     "New-AvSnapshot @aws -VolumeId 'vol-0123456789abcdef0' -Region 'US East'",
                     "New-AvSnapshot @aws -VolumeId 'vol-0123456789abcdef0' -Region us-east-1 -Location somewhere",
                     "New-AvSnapshot @aws -VolumeId 'vol-0123456789abcdef0' -Region us-east-1 -Timeout 0",
                 })
        {
            var run = bed.Invoke(script);
            Assert.True(run.Thrown is ParameterBindingException || run.Errors.Any(e => e.Exception is ParameterBindingException), script + ": " + run.Describe());
        }
        foreach (var (script, id) in new[]
                 {
                     ("New-AvSnapshot @aws -VolumeId 'vol-0123456789abcdef0' -Region us-east-1 -Tag @{ 'aws:x' = 1 }", "ReservedTagKey"),
                     ("New-AvSnapshot @aws -VolumeId 'vol-0123456789abcdef0' -Region us-east-1 -OutpostArn 'op-1'", "InvalidOutpostArn"),
                 })
        {
            var run = bed.Invoke(script);
            var error = Assert.Single(run.Errors);
            Assert.Equal($"{id},Avtomat.Ec2.Commands.NewAvSnapshotCommand", error.FullyQualifiedErrorId);
            Assert.Equal(ErrorCategory.InvalidArgument, error.CategoryInfo.Category);
        }
        Assert.Equal(0, bed.Emulator.GetStats().TotalCalls);
    }

    [Fact]
    public async Task Progress_ParentPerRegion_ChildrenPerSnapshot_CompletedAtTheEnd_AndVerboseSummary()
    {
        await using var bed = await SnapshotTestSupport.StartAsync(1);
        var volumes = bed.SeedVolumes(3).VolumeIds;
        var run = bed.Invoke("$args | New-AvSnapshot @aws -Region us-east-1 -Verbose", volumes.Cast<object>().ToArray());
        Assert.True(run.Errors.Count == 0, run.Describe());

        var parents = run.Progress.Where(r => r.ParentActivityId < 0).ToList();
        var children = run.Progress.Where(r => r.ParentActivityId >= 0).ToList();
        Assert.Contains(parents, p => p.Activity == "Creating 3 snapshots in us-east-1");
        Assert.NotEmpty(children);
        Assert.All(children, c => Assert.Contains(parents, p => p.ActivityId == c.ParentActivityId));
        Assert.Contains(children, c => volumes.Any(v => c.Activity.StartsWith(v, StringComparison.Ordinal)));
        foreach (var last in run.Progress.GroupBy(r => r.ActivityId).Select(g => g.Last()))
        {
            Assert.Equal(ProgressRecordType.Completed, last.RecordType);
        }
        Assert.StartsWith("3 completed", parents.Last().StatusDescription);

        foreach (var result in run.Snapshots())
        {
            Assert.Contains($"{result.VolumeId} (us-east-1) → {result.SnapshotId} accepted", run.Verbose);
        }
        Assert.Contains(run.Verbose, v => v.StartsWith("New-AvSnapshot: 3 volumes in ", StringComparison.Ordinal) && v.Contains("3 completed", StringComparison.Ordinal));
        Assert.Contains(run.Verbose, v => v.StartsWith("EC2 calls: ", StringComparison.Ordinal));
        Assert.DoesNotContain(CopyTestBed.SecretKey, string.Join("\n", run.Verbose.Concat(run.Warnings)), StringComparison.Ordinal);
    }
}
