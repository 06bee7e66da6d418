using Avtomat.Ec2.Emulator;
using Avtomat.Ec2.Engine.Copy;
using Avtomat.Ec2.Engine.Planning;
using EngineDurations = Avtomat.Ec2.Engine.Scheduling.DurationModel;
using Avtomat.Ec2.Engine.Tests.Support;
using Xunit.Abstractions;

namespace Avtomat.Ec2.Engine.Tests;

/// <summary>Issue 18's measure: a plan of 200 sources of mixed lineage (an earlier copy of the volume in the destination
/// made by an earlier process; an earlier copy but a new KMS key; never copied), then the copy run that follows, in exact
/// virtual time against the emulator, whose copy details (kind, transferred bytes) are the truth.</summary>
public sealed class PlanThenCopyTests(ITestOutputHelper output) : EngineTestBed
{
    private readonly HashSet<string> _incremental = new(StringComparer.Ordinal);

    private static CopyJobOptions Options() => new() { PollInterval = TimeSpan.FromSeconds(1), VisibilityGrace = TimeSpan.FromSeconds(5) };

    [Fact]
    public void APlanOf200MixedLineages_SaysEachKindAsEc2DoesIt_CostsWhatIsTransferred_AndPredictsTheMakespanWithin10Percent()
    {
        // Copies take 10 s per GiB, incremental ones a tenth (the share of changed blocks the emulator transfers too).
        _ec2.Config.Durations.IncrementalChangedShare = EngineDurations.IncrementalShare;
        Shape = info => info.IsCopy
            ? SnapshotShape.Takes(info.VolumeSizeGiB * 10.0 * (_incremental.Contains(info.SourceSnapshotId!) ? EngineDurations.IncrementalShare : 1))
            : null;
        var random = new Random(18);
        var volumes = Enumerable.Range(0, 200).Select(i => (Volume: $"vol-{i:x17}", Size: 20 + random.Next(181))).ToList();
        var generations = volumes.Select(v => _ec2.Seed(new SeedRequest
        {
            Region = East, Snapshots = 3, SizeGiB = v.Size, State = "completed", VolumeId = v.Volume,
        }).SnapshotIds).ToList();
        var copiedBefore = Enumerable.Range(0, 140).ToList();       // an earlier process copied generations 1 and 2
        var newKey = Enumerable.Range(100, 40).ToHashSet();          // ... but these now go to a new key
        foreach (var i in copiedBefore) _incremental.Add(generations[i][1]);
        foreach (var i in copiedBefore.Where(i => !newKey.Contains(i))) _incremental.Add(generations[i][2]);
        SnapshotCopyRequest Request(int i, int generation) => new()
        {
            SourceSnapshotId = generations[i][generation], SourceRegion = East, DestinationRegion = West,
            KmsKeyId = generation == 2 && newKey.Contains(i) ? "alias/new-key" : null,
        };
        var earlier = NewEngine();
        foreach (var generation in new[] { 0, 1 })
        {
            var job = earlier.StartCopyJob(_clients, Options(), default);
            foreach (var i in copiedBefore) job.Add(Request(i, generation));
            job.CompleteAdding();
            Assert.All(Run(job, TimeSpan.FromDays(2)).Finished, f => Assert.Equal(SnapshotState.Completed, f.Result.State));
        }
        var before = _ec2.GetStats().CopyDetails.Keys.ToHashSet();

        // A new process plans, then copies.
        var engine = NewEngine();
        var planJob = engine.StartPlanJob(_clients, Options(), default);
        for (var i = 0; i < 200; i++) planJob.Add(Request(i, 2));
        planJob.CompleteAdding();
        var prices = new PriceTable();
        var plan = CopyPlan.From(Run(planJob).Finished.Select(f => f.Result!), prices);
        var started = Now;
        var copyJob = engine.StartCopyJob(_clients, Options(), default);
        for (var i = 0; i < 200; i++) copyJob.Add(Request(i, 2));
        copyJob.CompleteAdding();
        var run = Run(copyJob, TimeSpan.FromDays(2));
        var makespan = run.EndedAt - started;

        Assert.All(run.Finished, f => Assert.Equal(SnapshotState.Completed, f.Result.State));
        var truth = _ec2.GetStats().CopyDetails.Where(d => !before.Contains(d.Key)).Select(d => d.Value).ToDictionary(d => d.Source.Split('/')[1]);
        Assert.Equal(200, plan.CopyCount);
        Assert.Equal(200, truth.Count);
        foreach (var row in plan.Copies)
            Assert.True(truth[row.SourceSnapshotId].Kind == row.Kind.ToString(),
                $"{row.SourceSnapshotId}: planned {row.Kind} ({row.Reason}), EC2 made {truth[row.SourceSnapshotId].Kind} ({truth[row.SourceSnapshotId].Reason})");
        Assert.Equal(100, plan.Incremental);
        Assert.Equal(100, plan.Full);
        var transferredGiB = truth.Values.Sum(d => d.TransferredBytes) / (decimal)(1L << 30);
        Assert.Equal(Math.Round(transferredGiB * prices.CrossRegionTransferPerGiB, 2), Math.Round(plan.TransferCostUsd, 2));
        output.WriteLine($"plan: {plan.Full} full, {plan.Incremental} incremental, {plan.TransferGiB:0.0} GiB, ${plan.CostUsd:0.00}, " +
                         $"predicted {plan.PredictedMakespan}; run: {makespan}, {transferredGiB:0.0} GiB");
        var ratio = plan.PredictedMakespan.TotalSeconds / makespan.TotalSeconds;
        Assert.InRange(ratio, 0.9, 1.1);
    }
}
