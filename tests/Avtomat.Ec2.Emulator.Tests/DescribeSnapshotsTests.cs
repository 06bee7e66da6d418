using Amazon.EC2;
using Amazon.EC2.Model;
using Avtomat.Ec2.Emulator.Tests.Support;
using static Avtomat.Ec2.Emulator.Tests.Support.Ec2Extensions;

namespace Avtomat.Ec2.Emulator.Tests;

public class DescribeSnapshotsTests
{
    [Fact]
    public async Task DescribeSnapshots_BySnapshotIds_ReturnsExactlyThose()
    {
        await using var env = await TestEmulator.StartAsync();
        var ids = env.Ec2.Seed(new() { Region = "us-east-1", Snapshots = 4 }).SnapshotIds;
        var ec2 = env.Client();

        var response = await ec2.DescribeSnapshotsAsync(new DescribeSnapshotsRequest { SnapshotIds = [ids[0], ids[2]] });

        Assert.Equal(new[] { ids[0], ids[2] }.Order(), response.Snapshots.OrEmpty().Select(s => s.SnapshotId).Order());
    }

    [Fact]
    public async Task DescribeSnapshots_SnapshotIdsWithOneMissing_FailsWholeCallWithInvalidSnapshotNotFound()
    {
        await using var env = await TestEmulator.StartAsync();
        var existing = env.SeedSnapshot();

        await Expect.Ec2ErrorAsync(() => env.Client().DescribeSnapshotsAsync(new DescribeSnapshotsRequest
        {
            SnapshotIds = [existing, "snap-0123456789abcdef0"],
        }), "InvalidSnapshot.NotFound", 400);
    }

    [Fact]
    public async Task DescribeSnapshots_SnapshotIdFilterWithOneMissing_ReturnsFewerItems()
    {
        await using var env = await TestEmulator.StartAsync();
        var existing = env.SeedSnapshot();

        var result = await env.Client().DescribeOwnSnapshotsAsync(Filter("snapshot-id", existing, "snap-0123456789abcdef0"));

        Assert.Equal([existing], result.Select(s => s.SnapshotId));
    }

    [Fact]
    public async Task DescribeSnapshots_DeletedOrNeverExistingId_IsNotFound()
    {
        await using var env = await TestEmulator.StartAsync();
        await Expect.Ec2ErrorAsync(() => env.Client().DescribeSnapshotAsync("snap-0123456789abcdef0"), "InvalidSnapshot.NotFound", 400);
    }

    [Fact]
    public async Task DescribeSnapshots_OwnerSelfOrOwnAccountId_ReturnsOnlyOwnSnapshots()
    {
        await using var env = await TestEmulator.StartAsync(o => o.Accounts["AKIDOTHERACCOUNT"] = "210987654321");
        var mine = env.SeedSnapshot();
        var theirs = env.SeedSnapshot(accountId: "210987654321");
        var ec2 = env.Client();
        var other = env.Client(accessKeyId: "AKIDOTHERACCOUNT");

        Assert.Equal([mine], (await ec2.DescribeSnapshotsAsync(new DescribeSnapshotsRequest { OwnerIds = ["self"] })).Snapshots.OrEmpty().Select(s => s.SnapshotId));
        Assert.Equal([mine], (await ec2.DescribeSnapshotsAsync(new DescribeSnapshotsRequest { OwnerIds = [env.AccountId] })).Snapshots.OrEmpty().Select(s => s.SnapshotId));
        Assert.Equal([theirs], (await other.DescribeSnapshotsAsync(new DescribeSnapshotsRequest { OwnerIds = ["self"] })).Snapshots.OrEmpty().Select(s => s.SnapshotId));
        var theirOwner = await other.DescribeSnapshotAsync(theirs);
        Assert.Equal("210987654321", theirOwner.OwnerId);
    }

    [Fact]
    public async Task DescribeSnapshots_OnlySeesTheSigningRegion()
    {
        await using var env = await TestEmulator.StartAsync();
        var east = env.SeedSnapshot("us-east-1");
        var west = env.SeedSnapshot("us-west-2");

        Assert.Equal([east], (await env.Client("us-east-1").DescribeOwnSnapshotsAsync()).Select(s => s.SnapshotId));
        Assert.Equal([west], (await env.Client("us-west-2").DescribeOwnSnapshotsAsync()).Select(s => s.SnapshotId));
        Assert.Empty(await env.Client("eu-west-1").DescribeOwnSnapshotsAsync());
    }

