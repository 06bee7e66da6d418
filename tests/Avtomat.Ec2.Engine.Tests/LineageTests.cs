using Amazon.EC2.Model;
using Avtomat.Ec2.Emulator;
using Avtomat.Ec2.Engine.Copy;
using Avtomat.Ec2.Engine.Planning;
using Avtomat.Ec2.Engine.Tests.Support;

namespace Avtomat.Ec2.Engine.Tests;

/// <summary>Lineage in EC2: each copy carries its source volume and start time, and a later run (an engine of its own: a
/// new process) finds the destination's copies of each volume through one batched lookup and applies EC2's rules for
/// full and incremental copies (docs.aws.amazon.com/ebs/latest/userguide/ebs-copy-snapshot.html, incremental snapshot
/// copying). Plans (Measure-AvSnapshotCopy) make read-only calls only. Exact virtual time against the emulator.</summary>
public sealed class LineageTests : EngineTestBed
{
    private const string Volume = "vol-0a1b2c3d4e5f60718";

    private static CopyJobOptions Options() => new() { PollInterval = TimeSpan.FromSeconds(1), VisibilityGrace = TimeSpan.FromSeconds(5) };

    private static SnapshotCopyRequest Copy(string id, string? kmsKeyId = null) =>
        new() { SourceSnapshotId = id, SourceRegion = East, DestinationRegion = West, KmsKeyId = kmsKeyId, Encrypted = kmsKeyId is not null };

    private string SeedOfVolume(int sizeGiB = 8) =>
        _ec2.Seed(new SeedRequest { Region = East, Snapshots = 1, SizeGiB = sizeGiB, State = "completed", VolumeId = Volume }).SnapshotIds[0];

    private SnapshotCopyResult CopyNew(SnapshotCopyRequest request)
    {
        using var job = NewEngine().StartCopyJob(_clients, Options(), CancellationToken.None);
        job.Add(request);
        job.CompleteAdding();
        return Assert.Single(Run(job).Finished).Result!;
    }

    /// <summary>What the emulator did with the copy (its Kind is the truth).</summary>
    private CopyStats Truth(SnapshotCopyResult copy) => _ec2.GetStats().CopyDetails[copy.SnapshotId!];

    private List<SnapshotCopyResult> PlanNew(params SnapshotCopyRequest[] requests)
    {
        using var job = NewEngine().StartPlanJob(_clients, Options(), CancellationToken.None);
        foreach (var r in requests) job.Add(r);
        job.CompleteAdding();
        return Run(job).Finished.Select(f => f.Result!).ToList();
    }

    [Fact]
    public void FirstCopyToARegion_IsFull_AndCarriesTheLineageTags()
    {
        var id = SeedOfVolume();

        var plan = Assert.Single(PlanNew(Copy(id)));
        var copy = CopyNew(Copy(id));

        Assert.Equal(CopyKind.Full, plan.Kind);
        Assert.Contains($"first copy of {Volume} to {West}", plan.KindReason);
        Assert.Equal(CopyKind.Full, copy.Kind);
        Assert.Equal("Full", Truth(copy).Kind);
        Assert.Equal(Volume, copy.Tags[CopyTagNames.SourceVolumeId]);
        Assert.Matches(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$", copy.Tags[CopyTagNames.SourceStartTime]);
    }

    [Fact]
    public void LaterSnapshotOfTheVolume_CopiedByAnEarlierEngine_IsIncrementalAgainstThatCopy()
    {
        var first = CopyNew(Copy(SeedOfVolume()));
        var later = SeedOfVolume();

        var plan = Assert.Single(PlanNew(Copy(later)));
        var copy = CopyNew(Copy(later));

        Assert.Equal(CopyKind.Incremental, plan.Kind);
        Assert.Equal($"incremental against {first.SnapshotId}", plan.KindReason);
        Assert.Equal(CopyKind.Incremental, copy.Kind);
        Assert.Equal("Incremental", Truth(copy).Kind);
        Assert.Equal(first.SnapshotId, Truth(copy).BaseSnapshotId);
    }

    [Fact]
    public void ANewKmsKey_IsFull()
    {
        CopyNew(Copy(SeedOfVolume()));
        var key = _ec2.CreateKmsKey(AccountId, West, "alias/dr").Arn;
        var later = SeedOfVolume();

        var plan = Assert.Single(PlanNew(Copy(later, key)));
        var copy = CopyNew(Copy(later, key));

        Assert.Equal(CopyKind.Full, plan.Kind);
        Assert.Contains("a new key", plan.KindReason);
        Assert.Equal("Full", Truth(copy).Kind);
    }

    [Fact]
    public void TheEarlierCopyDeleted_IsFull()
    {
        var first = CopyNew(Copy(SeedOfVolume()));
        _clients.For(West).DeleteSnapshotAsync(new DeleteSnapshotRequest { SnapshotId = first.SnapshotId }).GetAwaiter().GetResult();
        var later = SeedOfVolume();

        var plan = Assert.Single(PlanNew(Copy(later)));
        var copy = CopyNew(Copy(later));

        Assert.Equal(CopyKind.Full, plan.Kind);
        Assert.Contains("first copy", plan.KindReason);
        Assert.Equal("Full", Truth(copy).Kind);
    }

    [Fact]
    public void APlan_MakesReadOnlyCallsOnly_OneLineageLookupForManyVolumes_AndSumsUp()
    {
        var ids = SeedSnapshots(East, 30, sizeGiB: 100);
        var prices = new PriceTable { CrossRegionTransferPerGiB = 0.02m };

        var results = PlanNew(ids.Select(id => Copy(id)).ToArray());
        var plan = CopyPlan.From(results, prices);

        Assert.Empty(Calls("CopySnapshot"));
        Assert.Empty(Calls("CreateTags"));
        // 30 volumes in one batched lineage lookup, the copies-of lookup, the pending copies, the source check.
        Assert.True(Calls("DescribeSnapshots", West).Count <= 3, $"{Calls("DescribeSnapshots", West).Count} DescribeSnapshots in {West}");
        Assert.Equal(30, plan.CopyCount);
        Assert.Equal(30, plan.Copies.Count);
        Assert.Equal(30, plan.Full);
        Assert.Equal(3000, plan.TransferGiB);
        Assert.Equal(60m, plan.TransferCostUsd);
        Assert.Equal(150m, plan.MonthlyStorageUsd);
        // Nothing learned: the stated default of 15 s per GiB; 30 equal copies over a window of 20: two rounds.
        Assert.All(results, r => Assert.Equal(TimeSpan.FromSeconds(1500), r.ExpectedDuration));
        Assert.Equal(TimeSpan.FromSeconds(3000), plan.PredictedMakespan);

        // Then copied: every copy is full as planned, and the cost is the emulator's transferred bytes times the price.
        using var job = NewEngine().StartCopyJob(_clients, Options(), CancellationToken.None);
        foreach (var id in ids) job.Add(Copy(id));
        job.CompleteAdding();
        Run(job);
        var stats = _ec2.GetStats();
        Assert.All(stats.CopyDetails.Values, d => Assert.Equal("Full", d.Kind));
        Assert.Equal(plan.TransferCostUsd, stats.TransferredBytes / (decimal)(1L << 30) * prices.CrossRegionTransferPerGiB);
    }
}
