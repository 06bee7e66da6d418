using System.Management.Automation;

namespace Avtomat.Ec2.PowerShell.Tests.CopyAvSnapshot;

/// <summary>Every parameter, end to end against the emulator.</summary>
public sealed class CopyAvSnapshotParameterTests
{
    [Fact]
    public async Task DestinationRegion_FansOut_OneResultPerSnapshotAndDestination()
    {
        await using var bed = await CopyTestBed.StartAsync();
        var ids = bed.Seed(2);
        var run = bed.Invoke("$args | Copy-AvSnapshot @aws -SourceRegion us-east-1 -DestinationRegion us-west-2, eu-west-1", ids[0], ids[1]);

        Assert.True(run.Errors.Count == 0, run.Describe());
        Assert.Equal(4, run.Results.Count);
        foreach (var id in ids)
        {
            Assert.Equal(new[] { "eu-west-1", "us-west-2" }, run.Results.Where(r => r.SourceSnapshotId == id).Select(r => r.Region).OrderBy(r => r));
        }
        Assert.Equal(2, bed.CopiesIn("us-west-2"));
        Assert.Equal(2, bed.CopiesIn("eu-west-1"));
    }

    [Fact]
    public async Task Encrypted_AndKmsKeyId_AreOnTheCopies()
    {
        await using var bed = await CopyTestBed.StartAsync();
        var ids = bed.Seed(2);
        var run = bed.Invoke(@"
            Copy-AvSnapshot @aws $args[0] -SourceRegion us-east-1 -DestinationRegion us-west-2 -Encrypted
            Copy-AvSnapshot @aws $args[1] -SourceRegion us-east-1 -DestinationRegion us-west-2 -KmsKeyId alias/dr-backup", ids[0], ids[1]);

        Assert.True(run.Errors.Count == 0, run.Describe());
        var byDefaultKey = Assert.Single(run.Results, r => r.SourceSnapshotId == ids[0]);
        var byAlias = Assert.Single(run.Results, r => r.SourceSnapshotId == ids[1]);
        Assert.True(byDefaultKey.Encrypted);
        Assert.True(byAlias.Encrypted); // -KmsKeyId implies -Encrypted
        Assert.NotEqual(byDefaultKey.KmsKeyId, byAlias.KmsKeyId); // the results say which key, as EC2 does below
        var defaultCopy = await bed.DescribeAsync("us-west-2", byDefaultKey.SnapshotId!);
        var aliasCopy = await bed.DescribeAsync("us-west-2", byAlias.SnapshotId!);
        Assert.True(defaultCopy.Encrypted);
        Assert.True(aliasCopy.Encrypted);
        Assert.NotEqual(defaultCopy.KmsKeyId, aliasCopy.KmsKeyId);
        Assert.StartsWith("arn:aws:kms:us-west-2:", aliasCopy.KmsKeyId);
    }

    [Fact]
    public async Task Description_Template_IsExpanded()
    {
        await using var bed = await CopyTestBed.StartAsync();
        var ids = bed.Seed(1, description: "nightly db");
        var run = bed.Invoke(@"
            Copy-AvSnapshot @aws $args[0] -SourceRegion us-east-1 -DestinationRegion us-west-2 -Description 'DR {SourceSnapshotId}@{SourceRegion}: {SourceDescription}'
            Copy-AvSnapshot @aws $args[0] -SourceRegion us-east-1 -DestinationRegion eu-west-1", ids[0]);

        Assert.True(run.Errors.Count == 0, run.Describe());
        var custom = Assert.Single(run.Results, r => r.Region == "us-west-2");
        var standard = Assert.Single(run.Results, r => r.Region == "eu-west-1");
        Assert.Equal($"DR {ids[0]}@us-east-1: nightly db", custom.Description); // the result carries it too
        Assert.Equal($"DR {ids[0]}@us-east-1: nightly db", (await bed.DescribeAsync("us-west-2", custom.SnapshotId!)).Description);
        Assert.Equal($"Copy of {ids[0]} from us-east-1", (await bed.DescribeAsync("eu-west-1", standard.SnapshotId!)).Description);
    }

    [Fact]
    public async Task Tag_AndCopyTags_AreOnTheCopies_SkippingAwsKeys()
    {
        await using var bed = await CopyTestBed.StartAsync();
        var ids = bed.Seed(1, tags: new() { ["Backup"] = "yes", ["Team"] = "db", ["aws:backup:source-resource"] = "vol-1" });
        var run = bed.Invoke("Copy-AvSnapshot @aws $args[0] -SourceRegion us-east-1 -DestinationRegion us-west-2 -Tag @{ Purpose = 'dr'; Team = 'ops' } -CopyTags", ids[0]);

        Assert.True(run.Errors.Count == 0, run.Describe());
        var result = Assert.Single(run.Results);
        // The result's tags, as the cmdlet reports them...
        Assert.Equal("dr", result.Tags["Purpose"]);
        Assert.Equal("yes", result.Tags["Backup"]);
        Assert.DoesNotContain(result.Tags.Keys, k => k.StartsWith("aws:", StringComparison.Ordinal));
        // ...and what EC2 holds.
        var copy = await bed.DescribeAsync("us-west-2", result.SnapshotId!);
        var tags = copy.Tags.ToDictionary(t => t.Key, t => t.Value);
        Assert.Equal("yes", tags["Backup"]);
        Assert.Equal("dr", tags["Purpose"]);
        Assert.Equal("ops", tags["Team"]); // -Tag wins over the copied tag
        Assert.DoesNotContain(tags.Keys, k => k.StartsWith("aws:", StringComparison.Ordinal));
        Assert.Equal(ids[0], tags["avtomat:source-snapshot-id"]);
        Assert.Equal("us-east-1", tags["avtomat:source-region"]);
    }

    [Theory]
    [InlineData("@{ 'aws:owner' = 'x' }", "ReservedTagKey")]
    [InlineData("@{ 'avtomat:source-region' = 'x' }", "ReservedTagKey")]
    [InlineData("@{ ('k' * 129) = 'x' }", "InvalidTagKey")]
    [InlineData("@{ 'k' = ('v' * 257) }", "InvalidTagValue")]
    public async Task Tag_InvalidKeysOrValues_AreTerminatingErrors_BeforeAnyCall(string table, string errorId)
    {
        await using var bed = await CopyTestBed.StartAsync();
        var run = bed.Invoke($"Copy-AvSnapshot @aws snap-0123456789abcdef0 -SourceRegion us-east-1 -Tag {table}");
        var error = Assert.Single(run.Errors);
        Assert.Equal($"{errorId},Avtomat.Ec2.Commands.CopyAvSnapshotCommand", error.FullyQualifiedErrorId);
        Assert.Equal(ErrorCategory.InvalidArgument, error.CategoryInfo.Category);
        Assert.Equal(0, bed.Emulator.GetStats().TotalCalls);
    }

    [Theory]
    [InlineData(10)]
    [InlineData(20)]
    [InlineData(2895)]
    public async Task CompletionDurationMinutes_OutsideRangeOrSteps_FailsValidation(int minutes)
    {
        await using var bed = await CopyTestBed.StartAsync();
        var run = bed.Invoke($"Copy-AvSnapshot @aws snap-0123456789abcdef0 -SourceRegion us-east-1 -CompletionDurationMinutes {minutes}");
        var error = Assert.Single(run.Errors);
        Assert.IsAssignableFrom<ParameterBindingException>(error.Exception);
        Assert.Equal(0, bed.Emulator.GetStats().TotalCalls);
    }

    [Fact]
    public async Task CompletionDurationMinutes_MakesATimeBasedCopy()
    {
        await using var bed = await CopyTestBed.StartAsync();
        var ids = bed.Seed(1);
        var run = bed.Invoke("Copy-AvSnapshot @aws $args[0] -SourceRegion us-east-1 -DestinationRegion us-west-2 -CompletionDurationMinutes 30", ids[0]);
        Assert.True(run.Errors.Count == 0, run.Describe());
        var copy = await bed.DescribeAsync("us-west-2", Assert.Single(run.Results).SnapshotId!);
        Assert.Equal(30, copy.CompletionDurationMinutes);
    }

    [Fact]
    public async Task ThrottleLimit_IsRespectedPerDestination()
    {
        await using var bed = await CopyTestBed.StartAsync(copySeconds: 0.4);
        var ids = bed.Seed(6);
        var run = bed.Invoke("$args | Copy-AvSnapshot @aws -SourceRegion us-east-1 -DestinationRegion us-west-2 -PendingLimit 2", ids.Cast<object>().ToArray());

        Assert.True(run.Errors.Count == 0, run.Describe());
        Assert.Equal(6, run.Results.Count(r => r.State == "Completed"));
        Assert.InRange(bed.MaxPendingIn("us-west-2"), 1, 2);
    }

    [Theory]
    [InlineData("-ThrottleLimit 0")]
    [InlineData("-ThrottleLimit 101")]
    [InlineData("-Timeout 0")]
    [InlineData("-Timeout -2")]
    [InlineData("-SourceRegion US_EAST")]
    [InlineData("-DestinationRegion 'us-west-2', 'nowhere'")]
    public async Task OutOfRangeValues_FailParameterValidation(string parameters)
    {
        await using var bed = await CopyTestBed.StartAsync();
        var run = bed.Invoke($"Copy-AvSnapshot @aws snap-0123456789abcdef0 -Region us-east-1 {parameters}".Replace("-Region us-east-1 -SourceRegion", "-SourceRegion"));
        var error = Assert.Single(run.Errors);
        Assert.IsAssignableFrom<ParameterBindingException>(error.Exception);
        Assert.Equal(0, bed.Emulator.GetStats().TotalCalls);
    }

    [Fact]
    public async Task UnknownButWellFormedRegion_IsUsedWithAWarning()
    {
        await using var bed = await CopyTestBed.StartAsync();
        var run = bed.Invoke("Copy-AvSnapshot @aws snap-0123456789abcdef0 -SourceRegion us-east-1 -DestinationRegion xx-newplace-1 -WhatIf");
        Assert.Contains(run.Warnings, w => w.Contains("xx-newplace-1", StringComparison.Ordinal));
        Assert.Empty(run.Errors);
    }

    [Fact]
    public async Task Timeout_GivesTimedOutResults_WithTheNewIds_AndOperationTimeoutErrors()
    {
        await using var bed = await CopyTestBed.StartAsync(copySeconds: 60);
        var ids = bed.Seed(2);
        var run = bed.Invoke("$args | Copy-AvSnapshot @aws -SourceRegion us-east-1 -DestinationRegion us-west-2 -TimeoutSec 3", ids[0], ids[1]);

        Assert.InRange(run.Elapsed, TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(20));
        Assert.Equal(2, run.Results.Count);
        Assert.All(run.Results, r =>
        {
            Assert.Equal("TimedOut", r.State);
            Assert.StartsWith("snap-", r.SnapshotId); // the copy keeps running in EC2: its id is reported
        });
        Assert.Equal(2, run.Errors.Count);
        Assert.All(run.Errors, e =>
        {
            Assert.Equal(ErrorCategory.OperationTimeout, e.CategoryInfo.Category);
            Assert.EndsWith(",Avtomat.Ec2.Commands.CopyAvSnapshotCommand", e.FullyQualifiedErrorId);
            Assert.Contains(e.TargetObject as string, run.Results.Select(r => r.SnapshotId));
            Assert.False(string.IsNullOrEmpty(e.ErrorDetails?.RecommendedAction));
        });
        // One error per copy: the errors name exactly the copies that timed out.
        Assert.Equal(run.Results.Select(r => r.SnapshotId).OrderBy(i => i), run.Errors.Select(e => e.TargetObject as string).OrderBy(i => i));
    }

    [Fact]
    public async Task DryRun_ReportsDryRunResults_AndCopiesNothing()
    {
        await using var bed = await CopyTestBed.StartAsync();
        var ids = bed.Seed(2);
        var run = bed.Invoke("$args | Copy-AvSnapshot @aws -SourceRegion us-east-1 -DestinationRegion us-west-2 -DryRun", ids[0], ids[1]);

        Assert.True(run.Errors.Count == 0, run.Describe());
        Assert.Equal(2, run.Results.Count);
        Assert.All(run.Results, r =>
        {
            Assert.Equal("DryRun", r.State);
            Assert.Null(r.SnapshotId);
        });
        Assert.Equal(0, bed.CopiesIn("us-west-2"));
        Assert.True(bed.Emulator.GetStats().Errors.GetValueOrDefault("CopySnapshot")?.GetValueOrDefault("DryRunOperation") >= 2);
    }

    [Fact]
    public async Task WhatIf_MakesNoCallsAtAll()
    {
        await using var bed = await CopyTestBed.StartAsync();
        var ids = bed.Seed(2);
        var run = bed.Invoke(@"
            $args | Copy-AvSnapshot @aws -SourceRegion us-east-1 -DestinationRegion us-west-2, eu-west-1 -WhatIf
            $args | Copy-AvSnapshot @aws -Region us-east-1 -WhatIf
            $WhatIfPreference = $true
            Copy-AvSnapshot @aws $args[0] -Region us-east-1 -Encrypted", ids[0], ids[1]);

        Assert.True(run.Errors.Count == 0, run.Describe());
        Assert.Empty(run.Output);
        Assert.Equal(0, bed.Emulator.GetStats().TotalCalls);
    }

    [Fact]
    public async Task Outpost_Destination_IsEncrypted_AndItsRulesAreCheckedBeforeAnyCall()
    {
        await using var bed = await CopyTestBed.StartAsync();
        var ids = bed.Seed(1, "us-west-2");
        const string outpost = "arn:aws:outposts:us-west-2:123456789012:outpost/op-0123456789abcdef0";

        var wrongRegion = bed.Invoke("Copy-AvSnapshot @aws $args[0] -SourceRegion us-west-2 -DestinationOutpostArn $args[1] -DestinationRegion eu-west-1", ids[0], outpost);
        Assert.Equal("OutpostRegionMismatch,Avtomat.Ec2.Commands.CopyAvSnapshotCommand", Assert.Single(wrongRegion.Errors).FullyQualifiedErrorId);

        var malformed = bed.Invoke("Copy-AvSnapshot @aws $args[0] -SourceRegion us-west-2 -DestinationOutpostArn arn:aws:outposts:nowhere", ids[0]);
        Assert.Equal("InvalidOutpostArn,Avtomat.Ec2.Commands.CopyAvSnapshotCommand", Assert.Single(malformed.Errors).FullyQualifiedErrorId);

        var both = bed.Invoke("Copy-AvSnapshot @aws $args[0] -SourceRegion us-west-2 -DestinationOutpostArn $args[1] -DestinationAvailabilityZone us-west-2-lax-1a", ids[0], outpost);
        Assert.IsAssignableFrom<ParameterBindingException>(Assert.Single(both.Errors).Exception);

        var foreignKey = bed.Invoke("Copy-AvSnapshot @aws $args[0] -SourceRegion us-west-2 -DestinationRegion us-west-2 -KmsKeyId arn:aws:kms:eu-west-1:123456789012:key/11111111-2222-3333-4444-555555555555", ids[0]);
        Assert.Equal("KmsKeyRegionMismatch,Avtomat.Ec2.Commands.CopyAvSnapshotCommand", Assert.Single(foreignKey.Errors).FullyQualifiedErrorId);
        Assert.Equal(0, bed.Emulator.GetStats().TotalCalls);

        var copied = bed.Invoke("Copy-AvSnapshot @aws $args[0] -SourceRegion us-west-2 -DestinationOutpostArn $args[1]", ids[0], outpost);
        Assert.True(copied.Errors.Count == 0, copied.Describe());
        var result = Assert.Single(copied.Results);
        Assert.Equal("us-west-2", result.Region);
        Assert.Equal(outpost, result.DestinationOutpostArn);
        Assert.True(result.Encrypted);
        var copy = await bed.DescribeAsync("us-west-2", result.SnapshotId!);
        Assert.Equal(outpost, copy.OutpostArn);
        Assert.True(copy.Encrypted);
    }
}
