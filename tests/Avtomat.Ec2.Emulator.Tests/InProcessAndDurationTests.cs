using Amazon.EC2;
using Amazon.EC2.Model;
using Amazon.Runtime;
using Avtomat.Ec2.Emulator.Tests.Support;
using Microsoft.Extensions.Time.Testing;

namespace Avtomat.Ec2.Emulator.Tests;

/// <summary>DurationOf (durations keyed by what is copied, whatever the call order) and the in-process transport.</summary>
public sealed class InProcessAndDurationTests
{
    private sealed class FixedFactory(HttpClient client) : HttpClientFactory
    {
        public override HttpClient CreateHttpClient(IClientConfig clientConfig) => client;
        public override bool UseSDKHttpClientCaching(IClientConfig clientConfig) => false;
        public override bool DisposeHttpClientsAfterUse(IClientConfig clientConfig) => false;
    }

    private static AmazonEC2Client InProcessClient(Ec2Emulator ec2, HttpClient http, string region = "us-east-1") =>
        new(new BasicAWSCredentials(EmulatorClients.DefaultAccessKeyId, "secret"), new AmazonEC2Config
        {
            ServiceURL = "http://ec2.emulator.invalid/", AuthenticationRegion = region, MaxErrorRetry = 0,
            CacheHttpClient = false, HttpClientFactory = new FixedFactory(http),
        });

    [Fact]
    public async Task DurationOf_decides_how_long_copies_and_created_snapshots_stay_pending()
    {
        var seen = new List<NewSnapshotInfo>();
        await using var t = await TestEmulator.StartAsync(o => o.DurationOf = info =>
        {
            seen.Add(info);
            return info.IsCopy ? 90 : info.VolumeSizeGiB; // seconds
        });
        var source = t.SeedSnapshot(sizeGiB: 40);
        var volume = t.Ec2.Seed(new SeedRequest { Region = "us-east-1", Volumes = 1, SizeGiB = 30 }).VolumeIds[0];
        var copy = await t.Client("us-west-2").CopySnapshotAsync(new CopySnapshotRequest { SourceRegion = "us-east-1", SourceSnapshotId = source });
        var snapshot = await t.Client().CreateSnapshotAsync(new CreateSnapshotRequest { VolumeId = volume });

        Assert.Equal(2, seen.Count);
        Assert.True(seen[0].IsCopy);
        Assert.Equal(("us-west-2", "us-east-1", source, 40), (seen[0].Region, seen[0].SourceRegion, seen[0].SourceSnapshotId, seen[0].VolumeSizeGiB));
        Assert.Equal(TestEmulator.Epoch, seen[0].Start);
        Assert.Equal((false, volume, 30), (seen[1].IsCopy, seen[1].VolumeId, seen[1].VolumeSizeGiB));

        async Task<string> State(string region, string id) =>
            (await t.Client(region).DescribeSnapshotsAsync(new DescribeSnapshotsRequest { SnapshotIds = [id] })).Snapshots[0].State.Value;
        t.AdvanceSeconds(29.9);
        Assert.Equal("pending", await State("us-east-1", snapshot.Snapshot.SnapshotId));
        t.AdvanceSeconds(0.1);
        Assert.Equal("completed", await State("us-east-1", snapshot.Snapshot.SnapshotId));
        t.AdvanceSeconds(59.9); // 89.9 s: the copy's 90 s (no cross-region factor on a given duration)
        Assert.Equal("pending", await State("us-west-2", copy.SnapshotId));
        t.AdvanceSeconds(0.1);
        Assert.Equal("completed", await State("us-west-2", copy.SnapshotId));
    }

    [Fact]
    public async Task The_in_process_handler_serves_the_SDK_with_limits_and_counters_and_drops_like_a_connection()
    {
        var clock = new FakeTimeProvider(TestEmulator.Epoch);
        await using var ec2 = Ec2Emulator.CreateInProcess(new EmulatorOptions { TimeProvider = clock });
        Assert.Throws<InvalidOperationException>(() => ec2.BaseUrl);
        using var http = new HttpClient(ec2.CreateHandler());
        using var client = InProcessClient(ec2, http, "us-west-2");
        var source = ec2.Seed(new SeedRequest { Region = "us-east-1", Snapshots = 21, SizeGiB = 8 }).SnapshotIds;

        for (var i = 0; i < 20; i++)
            await client.CopySnapshotAsync(new CopySnapshotRequest { SourceRegion = "us-east-1", SourceSnapshotId = source[i] });
        var limit = await Assert.ThrowsAsync<AmazonEC2Exception>(() =>
            client.CopySnapshotAsync(new CopySnapshotRequest { SourceRegion = "us-east-1", SourceSnapshotId = source[20] }));
        Assert.Equal("ResourceLimitExceeded", limit.ErrorCode);
        var copies = await client.DescribeSnapshotsAsync(new DescribeSnapshotsRequest { OwnerIds = ["self"] });
        Assert.Equal(20, copies.Snapshots.Count);
        var stats = ec2.GetStats();
        Assert.Equal(21, stats.Calls[$"{ec2.Options.DefaultAccountId}/us-west-2"]["CopySnapshot"]);
        Assert.Equal(20, stats.MaxPendingCopies[$"{ec2.Options.DefaultAccountId}/us-west-2"]);

        ec2.Config.Faults.DropBeforeActionRate = 1;
        var dropped = await Assert.ThrowsAnyAsync<Exception>(() => client.DescribeSnapshotsAsync(new DescribeSnapshotsRequest { OwnerIds = ["self"] }));
        Assert.Contains("IOException: The response ended prematurely.", dropped.ToString()); // the SDK unwraps it, as over TCP
        Assert.Equal(1, ec2.GetStats().Faults["DropBeforeAction"]);
    }

    [Fact]
    public async Task Snapshot_id_filters_and_ids_return_the_same_snapshots_whether_looked_up_or_matched()
    {
        await using var t = await TestEmulator.StartAsync();
        var ids = t.Ec2.Seed(new SeedRequest { Region = "us-east-1", Snapshots = 5, SizeGiB = 8 }).SnapshotIds;
        var client = t.Client();
        var picked = new List<string> { ids[3], ids[1], ids[3], "snap-0123456789abcdef0" };

        var byFilter = await client.DescribeSnapshotsAsync(new DescribeSnapshotsRequest { Filters = [new Filter { Name = "snapshot-id", Values = picked }] });
        Assert.Equal(new[] { ids[1], ids[3] }, byFilter.Snapshots.Select(s => s.SnapshotId)); // creation order, unknown ids left out

        var wildcard = await client.DescribeSnapshotsAsync(new DescribeSnapshotsRequest
        {
            Filters = [new Filter { Name = "snapshot-id", Values = [ids[4], ids[0][..8] + "*"] }],
        });
        Assert.Contains(ids[0], wildcard.Snapshots.Select(s => s.SnapshotId));
        Assert.Contains(ids[4], wildcard.Snapshots.Select(s => s.SnapshotId));

        var byIds = await client.DescribeSnapshotsAsync(new DescribeSnapshotsRequest { SnapshotIds = [ids[2], ids[0]] });
        Assert.Equal(new[] { ids[0], ids[2] }, byIds.Snapshots.Select(s => s.SnapshotId));
        var missing = await Assert.ThrowsAsync<AmazonEC2Exception>(() =>
            client.DescribeSnapshotsAsync(new DescribeSnapshotsRequest { SnapshotIds = [ids[2], "snap-0123456789abcdef0"] }));
        Assert.Equal("InvalidSnapshot.NotFound", missing.ErrorCode);
    }
}
