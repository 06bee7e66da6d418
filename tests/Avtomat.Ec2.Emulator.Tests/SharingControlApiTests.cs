using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Amazon.EC2;
using Amazon.EC2.Model;
using Avtomat.Ec2.Emulator.Tests.Support;
using static Avtomat.Ec2.Emulator.Tests.SharingTests;

namespace Avtomat.Ec2.Emulator.Tests;

/// <summary>The control API's part in sharing, as an out-of-process user drives it: KMS keys and grants
/// (/_emulator/kms/keys, /_emulator/kms/grants), seeding snapshots that are already shared, the per-account copy
/// counters, and the program's --help text that documents them.</summary>
public class SharingControlApiTests
{
    private static HttpClient Http(TestEmulator env) => new() { BaseAddress = env.Ec2.BaseUrl, Timeout = TimeSpan.FromSeconds(15) };

    private static StringContent Json(JsonNode node) => new(node.ToJsonString(), Encoding.UTF8, "application/json");

    private static async Task<(HttpStatusCode Status, JsonNode Body)> SendAsync(HttpClient http, HttpMethod method, string path, JsonNode? body = null)
    {
        using var request = new HttpRequestMessage(method, path) { Content = body is null ? null : Json(body) };
        using var response = await http.SendAsync(request);
        return (response.StatusCode, JsonNode.Parse(await response.Content.ReadAsStringAsync())!);
    }

    [Fact]
    public async Task KmsKeys_CreateListGrantRevoke_OverHttp()
    {
        await using var env = await StartAsync();
        using var http = Http(env);
        env.SeedSnapshot("eu-west-1", accountId: B); // B has state in eu-west-1: its AWS managed key is listed

        var (status, created) = await SendAsync(http, HttpMethod.Post, "_emulator/kms/keys",
            new JsonObject { ["accountId"] = A, ["region"] = "us-east-1", ["alias"] = "alias/vault" });
        Assert.Equal(HttpStatusCode.OK, status);
        var keyId = created["keyId"]!.GetValue<string>();
        Assert.Equal($"arn:aws:kms:us-east-1:{A}:key/{keyId}", created["arn"]!.GetValue<string>());
        Assert.Equal((A, "us-east-1", "alias/vault", "CUSTOMER"), (created["accountId"]!.GetValue<string>(),
            created["region"]!.GetValue<string>(), created["alias"]!.GetValue<string>(), created["keyManager"]!.GetValue<string>()));
        Assert.Empty(created["grantedAccounts"]!.AsArray());
        var (_, byKey) = await SendAsync(http, HttpMethod.Post, "_emulator/kms/keys", new JsonObject { ["accessKeyId"] = KeyC, ["region"] = "us-west-2" });
        Assert.Equal(C, byKey["accountId"]!.GetValue<string>());

        var (grantStatus, granted) = await SendAsync(http, HttpMethod.Post, "_emulator/kms/grants", new JsonObject { ["keyId"] = keyId, ["accountId"] = B });
        Assert.Equal(HttpStatusCode.OK, grantStatus);
        Assert.Equal([B], granted["grantedAccounts"]!.AsArray().Select(n => n!.GetValue<string>()));
        await SendAsync(http, HttpMethod.Post, "_emulator/kms/grants",
            new JsonObject { ["arn"] = $"arn:aws:kms:us-east-1:{A}:alias/vault", ["accountId"] = C }); // an alias ARN names it too

        var (_, list) = await SendAsync(http, HttpMethod.Get, "_emulator/kms/keys");
        var keys = list.AsArray().Select(k => (k!["accountId"]!.GetValue<string>(), k["region"]!.GetValue<string>(),
            k["keyManager"]!.GetValue<string>(), k["alias"]?.GetValue<string>())).ToList();
        Assert.Equal([(A, "us-east-1", "CUSTOMER", "alias/vault"), (C, "us-west-2", "CUSTOMER", null), (B, "eu-west-1", "AWS", "alias/aws/ebs")], keys);
        var (_, filtered) = await SendAsync(http, HttpMethod.Get, $"_emulator/kms/keys?account={A}&region=us-east-1");
        Assert.Equal([[B, C], []], filtered.AsArray().Select(k => k!["grantedAccounts"]!.AsArray().Select(n => n!.GetValue<string>()).ToList()));
        Assert.Equal("AWS", filtered[1]!["keyManager"]!.GetValue<string>()); // with both, that pair's managed key is there

        var (_, revoked) = await SendAsync(http, HttpMethod.Delete, "_emulator/kms/grants", new JsonObject { ["keyId"] = keyId, ["accountId"] = B });
        Assert.Equal([C], revoked["grantedAccounts"]!.AsArray().Select(n => n!.GetValue<string>()));
        var (queryStatus, byQuery) = await SendAsync(http, HttpMethod.Delete, $"_emulator/kms/grants?keyId={keyId}&accountId={C}");
        Assert.Equal(HttpStatusCode.OK, queryStatus);
        Assert.Empty(byQuery["grantedAccounts"]!.AsArray());

        var managedArn = filtered[1]!["arn"]!.GetValue<string>();
        var (refused, error) = await SendAsync(http, HttpMethod.Post, "_emulator/kms/grants", new JsonObject { ["arn"] = managedArn, ["accountId"] = B });
        Assert.Equal(HttpStatusCode.BadRequest, refused);
        Assert.Contains("AWS managed", error["error"]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.BadRequest, (await SendAsync(http, HttpMethod.Post, "_emulator/kms/keys",
            new JsonObject { ["accountId"] = A, ["alias"] = "alias/aws/mine" })).Status);
        Assert.Equal(HttpStatusCode.BadRequest, (await SendAsync(http, HttpMethod.Post, "_emulator/kms/grants", new JsonObject { ["accountId"] = B })).Status);

        using (var reset = await http.PostAsync("_emulator/reset", null)) Assert.True(reset.IsSuccessStatusCode);
        Assert.Empty((await SendAsync(http, HttpMethod.Get, "_emulator/kms/keys")).Body.AsArray()); // keys are resources
    }

