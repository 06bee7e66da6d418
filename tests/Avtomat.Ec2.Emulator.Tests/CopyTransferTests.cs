using Amazon.EC2;
using Amazon.EC2.Model;
using Avtomat.Ec2.Emulator.Tests.Support;

namespace Avtomat.Ec2.Emulator.Tests;

/// <summary>Full against incremental copies by EC2's rules, the bytes each transfers (stats CopyDetails), and time-based
/// copies against the per-copy and per-region-pair throughput quotas. Through the AWSSDK, on a fake clock.</summary>
public sealed class CopyTransferTests
{
    private const string B = "210987654321";
    private const string KeyB = "AKIDACCOUNTB";
    private const long GiB = 1L << 30;

    private static Task<TestEmulator> StartAsync(double copySeconds = 100, double? quotaMiBps = null) =>
        TestEmulator.StartAsync(o =>
        {
            o.Accounts[KeyB] = B;
            o.Config.Durations.Copy = new DurationModel { Kind = DurationKind.Fixed, Seconds = copySeconds };
            o.Config.Durations.CrossRegionFactor = 1;
            o.Config.Durations.IncrementalFactor = 0.25;
            o.Config.Durations.IncrementalChangedShare = 0.1;
            if (quotaMiBps is { } q) o.Config.Limits.TimeBasedCopyThroughputMiBps = q;
        });

    /// <summary>Seeds <paramref name="count"/> completed snapshots of one volume (oldest first).</summary>
    private static List<string> SnapshotsOfOneVolume(TestEmulator t, int count, int sizeGiB = 100, string? accountId = null,
        List<string>? shareWith = null)
    {
        var volume = $"vol-{Guid.NewGuid():N}"[..21];
        return Enumerable.Range(0, count).Select(_ => t.Ec2.Seed(new SeedRequest
        {
            Region = "us-east-1", Snapshots = 1, VolumeId = volume, SizeGiB = sizeGiB, AccountId = accountId,
            CreateVolumePermissionUserIds = shareWith,
        }).SnapshotIds.Single()).ToList();
    }

    private static async Task<string> CopyAndFinish(TestEmulator t, IAmazonEC2 west, string source, Action<CopySnapshotRequest>? configure = null)
    {
        var id = (await west.CopyAsync("us-east-1", source, configure)).SnapshotId;
        t.AdvanceSeconds(1000);
        return id;
    }

    private static CopyStats Detail(TestEmulator t, string copyId) => t.Ec2.GetStats().CopyDetails[copyId];

    [Fact]
    public async Task First_copy_to_a_region_is_full_and_a_later_snapshot_of_the_same_volume_copies_incrementally()
    {
        await using var t = await StartAsync();
        var snaps = SnapshotsOfOneVolume(t, 2);
        var west = t.Client("us-west-2");

        var first = await CopyAndFinish(t, west, snaps[0]);
        var second = (await west.CopyAsync("us-east-1", snaps[1])).SnapshotId;

        var d1 = Detail(t, first);
        var d2 = Detail(t, second);
        Assert.Equal(("Full", 100 * GiB, (string?)null), (d1.Kind, d1.TransferredBytes, d1.BaseSnapshotId));
        Assert.Equal(("Incremental", 10 * GiB, first), (d2.Kind, d2.TransferredBytes, d2.BaseSnapshotId));
        Assert.Equal(110 * GiB, t.Ec2.GetStats().TransferredBytes);
        // The incremental copy takes the incremental factor of the copy duration (100 s × 0.25).
        Assert.Equal(TimeSpan.FromSeconds(25), d2.EndTime - d2.StartTime);
        t.AdvanceSeconds(25);
        Assert.Equal(SnapshotState.Completed, (await west.DescribeSnapshotAsync(second)).State);
    }

    [Fact]
    public async Task A_pending_earlier_copy_is_no_base_the_most_recently_completed_one_is()
    {
        await using var t = await StartAsync();
        var snaps = SnapshotsOfOneVolume(t, 2);
        var west = t.Client("us-west-2");
        var first = (await west.CopyAsync("us-east-1", snaps[0])).SnapshotId;
        var second = (await west.CopyAsync("us-east-1", snaps[1])).SnapshotId; // the first is still pending

        Assert.Equal("Full", Detail(t, first).Kind);
        Assert.Equal("Full", Detail(t, second).Kind);
    }

    [Fact]
    public async Task A_copy_to_a_new_KMS_key_is_full_and_the_next_one_with_that_key_is_still_full_while_unencrypted_copies_remain()
    {
        await using var t = await StartAsync();
        var key = t.Ec2.CreateKmsKey(t.AccountId, "us-west-2").Arn;
        var snaps = SnapshotsOfOneVolume(t, 3);
        var west = t.Client("us-west-2");
        void Encrypt(CopySnapshotRequest r) { r.Encrypted = true; r.KmsKeyId = key; }

        var plain = await CopyAndFinish(t, west, snaps[0]);
        var keyed = await CopyAndFinish(t, west, snaps[1], Encrypt);
        Assert.Equal(("Full", 100 * GiB), (Detail(t, keyed).Kind, Detail(t, keyed).TransferredBytes));
        Assert.Contains(plain, Detail(t, keyed).Reason);

        // Not all copies there share the key while the unencrypted one exists; once it is deleted they do.
        var again = await CopyAndFinish(t, west, snaps[2], Encrypt);
        Assert.Equal("Full", Detail(t, again).Kind);
        await west.DeleteSnapshotAsync(new DeleteSnapshotRequest { SnapshotId = plain });
        var last = (await west.CopyAsync("us-east-1", snaps[2], Encrypt)).SnapshotId;
        Assert.Equal(("Incremental", again), (Detail(t, last).Kind, Detail(t, last).BaseSnapshotId));
    }

