using Avtomat.Ec2.Emulator;
using Avtomat.Ec2.Engine.Copy;
using Avtomat.Ec2.Engine.Tests.Support;

namespace Avtomat.Ec2.Engine.Tests;

/// <summary>Time-based copies (-CompletionDurationMinutes) against the emulator's model of EC2's throughput quotas, in
/// exact virtual time: 500 MiB/s per copy, 2,000 MiB/s between one source and one destination region
/// (https://docs.aws.amazon.com/ebs/latest/userguide/time-based-copies.html). The emulator's copy details (late or not,
/// the throughput granted) are the truth the tests compare with.</summary>
public sealed class TimeBasedCopyTests : EngineTestBed
{
    private static CopyJobOptions Options(double? quota = null) => new()
    {
        PollInterval = TimeSpan.FromSeconds(1), VisibilityGrace = TimeSpan.FromSeconds(3),
        TimeBasedThroughputQuota = quota ?? CopyJobOptions.DefaultTimeBasedThroughputQuota,
    };

    private CopyJob Start(IEnumerable<string> ids, int minutes, double? quota = null)
    {
        var job = _engine.StartCopyJob(_clients, Options(quota), default);
        foreach (var id in ids)
            job.Add(new SnapshotCopyRequest { SourceSnapshotId = id, SourceRegion = East, DestinationRegion = West, CompletionDurationMinutes = minutes });
        job.CompleteAdding();
        return job;
    }

    [Fact]
    public void TwoHundredCopiesOf15Minutes_OverTheQuota_AllCompleteOnTime_NoneRefused()
    {
        // 100 GiB in 15 minutes needs 113.8 MiB/s: 17 fit under 2,000 MiB/s, so the window of 20 must not be filled.
        CopyDuration = TimeSpan.FromMinutes(15);
        var ids = SeedSnapshots(East, 200, sizeGiB: 100);
        var maxHeld = 0.0;
        // The plan first (read-only): 12 rounds of 17 at the quota instead of 10 of 20 in the window alone; the k-th copy
        // (largest first) starts in round k / 17 instead of k / 20, later for 143 of them.
        var planJob = NewEngine().StartPlanJob(_clients, Options(), default);
        foreach (var id in ids)
            planJob.Add(new SnapshotCopyRequest { SourceSnapshotId = id, SourceRegion = East, DestinationRegion = West, CompletionDurationMinutes = 15 });
        planJob.CompleteAdding();
        var plan = Planning.CopyPlan.From(Run(planJob).Finished.Select(f => f.Result!), new Planning.PriceTable(), 15);
        Assert.Equal(TimeSpan.FromMinutes(15 * 12), plan.PredictedMakespan);
        Assert.Equal(Enumerable.Range(0, 200).Count(k => k / 17 > k / 20), plan.WaitingForThroughput);
        var started = Now;

        var outcome = Run(Start(ids, 15), TimeSpan.FromHours(12), (_, _) =>
        {
            var held = _engine.Find(_clients, West)?.Throughput.Used(East) ?? 0;
            if (held > maxHeld) maxHeld = held;
        });

        Assert.Equal(200, outcome.Finished.Count(f => f.Result.State == SnapshotState.Completed));
        var details = _ec2.GetStats().CopyDetails.Values.Where(d => d.TransferType == "time-based").ToList();
        Assert.Equal(200, details.Count);
        Assert.All(details, d => Assert.False(d.Late, $"{d.Source} finished late at {d.GrantedMiBps:0.0} of {d.RequiredMiBps:0.0} MiB/s"));
        Assert.All(details, d => Assert.True(d.EndTime <= d.DueTime, $"{d.Source} ended {d.EndTime} after {d.DueTime}"));
        Assert.Empty(Calls("CopySnapshot").Where(c => c.ErrorCode == "ResourceLimitExceeded"));
        Assert.InRange(maxHeld, 17 * 113.7, 2000);
        Assert.Equal(17, MaxPendingCopies(West));
        Assert.InRange((outcome.EndedAt - started) / plan.PredictedMakespan, 1.0, 1.1);
    }

    [Fact]
    public void AQuotaRaisedForTheAccount_LetsMoreRunAtOnce()
    {
        CopyDuration = TimeSpan.FromMinutes(15);
        var ids = SeedSnapshots(East, 40, sizeGiB: 100);
        _ec2.Config.Limits.TimeBasedCopyThroughputMiBps = 3000;

        var outcome = Run(Start(ids, 15, quota: 3000), TimeSpan.FromHours(6));

        Assert.Equal(40, outcome.Finished.Count(f => f.Result.State == SnapshotState.Completed));
        Assert.All(_ec2.GetStats().CopyDetails.Values, d => Assert.False(d.Late));
        Assert.Equal(20, MaxPendingCopies(West)); // 26 would fit the quota: EC2's window of 20 is the limit now
    }

    [Fact]
    public void TimeBasedCopiesOfOneSnapshotToTwoRegions_RunOneAfterTheOther_EachOnTime()
    {
        CopyDuration = TimeSpan.FromMinutes(15);
        var ids = SeedSnapshots(East, 3, sizeGiB: 100);
        var job = _engine.StartCopyJob(_clients, Options(), default);
        foreach (var id in ids)
            foreach (var destination in new[] { West, "eu-west-1" })
                job.Add(new SnapshotCopyRequest { SourceSnapshotId = id, SourceRegion = East, DestinationRegion = destination, CompletionDurationMinutes = 15 });
        job.CompleteAdding();

        var outcome = Run(job, TimeSpan.FromHours(3));

        Assert.Equal(6, outcome.Finished.Count(f => f.Result.State == SnapshotState.Completed));
        var details = _ec2.GetStats().CopyDetails.Values.ToList();
        Assert.Equal(6, details.Count);
        Assert.All(details, d => Assert.False(d.Late));
        foreach (var group in details.GroupBy(d => d.Source))
        {
            var pair = group.OrderBy(d => d.StartTime).ToList();
            Assert.Equal(2, pair.Count);
            // The second was sent only once the first had ended: EC2 never held two of one snapshot at once.
            Assert.True(pair[1].StartTime >= pair[0].EndTime, $"{group.Key}: second sent {pair[1].StartTime}, first ended {pair[0].EndTime}");
        }
    }

    [Fact]
    public void ADurationShorterThan500MiBpsAllows_IsRefusedBeforeAnyCall_NamingTheShortest()
    {
        var id = SeedSnapshots(East, 1, sizeGiB: 1000)[0];

        var outcome = Run(Start([id], 15));

        var error = outcome.FinishedFor(id).Error!;
        Assert.Equal("CompletionDurationTooShort", error.ErrorId);
        Assert.Equal(EngineErrorCategory.InvalidArgument, error.Category);
        Assert.Contains("at least 45 minutes", error.Message); // 1,000 GiB at 500 MiB/s: 34.1 min, in steps of 15
        Assert.Contains("-CompletionDurationMinutes 45", error.RecommendedAction);
        Assert.Empty(Calls("CopySnapshot"));
    }
}
