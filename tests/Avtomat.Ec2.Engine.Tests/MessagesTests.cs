using Avtomat.Ec2.Emulator;
using Avtomat.Ec2.Engine.Copy;
using Avtomat.Ec2.Engine.Tests.Support;
using Avtomat.Ec2.Engine.Waiting;

namespace Avtomat.Ec2.Engine.Tests;

/// <summary>Results and errors say only what is known, and recommend what the user can do with this module (exact
/// virtual time against the emulator).</summary>
public sealed class MessagesTests : EngineTestBed
{
    [Fact]
    public void WaitTimeout_OnAnIdNeverSeen_SaysItMayNotExist_AndRecommendsRegion_NotThatItKeepsRunning()
    {
        var pending = SeedSnapshots(East, 1, state: "pending", durationSeconds: TimeSpan.FromHours(1).TotalSeconds)[0];
        using var job = _engine.StartWaitJob(_clients, new WaitJobOptions
        {
            PollInterval = TimeSpan.FromSeconds(1), VisibilityGrace = TimeSpan.FromMinutes(5), Timeout = TimeSpan.FromSeconds(10),
        }, default);
        job.Add(pending, East);
        job.Add("snap-0000000000000beef", East);
        job.CompleteAdding();

        var outcome = Run(job);

        Assert.Equal(2, outcome.Finished.Count);
        var running = outcome.Finished.Single(f => f.Result.SnapshotId == pending).Error!;
        var neverSeen = outcome.Finished.Single(f => f.Result.SnapshotId == "snap-0000000000000beef").Error!;
        Assert.Equal("WaitTimedOut", running.ErrorId);
        Assert.Contains("keeps running in EC2", running.Message);
        Assert.Equal("WaitTimedOut", neverSeen.ErrorId);
        Assert.DoesNotContain("keeps running", neverSeen.Message);
        Assert.Contains("was not seen in us-east-1", neverSeen.Message);
        Assert.Contains("-Region", neverSeen.RecommendedAction);
    }

    [Fact]
    public void WaitNotFound_RecommendsRegion()
    {
        using var job = _engine.StartWaitJob(_clients, new WaitJobOptions { PollInterval = TimeSpan.FromSeconds(1), VisibilityGrace = TimeSpan.FromSeconds(3) }, default);
        job.Add("snap-0000000000000beef", East);
        job.CompleteAdding();

        var outcome = Run(job);

        var error = Assert.Single(outcome.Finished).Error!;
        Assert.Equal("SnapshotNotFound", error.ErrorId);
        Assert.Contains("-Region", error.RecommendedAction);
        Assert.DoesNotContain("-SourceRegion", error.RecommendedAction);
    }

    [Fact]
    public void CopyInError_SaysTheFailedCopyStaysAndHowToDeleteIt()
    {
        var id = SeedSnapshot(East);
        Shape = info => info.IsCopy ? SnapshotShape.Fails(CopyDuration.TotalSeconds, "internal failure") : null;
        using var job = _engine.StartCopyJob(_clients, new CopyJobOptions { PollInterval = TimeSpan.FromSeconds(1) }, default);
        job.Add(new SnapshotCopyRequest { SourceSnapshotId = id, SourceRegion = East, DestinationRegion = West });
        job.CompleteAdding();

        var outcome = Run(job);

        var finished = Assert.Single(outcome.Finished);
        Assert.Equal("SnapshotCopyFailed", finished.Error!.ErrorId);
        Assert.Contains($"Remove-EC2Snapshot -SnapshotId {finished.Result.SnapshotId} -Region {West}", finished.Error.RecommendedAction);
        Assert.Contains("stays in us-west-2", finished.Error.RecommendedAction);
    }

    [Fact]
    public void NoWaitResults_SayEncryptionOnlyWhenItIsCertain()
    {
        var plain = SeedSnapshot(East);
        var encryptedSource = SeedSnapshot(East, encrypted: true);
        using var job = _engine.StartCopyJob(_clients, new CopyJobOptions { PollInterval = TimeSpan.FromSeconds(1), NoWait = true }, default);
        job.Add(new SnapshotCopyRequest { SourceSnapshotId = plain, SourceRegion = East, DestinationRegion = West });
        job.Add(new SnapshotCopyRequest { SourceSnapshotId = encryptedSource, SourceRegion = East, DestinationRegion = West });
        job.Add(new SnapshotCopyRequest { SourceSnapshotId = plain, SourceRegion = East, DestinationRegion = "eu-west-1", KmsKeyId = "alias/dr" });
        job.CompleteAdding();

        var outcome = Run(job);

        Assert.Equal(3, outcome.Finished.Count);
        Assert.All(outcome.Finished, f => Assert.Equal(SnapshotState.Pending, f.Result.State));
        // EBS encryption by default may encrypt the plain one: unknown until EC2 says. The others are certain.
        Assert.Null(outcome.Finished.Single(f => f.Request!.SourceSnapshotId == plain && f.Request.DestinationRegion == West).Result.Encrypted);
        Assert.True(outcome.Finished.Single(f => f.Request!.SourceSnapshotId == encryptedSource).Result.Encrypted);
        var byKey = outcome.Finished.Single(f => f.Request!.DestinationRegion == "eu-west-1").Result;
        Assert.True(byKey.Encrypted);
        Assert.Null(byKey.KmsKeyId); // the alias given is not the key EC2 reports
    }

    [Theory]
    [InlineData(0, 0, 4, "00:00:04")]
    [InlineData(0, 2, 0, "02:00:00")]
    [InlineData(1, 2, 0, "1d 02:00:00")]
    public void Durations_KeepTheirDays(int days, int hours, int seconds, string expected) =>
        Assert.Equal(expected, DurationText.Of(new TimeSpan(days, hours, 0, seconds)));
}
