using Avtomat.Ec2.Engine.Copy;
using Avtomat.Ec2.Engine.Tests.Support;
using Microsoft.Extensions.Time.Testing;

namespace Avtomat.Ec2.Engine.Tests;

/// <summary>Run it again and nothing is copied twice: a copy job resumes from what earlier runs (or other processes)
/// copied, in virtual time against the fake EC2.</summary>
[Collection(VirtualTimeCollection.Name)]
public sealed class ResumeTests
{
    private const string East = "us-east-1";
    private const string West = "us-west-2";

    private readonly FakeTimeProvider _clock = new(new DateTimeOffset(2026, 3, 4, 5, 6, 7, TimeSpan.Zero));
    private readonly FakeEc2 _ec2;
    private readonly FakeClientSource _clients;

    public ResumeTests()
    {
        _ec2 = new FakeEc2(_clock);
        _clients = new FakeClientSource(_ec2);
    }

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

    /// <summary>A run on an engine of its own (a new process, in effect).</summary>
    private async Task<JobOutcome> RunAsync(IEnumerable<SnapshotCopyRequest> requests, CopyJobOptions? options = null,
        CancellationToken cancellationToken = default, Action<JobOutcome, DateTimeOffset>? onStep = null)
    {
        var engine = new SnapshotEngine(_clock);
        using var job = engine.StartCopyJob(_clients, options ?? Options(), cancellationToken);
        foreach (var r in requests) job.Add(r);
        job.CompleteAdding();
        return await VirtualTime.RunAsync(job, _clock, maxVirtual: TimeSpan.FromHours(2), onStep: onStep);
    }

    private int CopiesOf(string sourceId) => _ec2.Snapshots.Values.Count(s => s.IsCopy && s.SourceId == sourceId && s.Region == West);

    [Fact]
    public async Task StoppedAfterTwentyStarted_RunAgain_WaitsForThoseAndCopiesTheRest_OneCopyPerSource()
    {
        _ec2.CopyDuration = TimeSpan.FromMinutes(2);
        var ids = _ec2.SeedMany(East, 30);
        using var stop = new CancellationTokenSource();

        var first = await RunAsync(ids.Select(id => Copy(id)), cancellationToken: stop.Token,
            onStep: (o, _) => { if (o.Accepted.Count == 20) stop.Cancel(); });
        Assert.Equal(20, first.Accepted.Count);
        Assert.Equal(20, _ec2.CopyCalls);

        var second = await RunAsync(ids.Select(id => Copy(id)));

        Assert.Equal(30, second.Finished.Count);
        Assert.All(second.Finished, f => Assert.Equal(SnapshotState.Completed, f.Result.State));
        Assert.All(ids, id => Assert.Equal(1, CopiesOf(id)));
        Assert.Equal(30, _ec2.Snapshots.Values.Count(s => s.IsCopy)); // only the 10 that were never started were copied
        var adopted = second.Finished.Where(f => f.Result.Reused).ToList();
        Assert.Equal(20, adopted.Count);
        Assert.All(adopted, f => Assert.Equal(first.Accepted.Single(a => a.Request!.SourceSnapshotId == f.Request!.SourceSnapshotId).Result.SnapshotId, f.Result.SnapshotId));
        Assert.Contains(second.Messages, m => m.Contains("still pending") && m.Contains("waiting for it instead of copying again"));
    }

