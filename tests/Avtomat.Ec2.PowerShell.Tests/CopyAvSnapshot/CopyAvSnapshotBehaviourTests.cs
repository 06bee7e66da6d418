using System.Diagnostics;
using System.Management.Automation;
using Avtomat.Ec2.PowerShell.Tests.NewAvSnapshot;

namespace Avtomat.Ec2.PowerShell.Tests.CopyAvSnapshot;

/// <summary>Errors, -ErrorAction Stop, Ctrl+C (PowerShell.Stop), progress records, streaming and verbose output.</summary>
public sealed class CopyAvSnapshotBehaviourTests
{
    [Fact]
    public async Task MissingSnapshot_FailsAlone_WithIdCategoryTargetAndRecommendedAction()
    {
        await using var bed = await CopyTestBed.StartAsync();
        bed.Host.UseVisibilityGrace(TimeSpan.FromSeconds(2)); // a missing source is called missing once the grace is over
        var ids = bed.Seed(3);
        var missing = CopyTestBed.MissingId();
        var run = bed.Invoke("$args | Copy-AvSnapshot @aws -SourceRegion us-east-1 -DestinationRegion us-west-2",
            ids[0], missing, ids[1], ids[2]);

        Assert.Equal(3, run.Results.Count(r => r.State == "Completed"));
        var failed = Assert.Single(run.Results, r => r.State == "Failed");
        Assert.Equal(missing, failed.SourceSnapshotId);
        Assert.Null(failed.SnapshotId);

        var error = Assert.Single(run.Errors);
        Assert.Equal("SnapshotNotFound,Avtomat.Ec2.Commands.CopyAvSnapshotCommand", error.FullyQualifiedErrorId);
        Assert.Equal(ErrorCategory.ObjectNotFound, error.CategoryInfo.Category);
        Assert.Equal(missing, error.TargetObject);
        Assert.False(string.IsNullOrWhiteSpace(error.ErrorDetails?.RecommendedAction));
        Assert.Equal("Avtomat.Ec2.SnapshotCopyException", error.Exception.GetType().FullName);
        Assert.Contains(missing, error.ToString(), StringComparison.Ordinal);
        Assert.Equal(3, bed.CopiesIn("us-west-2"));
    }