    [Fact]
    public async Task DescribeSnapshots_StatusFilter_SelectsByState()
    {
        await using var env = await TestEmulator.StartAsync();
        var done = env.SeedSnapshot();
        var pending = env.Ec2.Seed(new() { Snapshots = 1, State = "pending" }).SnapshotIds.Single();
        var failed = env.Ec2.Seed(new() { Snapshots = 1, State = "error", StatusMessage = "boom" }).SnapshotIds.Single();
        var ec2 = env.Client();

        Assert.Equal([done], (await ec2.DescribeOwnSnapshotsAsync(Filter("status", "completed"))).Select(s => s.SnapshotId));
        Assert.Equal([pending], (await ec2.DescribeOwnSnapshotsAsync(Filter("status", "pending"))).Select(s => s.SnapshotId));
        var error = Assert.Single(await ec2.DescribeOwnSnapshotsAsync(Filter("status", "error")));
        Assert.Equal(failed, error.SnapshotId);
        Assert.Equal("boom", error.StateMessage);
        // Several values of one filter are ORed.
        Assert.Equal(new[] { done, failed }.Order(),
            (await ec2.DescribeOwnSnapshotsAsync(Filter("status", "completed", "error"))).Select(s => s.SnapshotId).Order());
    }

    [Fact]
    public async Task DescribeSnapshots_VolumeIdFilter_SelectsSnapshotsOfThatVolume()
    {
        await using var env = await TestEmulator.StartAsync();
        var vol = env.SeedVolume();
        var ofVol = env.Ec2.Seed(new() { Snapshots = 2, VolumeId = vol }).SnapshotIds;
        env.SeedSnapshot();

        var result = await env.Client().DescribeOwnSnapshotsAsync(Filter("volume-id", vol));

        Assert.Equal(ofVol.Order(), result.Select(s => s.SnapshotId).Order());
        Assert.All(result, s => Assert.Equal(vol, s.VolumeId));
    }

    [Fact]
    public async Task DescribeSnapshots_OwnerIdFilter_SelectsByOwnerAccount()
    {
        await using var env = await TestEmulator.StartAsync();
        var mine = env.SeedSnapshot();
        var ec2 = env.Client();

        Assert.Equal([mine], (await ec2.DescribeOwnSnapshotsAsync(Filter("owner-id", env.AccountId))).Select(s => s.SnapshotId));
        Assert.Empty(await ec2.DescribeOwnSnapshotsAsync(Filter("owner-id", "999999999999")));
    }

    [Fact]
    public async Task DescribeSnapshots_DescriptionFilter_SupportsWildcards()
    {
        await using var env = await TestEmulator.StartAsync();
        var nightly = env.SeedSnapshot(description: "nightly backup of db1");
        var weekly = env.SeedSnapshot(description: "weekly backup of db1");
        env.SeedSnapshot(description: "other");
        var ec2 = env.Client();

        Assert.Equal([nightly], (await ec2.DescribeOwnSnapshotsAsync(Filter("description", "nightly backup of db1"))).Select(s => s.SnapshotId));
        Assert.Equal(new[] { nightly, weekly }.Order(),
            (await ec2.DescribeOwnSnapshotsAsync(Filter("description", "*backup*"))).Select(s => s.SnapshotId).Order());
        Assert.Equal([weekly], (await ec2.DescribeOwnSnapshotsAsync(Filter("description", "w?ekly*"))).Select(s => s.SnapshotId));
        Assert.Empty(await ec2.DescribeOwnSnapshotsAsync(Filter("description", "backup")));
    }

    [Fact]
    public async Task DescribeSnapshots_EncryptedFilter_SelectsByEncryption()
    {
        await using var env = await TestEmulator.StartAsync();
        var plain = env.SeedSnapshot();
        var enc = env.SeedSnapshot(encrypted: true, kmsKeyId: "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555");
        var ec2 = env.Client();

        Assert.Equal([enc], (await ec2.DescribeOwnSnapshotsAsync(Filter("encrypted", "true"))).Select(s => s.SnapshotId));
        Assert.Equal([plain], (await ec2.DescribeOwnSnapshotsAsync(Filter("encrypted", "false"))).Select(s => s.SnapshotId));
    }

    [Fact]
    public async Task DescribeSnapshots_ProgressFilter_MatchesProgressString()
    {
        await using var env = await TestEmulator.StartAsync();
        var done = env.SeedSnapshot();
        env.Ec2.Seed(new() { Snapshots = 1, State = "pending" });

        var result = await env.Client().DescribeOwnSnapshotsAsync(Filter("progress", "100%"));

        Assert.Equal([done], result.Select(s => s.SnapshotId));
    }

    [Fact]
    public async Task DescribeSnapshots_StartTimeFilter_MatchesTheStartTimeWithWildcard()
    {
        await using var env = await TestEmulator.StartAsync();
        var first = env.SeedSnapshot();
        env.Advance(TimeSpan.FromDays(1));
        var second = env.SeedSnapshot();
        var ec2 = env.Client();

        Assert.Equal([first], (await ec2.DescribeOwnSnapshotsAsync(Filter("start-time", "2026-03-04*"))).Select(s => s.SnapshotId));
        Assert.Equal([second], (await ec2.DescribeOwnSnapshotsAsync(Filter("start-time", "2026-03-05*"))).Select(s => s.SnapshotId));
        var snap = await ec2.DescribeSnapshotAsync(first);
        Assert.Equal(TestEmulator.Epoch.UtcDateTime, snap.StartTime?.ToUniversalTime());
    }

