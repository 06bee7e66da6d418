using Avtomat.Ec2.PowerShell.Tests.CopyAvSnapshot;
using Avtomat.Ec2.PowerShell.Tests.NewAvSnapshot;

namespace Avtomat.Ec2.PowerShell.Tests.Resume;

/// <summary>-Description placeholders the cmdlet does not know are kept as written, with one warning.</summary>
public sealed class DescriptionWarningTests
{
    [Fact]
    public async Task UnknownOrMiscasedPlaceholders_WarnOnce_AndAreKeptAsWritten()
    {
        await using var bed = await SnapshotTestSupport.StartAsync();
        var ids = bed.Seed(2);
        var volumes = bed.SeedVolumes(1).VolumeIds;

        var copy = bed.Invoke("$args | Copy-AvSnapshot @aws -SourceRegion us-east-1 -DestinationRegion us-west-2 -Description '{Bogus} of {sourcesnapshotid} from {SourceRegion}'",
            ids[0], ids[1]);
        var create = bed.Invoke("New-AvSnapshot @aws -Region us-east-1 -VolumeId $args[0] -Description '{VolumeName} {volumeid}'", volumes[0]);

        Assert.True(copy.Errors.Count == 0, copy.Describe());
        var warning = Assert.Single(copy.Warnings);
        Assert.Contains("{Bogus}, {sourcesnapshotid} (did you mean {SourceSnapshotId}?)", warning);
        Assert.All(copy.Results, r => Assert.StartsWith("{Bogus} of {sourcesnapshotid} from us-east-1", r.Object.Properties["Description"].Value as string));
        Assert.Contains(create.Warnings, w => w.Contains("{volumeid} (did you mean {VolumeId}?)"));
    }
}
