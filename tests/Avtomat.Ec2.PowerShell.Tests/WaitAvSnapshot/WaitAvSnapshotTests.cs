using System.Management.Automation;
using Amazon.EC2;
using Amazon.EC2.Model;
using Avtomat.Ec2.PowerShell.Tests.CopyAvSnapshot;
using Avtomat.Ec2.PowerShell.Tests.NewAvSnapshot;

namespace Avtomat.Ec2.PowerShell.Tests.WaitAvSnapshot;

/// <summary>Wait-AvSnapshot and the -NoWait round trips (Copy-AvSnapshot -NoWait | Wait-AvSnapshot, New-AvSnapshot
/// -NoWait | Wait-AvSnapshot), timeouts, -Any, snapshots in error and progress.</summary>
public sealed class WaitAvSnapshotTests
{
    [Fact]
    public async Task CopyNoWait_OutputsPendingCopies_ThenWaitAvSnapshotWaitsWhereTheyLive()
    {
        await using var bed = await SnapshotTestSupport.StartAsync(2);
        var ids = bed.Seed(3);
        var run = bed.Invoke(@"
            $global:started = @($args | Copy-AvSnapshot @aws -SourceRegion us-east-1 -DestinationRegion us-west-2 -NoWait)
            $started | Wait-AvSnapshot @aws", ids.Cast<object>().ToArray());
        Assert.True(run.Errors.Count == 0, run.Describe());

        var started = bed.Host.Run("$started").Select(o => new SnapshotCopyResultView(o)).ToList();
        Assert.Equal(3, started.Count);
        Assert.All(started, s => { Assert.Equal("Pending", s.State); Assert.StartsWith("snap-", s.SnapshotId); Assert.Equal("us-west-2", s.Region); });

        var done = run.Snapshots();
        Assert.Equal(started.Select(s => s.SnapshotId).OrderBy(i => i), done.Select(d => d.SnapshotId).OrderBy(i => i));
        Assert.All(done, d => { Assert.Equal("Completed", d.State); Assert.Equal("us-west-2", d.Region); Assert.Equal("Avtomat.Ec2.SnapshotResult", d.TypeName); });
        Assert.Equal(3, bed.CopiesIn("us-west-2"));
    }

    [Fact]
    public async Task CopyNoWait_ReturnsBeforeTheCopiesComplete()
    {
        await using var bed = await SnapshotTestSupport.StartAsync(60);
        var ids = bed.Seed(2);
        var run = bed.Invoke("$args | Copy-AvSnapshot @aws -SourceRegion us-east-1 -DestinationRegion us-west-2 -NoWait", ids[0], ids[1]);
        Assert.True(run.Errors.Count == 0, run.Describe());
        Assert.True(run.Elapsed < TimeSpan.FromSeconds(20), $"took {run.Elapsed}");
        Assert.All(run.Results, r => { Assert.Equal("Pending", r.State); Assert.StartsWith("snap-", r.SnapshotId); });
    }

    [Fact]
    public async Task NewNoWait_PipedToWait_RoundTrips()
    {
        await using var bed = await SnapshotTestSupport.StartAsync(1.5);
        var volumes = bed.SeedVolumes(3, "eu-west-1").VolumeIds;
        var run = bed.Invoke("$args | New-AvSnapshot @aws -Region eu-west-1 -NoWait | Wait-AvSnapshot @aws", volumes.Cast<object>().ToArray());
        Assert.True(run.Errors.Count == 0, run.Describe());
        var done = run.Snapshots();
        Assert.Equal(volumes.OrderBy(v => v), done.Select(d => d.VolumeId).OrderBy(v => v));
        Assert.All(done, d => { Assert.Equal("Completed", d.State); Assert.Equal("eu-west-1", d.Region); Assert.Equal(100, d.Progress); });
    }

    [Fact]
    public async Task Strings_AndGetEc2SnapshotObjects_BindWithRegion_CompletedOnesReturnAtOnce()
    {
        await using var bed = await SnapshotTestSupport.StartAsync();
        var ids = bed.Seed(3, "ap-southeast-2");
        var sdk = new Snapshot { SnapshotId = ids[2], State = Amazon.EC2.SnapshotState.Completed, VolumeSize = 8, Progress = "100%" };
        var run = bed.Invoke("Wait-AvSnapshot @aws $args[0], $args[1] -Region ap-southeast-2; $args[2] | Wait-AvSnapshot @aws -Region ap-southeast-2", ids[0], ids[1], sdk);
        Assert.True(run.Errors.Count == 0, run.Describe());
        Assert.Equal(ids.OrderBy(i => i), run.Snapshots().Select(s => s.SnapshotId).OrderBy(i => i));
        Assert.All(run.Snapshots(), s => Assert.Equal("Completed", s.State));
        Assert.True(run.Elapsed < TimeSpan.FromSeconds(10), $"took {run.Elapsed}");
    }

    [Fact]
    public async Task Timeout_WritesOneOperationTimeoutErrorPerSnapshot_TargetingItsId()
    {
        await using var bed = await SnapshotTestSupport.StartAsync(120);
        var volumes = bed.SeedVolumes(2).VolumeIds;
        var run = bed.Invoke("$args | New-AvSnapshot @aws -Region us-east-1 -NoWait | Wait-AvSnapshot @aws -Timeout 2", volumes[0], volumes[1]);
        Assert.True(run.Elapsed < TimeSpan.FromSeconds(20), $"took {run.Elapsed}");
        var results = run.Snapshots();
        Assert.Equal(2, results.Count);
        Assert.All(results, r => Assert.Equal("TimedOut", r.State));
        Assert.Equal(2, run.Errors.Count);
        Assert.All(run.Errors, e =>
        {
            Assert.Equal(ErrorCategory.OperationTimeout, e.CategoryInfo.Category);
            Assert.EndsWith(",Avtomat.Ec2.Commands.WaitAvSnapshotCommand", e.FullyQualifiedErrorId);
            Assert.Equal("Avtomat.Ec2.SnapshotException", e.Exception.GetType().FullName);
        });
        Assert.Equal(results.Select(r => r.SnapshotId).OrderBy(i => i), run.Errors.Select(e => (string)e.TargetObject).OrderBy(i => i));
    }

    [Fact]
    public async Task Any_ReturnsWhenTheFirstFinishes()
    {
        await using var bed = await SnapshotTestSupport.StartAsync(120);
        var completed = bed.Seed(1)[0];
        var pending = bed.Emulator.Seed(new Avtomat.Ec2.Emulator.SeedRequest { Region = "us-east-1", Snapshots = 1, State = "pending" }).SnapshotIds[0];
        var run = bed.Invoke("Wait-AvSnapshot @aws $args[0], $args[1] -Region us-east-1 -Any", pending, completed);
        Assert.True(run.Errors.Count == 0, run.Describe());
        Assert.True(run.Elapsed < TimeSpan.FromSeconds(15), $"took {run.Elapsed}");
        var only = Assert.Single(run.Snapshots());
        Assert.Equal(completed, only.SnapshotId);
        Assert.Equal("Completed", only.State);
    }

    [Fact]
    public async Task SnapshotInError_GivesAFailedResultAndASnapshotFailedError_WithEc2sStatusMessage()
    {
        await using var bed = await SnapshotTestSupport.StartAsync();
        var good = bed.Seed(1)[0];
        var bad = bed.Emulator.Seed(new Avtomat.Ec2.Emulator.SeedRequest
        {
            Region = "us-east-1", Snapshots = 1, State = "error", StatusMessage = "Disk read failure (emulated)",
        }).SnapshotIds[0];
        var run = bed.Invoke("$args | Wait-AvSnapshot @aws -Region us-east-1", bad, good);

        Assert.Equal("Completed", Assert.Single(run.Snapshots(), s => s.SnapshotId == good).State);
        var failed = Assert.Single(run.Snapshots(), s => s.SnapshotId == bad);
        Assert.Equal("Failed", failed.State);
        Assert.Equal("Disk read failure (emulated)", failed.StatusMessage);
        var error = Assert.Single(run.Errors);
        Assert.Equal("SnapshotFailed,Avtomat.Ec2.Commands.WaitAvSnapshotCommand", error.FullyQualifiedErrorId);
        Assert.NotEqual(ErrorCategory.NotSpecified, error.CategoryInfo.Category);
        Assert.Equal(bad, error.TargetObject);
        Assert.Contains("Disk read failure (emulated)", error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Progress_ParentPerRegion_CompletedAtTheEnd()
    {
        await using var bed = await SnapshotTestSupport.StartAsync(1);
        var volumes = bed.SeedVolumes(2, "us-west-2").VolumeIds;
        var run = bed.Invoke(@"
            $pending = @($args | New-AvSnapshot @aws -Region us-west-2 -NoWait)
            $pending | Wait-AvSnapshot @aws -Verbose", volumes[0], volumes[1]);
        Assert.True(run.Errors.Count == 0, run.Describe());
        Assert.Contains(run.Progress, p => p.ParentActivityId < 0 && p.Activity == "Waiting for 2 snapshots in us-west-2");
        foreach (var last in run.Progress.Where(p => p.Activity.StartsWith("Waiting", StringComparison.Ordinal)).GroupBy(r => r.ActivityId).Select(g => g.Last()))
        {
            Assert.Equal(ProgressRecordType.Completed, last.RecordType);
        }
        Assert.Contains(run.Verbose, v => v.StartsWith("Wait-AvSnapshot: 2 snapshots in ", StringComparison.Ordinal) && v.Contains("2 completed", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Stop_ReturnsPromptly_FromNewAndFromWait()
    {
        await using var bed = await SnapshotTestSupport.StartAsync(120);
        var volumes = bed.SeedVolumes(4).VolumeIds; // two per run: a volume snapshotted again waits 15 s (EC2's rule)
        var run = 0;
        foreach (var script in new[] { "$args | New-AvSnapshot @aws -Region us-east-1 -Verbose", "$args | New-AvSnapshot @aws -Region us-east-1 -NoWait -Verbose | Wait-AvSnapshot @aws" })
        {
            using var ps = bed.Host.Create(script, volumes.Skip(2 * run++).Take(2).Cast<object>().ToArray());
            var invocation = ps.BeginInvoke();
            var deadline = DateTime.UtcNow.AddSeconds(20);
            while (ps.Streams.Verbose.Count(v => v.Message.EndsWith(" accepted", StringComparison.Ordinal)) < 2 && DateTime.UtcNow < deadline)
            {
                await Task.Delay(50);
            }
            await Task.Delay(300);
            var clock = System.Diagnostics.Stopwatch.StartNew();
            ps.Stop();
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(3), $"Stop took {clock.Elapsed}");
            Assert.Equal(PSInvocationState.Stopped, ps.InvocationStateInfo.State);
            Assert.True(invocation.IsCompleted);
        }
    }

    [Fact]
    public async Task InvalidIds_FailParameterValidation_BeforeAnyCall()
    {
        await using var bed = await SnapshotTestSupport.StartAsync();
        var run = bed.Invoke("Wait-AvSnapshot @aws -SnapshotId 'vol-0123456789abcdef0' -Region us-east-1");
        Assert.True(run.Thrown is ParameterBindingException || run.Errors.Any(e => e.Exception is ParameterBindingException), run.Describe());
        Assert.Equal(0, bed.Emulator.GetStats().TotalCalls);
    }
}