    [Fact]
    public async Task Seed_SharedAndPublicSnapshots_AndRefusesWhatEc2Refuses()
    {
        await using var env = await StartAsync();
        using var http = Http(env);

        var (status, seeded) = await SendAsync(http, HttpMethod.Post, "_emulator/seed", new JsonObject
        {
            ["accountId"] = A, ["region"] = "us-east-1", ["snapshots"] = 2, ["kmsKeyId"] = "alias/shared",
            ["createVolumePermissionUserIds"] = new JsonArray(B, C),
        });
        Assert.Equal(HttpStatusCode.OK, status);
        var shared = seeded["snapshotIds"]!.AsArray().Select(n => n!.GetValue<string>()).ToList();
        var (_, publicSeed) = await SendAsync(http, HttpMethod.Post, "_emulator/seed",
            new JsonObject { ["accountId"] = C, ["region"] = "us-east-1", ["snapshots"] = 1, ["public"] = true });
        var open = publicSeed["snapshotIds"]![0]!.GetValue<string>();

        var attribute = await env.Client("us-east-1").DescribeSnapshotAttributeAsync(new DescribeSnapshotAttributeRequest
        {
            SnapshotId = shared[0], Attribute = SnapshotAttributeName.CreateVolumePermission,
        });
        Assert.Equal([B, C], attribute.CreateVolumePermissions.Select(p => p.UserId));
        var seenByB = (await env.Client("us-east-1", KeyB).DescribeSnapshotsAsync(new DescribeSnapshotsRequest())).Snapshots;
        Assert.Equal([.. shared, open], seenByB.Select(s => s.SnapshotId));
        Assert.All(seenByB.Take(2), s => Assert.True(s.Encrypted));
        Assert.Equal([open], (await env.Client("us-east-1").DescribeSnapshotsAsync(new DescribeSnapshotsRequest
        {
            RestorableByUserIds = ["all"],
        })).Snapshots.Select(s => s.SnapshotId));

        foreach (var refused in new JsonObject[]
        {
            new() { ["region"] = "us-east-1", ["snapshots"] = 1, ["encrypted"] = true, ["createVolumePermissionUserIds"] = new JsonArray(B) },
            new() { ["region"] = "us-east-1", ["snapshots"] = 1, ["kmsKeyId"] = "alias/shared", ["public"] = true },
            new() { ["region"] = "us-east-1", ["snapshots"] = 1, ["createVolumePermissionUserIds"] = new JsonArray("not-an-account") },
        })
        {
            var (refusedStatus, body) = await SendAsync(http, HttpMethod.Post, "_emulator/seed", refused);
            Assert.Equal(HttpStatusCode.BadRequest, refusedStatus);
            Assert.False(string.IsNullOrEmpty(body["error"]!.GetValue<string>()));
        }
    }

    [Fact]
    public async Task Stats_CountCopiesPerSourceAndDestinationAccount()
    {
        await using var env = await StartAsync();
        using var http = Http(env);
        var snap = env.Ec2.Seed(new SeedRequest { Region = "us-east-1", Snapshots = 1, CreateVolumePermissionUserIds = [B, C] }).SnapshotIds.Single();
        await env.Client("us-west-2", KeyB).CopyAsync("us-east-1", snap);
        await env.Client("us-west-2", KeyB).CopyAsync("us-east-1", snap);
        await env.Client("eu-west-1", KeyC).CopyAsync("us-east-1", snap);
        await env.Client("us-west-2").CopyAsync("us-east-1", snap);

        using var response = await http.GetAsync("_emulator/stats");
        var stats = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;

        var perAccount = stats["copiesPerSourceAndDestination"]![$"us-east-1/{snap}"]!;
        Assert.Equal(2, perAccount[$"{B}/us-west-2"]!.GetValue<int>());
        Assert.Equal(1, perAccount[$"{C}/eu-west-1"]!.GetValue<int>());
        Assert.Equal(1, perAccount[$"{A}/us-west-2"]!.GetValue<int>());
        Assert.Equal(2, stats["copiesPerDestination"]![$"{B}/us-west-2"]!.GetValue<int>());
        Assert.Equal(3, stats["copiesPerSource"]![$"us-east-1/{snap}"]!["us-west-2"]!.GetValue<int>());
    }

    [Fact]
    public void Help_DocumentsSharingKmsRoutesAndPerAccountStats()
    {
        var dll = Path.Combine(AppContext.BaseDirectory, "Avtomat.Ec2.Emulator.dll");
        var dotnet = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host ? host : "dotnet";

        var result = ExternalTools.Run(dotnet, ["exec", dll, "--help"], new Dictionary<string, string?>(), TimeSpan.FromSeconds(60));

        Assert.True(result.ExitCode == 0, result.StdErr);
        foreach (var text in new[]
        {
            "POST /_emulator/kms/keys", "GET /_emulator/kms/keys", "POST /_emulator/kms/grants", "DELETE /_emulator/kms/grants",
            "\"accountId\"", "\"alias\"", "\"keyId\" or \"arn\"", "ModifySnapshotAttribute", "DescribeSnapshotAttribute",
            "ResetSnapshotAttribute", "alias/aws/ebs", "Given key ID is not accessible", "\"createVolumePermissionUserIds\"",
            "\"public\"", "\"copiesPerSourceAndDestination\"", "\"copiesPerDestination\"",
        })
            Assert.Contains(text, result.StdOut);
    }
}
