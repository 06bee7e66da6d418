using System.Globalization;
using System.Net;
using System.Text.Json;
using Amazon.EC2;
using Amazon.EC2.Model;
using Avtomat.Ec2.Emulator.Tests.Support;

namespace Avtomat.Ec2.Emulator.Tests;

/// <summary>API_Snapshot's <c>completionTime</c> ("The time stamp when the snapshot was completed",
/// https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_Snapshot.html): every completed snapshot has it — copies,
/// created snapshots, seeded ones — and no pending or failed one does. A client learns a copy's real duration from
/// StartTime and CompletionTime, also for a copy made before it started.</summary>
public sealed class CompletionTimeTests : IDisposable
{
    private static readonly System.Xml.Linq.XNamespace Ns = RawEc2.Ec2Ns;
    private readonly string _tempDir = Directory.CreateTempSubdirectory("avtomat-ec2-completion-").FullName;

    public void Dispose()
    {
        try { Directory.Delete(_tempDir, recursive: true); } catch (IOException) { }
    }

    private static Task<TestEmulator> StartAsync() => TestEmulator.StartAsync(o =>
    {
        o.Config.Durations.Copy = new DurationModel { Kind = DurationKind.Fixed, Seconds = 600 };
        o.Config.Durations.CrossRegionFactor = 1.5; // a cross-region copy: 900 s
        o.Config.Durations.Snapshot = new DurationModel { Kind = DurationKind.Fixed, Seconds = 40 };
    });

    [Fact]
    public async Task A_standard_copy_has_no_completion_time_while_pending_and_its_end_once_completed()
    {
        await using var env = await StartAsync();
        var source = env.SeedSnapshot("us-east-1");
        var west = env.Client("us-west-2");
        env.Advance(TimeSpan.FromMilliseconds(250));
        var id = (await west.CopyAsync("us-east-1", source)).SnapshotId;

        env.AdvanceSeconds(899);
        var pending = await west.DescribeSnapshotAsync(id);
        Assert.Equal(SnapshotState.Pending, pending.State);
        Assert.Null(pending.CompletionTime);

        env.AdvanceSeconds(5);
        var done = await west.DescribeSnapshotAsync(id);
        Assert.Equal(SnapshotState.Completed, done.State);
        Assert.Equal(TestEmulator.Epoch.AddMilliseconds(250).UtcDateTime, done.StartTime!.Value.ToUniversalTime());
        Assert.Equal(TestEmulator.Epoch.AddMilliseconds(250).AddSeconds(900).UtcDateTime, done.CompletionTime!.Value.ToUniversalTime());
        Assert.Equal(TimeSpan.FromSeconds(900), done.CompletionTime.Value - done.StartTime.Value); // the copy's real duration
        Assert.NotEqual(TransferType.TimeBased, done.TransferType); // a standard copy: not only time-based ones have it
    }

    [Fact]
    public async Task A_created_snapshot_gets_its_completion_time_and_a_failed_copy_gets_none()
    {
        await using var env = await TestEmulator.StartAsync(o =>
        {
            o.Config.Durations.Snapshot = new DurationModel { Kind = DurationKind.Fixed, Seconds = 40 };
            o.Config.Faults.InaccessibleKmsKeys.Add("alias/locked");
        });
        var ec2 = env.Client();
        var volume = env.SeedVolume();
        var created = (await ec2.CreateSnapshotAsync(new CreateSnapshotRequest { VolumeId = volume })).Snapshot;
        Assert.Null(created.CompletionTime); // the CreateSnapshot answer is pending
        var source = env.SeedSnapshot();
        var failing = (await ec2.CopyAsync("us-east-1", source, r => { r.Encrypted = true; r.KmsKeyId = "alias/locked"; })).SnapshotId;

        env.AdvanceSeconds(3600);
        var snapshot = await ec2.DescribeSnapshotAsync(created.SnapshotId);
        Assert.Equal(SnapshotState.Completed, snapshot.State);
        Assert.Equal(TestEmulator.Epoch.AddSeconds(40).UtcDateTime, snapshot.CompletionTime!.Value.ToUniversalTime());
        var failed = await ec2.DescribeSnapshotAsync(failing);
        Assert.Equal(SnapshotState.Error, failed.State);
        Assert.Null(failed.CompletionTime);
    }

