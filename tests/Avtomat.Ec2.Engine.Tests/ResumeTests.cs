using Avtomat.Ec2.Emulator;
using Avtomat.Ec2.Engine.Copy;
using Avtomat.Ec2.Engine.Tests.Support;

namespace Avtomat.Ec2.Engine.Tests;

/// <summary>Run it again and nothing is copied twice: a copy job resumes from what earlier runs (or other processes)
/// copied, in exact virtual time against the emulator. Each run is on an engine of its own (a new process, in effect):
/// it knows of earlier runs only what EC2 says.</summary>
public sealed class ResumeTests : EngineTestBed
{
    private static CopyJobOptions Options(Action<CopyJobOptions>? configure = null)
    {
        var o = new CopyJobOptions { PollInterval = TimeSpan.FromSeconds(1), VisibilityGrace = TimeSpan.FromSeconds(5) };
        configure?.Invoke(o);
        return o;
    }

    private static SnapshotCopyRequest Copy(string id, Action<SnapshotCopyRequest>? configure = null)
    {
        var r = new SnapshotCopyRequest { SourceSnapshotId = id, SourceRegion = East, DestinationRegion = West };
        configure?.Invoke(r);
        return r;
    }

    /// <summary>A run on an engine of its own (a new process, in effect: the bed's clock moves only when every engine is
    /// idle), to its end in exact virtual time.</summary>
    private JobOutcome RunNew(IEnumerable<SnapshotCopyRequest> requests, CopyJobOptions? options = null,
        CancellationToken cancellationToken = default, Action<JobOutcome, DateTimeOffset>? onInstant = null)
    {
        using var job = NewEngine().StartCopyJob(_clients, options ?? Options(), cancellationToken);
        foreach (var r in requests) job.Add(r);
        job.CompleteAdding();
        return Run(job, onInstant: onInstant);
    }

    /// <summary>The copies of <paramref name="sourceId"/> that exist in us-west-2 now (any state).</summary>
    private int CopiesOf(string sourceId) =>
        OwnSnapshots(West).Count(s => s.Tags?.Any(t => t.Key == CopyTagNames.SourceSnapshotId && t.Value == sourceId) == true);

    private int CopyCalls => Calls("CopySnapshot").Count;

    [Fact]
    public void StoppedAfterTwentyStarted_RunAgain_WaitsForThoseAndCopiesTheRest_OneCopyPerSource()
    {
        CopyDuration = TimeSpan.FromMinutes(2);
        var ids = SeedSnapshots(East, 30);
        using var stop = new CancellationTokenSource();

        var first = RunNew(ids.Select(id => Copy(id)), cancellationToken: stop.Token,
            onInstant: (o, _) => { if (o.Accepted.Count == 20) stop.Cancel(); });
        Assert.Equal(20, first.Accepted.Count);
        Assert.Equal(20, CopyCalls);

        var second = RunNew(ids.Select(id => Copy(id)));

        Assert.Equal(30, second.Finished.Count);
        Assert.All(second.Finished, f => Assert.Equal(SnapshotState.Completed, f.Result.State));
        Assert.All(ids, id => Assert.Equal(1, CopiesOf(id)));
        // Only the 10 that were never started were copied (copies made in us-west-2, deleted or not).
        Assert.Equal(30, _ec2.GetStats().CopiesPerDestination.GetValueOrDefault($"{AccountId}/{West}"));
        var adopted = second.Finished.Where(f => f.Result.Reused).ToList();
        Assert.Equal(20, adopted.Count);
        Assert.All(adopted, f => Assert.Equal(first.Accepted.Single(a => a.Request!.SourceSnapshotId == f.Request!.SourceSnapshotId).Result.SnapshotId, f.Result.SnapshotId));
        Assert.Contains(second.Messages, m => m.Contains("still pending") && m.Contains("waiting for it instead of copying again"));
    }