    [Fact]
    public async Task CopyEndingInError_IsAFailedResult_WithEc2sStatusMessage()
    {
        await using var bed = await CopyTestBed.StartAsync(configure: c => c.Faults.InaccessibleKmsKeys.Add("alias/locked"));
        var ids = bed.Seed(2);
        var run = bed.Invoke(@"
            Copy-AvSnapshot @aws $args[0] -SourceRegion us-east-1 -DestinationRegion us-west-2 -KmsKeyId alias/locked
            Copy-AvSnapshot @aws $args[1] -SourceRegion us-east-1 -DestinationRegion us-west-2 -Encrypted", ids[0], ids[1]);

        var failed = Assert.Single(run.Results, r => r.SourceSnapshotId == ids[0]);
        Assert.Equal("Failed", failed.State);
        Assert.StartsWith("snap-", failed.SnapshotId);
        Assert.False(string.IsNullOrEmpty(failed.StatusMessage));
        Assert.Equal("Completed", Assert.Single(run.Results, r => r.SourceSnapshotId == ids[1]).State);

        var error = Assert.Single(run.Errors);
        Assert.Equal("SnapshotCopyFailed,Avtomat.Ec2.Commands.CopyAvSnapshotCommand", error.FullyQualifiedErrorId);
        Assert.NotEqual(ErrorCategory.NotSpecified, error.CategoryInfo.Category);
        Assert.Equal(failed.SnapshotId, error.TargetObject);
        Assert.Contains("kms:", error.ErrorDetails!.RecommendedAction, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ErrorActionStop_StopsAtTheFirstError_AndStartsNoFurtherCopies()
    {
        await using var bed = await CopyTestBed.StartAsync(copySeconds: 4);
        bed.Host.UseVisibilityGrace(TimeSpan.FromSeconds(2)); // a missing source is called missing once the grace is over
        var ids = bed.Seed(5);
        var clock = Stopwatch.StartNew();
        var run = bed.Invoke("$args | Copy-AvSnapshot @aws -SourceRegion us-east-1 -DestinationRegion us-west-2 -ThrottleLimit 1 -ErrorAction Stop",
            new object[] { CopyTestBed.MissingId() }.Concat(ids).ToArray());

        Assert.NotNull(run.Thrown);
        var record = (run.Thrown as IContainsErrorRecord)?.ErrorRecord;
        Assert.Equal("SnapshotNotFound,Avtomat.Ec2.Commands.CopyAvSnapshotCommand", record?.FullyQualifiedErrorId);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(12), $"took {clock.Elapsed}");
        await Task.Delay(TimeSpan.FromSeconds(1.5)); // the rest would have started by now if the job were still running
        Assert.InRange(bed.CopiesIn("us-west-2"), 0, 1);
    }

    [Fact]
    public async Task ErrorActionStop_OnASourceInTheErrorState_StopsWithSourceSnapshotFailed_AndStartsNoFurtherCopies()
    {
        // Moved from the Pester file. A source in the error state fails at the first look (no visibility grace, unlike a
        // missing one), with its own error id.
        await using var bed = await CopyTestBed.StartAsync(copySeconds: 1);
        var bad = bed.Emulator.Seed(new Avtomat.Ec2.Emulator.SeedRequest { Region = "us-east-1", Snapshots = 1, State = "error" }).SnapshotIds[0];
        var ids = bed.Seed(5);
        var run = bed.Invoke("$args | Copy-AvSnapshot @aws -SourceRegion us-east-1 -DestinationRegion us-west-2 -ThrottleLimit 1 -ErrorAction Stop",
            new object[] { bad }.Concat(ids).ToArray());

        Assert.NotNull(run.Thrown);
        var record = (run.Thrown as IContainsErrorRecord)?.ErrorRecord;
        Assert.Equal("SourceSnapshotFailed,Avtomat.Ec2.Commands.CopyAvSnapshotCommand", record?.FullyQualifiedErrorId);
        // A copy to another region takes 1.5 s here, seen done at the next 2 s poll: a job still running would have
        // started a second one by now.
        await Task.Delay(TimeSpan.FromSeconds(5));
        Assert.InRange(bed.CopiesIn("us-west-2"), 0, 1);
    }

    [Fact]
    public async Task Stop_ReturnsPromptly_AndAcceptedIdsAreInTheVerboseStream()
    {
        await using var bed = await CopyTestBed.StartAsync(copySeconds: 120);
        var ids = bed.Seed(3);
        using var ps = bed.Host.Create("$args | Copy-AvSnapshot @aws -SourceRegion us-east-1 -DestinationRegion us-west-2 -Verbose",
            ids.Cast<object>().ToArray());
        var invocation = ps.BeginInvoke();

        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (ps.Streams.Verbose.Count(v => v.Message.EndsWith(" accepted", StringComparison.Ordinal)) < 3 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(50);
        }
        var clock = Stopwatch.StartNew();
        ps.Stop();
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(3), $"Stop took {clock.Elapsed}");
        Assert.Equal(PSInvocationState.Stopped, ps.InvocationStateInfo.State);
        Assert.True(invocation.IsCompleted);

        var accepted = ps.Streams.Verbose.Select(v => v.Message).Where(m => m.EndsWith(" accepted", StringComparison.Ordinal)).ToList();
        Assert.Equal(3, accepted.Count);
        foreach (var id in ids)
        {
            Assert.Contains(accepted, m => m.StartsWith($"{id} (us-east-1) → snap-", StringComparison.Ordinal) && m.Contains("(us-west-2)", StringComparison.Ordinal));
        }
        Assert.Equal(3, bed.CopiesIn("us-west-2")); // the copies EC2 accepted keep running
    }

    [Fact]
    public async Task Progress_ParentsPerDestination_ChildrenFromASlotPool_CompletedAtTheEnd()
    {
        await using var bed = await CopyTestBed.StartAsync(copySeconds: 1);
        var ids = bed.Seed(5);
        const int limit = 2;
        var run = bed.Invoke($"$args | Copy-AvSnapshot @aws -SourceRegion us-east-1 -DestinationRegion us-west-2, eu-west-1 -ThrottleLimit {limit}",
            ids.Cast<object>().ToArray());
        Assert.True(run.Errors.Count == 0, run.Describe());

        var records = run.Progress;
        var parents = records.Where(r => r.ParentActivityId < 0).ToList();
        var children = records.Where(r => r.ParentActivityId >= 0).ToList();
        var parentIds = parents.Select(p => p.ActivityId).Distinct().ToList();
        Assert.Equal(2, parentIds.Count);
        Assert.Contains(parents, p => p.Activity == "Copying 5 snapshots us-east-1 → us-west-2");
        Assert.Contains(parents, p => p.Activity == "Copying 5 snapshots us-east-1 → eu-west-1");
        Assert.Contains(parents, p => p.StatusDescription.Contains("completed", StringComparison.Ordinal) && p.StatusDescription.Contains("queued", StringComparison.Ordinal));
        Assert.All(parents, p => Assert.InRange(p.PercentComplete, -1, 100));

        Assert.NotEmpty(children);
        foreach (var group in children.GroupBy(c => c.ParentActivityId))
        {
            Assert.Contains(group.Key, parentIds);
            var slots = group.Select(c => c.ActivityId).Distinct().ToList();
            Assert.InRange(slots.Count, 1, limit);
            Assert.All(slots, id => Assert.DoesNotContain(id, parentIds));
        }
        Assert.Equal(children.Select(c => c.ActivityId).Distinct().Count(),
            children.Select(c => (c.ParentActivityId, c.ActivityId)).Distinct().Count()); // ids distinct across parents

        // Every record ends Completed, and the parents end with everything done.
        foreach (var last in records.GroupBy(r => r.ActivityId).Select(g => g.Last()))
        {
            Assert.Equal(ProgressRecordType.Completed, last.RecordType);
        }
        Assert.All(parents.GroupBy(p => p.ActivityId).Select(g => g.Last()), p => Assert.StartsWith("5 completed", p.StatusDescription));
    }

    [Fact]
    public async Task Results_StreamInCompletionOrder_WhileInputStillFlows()
    {
        await using var bed = await CopyTestBed.StartAsync(copySeconds: 0.2);
        var ids = bed.Seed(5);
        var run = bed.Invoke(@"
            $log = [System.Collections.Generic.List[string]]::new()
            & { foreach ($id in $args) { $log.Add('in ' + $id); $id; [System.Threading.Thread]::Sleep(1500) } } @args |
                Copy-AvSnapshot @aws -SourceRegion us-east-1 -DestinationRegion us-east-1 |
                ForEach-Object { $log.Add('out ' + $_.SourceSnapshotId) }
            $log", ids.Cast<object>().ToArray());

        Assert.True(run.Errors.Count == 0, run.Describe());
        var log = run.Output.Select(o => o.ToString()).ToList();
        Assert.Equal(10, log.Count);
        var lastInput = log.FindLastIndex(l => l.StartsWith("in ", StringComparison.Ordinal));
        var firstOutput = log.FindIndex(l => l.StartsWith("out ", StringComparison.Ordinal));
        Assert.True(firstOutput < lastInput, "a result should come out before the last input went in: " + string.Join(", ", log));
    }

    [Fact]
    public async Task Verbose_ReportsContextAcceptedIdsAndASummary_NeverTheSecret()
    {
        await using var bed = await CopyTestBed.StartAsync();
        var ids = bed.Seed(2);
        var run = bed.Invoke(@"
            $aws.SessionToken = 'copy-tests-session-token-do-not-print'
            $args | Copy-AvSnapshot @aws -SourceRegion us-east-1 -DestinationRegion us-west-2 -Verbose -Debug", ids[0], ids[1]);

        Assert.True(run.Errors.Count == 0, run.Describe());
        var copies = run.Results.Select(r => r.SnapshotId!).ToList();
        foreach (var result in run.Results)
        {
            Assert.Contains($"{result.SourceSnapshotId} (us-east-1) → {result.SnapshotId} (us-west-2) accepted", run.Verbose);
        }
        Assert.Contains(run.Verbose, v => v.StartsWith("Copy-AvSnapshot: 2 copies in ", StringComparison.Ordinal) && v.Contains("2 completed", StringComparison.Ordinal));
        Assert.Contains(run.Verbose, v => v.StartsWith("EC2 calls: ", StringComparison.Ordinal));

        var everything = string.Join("\n", run.Verbose.Concat(run.Debug).Concat(run.Warnings).Concat(run.Information));
        Assert.DoesNotContain(CopyTestBed.SecretKey, everything, StringComparison.Ordinal);
        Assert.DoesNotContain("copy-tests-session-token-do-not-print", everything, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SameSnapshotAndDestinationTwice_IsCopiedOnce_WithAWarning()
    {
        await using var bed = await CopyTestBed.StartAsync();
        var ids = bed.Seed(1);
        var run = bed.Invoke("$args[0], $args[0] | Copy-AvSnapshot @aws -SourceRegion us-east-1 -DestinationRegion us-west-2", ids[0]);
        Assert.True(run.Errors.Count == 0, run.Describe());
        Assert.Single(run.Results);
        Assert.Single(run.Warnings, w => w.Contains(ids[0], StringComparison.Ordinal));
        Assert.Equal(1, bed.CopiesIn("us-west-2"));
    }
}
