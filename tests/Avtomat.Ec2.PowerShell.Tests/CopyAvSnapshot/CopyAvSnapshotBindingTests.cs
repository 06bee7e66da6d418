using System.Management.Automation;
using Amazon.EC2;
using Amazon.EC2.Model;

namespace Avtomat.Ec2.PowerShell.Tests.CopyAvSnapshot;

/// <summary>What binds to -SnapshotId and -SourceRegion: strings, objects shaped like Get-EC2Snapshot output, real
/// Amazon.EC2.Model.Snapshot objects, [pscustomobject]s and the module's own results. An object's Region is where its
/// snapshot is read from (-Region, where the copy is made, never binds from objects).</summary>
public sealed class CopyAvSnapshotBindingTests
{
    [Fact]
    public async Task Strings_BindByValueAndByPosition()
    {
        await using var bed = await CopyTestBed.StartAsync();
        var ids = bed.Seed(3);

        var piped = bed.Invoke("$args | Copy-AvSnapshot @aws -SourceRegion us-east-1 -DestinationRegion us-west-2", ids[0], ids[1]);
        Assert.True(piped.Errors.Count == 0, piped.Describe());
        Assert.Equal(ids.Take(2).OrderBy(i => i), piped.Results.Select(r => r.SourceSnapshotId).OrderBy(i => i));
        Assert.All(piped.Results, r =>
        {
            Assert.Equal("Avtomat.Ec2.SnapshotCopyResult", r.TypeName);
            Assert.Equal("Completed", r.State);
            Assert.Equal("us-west-2", r.Region);
            Assert.Equal("us-east-1", r.SourceRegion);
            Assert.StartsWith("snap-", r.SnapshotId);
            Assert.DoesNotContain(r.SnapshotId, ids);
        });

        var positional = bed.Invoke("Copy-AvSnapshot $args[0] @aws -Region us-east-1", ids[2]);
        var result = Assert.Single(positional.Results);
        Assert.Equal(ids[2], result.SourceSnapshotId);
        Assert.Equal("us-east-1", result.Region); // -Region is where the copy is made (as in Copy-EC2Snapshot)...
        Assert.Equal("us-east-1", result.SourceRegion); // ...and, without -SourceRegion, where the snapshot is looked for
        Assert.Equal("Completed", result.State);
    }

    [Fact]
    public async Task SourceSnapshotIdAlias_AndArrays_BindOnTheCommandLine()
    {
        await using var bed = await CopyTestBed.StartAsync();
        var ids = bed.Seed(2);
        var run = bed.Invoke("Copy-AvSnapshot @aws -SourceSnapshotId $args[0], $args[1] -SourceRegion us-east-1 -TargetRegion us-west-2", ids[0], ids[1]);
        Assert.True(run.Errors.Count == 0, run.Describe());
        Assert.Equal(2, run.Results.Count);
        Assert.All(run.Results, r => Assert.Equal("us-west-2", r.Region));
    }