    [Fact]
    public async Task Deleting_the_most_recent_copy_makes_the_next_copy_full_even_when_an_older_copy_remains()
    {
        await using var t = await StartAsync();
        var snaps = SnapshotsOfOneVolume(t, 3);
        var west = t.Client("us-west-2");
        await CopyAndFinish(t, west, snaps[0]);
        var recent = await CopyAndFinish(t, west, snaps[1]);
        Assert.Equal("Incremental", Detail(t, recent).Kind);
        await west.DeleteSnapshotAsync(new DeleteSnapshotRequest { SnapshotId = recent });

        var next = (await west.CopyAsync("us-east-1", snaps[2])).SnapshotId;

        Assert.Equal(("Full", 100 * GiB), (Detail(t, next).Kind, Detail(t, next).TransferredBytes));
        Assert.Contains("deleted", Detail(t, next).Reason);
    }

    [Fact]
    public async Task Another_accounts_destination_gets_a_full_copy_though_the_owner_copied_the_lineage_there()
    {
        await using var t = await StartAsync();
        var snaps = SnapshotsOfOneVolume(t, 2, shareWith: [B]);
        var west = t.Client("us-west-2");
        await CopyAndFinish(t, west, snaps[0]);

        var theirs = (await t.Client("us-west-2", KeyB).CopyAsync("us-east-1", snaps[1])).SnapshotId;

        var d = Detail(t, theirs);
        Assert.Equal(($"{B}/us-west-2", "Full", 100 * GiB), (d.Destination, d.Kind, d.TransferredBytes));
    }

    [Fact]
    public async Task A_copy_within_one_account_and_region_with_the_same_key_is_incremental_and_moves_no_data()
    {
        await using var t = await StartAsync();
        var source = SnapshotsOfOneVolume(t, 1)[0];
        var copy = (await t.Client().CopyAsync("us-east-1", source)).SnapshotId;

        var d = Detail(t, copy);
        Assert.Equal(("Incremental", 0L, source), (d.Kind, d.TransferredBytes, d.BaseSnapshotId));
        Assert.Equal(TimeSpan.FromSeconds(100), d.EndTime - d.StartTime); // the plain copy duration
    }

    [Fact]
    public async Task Copy_details_are_served_by_the_control_API()
    {
        await using var t = await StartAsync();
        var source = SnapshotsOfOneVolume(t, 1)[0];
        var copy = (await t.Client("us-west-2").CopyAsync("us-east-1", source)).SnapshotId;

        using var http = new HttpClient();
        var json = await http.GetStringAsync(new Uri(t.Ec2.BaseUrl, "_emulator/stats"));
        using var doc = System.Text.Json.JsonDocument.Parse(json);
        var detail = doc.RootElement.GetProperty("copyDetails").GetProperty(copy);
        Assert.Equal("Full", detail.GetProperty("kind").GetString());
        Assert.Equal(100 * GiB, detail.GetProperty("transferredBytes").GetInt64());
        Assert.Equal(100 * GiB, doc.RootElement.GetProperty("transferredBytes").GetInt64());
    }

    // ------------------------------------------------------------------ time-based copies

    private static void Minutes(CopySnapshotRequest r, int minutes) => r.CompletionDurationMinutes = minutes;

    private static async Task<DateTime?> CompletionTime(IAmazonEC2 client, string id) =>
        (await client.DescribeSnapshotAsync(id)).CompletionTime?.ToUniversalTime();