    [Fact]
    public async Task Seeded_completed_snapshots_completed_now_and_started_their_duration_earlier()
    {
        await using var env = await StartAsync();
        env.AdvanceSeconds(7200);
        var plain = env.SeedSnapshot();
        var ran = env.Ec2.Seed(new SeedRequest { Region = "us-east-1", Snapshots = 1, DurationSeconds = 1800 }).SnapshotIds.Single();
        var pending = env.Ec2.Seed(new SeedRequest { Region = "us-east-1", Snapshots = 1, State = "pending", DurationSeconds = 60 }).SnapshotIds.Single();
        var error = env.Ec2.Seed(new SeedRequest { Region = "us-east-1", Snapshots = 1, State = "error", DurationSeconds = 60 }).SnapshotIds.Single();
        var ec2 = env.Client();
        var now = TestEmulator.Epoch.AddSeconds(7200).UtcDateTime;

        var p = await ec2.DescribeSnapshotAsync(plain);
        Assert.Equal((now, now), (p.StartTime!.Value.ToUniversalTime(), p.CompletionTime!.Value.ToUniversalTime()));
        var r = await ec2.DescribeSnapshotAsync(ran);
        Assert.Equal((now.AddSeconds(-1800), now), (r.StartTime!.Value.ToUniversalTime(), r.CompletionTime!.Value.ToUniversalTime()));
        Assert.Null((await ec2.DescribeSnapshotAsync(pending)).CompletionTime);
        Assert.Null((await ec2.DescribeSnapshotAsync(error)).CompletionTime);

        env.AdvanceSeconds(59.999);
        Assert.Equal(SnapshotState.Pending, (await ec2.DescribeSnapshotAsync(pending)).State);
        env.AdvanceSeconds(0.001);
        var finished = await ec2.DescribeSnapshotAsync(pending);
        Assert.Equal(SnapshotState.Completed, finished.State);
        Assert.Equal(now.AddSeconds(60), finished.CompletionTime!.Value.ToUniversalTime());
        Assert.Throws<ArgumentException>(() => env.Ec2.Seed(new SeedRequest { Snapshots = 1, DurationSeconds = -1 }));
    }

    [Fact]
    public async Task On_the_wire_completionTime_is_a_millisecond_timestamp_of_completed_snapshots_only()
    {
        await using var env = await StartAsync();
        var source = env.SeedSnapshot("us-east-1");
        env.Advance(TimeSpan.FromMilliseconds(123));
        var (_, copyXml, _) = await RawEc2.CallAsync(env.Ec2.BaseUrl, "us-east-1", "CopySnapshot",
            ("SourceRegion", "us-east-1"), ("SourceSnapshotId", source));
        var copy = copyXml.Root!.Element((Ns + "snapshotId"))!.Value;

        async Task<System.Xml.Linq.XElement> Item(string id)
        {
            var (status, xml, body) = await RawEc2.CallAsync(env.Ec2.BaseUrl, "us-east-1", "DescribeSnapshots", ("SnapshotId.1", id));
            Assert.True(status == HttpStatusCode.OK, body);
            return Assert.Single(xml.Root!.Element((Ns + "snapshotSet"))!.Elements((Ns + "item")));
        }
        Assert.Null((await Item(copy)).Element((Ns + "completionTime")));
        Assert.Equal("2026-03-04T05:06:07.000Z", (await Item(source)).Element((Ns + "completionTime"))?.Value);

        env.AdvanceSeconds(600);
        var item = await Item(copy);
        Assert.Equal("completed", item.Element((Ns + "status"))?.Value);
        Assert.Equal("2026-03-04T05:16:07.123Z", item.Element((Ns + "completionTime"))?.Value);
    }

    [AwsCliFact]
    public async Task The_AWS_CLI_parses_CompletionTime()
    {
        await using var env = await StartAsync();
        var ran = env.Ec2.Seed(new SeedRequest { Region = "us-east-1", Snapshots = 1, DurationSeconds = 1234.5 }).SnapshotIds.Single();
        var pending = env.Ec2.Seed(new SeedRequest { Region = "us-east-1", Snapshots = 1, State = "pending", DurationSeconds = 60 }).SnapshotIds.Single();

        var result = ExternalTools.Run(ExternalTools.AwsCli!,
            ["ec2", "describe-snapshots", "--snapshot-ids", ran, pending, "--region", "us-east-1",
             "--endpoint-url", env.Ec2.BaseUrl.ToString(), "--output", "json"],
            ExternalTools.IsolatedAwsEnvironment(_tempDir), TimeSpan.FromSeconds(90));

        Assert.True(result.ExitCode == 0, $"aws describe-snapshots failed ({result.ExitCode}): {result.StdErr}");
        var snapshots = JsonDocument.Parse(result.StdOut).RootElement.GetProperty("Snapshots").EnumerateArray()
            .ToDictionary(s => s.GetProperty("SnapshotId").GetString()!);
        var done = snapshots[ran];
        var start = DateTimeOffset.Parse(done.GetProperty("StartTime").GetString()!, CultureInfo.InvariantCulture);
        var end = DateTimeOffset.Parse(done.GetProperty("CompletionTime").GetString()!, CultureInfo.InvariantCulture);
        Assert.Equal(TestEmulator.Epoch, end);
        Assert.Equal(TimeSpan.FromSeconds(1234.5), end - start); // botocore reads the milliseconds (MillisecondDateTime)
        Assert.False(snapshots[pending].TryGetProperty("CompletionTime", out _));
    }
}
