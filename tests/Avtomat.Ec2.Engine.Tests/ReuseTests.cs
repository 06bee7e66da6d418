using Avtomat.Ec2.Emulator;
using Avtomat.Ec2.Engine.Copy;
using Avtomat.Ec2.Engine.Tests.Support;

namespace Avtomat.Ec2.Engine.Tests;

/// <summary>What a re-run reuses, and only that: EC2's own Encrypted and KmsKeyId on an earlier copy decide (never the
/// avtomat:encryption tag alone), KMS aliases resolved to key ARNs; differences of description and tags are said and the
/// tags added; a run where every copy is reused ends without the twin check. Exact virtual time against the emulator,
/// each run on an engine of its own (a new process, in effect).</summary>
public sealed class ReuseTests : EngineTestBed
{
    private static CopyJobOptions Options(Action<CopyJobOptions>? configure = null)
    {
        var o = new CopyJobOptions { PollInterval = TimeSpan.FromSeconds(1) };
        configure?.Invoke(o);
        return o;
    }

    private static SnapshotCopyRequest Copy(string id, Action<SnapshotCopyRequest>? configure = null)
    {
        var r = new SnapshotCopyRequest { SourceSnapshotId = id, SourceRegion = East, DestinationRegion = West };
        configure?.Invoke(r);
        return r;
    }

    private JobOutcome RunNew(IEnumerable<SnapshotCopyRequest> requests, CopyJobOptions? options = null, SnapshotEngine? engine = null)
    {
        using var job = (engine ?? NewEngine()).StartCopyJob(_clients, options ?? Options(), default);
        foreach (var r in requests) job.Add(r);
        job.CompleteAdding();
        return Run(job);
    }

    private int CallsSince(string action, long after, string? region = null) => Calls(action, region).Count(c => c.Number > after);
    private long LastCall => _ec2.GetCalls().Select(c => c.Number).DefaultIfEmpty(0).Max();

    [Fact]
    public void EveryCopyReusedHoursLater_EndsWithItsResults_TwoDescribeCalls()
    {
        var ids = SeedSnapshots(East, 100);
        RunNew(ids.Select(id => Copy(id)));
        AdvanceTo(Now + TimeSpan.FromHours(3));
        var before = LastCall;

        var again = RunNew(ids.Select(id => Copy(id)));

        Assert.All(again.Finished, f => Assert.True(f.Result.Reused));
        // One look at the sources, one at their copies here; nothing after the results.
        Assert.Equal(2, CallsSince("DescribeSnapshots", before));
        Assert.Equal(TimeSpan.FromMilliseconds(100), again.Elapsed);
    }

    [Fact]
    public void OldCopiesOfOtherSources_DoNotDelayANewCopy_NoTwinCheck()
    {
        var ids = SeedSnapshots(East, 100);
        RunNew(ids.Take(99).Select(id => Copy(id)));
        AdvanceTo(Now + TimeSpan.FromHours(3));
        var before = LastCall;

        var again = RunNew(ids.Select(id => Copy(id)));

        Assert.Equal(99, again.Finished.Count(f => f.Result.Reused));
        // The new copy takes 4 s and is reported when it is seen completed: no settling look 5 s after its admission look
        // (hours-old copies stand for no run whose copies may still be invisible). Before: 5.53 s and 7 DescribeSnapshots.
        Assert.True(again.Elapsed < TimeSpan.FromSeconds(5), $"took {again.Elapsed}");
        Assert.Equal(5, CallsSince("DescribeSnapshots", before));
    }
}
