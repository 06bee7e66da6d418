using Avtomat.Ec2.PowerShell.Tests.CopyAvSnapshot;
using Avtomat.Ec2.PowerShell.Tests.NewAvSnapshot;
using static Avtomat.Ec2.PowerShell.Tests.AwsToolsHabits.HabitTestSupport;

namespace Avtomat.Ec2.PowerShell.Tests.AwsToolsHabits;

/// <summary>
/// The documented AWS.Tools example lines, with the module's verb-noun and otherwise unchanged, land where the AWS.Tools
/// cmdlet puts its copy or snapshot. The lines are quoted from the AWS Tools for PowerShell reference ("Tools for
/// PowerShell V4" and "V5" examples of Copy-EC2Snapshot and New-EC2Snapshot, identical in both); one more is the
/// Copy-EC2Snapshot line a user measured (the one in the project's EC2 facts sheet). The reference's ids (snap-12345678,
/// vol-12345678) are replaced by emulator ids, because the emulator makes its own ids: that is the only change.
/// Endpoint and credentials come from $PSDefaultParameterValues (see <see cref="HabitTestSupport"/>).
/// </summary>
public sealed class AwsToolsExampleLineTests
{
    // Copy-EC2Snapshot, Example 1: "This example copies the specified snapshot from the EU (Ireland) region to the US West
    // (Oregon) region."
    private const string CopyExample1 = "Copy-EC2Snapshot -SourceRegion eu-west-1 -SourceSnapshotId snap-12345678 -Region us-west-2";

    // Copy-EC2Snapshot, Example 2: "If you set a default region and omit the Region parameter, the default destination
    // region is the default region."
    private const string CopyExample2 = "Set-DefaultAWSRegion us-west-2\nCopy-EC2Snapshot -SourceRegion eu-west-1 -SourceSnapshotId snap-12345678";

    // The line a user measured (it failed with ParameterAlreadyBound before -Region was a parameter of its own).
    private const string MeasuredLine = "Copy-EC2Snapshot -SourceRegion us-west-2 -SourceSnapshotId snap-12345678 -Region us-west-1 -Description \"Copy of snap-12345678\"";

    // New-EC2Snapshot, Example 1: "This example creates a snapshot of the specified volume." (no -Region: the default
    // region, set here the AWS.Tools way first).
    private const string NewExample1 = "New-EC2Snapshot -VolumeId vol-12345678 -Description \"This is a test\"";

    [Fact]
    public async Task CopyExample1_CopiesFromEuWest1IntoUsWest2_TheRegionCalled()
    {
        await using var bed = await StartAsync();
        var source = bed.Seed(1, "eu-west-1")[0];
        var run = bed.Invoke(WithAvtomatNames(CopyExample1, ("snap-12345678", source)));

        Assert.True(run.Errors.Count == 0, run.Describe());
        var copy = Assert.Single(run.Results);
        Assert.Equal(("us-west-2", "eu-west-1", source, "Completed"), (copy.Region, copy.SourceRegion, copy.SourceSnapshotId, copy.State));
        Assert.Equal(new Dictionary<string, int> { ["us-west-2"] = 1 }, bed.CopiesByRegion());
        Assert.Equal(source, (await bed.DescribeAsync("us-west-2", copy.SnapshotId!)).Tags.Single(t => t.Key == "avtomat:source-snapshot-id").Value);
    }

    [Fact]
    public async Task CopyExample2_WithADefaultRegionAndNoRegionParameter_CopiesIntoTheDefaultRegion()
    {
        await using var bed = await StartAsync();
        var source = bed.Seed(1, "eu-west-1")[0];
        var run = bed.Invoke(WithAvtomatNames(CopyExample2, ("snap-12345678", source)));

        Assert.True(run.Errors.Count == 0, run.Describe());
        var copy = Assert.Single(run.Results);
        Assert.Equal(("us-west-2", "eu-west-1", "Completed"), (copy.Region, copy.SourceRegion, copy.State));
        Assert.Equal(new Dictionary<string, int> { ["us-west-2"] = 1 }, bed.CopiesByRegion());
        await bed.DescribeAsync("us-west-2", copy.SnapshotId!);
    }

    [Fact]
    public async Task MeasuredLine_WithSourceRegionRegionAndDescription_CopiesIntoUsWest1_WithThatDescription()
    {
        await using var bed = await StartAsync();
        var source = bed.Seed(1, "us-west-2")[0];
        var run = bed.Invoke(WithAvtomatNames(MeasuredLine, ("snap-12345678", source)));

        Assert.True(run.Errors.Count == 0, run.Describe()); // no ParameterAlreadyBound
        var copy = Assert.Single(run.Results);
        Assert.Equal(("us-west-1", "us-west-2", "Completed"), (copy.Region, copy.SourceRegion, copy.State));
        Assert.Equal(new Dictionary<string, int> { ["us-west-1"] = 1 }, bed.CopiesByRegion());
        Assert.Equal($"Copy of {source}", (await bed.DescribeAsync("us-west-1", copy.SnapshotId!)).Description);
    }

    [Fact]
    public async Task NewExample1_SnapshotsTheVolumeInTheDefaultRegion_WithTheDescription()
    {
        await using var bed = await StartAsync();
        var volume = bed.SeedVolumes(1, "eu-west-1").VolumeIds[0];
        var run = bed.Invoke("Set-DefaultAWSRegion eu-west-1\n" + WithAvtomatNames(NewExample1, ("vol-12345678", volume)));

        Assert.True(run.Errors.Count == 0, run.Describe());
        var snapshot = Assert.Single(run.Snapshots());
        Assert.Equal(("eu-west-1", volume, "Completed"), (snapshot.Region, snapshot.VolumeId, snapshot.State));
        var described = await bed.DescribeAsync("eu-west-1", snapshot.SnapshotId!);
        Assert.Equal("This is a test", described.Description);
        Assert.Equal(volume, described.VolumeId);
    }

    [Fact]
    public void TheQuotedLines_AreTheReferenceLines_WithOnlyTheVerbNounAndIdsChanged()
    {
        // Guards the test data: nothing but the verb-noun and the ids may differ from the AWS.Tools lines.
        Assert.Equal("Copy-AvSnapshot -SourceRegion eu-west-1 -SourceSnapshotId snap-0123456789abcdef0 -Region us-west-2",
            WithAvtomatNames(CopyExample1, ("snap-12345678", "snap-0123456789abcdef0")));
        Assert.Equal("New-AvSnapshot -VolumeId vol-0123456789abcdef0 -Description \"This is a test\"",
            WithAvtomatNames(NewExample1, ("vol-12345678", "vol-0123456789abcdef0")));
    }
}
