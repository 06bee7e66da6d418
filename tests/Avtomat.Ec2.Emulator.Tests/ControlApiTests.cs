using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using Amazon.EC2;
using Amazon.EC2.Model;
using Avtomat.Ec2.Emulator.Tests.Support;

namespace Avtomat.Ec2.Emulator.Tests;

/// <summary>The HTTP control API under /_emulator/ (JSON, camelCase), as an out-of-process user would drive it.</summary>
public class ControlApiTests
{
    private static HttpClient Http(TestEmulator env) => new() { BaseAddress = env.Ec2.BaseUrl, Timeout = TimeSpan.FromSeconds(15) };

    private static async Task<JsonNode> GetJsonAsync(HttpClient http, string path)
    {
        using var response = await http.GetAsync(path);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
    }

    private static StringContent Json(JsonNode node) => new(node.ToJsonString(), Encoding.UTF8, "application/json");

    [Fact]
    public async Task Health_Answers200()
    {
        await using var env = await TestEmulator.StartAsync();
        using var http = Http(env);
        using var response = await http.GetAsync("_emulator/health");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task Seed_CreatesSnapshotsVisibleThroughTheSdk()
    {
        await using var env = await TestEmulator.StartAsync();
        using var http = Http(env);

        var body = new JsonObject
        {
            ["region"] = "eu-west-1", ["snapshots"] = 3, ["sizeGiB"] = 100, ["description"] = "seeded",
            ["tags"] = new JsonObject { ["Env"] = "prod" },
        };
        using var response = await http.PostAsync("_emulator/seed", Json(body));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var result = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        var ids = result["snapshotIds"]!.AsArray().Select(n => n!.GetValue<string>()).ToList();

        Assert.Equal(3, ids.Count);
        var snaps = await env.Client("eu-west-1").DescribeOwnSnapshotsAsync(Ec2Extensions.Filter("tag:Env", "prod"));
        Assert.Equal(ids.Order(), snaps.Select(s => s.SnapshotId).Order());
        Assert.All(snaps, s =>
        {
            Assert.Equal(SnapshotState.Completed, s.State);
            Assert.Equal(100, s.VolumeSize);
            Assert.Equal("seeded", s.Description);
        });
    }

    [Fact]
    public async Task Seed_WithAccessKeyId_SeedsIntoItsMappedAccount()
    {
        await using var env = await TestEmulator.StartAsync(o => o.Accounts["AKIDMAPPED"] = "555555555555");
        using var http = Http(env);

        using var response = await http.PostAsync("_emulator/seed",
            Json(new JsonObject { ["accessKeyId"] = "AKIDMAPPED", ["region"] = "us-east-1", ["snapshots"] = 1, ["volumes"] = 1 }));
        var result = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        var id = result["snapshotIds"]![0]!.GetValue<string>();
        Assert.Single(result["volumeIds"]!.AsArray());

        Assert.Equal("555555555555", (await env.Client(accessKeyId: "AKIDMAPPED").DescribeSnapshotAsync(id)).OwnerId);
        Assert.Empty(await env.Client().DescribeOwnSnapshotsAsync());
    }

    [Fact]
    public async Task Config_GetPutRoundTrip_ChangesBehaviour()
    {
        await using var env = await TestEmulator.StartAsync(o => o.Config.Durations.Copy = new() { Kind = Emulator.DurationKind.Fixed, Seconds = 600 });
        using var http = Http(env);

        var config = await GetJsonAsync(http, "_emulator/config");
        Assert.Equal(20, config["limits"]!["maxPendingCopiesPerRegion"]!.GetValue<int>());
        Assert.Equal(50, config["limits"]!["buckets"]!["CopySnapshot"]!["burst"]!.GetValue<int>());

        config["limits"]!["maxPendingCopiesPerRegion"] = 2;
        config["faults"]!["invisibleSeconds"] = 7.5;
        using (var put = await http.PutAsync("_emulator/config", Json(config)))
            Assert.True(put.IsSuccessStatusCode, $"PUT config answered {(int)put.StatusCode}");

        var again = await GetJsonAsync(http, "_emulator/config");
        Assert.Equal(2, again["limits"]!["maxPendingCopiesPerRegion"]!.GetValue<int>());
        Assert.Equal(7.5, again["faults"]!["invisibleSeconds"]!.GetValue<double>());
        Assert.Equal(2, env.Ec2.Config.Limits.MaxPendingCopiesPerRegion);
        Assert.Equal(600, env.Ec2.Config.Durations.Copy.Seconds); // untouched parts survive the round trip

        var source = env.SeedSnapshot("us-east-1");
        var west = env.Client("us-west-2");
        await west.CopyAsync("us-east-1", source);
        await west.CopyAsync("us-east-1", source);
        await Expect.Ec2ErrorAsync(() => west.CopyAsync("us-east-1", source), "ResourceLimitExceeded", 400);
    }

    [Fact]
    public async Task Config_PutGarbage_IsRejectedAndKeepsTheOldConfig()
    {
        await using var env = await TestEmulator.StartAsync();
        using var http = Http(env);

        using var put = await http.PutAsync("_emulator/config", new StringContent("{not json", Encoding.UTF8, "application/json"));

        Assert.InRange((int)put.StatusCode, 400, 499);
        Assert.Equal(20, env.Ec2.Config.Limits.MaxPendingCopiesPerRegion);
    }

    [Fact]
    public async Task Stats_CountCallsErrorsAndCopiesPerSource()
    {
        await using var env = await TestEmulator.StartAsync();
        using var http = Http(env);
        var source = env.SeedSnapshot("us-east-1");
        var west = env.Client("us-west-2");
        await west.CopyAsync("us-east-1", source);
        await Assert.ThrowsAsync<AmazonEC2Exception>(() => west.DescribeSnapshotAsync("snap-0123456789abcdef0"));

        var stats = await GetJsonAsync(http, "_emulator/stats");

        var calls = stats["calls"]![$"{env.AccountId}/us-west-2"]!;
        Assert.Equal(1, calls["CopySnapshot"]!.GetValue<long>());
        Assert.Equal(1, calls["DescribeSnapshots"]!.GetValue<long>());
        Assert.Equal(1, stats["errors"]!["DescribeSnapshots"]!["InvalidSnapshot.NotFound"]!.GetValue<long>());
        Assert.Equal(1, stats["copiesPerSource"]![$"us-east-1/{source}"]!["us-west-2"]!.GetValue<int>());
        Assert.Equal(2, stats["totalCalls"]!.GetValue<long>());
    }

    [Fact]
    public async Task Reset_ForgetsResourcesAndCounters_ButKeepsConfig()
    {
        await using var env = await TestEmulator.StartAsync(o => o.Config.Limits.MaxPendingCopiesPerRegion = 7);
        using var http = Http(env);
        var source = env.SeedSnapshot("us-east-1");
        await env.Client("us-west-2").CopyAsync("us-east-1", source);

        using (var reset = await http.PostAsync("_emulator/reset", null))
            Assert.True(reset.IsSuccessStatusCode);

        Assert.Empty(await env.Client("us-east-1").DescribeOwnSnapshotsAsync());
        Assert.Empty(await env.Client("us-west-2").DescribeOwnSnapshotsAsync());
        var stats = env.Ec2.GetStats();
        Assert.Empty(stats.CopiesPerSource);
        Assert.Equal(7, env.Ec2.Config.Limits.MaxPendingCopiesPerRegion);
    }

    [Fact]
    public async Task Reset_InProcess_MatchesHttpReset()
    {
        await using var env = await TestEmulator.StartAsync();
        env.SeedSnapshot("us-east-1");
        await env.Client().DescribeOwnSnapshotsAsync();

        env.Ec2.Reset();

        Assert.Equal(0, env.Ec2.GetStats().TotalCalls);
        Assert.Empty(await env.Client().DescribeOwnSnapshotsAsync());
    }

    [Fact]
    public async Task UnknownControlPath_Answers404()
    {
        await using var env = await TestEmulator.StartAsync();
        using var http = Http(env);
        using var response = await http.GetAsync("_emulator/no-such-thing");
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }

    [Fact]
    public async Task Seed_GivesTheIdsAsked_InOrderPerPrefix_AndRefusesAUsedOne()
    {
        await using var env = await TestEmulator.StartAsync();
        var seeded = env.Ec2.Seed(new SeedRequest
        {
            Snapshots = 2, Volumes = 1, Instances = 1, DataVolumesPerInstance = 0,
            Ids = ["snap-0123456789abcdef0", "vol-12345678", "i-0123456789abcdef0", "snap-12345678"],
        });
        Assert.Equal(["snap-0123456789abcdef0", "snap-12345678"], seeded.SnapshotIds);
        Assert.Equal("vol-12345678", seeded.VolumeIds[0]);
        Assert.StartsWith("vol-", seeded.VolumeIds[1]); // the instance's root volume: no vol- id left, a new one
        Assert.NotEqual("vol-12345678", seeded.VolumeIds[1]);
        Assert.Equal(["i-0123456789abcdef0"], seeded.InstanceIds);

        Assert.Throws<ArgumentException>(() => env.Ec2.Seed(new SeedRequest { Snapshots = 1, Ids = ["snap-12345678"] }));
        Assert.Throws<ArgumentException>(() => env.Ec2.Seed(new SeedRequest { Snapshots = 1, Ids = ["snap-XYZ"] }));
        // Ids not taken are dropped with the seed: the next one gets new ids.
        env.Ec2.Seed(new SeedRequest { Volumes = 1, Ids = ["snap-0fedcba9876543210"] });
        Assert.NotEqual("snap-0fedcba9876543210", Assert.Single(env.Ec2.Seed(new SeedRequest { Snapshots = 1 }).SnapshotIds));
    }
}
