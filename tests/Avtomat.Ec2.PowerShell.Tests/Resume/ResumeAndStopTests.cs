using System.Diagnostics;
using System.Management.Automation;
using System.Management.Automation.Runspaces;
using Avtomat.Ec2.PowerShell.Tests.CopyAvSnapshot;

namespace Avtomat.Ec2.PowerShell.Tests.Resume;

/// <summary>Run it again and nothing is copied twice; a stop never loses what EC2 made.</summary>
public sealed class ResumeAndStopTests
{
    private const string Copy = "$args | Copy-AvSnapshot @aws -SourceRegion us-east-1 -DestinationRegion us-west-2";

    [Fact]
    public async Task StoppedAfterSomeStarted_RunAgainInTheSameRunspaceAndInANewOne_OneCopyPerSource_EarlierOnesReused()
    {
        await using var bed = await CopyTestBed.StartAsync(copySeconds: 4, c => c.Limits.MaxPendingCopiesPerRegion = 20);
        var ids = bed.Seed(30);

        // Stop once 20 copies were accepted (the window is full; 10 never started).
        using (var ps = bed.Host.Create(Copy + " -Verbose", ids.Cast<object>().ToArray()))
        {
            var invocation = ps.BeginInvoke();
            var deadline = DateTime.UtcNow.AddSeconds(20);
            while (ps.Streams.Verbose.Count(v => v.Message.EndsWith(" accepted", StringComparison.Ordinal)) < 20 && DateTime.UtcNow < deadline)
                await Task.Delay(20);
            ps.Stop();
            Assert.True(invocation.IsCompleted);
        }
        Assert.Equal(20, bed.CopiesIn("us-west-2"));

        var again = bed.Invoke(Copy + " -Verbose", ids.Cast<object>().ToArray());

        Assert.True(again.Errors.Count == 0, again.Describe());
        Assert.Equal(30, again.Results.Count);
        Assert.All(again.Results, r => Assert.Equal("Completed", r.State));
        Assert.Equal(20, again.Output.Count(o => (bool)o.Properties["Reused"].Value));
        Assert.Equal(30, bed.CopiesIn("us-west-2"));
        Assert.Contains(again.Verbose, v => v.StartsWith("Copy-AvSnapshot: 30 copies in ", StringComparison.Ordinal) && v.Contains("10 completed, 20 reused"));

        // A new runspace (a new session, as after a closed laptop): everything is reused, nothing copied.
        using var fresh = new PowerShellHost();
        fresh.Run("$global:aws = @{ EndpointUrl = $args[0]; AccessKey = $args[1]; SecretKey = $args[2] }", bed.Url, CopyTestBed.AccessKey, CopyTestBed.SecretKey);
        using var third = fresh.Create(Copy, ids.Cast<object>().ToArray());
        var output = third.Invoke();
        Assert.False(third.HadErrors, string.Join("; ", third.Streams.Error));
        Assert.Equal(30, output.Count);
        Assert.All(output, o => Assert.True((bool)o.Properties["Reused"].Value));
        Assert.Equal(30, bed.CopiesIn("us-west-2"));

        // -Force only skips the prompt (AWS.Tools' meaning): the run still resumes.
        var forced = bed.Invoke(Copy + " -Force", ids[0]);
        Assert.True(forced.Errors.Count == 0, forced.Describe());
        Assert.True(Assert.Single(forced.Output).Properties["Reused"].Value as bool? ?? false);
        Assert.Equal(30, bed.CopiesIn("us-west-2"));

        var again2 = bed.Invoke(Copy + " -CopyAgain", ids[0]);
        Assert.True(again2.Errors.Count == 0, again2.Describe());
        Assert.False(Assert.Single(again2.Output).Properties["Reused"].Value as bool? ?? true);
        Assert.Equal(31, bed.CopiesIn("us-west-2"));
    }

    [Fact]
    public async Task Force_SkipsThePromptOnly_AndStillResumes_CopyAgainCopiesAgain()
    {
        await using var bed = await CopyTestBed.StartAsync();
        var ids = bed.Seed(3);
        var first = bed.Invoke(Copy, ids.Cast<object>().ToArray());
        Assert.True(first.Errors.Count == 0, first.Describe());
        Assert.Equal(3, bed.CopiesIn("us-west-2"));

        // The hosted runspace cannot prompt: -Confirm without -Force fails and copies nothing.
        var asked = bed.Invoke(Copy + " -CopyAgain -Confirm", ids[0]);
        Assert.NotEmpty(asked.Errors);
        Assert.Equal(3, bed.CopiesIn("us-west-2"));

        // -Confirm -Force: nothing is asked, and everything is reused (EC2 holds no new copy).
        var forced = bed.Invoke(Copy + " -Confirm -Force", ids.Cast<object>().ToArray());
        Assert.True(forced.Errors.Count == 0, forced.Describe());
        Assert.Equal(3, forced.Output.Count);
        Assert.All(forced.Output, o => Assert.True((bool)o.Properties["Reused"].Value));
        Assert.Equal(3, bed.CopiesIn("us-west-2"));

        // -CopyAgain -Force: nothing is asked, and each source is copied again.
        var copied = bed.Invoke(Copy + " -Confirm -Force -CopyAgain", ids.Cast<object>().ToArray());
        Assert.True(copied.Errors.Count == 0, copied.Describe());
        Assert.All(copied.Output, o => Assert.False((bool)o.Properties["Reused"].Value));
        Assert.Equal(6, bed.CopiesIn("us-west-2"));

        // Measure-AvSnapshotCopy plans the same: -Force reuses, -CopyAgain plans full copies again.
        var plan = bed.Invoke("$args | Measure-AvSnapshotCopy @aws -SourceRegion us-east-1 -DestinationRegion us-west-2 -Force", ids.Cast<object>().ToArray());
        Assert.True(plan.Errors.Count == 0, plan.Describe());
        var planAgain = bed.Invoke("$args | Measure-AvSnapshotCopy @aws -SourceRegion us-east-1 -DestinationRegion us-west-2 -CopyAgain", ids.Cast<object>().ToArray());
        Assert.True(planAgain.Errors.Count == 0, planAgain.Describe());
        Assert.Equal(3, (int)Assert.Single(plan.Output).Properties["Reused"].Value);
        Assert.Equal(0, (int)Assert.Single(planAgain.Output).Properties["Reused"].Value);
        Assert.Equal(6, bed.CopiesIn("us-west-2"));
    }

