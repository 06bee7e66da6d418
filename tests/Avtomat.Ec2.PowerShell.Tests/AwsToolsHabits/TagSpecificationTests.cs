using System.Management.Automation;
using Amazon.EC2;
using Amazon.EC2.Model;
using Avtomat.Ec2.PowerShell.Tests.CopyAvSnapshot;
using Avtomat.Ec2.PowerShell.Tests.NewAvSnapshot;

namespace Avtomat.Ec2.PowerShell.Tests.AwsToolsHabits;

/// <summary>-TagSpecification as AWS.Tools users pass it: real Amazon.EC2.Model.TagSpecification objects (what
/// Copy-EC2Snapshot and New-EC2Snapshot take), hashtables and [pscustomobject]s of that shape, beside -Tag; and the
/// errors for shapes that are not tag specifications.</summary>
public sealed class TagSpecificationTests
{
    private static async Task<Dictionary<string, string>> CopyTagsAsync(CopyTestBed bed, Invocation run, string region)
    {
        Assert.True(run.Errors.Count == 0, run.Describe());
        var copy = await bed.DescribeAsync(region, Assert.Single(run.Results).SnapshotId!);
        return copy.Tags.ToDictionary(t => t.Key, t => t.Value);
    }

    [Fact]
    public async Task Hashtables_WithTag_AreOnTheCopy()
    {
        await using var bed = await HabitTestSupport.StartAsync();
        var id = bed.Seed(1)[0];
        var run = bed.Invoke(@"Copy-AvSnapshot $args[0] us-east-1 -Region us-west-2 -Tag @{ Owner = 'ops' } `
            -TagSpecification @{ ResourceType = 'snapshot'; Tags = @(@{ Key = 'Team'; Value = 'db' }, @{ Key = 'Purpose'; Value = 'dr' }) }", id);

        var tags = await CopyTagsAsync(bed, run, "us-west-2");
        Assert.Equal(("db", "dr", "ops"), (tags["Team"], tags["Purpose"], tags["Owner"]));
        Assert.Equal(id, tags["avtomat:source-snapshot-id"]);
    }

    [Fact]
    public async Task PSCustomObjects_WithoutResourceType_AndASingleTagNotInAList()
    {
        await using var bed = await HabitTestSupport.StartAsync();
        var id = bed.Seed(1)[0];
        var run = bed.Invoke(@"
            $first = [pscustomobject]@{ Tags = @([pscustomobject]@{ Key = 'Team'; Value = 'db' }) }
            $second = @{ resourcetype = 'Snapshot'; tags = @{ key = 'Empty'; value = $null } }
            Copy-AvSnapshot $args[0] us-east-1 -Region us-west-2 -TagSpecifications $first, $second", id);

        var tags = await CopyTagsAsync(bed, run, "us-west-2");
        Assert.Equal("db", tags["Team"]);
        Assert.Equal("", tags["Empty"]);
    }

    [Fact]
    public async Task RealSdkTagSpecifications_AreReadByShape()
    {
        await using var bed = await HabitTestSupport.StartAsync();
        var id = bed.Seed(1)[0];
        var volume = bed.SeedVolumes(1).VolumeIds[0];
        var specifications = new[]
        {
            new TagSpecification { ResourceType = ResourceType.Snapshot, Tags = [new Amazon.EC2.Model.Tag("Team", "db")] },
            new TagSpecification { ResourceType = ResourceType.Snapshot, Tags = [new Amazon.EC2.Model.Tag("CostCenter", "42")] },
        };
        var copy = bed.Invoke("Copy-AvSnapshot -SourceSnapshotId $args[0] -SourceRegion us-east-1 -Region us-west-2 -TagSpecification $args[1]", id, specifications);
        var tags = await CopyTagsAsync(bed, copy, "us-west-2");
        Assert.Equal(("db", "42"), (tags["Team"], tags["CostCenter"]));

        var created = bed.Invoke("New-AvSnapshot -VolumeId $args[0] -Region us-east-1 -TagSpecification $args[1]", volume, specifications);
        Assert.True(created.Errors.Count == 0, created.Describe());
        var snapshot = await bed.DescribeAsync("us-east-1", Assert.Single(created.Snapshots()).SnapshotId!);
        var snapshotTags = snapshot.Tags.ToDictionary(t => t.Key, t => t.Value);
        Assert.Equal(("db", "42", volume), (snapshotTags["Team"], snapshotTags["CostCenter"], snapshotTags["avtomat:source-volume-id"]));
    }

    [Theory]
    [InlineData("@{ ResourceType = 'volume'; Tags = @(@{ Key = 'Team'; Value = 'db' }) }", "TagSpecificationResourceType", "volume")]
    [InlineData("@{ ResourceType = 'snapshot' }", "InvalidTagSpecification", null)]
    [InlineData("@{ ResourceType = 'snapshot'; Tags = @(@{ Value = 'db' }) }", "InvalidTagSpecification", null)]
    [InlineData("'Team=db'", "InvalidTagSpecification", null)]
    [InlineData("@{ Tags = @(@{ Key = 'aws:owner'; Value = 'x' }) }", "ReservedTagKey", "aws:owner")]
    [InlineData("@{ Tags = @(@{ Key = 'Owner'; Value = 'x' }) } -Tag @{ Owner = 'y' }", "DuplicateTagKey", "Owner")]
    public async Task ShapesThatAreNotSnapshotTagSpecifications_StopBeforeAnyCall(string value, string errorId, string? target)
    {
        await using var bed = await HabitTestSupport.StartAsync();
        foreach (var (command, type) in new[] { ("Copy-AvSnapshot snap-0123456789abcdef0 -SourceRegion us-east-1", "CopyAvSnapshotCommand"), ("New-AvSnapshot vol-0123456789abcdef0 -Region us-east-1", "NewAvSnapshotCommand") })
        {
            var run = bed.Invoke($"{command} -TagSpecification {value}");
            var error = Assert.Single(run.Errors);
            Assert.Equal($"{errorId},Avtomat.Ec2.Commands.{type}", error.FullyQualifiedErrorId);
            Assert.Equal(ErrorCategory.InvalidArgument, error.CategoryInfo.Category);
            if (target is not null)
            {
                Assert.Equal(target, error.TargetObject);
            }
            Assert.False(string.IsNullOrWhiteSpace(error.ErrorDetails?.Message));
        }
        Assert.Equal(0, bed.Emulator.GetStats().TotalCalls);
    }

    [Fact]
    public async Task AnotherResourceType_SaysWhatToTypeInstead()
    {
        await using var bed = await HabitTestSupport.StartAsync();
        var run = bed.Invoke("Copy-AvSnapshot snap-0123456789abcdef0 -SourceRegion us-east-1 -TagSpecification @{ ResourceType = 'volume'; Tags = @(@{ Key = 'a'; Value = 'b' }) }");
        var error = Assert.Single(run.Errors);
        Assert.Contains("ResourceType = 'snapshot'", error.ErrorDetails!.RecommendedAction, StringComparison.Ordinal);
        Assert.Contains("-Tag @{", error.ErrorDetails.RecommendedAction, StringComparison.Ordinal);
    }
}