    [Fact]
    public async Task CompletedEarlier_RunAgain_OutputsThemAsReused_WithoutACall_ForceCopiesAgain()
    {
        var ids = _ec2.SeedMany(East, 5);
        var first = await RunAsync(ids.Select(id => Copy(id)));
        Assert.All(first.Finished, f => Assert.False(f.Result.Reused));
        var copyCalls = _ec2.CopyCalls;
        var describes = _ec2.CallsOf("DescribeSnapshots", West).Count;

        var again = await RunAsync(ids.Select(id => Copy(id)));

        Assert.Equal(copyCalls, _ec2.CopyCalls);
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
        var lookups = _ec2.CallsOf("DescribeSnapshots", West).Skip(describes).ToList();
        Assert.Single(lookups, c => ((Amazon.EC2.Model.DescribeSnapshotsRequest)c.Request).Filters
            .Any(f => f.Name == "tag:" + CopyTagNames.SourceSnapshotId && f.Values.Count == 5));

        var forced = await RunAsync(ids.Select(id => Copy(id)), Options(o => o.Force = true));
        Assert.All(forced.Finished, f => Assert.False(f.Result.Reused));
        Assert.All(ids, id => Assert.Equal(2, CopiesOf(id)));
    }

    [Fact]
    public async Task OtherEncryption_OrACopyInError_IsNotReused()
    {
        var ids = _ec2.SeedMany(East, 2);
        await RunAsync(ids.Select(id => Copy(id)));
        _ec2.OnCopyCreated = copy => { copy.FinalState = "error"; copy.StatusMessage = "internal failure"; };
        var failed = await RunAsync(new[] { Copy(ids[0], r => r.KmsKeyId = "alias/backup") });
        Assert.Equal(SnapshotState.Failed, Assert.Single(failed.Finished).Result.State);
        _ec2.OnCopyCreated = null;

        // ids[0]: the plain copy does not match -KmsKeyId alias/backup, and the alias/backup copy is in error: copy again.
        var encrypted = await RunAsync(new[] { Copy(ids[0], r => r.KmsKeyId = "alias/backup"), Copy(ids[1], r => r.Encrypted = true) });

        Assert.All(encrypted.Finished, f =>
        {
            Assert.Equal(SnapshotState.Completed, f.Result.State);
            Assert.False(f.Result.Reused);
        });
        Assert.Equal(3, CopiesOf(ids[0]));
        Assert.Equal(2, CopiesOf(ids[1]));
        var again = await RunAsync(new[] { Copy(ids[0], r => r.KmsKeyId = "alias/backup"), Copy(ids[1], r => r.Encrypted = true) });
        Assert.All(again.Finished, f => Assert.True(f.Result.Reused));
    }

    [Fact]
    public async Task DryRun_SaysAnEarlierCopyWouldBeReused()
    {
        var ids = _ec2.SeedMany(East, 1);
        await RunAsync(ids.Select(id => Copy(id)));
        var calls = _ec2.CopyCalls;

        var dry = await RunAsync(ids.Select(id => Copy(id)), Options(o => o.DryRun = true));

        var result = Assert.Single(dry.Finished).Result;
        Assert.Equal(SnapshotState.DryRun, result.State);
        Assert.Contains("would be reused", result.StatusMessage);
        Assert.Equal(calls, _ec2.CopyCalls);
    }

    [Fact]
    public async Task SourceWithManyTags_CopyTags_KeepsOursAndTagParameter_DropsTheRestWithAWarning()
    {
        var tags = Enumerable.Range(0, 49).ToDictionary(i => $"team:{i:D2}", i => "x");
        var id = _ec2.Seed(East, tags: tags);

        var outcome = await RunAsync(new[] { Copy(id, r => { r.CopyTags = true; r.Tags = new Dictionary<string, string> { ["Backup"] = "daily" }; }) });

        var result = Assert.Single(outcome.Finished).Result;
        Assert.Equal(SnapshotState.Completed, result.State);
        Assert.Equal(50, result.Tags.Count);
        Assert.All(CopyTagNames.All, key => Assert.True(result.Tags.ContainsKey(key)));
        Assert.Equal("daily", result.Tags["Backup"]);
        // 49 + 1 + 4 = 54: the last four of the source's tags, in key order, gave way.
        Assert.Contains(outcome.Messages, m => m.Contains("4 of the source's tags were not copied: team:45, team:46, team:47, team:48"));
    }
}