    [Fact]
    public async Task DescribeSnapshots_TagFilters_MatchKeyValueAndKeyAndWildcards()
    {
        await using var env = await TestEmulator.StartAsync();
        var prod = env.SeedSnapshot(tags: new() { ["Env"] = "prod", ["Team"] = "a" });
        var dev = env.SeedSnapshot(tags: new() { ["Env"] = "dev" });
        var untagged = env.SeedSnapshot();
        var ec2 = env.Client();

        Assert.Equal([prod], (await ec2.DescribeOwnSnapshotsAsync(Filter("tag:Env", "prod"))).Select(s => s.SnapshotId));
        Assert.Equal(new[] { prod, dev }.Order(),
            (await ec2.DescribeOwnSnapshotsAsync(Filter("tag:Env", "prod", "dev"))).Select(s => s.SnapshotId).Order());
        Assert.Equal(new[] { prod, dev }.Order(),
            (await ec2.DescribeOwnSnapshotsAsync(Filter("tag-key", "Env"))).Select(s => s.SnapshotId).Order());
        Assert.Equal([prod], (await ec2.DescribeOwnSnapshotsAsync(Filter("tag-key", "Team"))).Select(s => s.SnapshotId));
        Assert.Equal([prod], (await ec2.DescribeOwnSnapshotsAsync(Filter("tag:Env", "p*"))).Select(s => s.SnapshotId));
        Assert.Empty(await ec2.DescribeOwnSnapshotsAsync(Filter("tag:Env", "Prod"))); // values are case-sensitive
        Assert.Equal(3, (await ec2.DescribeOwnSnapshotsAsync()).Count);
        Assert.DoesNotContain(untagged, (await ec2.DescribeOwnSnapshotsAsync(Filter("tag-key", "*"))).Select(s => s.SnapshotId));
    }

    [Fact]
    public async Task DescribeSnapshots_SeveralFilters_AreAnded()
    {
        await using var env = await TestEmulator.StartAsync();
        var prodDone = env.SeedSnapshot(tags: new() { ["Env"] = "prod" });
        env.Ec2.Seed(new() { Snapshots = 1, State = "pending", Tags = new() { ["Env"] = "prod" } });
        env.SeedSnapshot(tags: new() { ["Env"] = "dev" });

        var result = await env.Client().DescribeOwnSnapshotsAsync(Filter("tag:Env", "prod"), Filter("status", "completed"));

        Assert.Equal([prodDone], result.Select(s => s.SnapshotId));
    }

    [Fact]
    public async Task DescribeSnapshots_PagingWithMaxResults_WalksEveryItemExactlyOnce()
    {
        await using var env = await TestEmulator.StartAsync();
        var ids = env.Ec2.Seed(new() { Snapshots = 23 }).SnapshotIds;
        var ec2 = env.Client();

        var seen = new List<string>();
        string? token = null;
        var pages = 0;
        do
        {
            var page = await ec2.DescribeSnapshotsAsync(new DescribeSnapshotsRequest { OwnerIds = ["self"], MaxResults = 5, NextToken = token });
            var items = page.Snapshots.OrEmpty();
            Assert.InRange(items.Count, 0, 5);
            seen.AddRange(items.Select(s => s.SnapshotId));
            token = page.NextToken;
            Assert.True(++pages <= 10, "paging does not terminate");
        }
        while (!string.IsNullOrEmpty(token));

        Assert.Equal(23, seen.Count);
        Assert.Equal(ids.Order(), seen.Order());
        Assert.True(pages >= 5);
    }

    [Fact]
    public async Task DescribeSnapshots_MaxResultsLargerThanTheSet_ReturnsAllWithoutNextToken()
    {
        await using var env = await TestEmulator.StartAsync();
        env.Ec2.Seed(new() { Snapshots = 7 });

        var page = await env.Client().DescribeSnapshotsAsync(new DescribeSnapshotsRequest { OwnerIds = ["self"], MaxResults = 1000 });

        Assert.Equal(7, page.Snapshots.OrEmpty().Count);
        Assert.True(string.IsNullOrEmpty(page.NextToken));
    }

    [Theory]
    [InlineData(4)]
    [InlineData(1001)]
    public async Task DescribeSnapshots_MaxResultsOutOfRange_IsInvalidParameterValue(int maxResults)
    {
        await using var env = await TestEmulator.StartAsync();
        env.SeedSnapshot();

        await Expect.Ec2ErrorAsync(() => env.Client().DescribeSnapshotsAsync(new DescribeSnapshotsRequest { MaxResults = maxResults }),
            "InvalidParameterValue", 400);
    }

    [Fact]
    public async Task DescribeSnapshots_MaxResultsWithSnapshotIds_IsInvalidParameterCombination()
    {
        await using var env = await TestEmulator.StartAsync();
        var id = env.SeedSnapshot();

        await Expect.Ec2ErrorAsync(() => env.Client().DescribeSnapshotsAsync(new DescribeSnapshotsRequest { SnapshotIds = [id], MaxResults = 5 }),
            "InvalidParameterCombination", 400);
    }
}