    [Fact]
    public async Task Time_based_copies_within_the_quota_finish_on_time_the_one_over_it_late_by_the_model_and_none_left_fails()
    {
        // 225 GiB in 15 minutes needs 230,400 MiB ÷ 900 s = 256 MiB/s. Quota 896: three take 768, the fourth gets the
        // 128 left and needs 230,400 ÷ 128 = 1,800 s (900 s late); the fifth finds nothing left.
        await using var t = await StartAsync(copySeconds: 100_000, quotaMiBps: 896);
        var sources = Enumerable.Range(0, 5).Select(_ => SnapshotsOfOneVolume(t, 1, sizeGiB: 225)[0]).ToList();
        var west = t.Client("us-west-2");
        var copies = new List<string>();
        for (var i = 0; i < 4; i++)
            copies.Add((await west.CopyAsync("us-east-1", sources[i], r => Minutes(r, 15))).SnapshotId);

        var refused = await Assert.ThrowsAsync<AmazonEC2Exception>(() => west.CopyAsync("us-east-1", sources[4], r => Minutes(r, 15)));
        Assert.Equal("ResourceLimitExceeded", refused.ErrorCode);
        // Another region pair has its own quota.
        var other = (await t.Client("eu-west-1").CopyAsync("us-east-1", sources[4], r => Minutes(r, 15))).SnapshotId;

        var stats = t.Ec2.GetStats();
        for (var i = 0; i < 3; i++)
        {
            var d = stats.CopyDetails[copies[i]];
            Assert.Equal((256.0, 256.0, false), (d.RequiredMiBps!.Value, d.GrantedMiBps!.Value, d.Late));
            Assert.Equal(TestEmulator.Epoch.AddMinutes(15), d.EndTime);
        }
        var lateOne = stats.CopyDetails[copies[3]];
        Assert.Equal((128.0, true), (lateOne.GrantedMiBps!.Value, lateOne.Late));
        Assert.Equal(TestEmulator.Epoch.AddSeconds(1800), lateOne.EndTime);
        Assert.Equal(TestEmulator.Epoch.AddMinutes(15), lateOne.DueTime);
        Assert.False(stats.CopyDetails[other].Late);

        t.AdvanceSeconds(1799);
        Assert.Equal(SnapshotState.Completed, (await west.DescribeSnapshotAsync(copies[0])).State);
        Assert.Equal(SnapshotState.Pending, (await west.DescribeSnapshotAsync(copies[3])).State);
        t.AdvanceSeconds(1);
        Assert.Equal(TestEmulator.Epoch.AddSeconds(1800).UtcDateTime, await CompletionTime(west, copies[3]));

        // Throughput is back once the copies finished.
        t.AdvanceSeconds(1);
        await west.CopyAsync("us-east-1", sources[4], r => Minutes(r, 15));
    }

    [Fact]
    public async Task Two_time_based_copies_of_one_snapshot_run_one_after_the_other()
    {
        await using var t = await StartAsync(copySeconds: 100_000);
        var source = SnapshotsOfOneVolume(t, 1, sizeGiB: 225)[0];
        var first = (await t.Client("us-west-2").CopyAsync("us-east-1", source, r => Minutes(r, 15))).SnapshotId;
        var second = (await t.Client("eu-west-1").CopyAsync("us-east-1", source, r => Minutes(r, 30))).SnapshotId;

        var stats = t.Ec2.GetStats();
        Assert.Equal(TestEmulator.Epoch.AddMinutes(15), stats.CopyDetails[first].EndTime);
        var d = stats.CopyDetails[second];
        Assert.Equal((TestEmulator.Epoch, TestEmulator.Epoch.AddMinutes(15)), (d.StartTime, d.TransferStart));
        Assert.Equal(TestEmulator.Epoch.AddMinutes(45), d.EndTime);
        Assert.False(d.Late);
        t.AdvanceSeconds(45 * 60);
        Assert.Equal(TestEmulator.Epoch.AddMinutes(45).UtcDateTime, await CompletionTime(t.Client("eu-west-1"), second));
    }

    [Fact]
    public async Task A_time_based_copy_gets_at_most_500_MiB_per_second_and_a_too_short_duration_completes_late()
    {
        // 900 GiB in 15 minutes would need 921,600 MiB ÷ 900 s = 1,024 MiB/s: it gets 500 and takes 1,843.2 s.
        await using var t = await StartAsync(copySeconds: 100_000);
        var source = SnapshotsOfOneVolume(t, 1, sizeGiB: 900)[0];
        var west = t.Client("us-west-2");
        var copy = (await west.CopyAsync("us-east-1", source, r => Minutes(r, 15))).SnapshotId;

        var d = Detail(t, copy);
        Assert.Equal((1024.0, 500.0, true), (d.RequiredMiBps!.Value, d.GrantedMiBps!.Value, d.Late));
        Assert.Equal(TestEmulator.Epoch.AddSeconds(1843.2), d.EndTime);
        t.AdvanceSeconds(1843.2);
        Assert.Equal(TestEmulator.Epoch.AddSeconds(1843.2).UtcDateTime, await CompletionTime(west, copy));
    }

    [Fact]
    public async Task An_incremental_time_based_copy_needs_throughput_for_its_changed_blocks_only()
    {
        await using var t = await StartAsync(copySeconds: 100_000);
        var snaps = SnapshotsOfOneVolume(t, 2, sizeGiB: 900);
        var west = t.Client("us-west-2");
        await west.CopyAsync("us-east-1", snaps[0], r => Minutes(r, 60));
        t.AdvanceSeconds(3600);
        var copy = (await west.CopyAsync("us-east-1", snaps[1], r => Minutes(r, 15))).SnapshotId;

        var d = Detail(t, copy);
        // 10 % of 900 GiB = 92,160 MiB in 900 s: 102.4 MiB/s, on time.
        Assert.Equal(("Incremental", 102.4, false), (d.Kind, Math.Round(d.RequiredMiBps!.Value, 6), d.Late));
    }
}