    [Fact]
    public void CompletedEarlier_RunAgain_OutputsThemAsReused_WithoutACall_ForceCopiesAgain()
    {
        var ids = SeedSnapshots(East, 5);
        var first = RunNew(ids.Select(id => Copy(id)));
        Assert.All(first.Finished, f => Assert.False(f.Result.Reused));
        var copyCalls = CopyCalls;
        var lastCallBefore = _ec2.GetCalls().Max(c => c.Number);

        var again = RunNew(ids.Select(id => Copy(id)));

        Assert.Equal(copyCalls, CopyCalls);
        Assert.All(again.Finished, f =>
        {
            Assert.Equal(SnapshotState.Completed, f.Result.State);
            Assert.True(f.Result.Reused);
            Assert.Equal(first.FinishedFor(f.Request!.SourceSnapshotId).Result.SnapshotId, f.Result.SnapshotId);
            Assert.Null(f.Result.CompletionTime); // it ended long before this run
        });
        Assert.Contains(again.Messages, m => m.Contains("reused, copied") && m.Contains("ago by an earlier run"));
        Assert.Contains(again.Messages, m => m.Contains("0 copied") && m.Contains("(5 more reused from earlier runs)"));
        // One batched lookup for all five sources, not one each.
        var lookups = Calls("DescribeSnapshots", West).Where(c => c.Number > lastCallBefore).ToList();
        Assert.Single(lookups, c => c.FilterValues("tag:" + CopyTagNames.SourceSnapshotId).Count == 5);

        var forced = RunNew(ids.Select(id => Copy(id)), Options(o => o.CopyAgain = true));
        Assert.All(forced.Finished, f => Assert.False(f.Result.Reused));
        Assert.All(ids, id => Assert.Equal(2, CopiesOf(id)));
    }

    [Fact]
    public void OtherEncryption_OrACopyInError_IsNotReused()
    {
        var ids = SeedSnapshots(East, 2);
        RunNew(ids.Select(id => Copy(id)));
        Shape = info => info.IsCopy ? SnapshotShape.Fails(CopyDuration.TotalSeconds, "internal failure") : null;
        var failed = RunNew([Copy(ids[0], r => r.KmsKeyId = "alias/backup")]);
        Assert.Equal(SnapshotState.Failed, Assert.Single(failed.Finished).Result.State);
        Shape = null;

        // ids[0]: the plain copy does not match -KmsKeyId alias/backup, and the alias/backup copy is in error: copy again.
        var encrypted = RunNew([Copy(ids[0], r => r.KmsKeyId = "alias/backup"), Copy(ids[1], r => r.Encrypted = true)]);

        Assert.All(encrypted.Finished, f =>
        {
            Assert.Equal(SnapshotState.Completed, f.Result.State);
            Assert.False(f.Result.Reused);
        });
        Assert.Equal(3, CopiesOf(ids[0]));
        Assert.Equal(2, CopiesOf(ids[1]));
        var again = RunNew([Copy(ids[0], r => r.KmsKeyId = "alias/backup"), Copy(ids[1], r => r.Encrypted = true)]);
        Assert.All(again.Finished, f => Assert.True(f.Result.Reused));
    }

    [Fact]
    public void DryRun_SaysAnEarlierCopyWouldBeReused()
    {
        var ids = SeedSnapshots(East, 1);
        RunNew(ids.Select(id => Copy(id)));
        var calls = CopyCalls;

        var dry = RunNew(ids.Select(id => Copy(id)), Options(o => o.DryRun = true));

        var result = Assert.Single(dry.Finished).Result;
        Assert.Equal(SnapshotState.DryRun, result.State);
        Assert.Contains("would be reused", result.StatusMessage);
        Assert.Equal(calls, CopyCalls);
    }

    [Fact]
    public void SourceWithManyTags_CopyTags_KeepsOursAndTagParameter_DropsTheRestWithAWarning()
    {
        var tags = Enumerable.Range(0, 49).ToDictionary(i => $"team:{i:D2}", i => "x");
        var id = SeedSnapshot(East, tags: tags);

        var outcome = RunNew([Copy(id, r => { r.CopyTags = true; r.Tags = new Dictionary<string, string> { ["Backup"] = "daily" }; })]);

        var result = Assert.Single(outcome.Finished).Result;
        Assert.Equal(SnapshotState.Completed, result.State);
        Assert.Equal(50, result.Tags.Count);
        Assert.All(CopyTagNames.All, key => Assert.True(result.Tags.ContainsKey(key)));
        Assert.Equal("daily", result.Tags["Backup"]);
        // 49 + 1 + 6 = 56 (the lineage tags avtomat:source-volume-id and avtomat:source-start-time joined the four
        // provenance tags): the last six of the source's tags, in key order, gave way.
        Assert.Contains(outcome.Messages, m => m.Contains("6 of the source's tags were not copied: team:43, team:44, team:45, team:46, team:47, team:48"));
    }
}
