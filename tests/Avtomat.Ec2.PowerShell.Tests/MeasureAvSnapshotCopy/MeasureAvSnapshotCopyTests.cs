using System.Management.Automation;
using Avtomat.Ec2.Emulator;
using Avtomat.Ec2.Engine.Planning;
using Avtomat.Ec2.PowerShell.Tests.CopyAvSnapshot;
using Avtomat.Ec2.PowerShell.Tests.NewAvSnapshot;

namespace Avtomat.Ec2.PowerShell.Tests.MeasureAvSnapshotCopy;

/// <summary>Measure-AvSnapshotCopy, hosted against the emulator: one plan object, read-only calls, each row's Kind as the
/// emulator then copies it, and the cost as the emulator's transferred bytes times the price table.</summary>
public sealed class MeasureAvSnapshotCopyTests
{
    private const string Volume = "vol-0a1b2c3d4e5f60718";

    private static string SeedOfVolume(CopyTestBed bed) =>
        bed.Emulator.Seed(new SeedRequest { Region = "us-east-1", Snapshots = 1, SizeGiB = 10, State = "completed", VolumeId = Volume }).SnapshotIds[0];

    [Fact]
    public async Task OnePlan_ReadOnly_KindsAsTheEmulatorThenCopies_CostIsTransferredBytesTimesPrice()
    {
        await using var bed = await CopyTestBed.StartAsync();
        var fresh = bed.Seed(2);
        bed.Invoke("Copy-AvSnapshot @aws $args[0] -SourceRegion us-east-1 -DestinationRegion us-west-2", SeedOfVolume(bed));
        var later = SeedOfVolume(bed);
        var before = bed.Emulator.GetStats();

        var run = bed.Invoke("$args | Measure-AvSnapshotCopy @aws -SourceRegion us-east-1 -DestinationRegion us-west-2 -PriceTable @{ CrossRegionTransferPerGiB = 0.03 }",
            fresh[0], fresh[1], later);

        Assert.Null(run.Thrown);
        Assert.Empty(run.Errors);
        var plan = Assert.IsType<CopyPlan>(Assert.Single(run.Output).BaseObject);
        Assert.Equal(before.CopyDetails.Count, bed.Emulator.GetStats().CopyDetails.Count); // nothing copied
        Assert.Equal(3, plan.CopyCount);
        Assert.Equal(2, plan.Full);
        Assert.Equal(1, plan.Incremental);
        Assert.Equal(3, plan.Copies.Count);
        Assert.All(plan.Copies, r => Assert.False(string.IsNullOrEmpty(r.Reason)));
        Assert.True(plan.PredictedMakespan > TimeSpan.Zero);

        bed.Invoke("$args | Copy-AvSnapshot @aws -SourceRegion us-east-1 -DestinationRegion us-west-2", fresh[0], fresh[1], later);
        var made = bed.Emulator.GetStats().CopyDetails.Where(d => !before.CopyDetails.ContainsKey(d.Key)).Select(d => d.Value).ToList();
        foreach (var row in plan.Copies)
            Assert.Equal(row.Kind.ToString(), Assert.Single(made, d => d.Source == $"us-east-1/{row.SourceSnapshotId}").Kind);
        // Full copies move the volume size exactly as planned.
        var fullBytes = made.Where(d => d.Kind == "Full").Sum(d => d.TransferredBytes);
        Assert.Equal(plan.Copies.Where(r => r.Kind == Engine.Copy.CopyKind.Full).Sum(r => r.TransferCostUsd), fullBytes / (decimal)(1L << 30) * 0.03m);
    }

    [Fact]
    public async Task MissingSource_IsAnErrorRecordWithAStableId_AndThePlanLeavesItOut()
    {
        await using var bed = await CopyTestBed.StartAsync();
        bed.Host.UseVisibilityGrace(TimeSpan.FromSeconds(2));
        var ids = bed.Seed(1);
        var missing = CopyTestBed.MissingId();

        var run = bed.Invoke("$args | Measure-AvSnapshotCopy @aws -SourceRegion us-east-1 -DestinationRegion us-west-2", ids[0], missing);

        var plan = Assert.IsType<CopyPlan>(Assert.Single(run.Output).BaseObject);
        Assert.Equal(1, plan.CopyCount);
        var error = Assert.Single(run.Errors);
        Assert.StartsWith("SnapshotNotFound", error.FullyQualifiedErrorId);
    }

    [Theory]
    [InlineData("-DryRun", "PlanIsReadOnly")]
    [InlineData("-NoWait", "PlanIsReadOnly")]
    [InlineData("-PriceTable @{ Nonsense = 1 }", "PriceTableInvalid")]
    public async Task MeaninglessParameters_AreRefused_WithStableIds(string parameter, string errorId)
    {
        await using var bed = await CopyTestBed.StartAsync();
        var ids = bed.Seed(1);

        var run = bed.Invoke($"Measure-AvSnapshotCopy @aws $args[0] -SourceRegion us-east-1 -DestinationRegion us-west-2 {parameter}", ids[0]);

        var record = Assert.Single(run.Errors);
        Assert.Equal($"{errorId},Avtomat.Ec2.Commands.MeasureAvSnapshotCopyCommand", record.FullyQualifiedErrorId);
        Assert.Equal(ErrorCategory.InvalidArgument, record.CategoryInfo.Category);
        Assert.Empty(run.Output);
        Assert.Equal(0, bed.Emulator.GetStats().TotalCalls);
    }

    [Fact]
    public async Task DefaultViews_FitEightyColumns()
    {
        await using var bed = await CopyTestBed.StartAsync();
        var ids = bed.Seed(2);

        var text = bed.Invoke("$p = $args | Measure-AvSnapshotCopy @aws -SourceRegion us-east-1 -DestinationRegion us-west-2; " +
                              "($p | Out-String -Width 80) + ($p.Copies | Out-String -Width 80)", ids[0], ids[1]);

        var lines = string.Join("", text.Output.Select(o => o.ToString())).Split('\n');
        Assert.True(lines.Length > 5, text.Describe() + string.Join("\n", lines));
        Assert.Contains(lines, l => l.StartsWith("Copies ", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Contains("Full") && l.Contains("us-west-2"));
        Assert.All(lines, l => Assert.True(l.TrimEnd().Length <= 80, l));
        // Every cell is a value: a row reads "… Full  8  0:02:00  0.16" (GiB, expected duration, cost), never a format string.
        Assert.DoesNotContain(lines, l => l.Contains('{') || l.Contains('…'));
        Assert.Contains(lines, l => System.Text.RegularExpressions.Regex.IsMatch(l, @"Full\s+\d+(\.\d)?\s+\d+:\d\d:\d\d\s+\d+\.\d\d\s*$"));
    }
}