    [Fact]
    public async Task PSCustomObjects_BindByPropertyName_SnapshotIdWithRegion_SourceSnapshotIdWithSourceRegion()
    {
        await using var bed = await CopyTestBed.StartAsync();
        var east = bed.Seed(1, "us-east-1");
        var west = bed.Seed(1, "us-west-2");

        var run = bed.Invoke(@"
            [pscustomobject]@{ SnapshotId = $args[0]; Region = 'us-east-1' },
            [pscustomobject]@{ SourceSnapshotId = $args[1]; SourceRegion = 'us-west-2' } |
                Copy-AvSnapshot @aws -DestinationRegion eu-west-1", east[0], west[0]);

        Assert.True(run.Errors.Count == 0, run.Describe());
        Assert.Equal(2, run.Results.Count);
        Assert.Contains(run.Results, r => r.SourceSnapshotId == east[0] && r.SourceRegion == "us-east-1" && r.Region == "eu-west-1");
        Assert.Contains(run.Results, r => r.SourceSnapshotId == west[0] && r.SourceRegion == "us-west-2" && r.Region == "eu-west-1");
    }

    [Fact]
    public async Task GetEc2SnapshotOutput_BindsBySnapshotId_RealSdkObjectsAndLookalikes()
    {
        await using var bed = await CopyTestBed.StartAsync();
        var ids = bed.Seed(2, description: "nightly");
        // What Get-EC2Snapshot emits: Amazon.EC2.Model.Snapshot (no region property).
        var sdkSnapshot = new Snapshot
        {
            SnapshotId = ids[0], VolumeId = "vol-0123456789abcdef0", State = Amazon.EC2.SnapshotState.Completed, OwnerId = CopyTestBed.Account,
            Description = "nightly", Encrypted = false, VolumeSize = 8, Progress = "100%", StartTime = DateTime.UtcNow.AddDays(-1),
            Tags = [new Amazon.EC2.Model.Tag("Backup", "yes")],
        };

        var run = bed.Invoke(@"
            $lookalike = [pscustomobject]@{ SnapshotId = $args[1]; VolumeId = 'vol-0123456789abcdef0'; State = 'completed';
                OwnerId = '123456789012'; Description = 'nightly'; Encrypted = $false; KmsKeyId = $null; VolumeSize = 8;
                Progress = '100%'; StartTime = [datetime]::UtcNow; Tags = @() }
            $args[0], $lookalike | Copy-AvSnapshot @aws -SourceRegion us-east-1 -DestinationRegion us-west-2", sdkSnapshot, ids[1]);

        Assert.True(run.Errors.Count == 0, run.Describe());
        Assert.Equal(ids.OrderBy(i => i), run.Results.Select(r => r.SourceSnapshotId).OrderBy(i => i));
        Assert.All(run.Results, r => Assert.False(r.Encrypted)); // the source's Encrypted/KmsKeyId do not bind
    }

    [Fact]
    public async Task GetEc2SnapshotLookalike_OfAnEncryptedSource_PassesNeitherEncryptedNorKmsKeyIdOn()
    {
        // Moved from the Pester file: what binds is the id; an object saying Encrypted = $true with a KmsKeyId of its own
        // (as Get-EC2Snapshot output of an encrypted snapshot does) does not make the copy encrypted.
        await using var bed = await CopyTestBed.StartAsync();
        var ids = bed.Seed(1, description: "nightly");
        var run = bed.Invoke(@"
            [pscustomobject]@{ SnapshotId = $args[0]; VolumeId = 'vol-0123456789abcdef0'; State = 'completed'; OwnerId = '123456789012'
                Description = 'nightly'; Encrypted = $true; KmsKeyId = 'alias/other'; VolumeSize = 8; Progress = '100%'; Tags = @() } |
                Copy-AvSnapshot @aws -SourceRegion us-east-1 -DestinationRegion us-west-2", ids[0]);

        Assert.True(run.Errors.Count == 0, run.Describe());
        var result = Assert.Single(run.Results);
        Assert.Equal(ids[0], result.SourceSnapshotId);
        Assert.False(result.Encrypted);
        Assert.False((await bed.DescribeAsync("us-west-2", result.SnapshotId!)).Encrypted);
    }

    [Fact]
    public async Task OwnResults_PipedOn_CopyTheCopiesFromWhereTheyLive()
    {
        await using var bed = await CopyTestBed.StartAsync();
        var ids = bed.Seed(2);

        var run = bed.Invoke(@"
            $global:first = @(Copy-AvSnapshot @aws -SnapshotId $args -SourceRegion us-east-1 -DestinationRegion us-west-2)
            $first | Copy-AvSnapshot @aws -DestinationRegion eu-west-1", ids[0], ids[1]);

        Assert.True(run.Errors.Count == 0, run.Describe());
        var first = bed.Host.Run("$first").Select(o => new SnapshotCopyResultView(o)).ToList();
        Assert.Equal(2, first.Count);
        Assert.Equal(2, run.Results.Count);
        foreach (var second in run.Results)
        {
            var from = Assert.Single(first, f => f.SnapshotId == second.SourceSnapshotId);
            Assert.Equal("us-west-2", second.SourceRegion); // where the first copy lives, not its own SourceRegion
            Assert.Equal("eu-west-1", second.Region);
            Assert.Equal("Completed", second.State);
            Assert.Equal("us-west-2", from.Region);
        }
    }

    [Fact]
    public async Task InvalidIds_FailParameterValidation_BeforeAnyCall()
    {
        await using var bed = await CopyTestBed.StartAsync();
        var run = bed.Invoke("Copy-AvSnapshot @aws -SnapshotId 'vol-0123456789abcdef0' -SourceRegion us-east-1");
        var error = run.Thrown as ParameterBindingException ?? (run.Errors.FirstOrDefault()?.Exception as ParameterBindingException);
        Assert.NotNull(error);
        Assert.Equal(0, bed.Emulator.GetStats().TotalCalls);
    }
}