    [Fact]
    public async Task Stop_WhileCopySnapshotIsInFlight_StillReportsTheCopyEc2Made()
    {
        // EC2 makes the copy at once but answers 3 s later: Ctrl+C lands while the call is on the wire.
        await using var bed = await CopyTestBed.StartAsync(copySeconds: 60, c =>
        {
            c.Faults.Actions = ["CopySnapshot"];
            c.Faults.SlowResponseRate = 1;
            c.Faults.SlowResponseSeconds = 3;
        });
        var id = bed.Seed(1)[0];
        var capture = new CapturingHost();
        using var runspace = RunspaceFactory.CreateRunspace(capture, InitialSessionState.CreateDefault2());
        runspace.Open();
        using var ps = System.Management.Automation.PowerShell.Create();
        ps.Runspace = runspace;
        ps.AddScript("Import-Module -Name $args[0] -ErrorAction Stop; $args[1] | Copy-AvSnapshot -SourceRegion us-east-1 -DestinationRegion us-west-2 -EndpointUrl $args[2] -AccessKey AKIDSTOPINFLIGHT -SecretKey s")
            .AddArgument(PowerShellHost.ModuleManifestPath).AddArgument(id).AddArgument(bed.Url);
        var invocation = ps.BeginInvoke();
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (bed.CopiesIn("us-west-2") == 0 && DateTime.UtcNow < deadline) await Task.Delay(20);
        Assert.Equal(1, bed.CopiesIn("us-west-2")); // made in EC2, answer not back yet

        var clock = Stopwatch.StartNew();
        ps.Stop();
        Assert.True(invocation.IsCompleted);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), $"Stop took {clock.Elapsed}");

        using var client = new Amazon.EC2.AmazonEC2Client(new Amazon.Runtime.BasicAWSCredentials(CopyTestBed.AccessKey, CopyTestBed.SecretKey),
            new Amazon.EC2.AmazonEC2Config { ServiceURL = bed.Url, AuthenticationRegion = "us-west-2" });
        var made = await client.DescribeSnapshotsAsync(new Amazon.EC2.Model.DescribeSnapshotsRequest
        {
            OwnerIds = ["self"],
            Filters = [new Amazon.EC2.Model.Filter("tag:avtomat:source-snapshot-id", [id])],
        });
        var copyId = Assert.Single(made.Snapshots).SnapshotId;
        // The warning goes to the warning stream when the pipeline still takes it, else straight to the host.
        var text = capture.Text + string.Join("\n", ps.Streams.Warning.Select(w => "WARNING: " + w.Message));
        Assert.Contains("WARNING: Stopped: 1 copies that EC2 had accepted keep running: " + copyId + " (us-west-2, from " + id + ")", text);
        Assert.Contains("Run the same command again", text);
    }

    [Fact]
    public async Task NewNoWait_PipedToCopy_WithSnapshotsInvisibleFor5s_CopiesAll()
    {
        // Eventual consistency: every new snapshot (and copy) is missing from DescribeSnapshots for its first 5 s.
        await using var bed = await NewAvSnapshot.SnapshotTestSupport.StartAsync(1, c =>
        {
            c.Faults.InvisibleRate = 1;
            c.Faults.InvisibleSeconds = 5;
        });
        var volumes = NewAvSnapshot.SnapshotTestSupport.SeedVolumes(bed, 4).VolumeIds;

        var run = bed.Invoke("$args | New-AvSnapshot @aws -Region us-east-1 -NoWait | Copy-AvSnapshot @aws -DestinationRegion us-west-2",
            volumes.Cast<object>().ToArray());

        Assert.True(run.Errors.Count == 0, run.Describe());
        Assert.Equal(4, run.Results.Count);
        Assert.All(run.Results, r => Assert.Equal("Completed", r.State));
        Assert.Equal(4, bed.CopiesIn("us-west-2"));
    }
}
