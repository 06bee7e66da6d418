using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Amazon.EC2;
using Amazon.EC2.Model;
using Amazon.Runtime;
using Amazon.SecurityToken;
using GetCallerIdentityRequest = Amazon.SecurityToken.Model.GetCallerIdentityRequest;
using Avtomat.Ec2.Emulator.Tests.Support;
using Microsoft.Extensions.Time.Testing;

namespace Avtomat.Ec2.Emulator.Tests;

/// <summary>The emulator's deterministic test hooks, in-process through the real SDK (<see cref="Ec2Emulator.CreateHandler"/>)
/// and over HTTP for the control routes: the call log, the interceptor (answers and drops before and after the action),
/// the per-snapshot shaper, silent duplicates, seeded copies started by someone else, and tokens spent by someone else.</summary>
public sealed class TestHooksTests : IAsyncDisposable
{
    private const string East = "us-east-1";
    private const string West = "us-west-2";
    private readonly FakeTimeProvider _clock = new(TestEmulator.Epoch);
    private readonly Ec2Emulator _ec2;
    private readonly HttpClient _http;
    private readonly List<IDisposable> _clients = new();

    public TestHooksTests()
    {
        _ec2 = Ec2Emulator.CreateInProcess(new EmulatorOptions
        {
            TimeProvider = _clock,
            Config = new EmulatorConfig
            {
                Durations = new DurationConfig { Copy = new DurationModel { Kind = DurationKind.Fixed, Seconds = 100 }, CrossRegionFactor = 2 },
            },
        });
        _http = new HttpClient(_ec2.CreateHandler());
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var c in _clients) c.Dispose();
        _http.Dispose();
        await _ec2.DisposeAsync();
    }

    private AmazonEC2Client Client(string region = West, int maxErrorRetry = 0)
    {
        var client = EmulatorClients.CreateInProcess(_http, region, maxErrorRetry: maxErrorRetry);
        _clients.Add(client);
        return client;
    }

    private string Source(int sizeGiB = 8) => _ec2.Seed(new SeedRequest { Region = East, Snapshots = 1, SizeGiB = sizeGiB }).SnapshotIds.Single();

    private static Task<CopySnapshotResponse> Copy(IAmazonEC2 client, string source, string? job = null) =>
        client.CopyAsync(East, source, r =>
        {
            if (job is not null) r.TagSpecifications = [new TagSpecification { ResourceType = ResourceType.Snapshot, Tags = [new Tag("Job", job)] }];
        });

    private async Task<List<Snapshot>> Tagged(string job, string region = West) =>
        (await Client(region).DescribeSnapshotsAsync(new DescribeSnapshotsRequest
        {
            OwnerIds = ["self"], Filters = [new Filter { Name = "tag:Job", Values = [job] }],
        })).Snapshots.OrEmpty();

    // ------------------------------------------------------------ call log

    [Fact]
    public async Task The_call_log_has_every_call_with_account_region_clock_parameters_and_outcome()
    {
        var source = Source();
        var west = Client();
        _clock.Advance(TimeSpan.FromSeconds(5));
        var copy = (await Copy(west, source, "j1")).SnapshotId;
        _clock.Advance(TimeSpan.FromSeconds(1));
        await west.DescribeSnapshotsAsync(new DescribeSnapshotsRequest
        {
            OwnerIds = ["self"], Filters = [new Filter { Name = "tag:Job", Values = ["j1", "j2"] }, new Filter { Name = "status", Values = ["pending"] }],
        });
        await west.DescribeSnapshotsAsync(new DescribeSnapshotsRequest { SnapshotIds = [copy] });
        var missing = await Assert.ThrowsAsync<AmazonEC2Exception>(() => west.DescribeSnapshotsAsync(new DescribeSnapshotsRequest { SnapshotIds = ["snap-0123456789abcdef0"] }));

        var calls = _ec2.GetCalls();
        Assert.Equal(new[] { "CopySnapshot", "DescribeSnapshots", "DescribeSnapshots", "DescribeSnapshots" }, calls.Select(c => c.Action));
        Assert.Equal(new long[] { 1, 2, 3, 4 }, calls.Select(c => c.Number));
        Assert.Equal(new[] { 1, 1, 2, 3 }, calls.Select(c => c.ActionCallNumber));
        Assert.All(calls, c => Assert.Equal((_ec2.Options.DefaultAccountId, West, "ec2", EmulatorClients.DefaultAccessKeyId), (c.Account, c.Region, c.Service, c.AccessKeyId)));

        var copyCall = calls[0];
        Assert.Equal(TestEmulator.Epoch.AddSeconds(5), copyCall.At);
        Assert.Equal((East, source), (copyCall.Get("SourceRegion"), copyCall.Get("SourceSnapshotId")));
        Assert.Equal("snapshot", Assert.Single(copyCall.TagSpecifications).ResourceType);
        Assert.Equal(new Dictionary<string, string> { ["Job"] = "j1" }, copyCall.TagsFor("snapshot"));
        Assert.True(copyCall.Succeeded);
        Assert.Equal((200, (string?)null, CallStage.AfterAction), (copyCall.Status, copyCall.ErrorCode, copyCall.Stage));
        Assert.Equal(new[] { copy }, copyCall.CreatedSnapshotIds);

        var filtered = calls[1];
        Assert.Equal(TestEmulator.Epoch.AddSeconds(6), filtered.At);
        Assert.Equal(new[] { "self" }, filtered.GetList("Owner"));
        Assert.Equal(new[] { "tag:Job", "status" }, filtered.Filters.Select(f => f.Name));
        Assert.Equal(new[] { "j1", "j2" }, filtered.FilterValues("tag:Job"));
        Assert.Empty(filtered.FilterValues("snapshot-id"));
        Assert.Equal(new[] { copy }, calls[2].GetList("SnapshotId"));
        Assert.Equal((400, "InvalidSnapshot.NotFound", missing.ErrorCode), (calls[3].Status, calls[3].ErrorCode, "InvalidSnapshot.NotFound"));
        Assert.False(calls[3].Succeeded);
        Assert.Equal(new[] { copyCall }, _ec2.GetCalls("CopySnapshot", West, _ec2.Options.DefaultAccountId));
        Assert.Empty(_ec2.GetCalls("CopySnapshot", East));

        _ec2.Reset();
        Assert.Empty(_ec2.GetCalls());
    }

    [Fact]
    public async Task The_call_log_keeps_the_latest_calls_up_to_its_capacity_and_logs_sts_and_rejected_calls()
    {
        _ec2.Options.CallLogCapacity = 2;
        var west = Client();
        for (var i = 0; i < 3; i++) await west.DescribeSnapshotsAsync(new DescribeSnapshotsRequest { OwnerIds = ["self"] });
        Assert.Equal(new long[] { 2, 3 }, _ec2.GetCalls().Select(c => c.Number));

        _ec2.Options.CallLogCapacity = 10;
        using var sts = new AmazonSecurityTokenServiceClient(new BasicAWSCredentials(EmulatorClients.DefaultAccessKeyId, "secret"),
            new AmazonSecurityTokenServiceConfig
            {
                ServiceURL = "http://ec2.emulator.invalid/", AuthenticationRegion = East, MaxErrorRetry = 0,
                HttpClientFactory = new EmulatorClients.FixedHttpClientFactory(_http),
            });
        await sts.GetCallerIdentityAsync(new GetCallerIdentityRequest());
        _ec2.Config.Credentials.ExpiredAccessKeys.Add(EmulatorClients.DefaultAccessKeyId);
        await Expect.Ec2ErrorAsync(() => west.DescribeSnapshotsAsync(new DescribeSnapshotsRequest()), "RequestExpired", 400);

        var calls = _ec2.GetCalls();
        var identity = calls[^2];
        Assert.Equal(("sts", "GetCallerIdentity", East, 200, 1), (identity.Service, identity.Action, identity.Region, identity.Status, identity.ActionCallNumber));
        var expired = calls[^1];
        Assert.Equal(("DescribeSnapshots", 4, "RequestExpired", CallStage.BeforeAction), (expired.Action, expired.ActionCallNumber, expired.ErrorCode, expired.Stage));
    }

    // ------------------------------------------------------------ interceptor

    [Fact]
    public async Task An_interceptor_answers_a_chosen_call_with_an_error_before_anything_happens()
    {
        var sources = Enumerable.Range(0, 3).Select(_ => Source()).ToList();
        var seen = new List<(int, CallStage)>();
        _ec2.Options.Interceptor = call =>
        {
            if (call.Action != "CopySnapshot") return null;
            seen.Add((call.ActionCallNumber, call.Stage));
            return call is { ActionCallNumber: 2, Stage: CallStage.BeforeAction } ? CallDecision.Throttle() : null;
        };
        var west = Client();

        await Copy(west, sources[0], "a");
        await Expect.Ec2ErrorAsync(() => Copy(west, sources[1], "b"), "RequestLimitExceeded", 503);
        await Copy(west, sources[2], "c");

        Assert.Equal(new[] { (1, CallStage.BeforeAction), (1, CallStage.AfterAction), (2, CallStage.BeforeAction), (3, CallStage.BeforeAction), (3, CallStage.AfterAction) }, seen);
        Assert.Empty(await Tagged("b")); // nothing was made
        Assert.Single(await Tagged("c"));
        var stats = _ec2.GetStats();
        Assert.Equal(1, stats.Throttled[$"{_ec2.Options.DefaultAccountId}/{West}"]["CopySnapshot"]);
        Assert.Equal(1, stats.Faults["Intercepted"]);
        var logged = _ec2.GetCalls("CopySnapshot")[1];
        Assert.Equal((true, 503, "RequestLimitExceeded", CallStage.BeforeAction), (logged.Intercepted, logged.Status, logged.ErrorCode, logged.Stage));

        // A custom code, status and message reach the SDK as sent.
        _ec2.Options.Interceptor = call => call.Action == "DescribeSnapshots" ? CallDecision.Error("UnauthorizedOperation", 403, "no") : null;
        var denied = await Expect.Ec2ErrorAsync(() => west.DescribeSnapshotsAsync(new DescribeSnapshotsRequest()), "UnauthorizedOperation", 403);
        Assert.Equal("no", denied.Message);
    }

    [Fact]
    public async Task A_drop_before_the_action_makes_nothing_and_takes_no_token()
    {
        var source = Source();
        _ec2.Config.Limits.Buckets["CopySnapshot"] = new BucketConfig(1, 0.0001);
        _ec2.Options.Interceptor = call => call is { Action: "CopySnapshot", ActionCallNumber: 1 } ? CallDecision.Drop() : null;
        var west = Client();

        var dropped = await Assert.ThrowsAnyAsync<Exception>(() => Copy(west, source, "x"));
        Assert.Contains("The response ended prematurely", dropped.ToString());
        Assert.Empty(await Tagged("x"));
        var call = Assert.Single(_ec2.GetCalls("CopySnapshot"));
        Assert.Equal((true, CallStage.BeforeAction, 0), (call.Dropped, call.Stage, call.Status));
        Assert.Empty(call.CreatedSnapshotIds);

        await Copy(west, source, "x"); // the bucket's only token is still there
        Assert.Single(await Tagged("x"));
    }

    [Fact]
    public async Task A_drop_after_the_action_is_the_lost_response_the_copy_exists_but_the_client_sees_an_io_error()
    {
        var source = Source();
        _ec2.Options.Interceptor = call => call is { Action: "CopySnapshot", Stage: CallStage.AfterAction } ? CallDecision.Drop() : null;
        var west = Client();

        var lost = await Assert.ThrowsAnyAsync<Exception>(() => Copy(west, source, "lost"));
        Assert.Contains("IOException", lost.ToString());
        var made = Assert.Single(await Tagged("lost"));
        var call = Assert.Single(_ec2.GetCalls("CopySnapshot"));
        Assert.Equal((true, CallStage.AfterAction, 200, true), (call.Dropped, call.Stage, call.Status, call.Intercepted));
        Assert.Equal(new[] { made.SnapshotId }, call.CreatedSnapshotIds);
        Assert.False(call.Succeeded);
    }

    [Fact]
    public async Task An_error_after_the_action_replaces_its_answer_and_the_resource_stays()
    {
        var source = Source();
        _ec2.Options.Interceptor = call => call is { Action: "CopySnapshot", Stage: CallStage.AfterAction, Status: 200 } ? CallDecision.InternalError() : null;
        await Expect.Ec2ErrorAsync(() => Copy(Client(), source, "half"), "InternalError", 500);
        Assert.Single(await Tagged("half"));
    }

    [Fact]
    public async Task The_interceptor_can_fail_an_sts_call()
    {
        _ec2.Options.Interceptor = call => call is { Service: "sts", Action: "GetCallerIdentity" } ? CallDecision.Error("ExpiredToken", 403, "gone") : null;
        using var sts = new AmazonSecurityTokenServiceClient(new BasicAWSCredentials(EmulatorClients.DefaultAccessKeyId, "secret"),
            new AmazonSecurityTokenServiceConfig
            {
                ServiceURL = "http://ec2.emulator.invalid/", AuthenticationRegion = East, MaxErrorRetry = 0,
                HttpClientFactory = new EmulatorClients.FixedHttpClientFactory(_http),
            });
        await Expect.StsErrorAsync(() => sts.GetCallerIdentityAsync(new GetCallerIdentityRequest()), "ExpiredToken", 403);
        var call = Assert.Single(_ec2.GetCalls("GetCallerIdentity"));
        Assert.Equal((true, "ExpiredToken"), (call.Intercepted, call.ErrorCode));
    }

    // ------------------------------------------------------------ shaper

    [Fact]
    public async Task The_shaper_sets_each_new_snapshot_s_exact_duration_final_state_message_and_invisibility()
    {
        var infos = new List<NewSnapshotInfo>();
        _ec2.Options.ShapeOf = info =>
        {
            infos.Add(info);
            return info.Tags.GetValueOrDefault("Job") switch
            {
                "fails" => SnapshotShape.Fails(30, "Given key ID is not accessible"),
                "slow" => SnapshotShape.Takes(1000),
                "hidden" => new SnapshotShape { InvisibleSeconds = 20 },
                _ => null,
            };
        };
        var west = Client();
        var fails = (await Copy(west, Source(), "fails")).SnapshotId;
        var slow = (await Copy(west, Source(), "slow")).SnapshotId;
        var hidden = (await Copy(west, Source(), "hidden")).SnapshotId;
        var plain = (await Copy(west, Source(), "plain")).SnapshotId;

        Assert.Equal(4, infos.Count);
        Assert.All(infos, i => Assert.Equal(("CopySnapshot", _ec2.Options.DefaultAccountId, West, true), (i.Action, i.Account, i.Region, i.IsCopy)));
        Assert.Empty(await Tagged("hidden"));
        await Expect.Ec2ErrorAsync(() => west.DescribeSnapshotsAsync(new DescribeSnapshotsRequest { SnapshotIds = [hidden] }), "InvalidSnapshot.NotFound", 400);

        _clock.Advance(TimeSpan.FromSeconds(29.9));
        Assert.Equal(SnapshotState.Pending, (await west.DescribeSnapshotAsync(fails)).State);
        _clock.Advance(TimeSpan.FromSeconds(0.1));
        var failed = await west.DescribeSnapshotAsync(fails);
        Assert.Equal((SnapshotState.Error, "Given key ID is not accessible"), (failed.State, failed.StateMessage));
        Assert.Single(await Tagged("hidden")); // visible from 20 s on

        _clock.Advance(TimeSpan.FromSeconds(170)); // 200 s: the cross-region factor applies to unshaped copies only
        Assert.Equal(SnapshotState.Completed, (await west.DescribeSnapshotAsync(plain)).State);
        Assert.Equal(SnapshotState.Completed, (await west.DescribeSnapshotAsync(hidden)).State);
        Assert.Equal(SnapshotState.Pending, (await west.DescribeSnapshotAsync(slow)).State);
        _clock.Advance(TimeSpan.FromSeconds(800));
        var done = await west.DescribeSnapshotAsync(slow);
        Assert.Equal(TimeSpan.FromSeconds(1000), done.CompletionTime - done.StartTime);
    }

    [Fact]
    public async Task The_shaper_shapes_created_snapshots_too()
    {
        var volume = _ec2.Seed(new SeedRequest { Region = West, Volumes = 1 }).VolumeIds.Single();
        _ec2.Options.ShapeOf = info => info.IsCopy ? null : SnapshotShape.Fails(5);
        var west = Client();
        var id = (await west.CreateSnapshotAsync(new CreateSnapshotRequest { VolumeId = volume, Description = "d" })).Snapshot.SnapshotId;
        _clock.Advance(TimeSpan.FromSeconds(5));
        var s = await west.DescribeSnapshotAsync(id);
        Assert.Equal((SnapshotState.Error, "Snapshot creation failed due to an internal error"), (s.State, s.StateMessage));
    }

    // ------------------------------------------------------------ duplicates, seeded copies, spent tokens

    [Fact]
    public async Task A_silent_duplicate_has_the_same_tags_and_source_starts_a_moment_later_and_no_call_is_logged()
    {
        var source = Source();
        var west = Client();
        var original = (await Copy(west, source, "twice")).SnapshotId;
        var twin = _ec2.Duplicate(original);

        var both = await Tagged("twice");
        Assert.Equal(new[] { original, twin }, both.Select(s => s.SnapshotId));
        Assert.Equal(both[0].StartTime!.Value.AddMilliseconds(10), both[1].StartTime);
        Assert.Equal(both[0].Tags.TagMap(), both[1].Tags.TagMap());
        Assert.Equal("vol-ffffffff", both[1].VolumeId);
        Assert.Single(_ec2.GetCalls().Where(c => c.Action == "CopySnapshot"));
        Assert.Equal(2, _ec2.GetStats().CopiesPerSource[$"{East}/{source}"][West]);

        _clock.Advance(TimeSpan.FromSeconds(200));
        Assert.Equal(SnapshotState.Pending, (await west.DescribeSnapshotAsync(twin)).State); // started 10 ms later
        _clock.Advance(TimeSpan.FromMilliseconds(10));
        Assert.Equal(SnapshotState.Completed, (await west.DescribeSnapshotAsync(twin)).State);
        Assert.Throws<ArgumentException>(() => _ec2.Duplicate("snap-0123456789abcdef0"));
    }

    [Fact]
    public async Task Pending_copies_seeded_as_someone_else_s_count_against_the_20_copy_limit_until_they_complete()
    {
        var source = Source(sizeGiB: 33);
        var outside = _ec2.Seed(new SeedRequest { Region = West, Snapshots = 19, State = "pending", SourceSnapshotId = source, SourceRegion = East, DurationSeconds = 50 });
        var west = Client();

        await Copy(west, Source(), "mine");
        await Expect.Ec2ErrorAsync(() => Copy(west, Source(), "over"), "ResourceLimitExceeded", 400);
        var seeded = await west.DescribeSnapshotAsync(outside.SnapshotIds[0]);
        Assert.Equal(("vol-ffffffff", 33, SnapshotState.Pending), (seeded.VolumeId, seeded.VolumeSize, seeded.State));

        _clock.Advance(TimeSpan.FromSeconds(50));
        await Copy(west, Source(), "later");
        Assert.Throws<ArgumentException>(() => _ec2.Seed(new SeedRequest { Region = West, Snapshots = 1, SourceSnapshotId = "nope" }));
    }

    [Fact]
    public async Task Tokens_spent_by_someone_else_throttle_this_account_s_next_call()
    {
        var west = Client();
        _ec2.SpendTokens("DescribeSnapshots", 100, West);
        await Expect.Ec2ErrorAsync(() => west.DescribeSnapshotsAsync(new DescribeSnapshotsRequest { OwnerIds = ["self"] }), "RequestLimitExceeded", 503);
        await Client(East).DescribeSnapshotsAsync(new DescribeSnapshotsRequest { OwnerIds = ["self"] }); // another region's bucket is full
        _clock.Advance(TimeSpan.FromSeconds(0.05)); // 20 per second: one token back
        await west.DescribeSnapshotsAsync(new DescribeSnapshotsRequest { OwnerIds = ["self"] });
    }

    // ------------------------------------------------------------ control API over HTTP

    [Fact]
    public async Task Over_http_the_control_api_lists_calls_and_makes_duplicates()
    {
        await using var env = await TestEmulator.StartAsync();
        var source = env.SeedSnapshot();
        var west = env.Client(West);
        var copy = (await west.CopyAsync(East, source)).SnapshotId;
        await west.DescribeSnapshotsAsync(new DescribeSnapshotsRequest { SnapshotIds = [copy] });
        using var http = new HttpClient { BaseAddress = env.Ec2.BaseUrl, Timeout = TimeSpan.FromSeconds(15) };

        var listed = JsonNode.Parse(await http.GetStringAsync("_emulator/calls?action=CopySnapshot"))!.AsArray();
        var call = Assert.Single(listed)!;
        Assert.Equal(("CopySnapshot", West, 200, "AfterAction"), (call["action"]!.GetValue<string>(), call["region"]!.GetValue<string>(),
            call["status"]!.GetValue<int>(), call["stage"]!.GetValue<string>()));
        Assert.Equal(source, call["parameters"]!["SourceSnapshotId"]!.GetValue<string>());
        Assert.Equal(copy, call["createdSnapshotIds"]![0]!.GetValue<string>());
        Assert.Equal(2, JsonNode.Parse(await http.GetStringAsync($"_emulator/calls?region={West}"))!.AsArray().Count);

        using var response = await http.PostAsync("_emulator/duplicate",
            new StringContent($$"""{"snapshotId": "{{copy}}", "afterSeconds": 2}""", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var twin = JsonNode.Parse(await response.Content.ReadAsStringAsync())!["snapshotId"]!.GetValue<string>();
        var described = await west.DescribeSnapshotAsync(twin);
        Assert.Equal(TestEmulator.Epoch.AddSeconds(2).UtcDateTime, described.StartTime!.Value.ToUniversalTime());
        using var bad = await http.PostAsync("_emulator/duplicate", new StringContent("""{"snapshotId": "snap-0123456789abcdef0"}""", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
    }
}
