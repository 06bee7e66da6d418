using System.Management.Automation;
using Avtomat.Ec2.PowerShell.Tests.CopyAvSnapshot;
using Avtomat.Ec2.PowerShell.Tests.NewAvSnapshot;

namespace Avtomat.Ec2.PowerShell.Tests.AwsToolsHabits;

/// <summary>What -Region, -SourceRegion and -DestinationRegion mean for Copy-AvSnapshot (as in Copy-EC2Snapshot: -Region
/// is where the copy is made), positional binding as in Copy-/New-EC2Snapshot, and where -Verbose says each region came
/// from.</summary>
public sealed class RegionMeaningTests
{
    [Fact]
    public async Task Region_IsWhereTheCopyIsMade_AndTheSourceDefaultsToIt()
    {
        await using var bed = await HabitTestSupport.StartAsync();
        var east = bed.Seed(1, "us-east-1")[0];
        var west = bed.Seed(1, "us-west-2")[0];
        var run = bed.Invoke(@"
            Copy-AvSnapshot $args[0] -SourceRegion us-west-2 -Region us-west-1
            Copy-AvSnapshot $args[1] -RegionToCall us-east-1", west, east);

        Assert.True(run.Errors.Count == 0, run.Describe());
        Assert.Contains(run.Results, r => r.SourceSnapshotId == west && r.SourceRegion == "us-west-2" && r.Region == "us-west-1");
        Assert.Contains(run.Results, r => r.SourceSnapshotId == east && r.SourceRegion == "us-east-1" && r.Region == "us-east-1");
        Assert.Equal(new Dictionary<string, int> { ["us-west-1"] = 1, ["us-east-1"] = 1 }, bed.CopiesByRegion());
    }

    [Fact]
    public async Task WithoutRegionOrDestinationRegion_TheCopyIsMadeInTheDefaultRegion_NotInTheSourceRegion()
    {
        // Changed on purpose: before, the copy was made in the source region.
        await using var bed = await HabitTestSupport.StartAsync();
        var west = bed.Seed(1, "us-west-2")[0];
        var run = bed.Invoke("$StoredAWSRegion = 'eu-west-1'; Copy-AvSnapshot $args[0] -SourceRegion us-west-2 -Verbose", west);

        Assert.True(run.Errors.Count == 0, run.Describe());
        var copy = Assert.Single(run.Results);
        Assert.Equal(("eu-west-1", "us-west-2"), (copy.Region, copy.SourceRegion));
        Assert.Contains("Source region us-west-2 from -SourceRegion.", run.Verbose);
        Assert.Contains("Destination region eu-west-1 from $StoredAWSRegion (the AWS context's region).", run.Verbose);
        Assert.Contains(run.Verbose, v => v.StartsWith("Using credentials from", StringComparison.Ordinal) && v.Contains("region eu-west-1 from $StoredAWSRegion", StringComparison.Ordinal));
    }

    [Fact]
    public async Task WithNoRegionSetAnywhere_EachSnapshotIsCopiedWithinItsOwnRegion()
    {
        await using var bed = await HabitTestSupport.StartAsync();
        var west = bed.Seed(1, "us-west-2")[0];
        var east = bed.Seed(1, "us-east-1")[0];
        var run = bed.Invoke(@"
            Copy-AvSnapshot $args[0] -SourceRegion us-west-2
            [pscustomobject]@{ SnapshotId = $args[1]; Region = 'us-east-1' } | Copy-AvSnapshot -Verbose", west, east);

        Assert.True(run.Errors.Count == 0, run.Describe());
        Assert.Contains(run.Results, r => r.SourceSnapshotId == west && r.Region == "us-west-2");
        Assert.Contains(run.Results, r => r.SourceSnapshotId == east && r.Region == "us-east-1");
        // The context's region came from the piped object, and -Verbose says so (not "-SourceRegion").
        Assert.Contains(run.Verbose, v => v.StartsWith("Using credentials from", StringComparison.Ordinal) && v.Contains("region us-east-1 from the piped object", StringComparison.Ordinal));
        Assert.Contains("Source region us-east-1 from the piped object.", run.Verbose);
        Assert.Contains(run.Verbose, v => v.StartsWith("Destination region us-east-1 from the source region", StringComparison.Ordinal));
        Assert.DoesNotContain(run.Verbose, v => v.Contains("from -SourceRegion", StringComparison.Ordinal) && v.Contains("us-east-1", StringComparison.Ordinal));
    }

    [Fact]
    public async Task PipedObjects_CarryTheSourceRegion_AndRegionOnTheCommandLineIsTheDestination()
    {
        await using var bed = await HabitTestSupport.StartAsync();
        var west = bed.Seed(1, "us-west-2")[0];
        var east = bed.Seed(1, "us-east-1")[0];
        var run = bed.Invoke(@"
            $global:StoredAWSRegion = 'eu-west-1'
            [pscustomobject]@{ SnapshotId = $args[0]; Region = 'us-west-2' },
            [pscustomobject]@{ SourceSnapshotId = $args[1]; SourceRegion = 'us-east-1' } | Copy-AvSnapshot -Region us-west-1 -Verbose", west, east);

        Assert.True(run.Errors.Count == 0, run.Describe());
        Assert.Contains(run.Results, r => r.SourceSnapshotId == west && r.SourceRegion == "us-west-2" && r.Region == "us-west-1");
        Assert.Contains(run.Results, r => r.SourceSnapshotId == east && r.SourceRegion == "us-east-1" && r.Region == "us-west-1");
        Assert.Contains("Source region us-west-2 from the piped object.", run.Verbose);
        Assert.Contains("Source region us-east-1 from the piped object.", run.Verbose);
        Assert.Contains("Destination region us-west-1 from -Region.", run.Verbose);
        Assert.Contains(run.Verbose, v => v.StartsWith("Using credentials from", StringComparison.Ordinal) && v.Contains("region us-west-1 from -Region", StringComparison.Ordinal));
    }

    [Fact]
    public async Task RegionWithTheSameSingleDestinationRegion_Works_AsCopyEc2SnapshotsDestinationRegionRepeatsIt()
    {
        await using var bed = await HabitTestSupport.StartAsync();
        var id = bed.Seed(1, "us-east-1")[0];
        var run = bed.Invoke("Copy-AvSnapshot -SourceRegion us-east-1 -SourceSnapshotId $args[0] -Region us-west-2 -DestinationRegion us-west-2", id);
        Assert.True(run.Errors.Count == 0, run.Describe());
        Assert.Equal("us-west-2", Assert.Single(run.Results).Region);
    }

    [Theory]
    // The old meaning (-Region = the source) with a fan-out: now a conflict that says what to type.
    [InlineData("-Region us-east-1 -DestinationRegion us-west-2", "-SourceRegion us-east-1 -DestinationRegion us-west-2")]
    [InlineData("-SourceRegion us-east-1 -Region us-west-1 -DestinationRegion us-west-2, eu-west-1", "-SourceRegion us-east-1 -DestinationRegion us-west-2, eu-west-1")]
    public async Task RegionWithOtherDestinationRegions_StopsBeforeAnyCall_SayingWhatToType(string parameters, string instead)
    {
        await using var bed = await HabitTestSupport.StartAsync();
        var run = bed.Invoke($"Copy-AvSnapshot snap-0123456789abcdef0 {parameters}");

        var error = Assert.Single(run.Errors);
        Assert.Equal("RegionConflictsWithDestinationRegion,Avtomat.Ec2.Commands.CopyAvSnapshotCommand", error.FullyQualifiedErrorId);
        Assert.Equal(ErrorCategory.InvalidArgument, error.CategoryInfo.Category);
        Assert.Equal(parameters.Contains("us-west-1", StringComparison.Ordinal) ? "us-west-1" : "us-east-1", error.TargetObject);
        Assert.Contains(instead, error.ErrorDetails!.RecommendedAction, StringComparison.Ordinal);
        Assert.Equal(0, bed.Emulator.GetStats().TotalCalls);
    }

    [Fact]
    public async Task RegionWithAnOutpostOfAnotherRegion_IsAnOutpostRegionMismatch_NamingRegion()
    {
        await using var bed = await HabitTestSupport.StartAsync();
        var run = bed.Invoke("Copy-AvSnapshot snap-0123456789abcdef0 -SourceRegion us-west-2 -Region eu-west-1 -DestinationOutpostArn arn:aws:outposts:us-west-2:123456789012:outpost/op-0123456789abcdef0");
        var error = Assert.Single(run.Errors);
        Assert.Equal("OutpostRegionMismatch,Avtomat.Ec2.Commands.CopyAvSnapshotCommand", error.FullyQualifiedErrorId);
        Assert.Contains("-Region", error.ErrorDetails!.Message, StringComparison.Ordinal);
        Assert.Equal(0, bed.Emulator.GetStats().TotalCalls);
    }

    [Fact]
    public async Task Positions_AreThoseOfCopyEc2SnapshotAndNewEc2Snapshot()
    {
        await using var bed = await HabitTestSupport.StartAsync();
        var snapshot = bed.Seed(1, "eu-west-1")[0];
        var volume = bed.SeedVolumes(1, "eu-west-1").VolumeIds[0];
        var run = bed.Invoke(@"
            Copy-AvSnapshot $args[0] eu-west-1 'Positional copy' -Region us-west-1
            New-AvSnapshot $args[1] 'Positional snapshot' -Region eu-west-1", snapshot, volume);

        Assert.True(run.Errors.Count == 0, run.Describe());
        var copy = new SnapshotCopyResultView(run.Output.Single(o => o.Properties["SourceSnapshotId"] is not null));
        Assert.Equal(("us-west-1", "eu-west-1"), (copy.Region, copy.SourceRegion));
        Assert.Equal("Positional copy", (await bed.DescribeAsync("us-west-1", copy.SnapshotId!)).Description);
        var created = new SnapshotResultView(run.Output.Single(o => o.Properties["SourceSnapshotId"] is null));
        Assert.Equal("Positional snapshot", (await bed.DescribeAsync("eu-west-1", created.SnapshotId!)).Description);
    }

    [Fact]
    public async Task NewAvSnapshot_Verbose_SaysTheRegionCameFromThePipedObject_NotFromRegion()
    {
        await using var bed = await HabitTestSupport.StartAsync();
        var west = bed.SeedVolumes(1, "us-west-2").VolumeIds[0];
        var run = bed.Invoke("[pscustomobject]@{ VolumeId = $args[0]; Region = 'us-west-2' } | New-AvSnapshot -Verbose", west);

        Assert.True(run.Errors.Count == 0, run.Describe());
        Assert.Equal("us-west-2", Assert.Single(run.Snapshots()).Region);
        Assert.Contains("Volume region us-west-2 from the piped object.", run.Verbose);
        Assert.Contains(run.Verbose, v => v.StartsWith("Using credentials from", StringComparison.Ordinal) && v.Contains("region us-west-2 from the piped object", StringComparison.Ordinal));
        Assert.DoesNotContain(run.Verbose, v => v.Contains("from -Region", StringComparison.Ordinal));

        // With a default region, the context is that region; the volume is still snapshotted where it lives.
        var again = bed.Invoke("$global:StoredAWSRegion = 'us-east-1'; [pscustomobject]@{ VolumeId = $args[0]; AvailabilityZone = 'us-west-2a' } | New-AvSnapshot -Verbose -DryRun", west);
        Assert.True(again.Errors.Count == 0, again.Describe());
        Assert.Equal("us-west-2", Assert.Single(again.Snapshots()).Region);
        Assert.Contains(again.Verbose, v => v.StartsWith("Using credentials from", StringComparison.Ordinal) && v.Contains("region us-east-1 from $StoredAWSRegion", StringComparison.Ordinal));
        Assert.Contains("Volume region us-west-2 from the piped object.", again.Verbose);
    }

    [Fact]
    public async Task NewAvSnapshot_Verbose_NamesRegionAndTheDefaultRegion()
    {
        await using var bed = await HabitTestSupport.StartAsync();
        var volumes = bed.SeedVolumes(2, "eu-west-1").VolumeIds;
        var run = bed.Invoke(@"
            New-AvSnapshot $args[0] -RegionToCall eu-west-1 -Verbose
            Set-DefaultAWSRegion eu-west-1
            New-AvSnapshot $args[1] -Verbose", volumes[0], volumes[1]);

        Assert.True(run.Errors.Count == 0, run.Describe());
        Assert.All(run.Snapshots(), s => Assert.Equal("eu-west-1", s.Region));
        Assert.Contains("Volume region eu-west-1 from -Region.", run.Verbose);
        Assert.Contains("Volume region eu-west-1 from $StoredAWSRegion (the AWS context's region).", run.Verbose);
    }

    [Fact]
    public async Task WaitAvSnapshot_Verbose_SaysTheRegionCameFromThePipedObject()
    {
        await using var bed = await HabitTestSupport.StartAsync();
        var ids = bed.Seed(2, "ap-southeast-2");
        var run = bed.Invoke(@"
            [pscustomobject]@{ SnapshotId = $args[0]; Region = 'ap-southeast-2' } | Wait-AvSnapshot -Verbose
            Wait-AvSnapshot -SnapshotIds $args[1] -RegionToCall ap-southeast-2 -Verbose", ids[0], ids[1]);

        Assert.True(run.Errors.Count == 0, run.Describe());
        Assert.Equal(2, run.Snapshots().Count(s => s.State == "Completed"));
        Assert.Contains("Snapshot region ap-southeast-2 from the piped object.", run.Verbose);
        Assert.Contains("Snapshot region ap-southeast-2 from -Region.", run.Verbose);
        Assert.Contains(run.Verbose, v => v.StartsWith("Using credentials from", StringComparison.Ordinal) && v.Contains("region ap-southeast-2 from the piped object", StringComparison.Ordinal));
    }

    [Fact]
    public async Task NewAvSnapshot_Force_SkipsTheConfirmation_WhatIfStillWins()
    {
        await using var bed = await HabitTestSupport.StartAsync();
        var volume = bed.SeedVolumes(1).VolumeIds[0];

        // The hosted runspace cannot prompt: without -Force, -Confirm fails; with it, nothing is asked.
        var asked = bed.Invoke("New-AvSnapshot $args[0] -Region us-east-1 -Confirm", volume);
        Assert.NotEmpty(asked.Errors);
        Assert.Empty(bed.Emulator.GetStats().SnapshotsPerVolume);

        var whatIf = bed.Invoke("New-AvSnapshot $args[0] -Region us-east-1 -Force -WhatIf", volume);
        Assert.True(whatIf.Errors.Count == 0, whatIf.Describe());
        Assert.Empty(whatIf.Output);

        var forced = bed.Invoke("New-AvSnapshot $args[0] -Region us-east-1 -Confirm -Force", volume);
        Assert.True(forced.Errors.Count == 0, forced.Describe());
        Assert.Equal("Completed", Assert.Single(forced.Snapshots()).State);
    }
}
