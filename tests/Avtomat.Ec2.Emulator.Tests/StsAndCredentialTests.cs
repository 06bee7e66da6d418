using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Xml.Linq;
using Amazon.EC2.Model;
using Amazon.SecurityToken;
using Amazon.SecurityToken.Model;
using Avtomat.Ec2.Emulator;
using Avtomat.Ec2.Emulator.Tests.Support;

namespace Avtomat.Ec2.Emulator.Tests;

/// <summary>STS GetCallerIdentity at the emulator's URL (routed by the credential scope's service), and the credential and
/// permission faults of <see cref="CredentialConfig"/> as EC2 and STS answer them.</summary>
public sealed class StsAndCredentialTests : IDisposable
{
    private static readonly XNamespace StsNs = "https://sts.amazonaws.com/doc/2011-06-15/";
    private const string MappedKey = "AKIDMAPPEDSTS";
    private const string MappedAccount = "444455556666";

    private readonly string _tempDir = Directory.CreateTempSubdirectory("avtomat-ec2-sts-").FullName;

    public void Dispose()
    {
        try { Directory.Delete(_tempDir, recursive: true); } catch (IOException) { }
    }

    private static string StsAuthorization(string accessKeyId = EmulatorClients.DefaultAccessKeyId, string region = "us-east-1")
        => $"AWS4-HMAC-SHA256 Credential={accessKeyId}/20261130/{region}/sts/aws4_request, SignedHeaders=host, Signature=00";

    private static async Task<(HttpStatusCode Status, string ContentType, string Body)> PostStsQueryAsync(Uri baseUrl, string action,
        string accessKeyId = EmulatorClients.DefaultAccessKeyId, string region = "us-east-1")
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(15) };
        using var request = new HttpRequestMessage(HttpMethod.Post, baseUrl)
        {
            Content = new FormUrlEncodedContent([new("Action", action), new("Version", "2011-06-15")]),
        };
        request.Headers.TryAddWithoutValidation("Authorization", StsAuthorization(accessKeyId, region));
        using var response = await http.SendAsync(request);
        return (response.StatusCode, response.Content.Headers.ContentType?.MediaType ?? "", await response.Content.ReadAsStringAsync());
    }

    private static async Task<(HttpStatusCode Status, HttpResponseMessage Response, JsonNode Json)> PostStsJsonAsync(Uri baseUrl,
        string target, string accessKeyId = EmulatorClients.DefaultAccessKeyId, string mediaType = "application/x-amz-json-1.1")
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(15) };
        using var request = new HttpRequestMessage(HttpMethod.Post, baseUrl)
        {
            Content = new StringContent("{}", Encoding.UTF8),
        };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue(mediaType);
        request.Headers.TryAddWithoutValidation("X-Amz-Target", target);
        request.Headers.TryAddWithoutValidation("Authorization", StsAuthorization(accessKeyId));
        var response = await http.SendAsync(request);
        var json = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        return (response.StatusCode, response, json);
    }

    private static Task<TestEmulator> StartAsync(Action<CredentialConfig>? credentials = null) => TestEmulator.StartAsync(o =>
    {
        o.Accounts[MappedKey] = MappedAccount;
        credentials?.Invoke(o.Config.Credentials);
    });

    // ---- STS GetCallerIdentity ----

    [Fact]
    public async Task GetCallerIdentity_MappedKey_ReturnsItsAccount_OtherKeys_TheDefaultAccount()
    {
        await using var env = await StartAsync();

        var mapped = await env.Sts(accessKeyId: MappedKey).GetCallerIdentityAsync(new GetCallerIdentityRequest());
        var other = await env.Sts().GetCallerIdentityAsync(new GetCallerIdentityRequest());

        Assert.Equal(MappedAccount, mapped.Account);
        Assert.Equal($"arn:aws:iam::{MappedAccount}:user/emulator", mapped.Arn);
        Assert.Equal(MappedKey, mapped.UserId);
        Assert.False(string.IsNullOrEmpty(mapped.ResponseMetadata.RequestId));
        Assert.Equal(env.AccountId, other.Account);
        Assert.Equal($"arn:aws:iam::{env.AccountId}:user/emulator", other.Arn);
        Assert.Equal(EmulatorClients.DefaultAccessKeyId, other.UserId);

        var stats = env.Ec2.GetStats();
        Assert.Equal(1, stats.Calls[$"{MappedAccount}/us-east-1"]["sts:GetCallerIdentity"]);
        Assert.Equal(1, stats.Calls[$"{env.AccountId}/us-east-1"]["sts:GetCallerIdentity"]);
        Assert.Equal(2, stats.TotalCalls);
    }

    [Fact]
    public async Task GetCallerIdentity_SignedForAnyServedRegion_OrUsEast1_Answers_OtherRegionsAreRejected()
    {
        await using var env = await TestEmulator.StartAsync(o => o.Regions = ["eu-west-1", "ap-south-1"]);

        Assert.Equal(env.AccountId, (await env.Sts("ap-south-1").GetCallerIdentityAsync(new())).Account);
        Assert.Equal(env.AccountId, (await env.Sts("us-east-1").GetCallerIdentityAsync(new())).Account);
        await Expect.StsErrorAsync(() => env.Sts("us-west-2").GetCallerIdentityAsync(new()), "SignatureDoesNotMatch", 403);

        Assert.Equal(1, env.Ec2.GetStats().Calls[$"{env.AccountId}/ap-south-1"]["sts:GetCallerIdentity"]);
    }

    [Fact]
    public async Task GetCallerIdentity_QueryWire_HasStsNamespaceResultAndRequestId()
    {
        await using var env = await StartAsync();

        var (status, contentType, body) = await PostStsQueryAsync(env.Ec2.BaseUrl, "GetCallerIdentity", MappedKey);

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("text/xml", contentType);
        var root = XDocument.Parse(body).Root!;
        Assert.Equal(StsNs + "GetCallerIdentityResponse", root.Name);
        var result = root.Element(StsNs + "GetCallerIdentityResult")!;
        Assert.Equal($"arn:aws:iam::{MappedAccount}:user/emulator", result.Element(StsNs + "Arn")?.Value);
        Assert.Equal(MappedKey, result.Element(StsNs + "UserId")?.Value);
        Assert.Equal(MappedAccount, result.Element(StsNs + "Account")?.Value);
        Assert.False(string.IsNullOrEmpty(root.Element(StsNs + "ResponseMetadata")?.Element(StsNs + "RequestId")?.Value));
    }

    [Fact]
    public async Task UnknownStsAction_Is400InvalidAction_InStsErrorEnvelope_AndIsNotEc2()
    {
        await using var env = await StartAsync();

        // DescribeRegions is an EC2 action: signed for sts it is an unknown STS action.
        var (status, _, body) = await PostStsQueryAsync(env.Ec2.BaseUrl, "DescribeRegions");

        Assert.Equal(HttpStatusCode.BadRequest, status);
        var root = XDocument.Parse(body).Root!;
        Assert.Equal(StsNs + "ErrorResponse", root.Name);
        var error = root.Element(StsNs + "Error")!;
        Assert.Equal("Sender", error.Element(StsNs + "Type")?.Value);
        Assert.Equal("InvalidAction", error.Element(StsNs + "Code")?.Value);
        Assert.False(string.IsNullOrEmpty(error.Element(StsNs + "Message")?.Value));
        Assert.False(string.IsNullOrEmpty(root.Element(StsNs + "RequestId")?.Value));
        Assert.Equal(0, env.Ec2.GetStats().TotalCalls);
    }

    [Theory]
    [InlineData("application/x-amz-json-1.0")]
    [InlineData("application/x-amz-json-1.1")]
    public async Task GetCallerIdentity_JsonProtocol_AnswersJson(string mediaType)
    {
        await using var env = await StartAsync();

        var (status, response, json) = await PostStsJsonAsync(env.Ec2.BaseUrl,
            "AWSSecurityTokenServiceV20110615.GetCallerIdentity", MappedKey, mediaType);
        using var _ = response;

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(mediaType, response.Content.Headers.ContentType?.MediaType);
        Assert.Equal(MappedAccount, json["Account"]!.GetValue<string>());
        Assert.Equal($"arn:aws:iam::{MappedAccount}:user/emulator", json["Arn"]!.GetValue<string>());
        Assert.Equal(MappedKey, json["UserId"]!.GetValue<string>());
        Assert.True(response.Headers.Contains("x-amzn-RequestId"));
    }

    [Fact]
    public async Task JsonProtocol_ErrorsAreJson_WithTypeAndQueryErrorHeader()
    {
        await using var env = await StartAsync(c => c.ExpiredAccessKeys = ["AKIDEXPIRED"]);

        var (expiredStatus, expired, expiredJson) = await PostStsJsonAsync(env.Ec2.BaseUrl,
            "AWSSecurityTokenServiceV20110615.GetCallerIdentity", "AKIDEXPIRED");
        var (unknownStatus, unknown, unknownJson) = await PostStsJsonAsync(env.Ec2.BaseUrl, "AWSSecurityTokenServiceV20110615.LaunchTheRocket");
        using var _ = expired;
        using var __ = unknown;

        Assert.Equal(HttpStatusCode.Forbidden, expiredStatus);
        Assert.Equal("ExpiredToken", expiredJson["__type"]!.GetValue<string>());
        Assert.Equal("The security token included in the request is expired", expiredJson["message"]!.GetValue<string>());
        Assert.Equal("ExpiredToken;Sender", Assert.Single(expired.Headers.GetValues("x-amzn-query-error")));
        Assert.Equal(HttpStatusCode.BadRequest, unknownStatus);
        Assert.Equal("InvalidAction", unknownJson["__type"]!.GetValue<string>());
    }

    [Fact]
    public async Task Sts_ExpiredKey_Is403ExpiredToken_InvalidKey_Is403InvalidClientTokenId_CountedAsErrors()
    {
        await using var env = await StartAsync(c =>
        {
            c.ExpiredAccessKeys = ["AKIDEXPIRED"];
            c.InvalidAccessKeys = ["AKIDINVALID"];
        });

        var expired = await Expect.StsErrorAsync(() => env.Sts(accessKeyId: "AKIDEXPIRED").GetCallerIdentityAsync(new()), "ExpiredToken", 403);
        var invalid = await Expect.StsErrorAsync(() => env.Sts(accessKeyId: "AKIDINVALID").GetCallerIdentityAsync(new()), "InvalidClientTokenId", 403);

        Assert.Equal("The security token included in the request is expired", expired.Message);
        Assert.Equal("The security token included in the request is invalid.", invalid.Message);
        Assert.Equal(Amazon.Runtime.ErrorType.Sender, expired.ErrorType);
        Assert.Equal(env.AccountId, (await env.Sts().GetCallerIdentityAsync(new())).Account);
        var stats = env.Ec2.GetStats();
        Assert.Equal(1, stats.Errors["sts:GetCallerIdentity"]["ExpiredToken"]);
        Assert.Equal(1, stats.Errors["sts:GetCallerIdentity"]["InvalidClientTokenId"]);
        Assert.Equal(3, stats.Calls[$"{env.AccountId}/us-east-1"]["sts:GetCallerIdentity"]);
    }

    [Fact]
    public async Task Sts_IsNotSubjectToDeniedActionsOptInRegionsOrInjectedFaults()
    {
        await using var env = await TestEmulator.StartAsync(o =>
        {
            o.Config.Credentials.DeniedActions["AKIDDENIED"] = ["*"];
            o.Config.Credentials.OptInRequiredRegions = ["eu-west-1"];
            o.Config.Faults.InternalErrorRate = 1.0;
            o.Config.Faults.DropBeforeActionRate = 1.0;
        });

        var identity = await env.Sts("eu-west-1", "AKIDDENIED").GetCallerIdentityAsync(new());

        Assert.Equal(env.AccountId, identity.Account);
        Assert.Empty(env.Ec2.GetStats().Faults);
    }

    // ---- EC2 credential and permission faults ----

    [Fact]
    public async Task Ec2_ExpiredKey_Is400RequestExpired_AndCopySnapshotMakesNoCopy()
    {
        await using var env = await StartAsync(c => c.ExpiredAccessKeys = ["AKIDEXPIRED"]);
        var source = env.SeedSnapshot("us-east-1");

        var ex = await Expect.Ec2ErrorAsync(() => env.Client("us-west-2", "AKIDEXPIRED").CopyAsync("us-east-1", source), "RequestExpired", 400);

        Assert.Equal("Request has expired.", ex.Message);
        Assert.Empty(await env.Client("us-west-2").DescribeOwnSnapshotsAsync());
        var stats = env.Ec2.GetStats();
        Assert.Empty(stats.CopiesPerSource);
        Assert.Equal(1, stats.Calls[$"{env.AccountId}/us-west-2"]["CopySnapshot"]);
        Assert.Equal(1, stats.Errors["CopySnapshot"]["RequestExpired"]);
    }

    [Fact]
    public async Task Ec2_InvalidKey_Is401AuthFailure_AndCreateSnapshotMakesNoSnapshot()
    {
        await using var env = await StartAsync(c => c.InvalidAccessKeys = ["AKIDINVALID"]);
        var volume = env.SeedVolume();

        var ex = await Expect.Ec2ErrorAsync(() => env.Client(accessKeyId: "AKIDINVALID").CreateSnapshotAsync(
            new CreateSnapshotRequest { VolumeId = volume }), "AuthFailure", 401);

        Assert.Equal("AWS was not able to validate the provided access credentials", ex.Message);
        Assert.Empty(await env.Client().DescribeOwnSnapshotsAsync());
        Assert.Empty(env.Ec2.GetStats().SnapshotsPerVolume);
    }

    [Fact]
    public async Task Ec2_DeniedAction_Is403UnauthorizedOperation_ForThatKeyAndActionOnly()
    {
        await using var env = await StartAsync(c => c.DeniedActions[MappedKey] = ["CopySnapshot"]);
        var source = env.SeedSnapshot("us-east-1", accountId: MappedAccount);
        var mapped = env.Client("us-west-2", MappedKey);

        var ex = await Expect.Ec2ErrorAsync(() => mapped.CopyAsync("us-east-1", source), "UnauthorizedOperation", 403);

        Assert.Equal("You are not authorized to perform this operation.", ex.Message);
        Assert.Empty(await mapped.DescribeOwnSnapshotsAsync()); // another action of the same key is allowed
        Assert.Empty(env.Ec2.GetStats().CopiesPerSource);
        // Another key may copy its own snapshot.
        var ownSource = env.SeedSnapshot("us-east-1");
        Assert.StartsWith("snap-", (await env.Client("us-west-2").CopyAsync("us-east-1", ownSource)).SnapshotId);
    }

    [Fact]
    public async Task Ec2_DeniedStar_DeniesEveryAction()
    {
        await using var env = await StartAsync(c => c.DeniedActions[MappedKey] = ["*"]);
        var ec2 = env.Client(accessKeyId: MappedKey);

        await Expect.Ec2ErrorAsync(() => ec2.DescribeRegionsAsync(new DescribeRegionsRequest()), "UnauthorizedOperation", 403);
        await Expect.Ec2ErrorAsync(() => ec2.DescribeOwnSnapshotsAsync(), "UnauthorizedOperation", 403);
        await Expect.Ec2ErrorAsync(() => ec2.CreateVolumeAsync(new CreateVolumeRequest { AvailabilityZone = "us-east-1a", Size = 8 }),
            "UnauthorizedOperation", 403);

        Assert.Empty((await env.Client().DescribeVolumesAsync(new DescribeVolumesRequest())).Volumes.OrEmpty());
        var stats = env.Ec2.GetStats();
        Assert.Equal(1, stats.Errors["CreateVolume"]["UnauthorizedOperation"]);
        Assert.False(stats.Errors.ContainsKey("DescribeVolumes"));
    }

    [Fact]
    public async Task Ec2_OptInRequiredRegion_Is401OptInRequired_ForEveryCallThere_AndOtherRegionsWork()
    {
        await using var env = await StartAsync(c => c.OptInRequiredRegions = ["af-south-1"]);
        var source = env.SeedSnapshot("us-east-1");
        var cape = env.Client("af-south-1");

        var ex = await Expect.Ec2ErrorAsync(() => cape.CopyAsync("us-east-1", source), "OptInRequired", 401);
        await Expect.Ec2ErrorAsync(() => cape.DescribeOwnSnapshotsAsync(), "OptInRequired", 401);

        Assert.Equal("You are not subscribed to this service. Please go to http://aws.amazon.com to subscribe.", ex.Message);
        Assert.Empty(env.Ec2.GetStats().CopiesPerSource);
        Assert.NotEmpty(await env.Client("us-east-1").DescribeOwnSnapshotsAsync());
    }

    [Fact]
    public async Task Ec2_CredentialFaults_ComeBeforeInjectedFaultsAndBuckets()
    {
        await using var env = await TestEmulator.StartAsync(o =>
        {
            o.Config.Credentials.ExpiredAccessKeys = ["AKIDEXPIRED"];
            o.Config.Faults.InternalErrorRate = 1.0;
            o.Config.Faults.Actions = ["DescribeSnapshots"];
            o.Config.Limits.Buckets["DescribeRegions"] = new BucketConfig(1, 0.001);
        });

        await Expect.Ec2ErrorAsync(() => env.Client(accessKeyId: "AKIDEXPIRED").DescribeOwnSnapshotsAsync(), "RequestExpired", 400);
        await Expect.Ec2ErrorAsync(() => env.Client(accessKeyId: "AKIDEXPIRED").DescribeRegionsAsync(new()), "RequestExpired", 400);

        Assert.Empty(env.Ec2.GetStats().Faults);
        // The rejected DescribeRegions took no token: the one token is still there for a good key.
        Assert.NotEmpty((await env.Client().DescribeRegionsAsync(new())).Regions.OrEmpty());
        await Expect.Ec2ErrorAsync(() => env.Client().DescribeRegionsAsync(new()), "RequestLimitExceeded", 503);
    }

    [Fact]
    public async Task Ec2_RawWire_CredentialFaultUsesTheEc2ErrorEnvelope()
    {
        await using var env = await StartAsync(c => c.InvalidAccessKeys = [EmulatorClients.DefaultAccessKeyId]);

        var (status, xml, _) = await RawEc2.CallAsync(env.Ec2.BaseUrl, "us-east-1", "DescribeRegions");

        Assert.Equal(HttpStatusCode.Unauthorized, status);
        Assert.Equal("AuthFailure", RawEc2.AssertErrorEnvelope(xml));
    }

    // ---- Control API ----

    [Fact]
    public async Task CredentialFaults_SwitchOnAndOffThroughTheControlApi()
    {
        await using var env = await StartAsync();
        using var http = new HttpClient { BaseAddress = env.Ec2.BaseUrl, Timeout = TimeSpan.FromSeconds(15) };
        var ec2 = env.Client(accessKeyId: MappedKey);
        var sts = env.Sts(accessKeyId: MappedKey);

        async Task PutAsync(JsonNode config)
        {
            using var put = await http.PutAsync("_emulator/config", new StringContent(config.ToJsonString(), Encoding.UTF8, "application/json"));
            Assert.True(put.IsSuccessStatusCode, $"PUT config answered {(int)put.StatusCode}");
        }

        var config = JsonNode.Parse(await http.GetStringAsync("_emulator/config"))!;
        var credentials = config["credentials"]!;
        Assert.Empty(credentials["expiredAccessKeys"]!.AsArray());
        Assert.Empty(credentials["invalidAccessKeys"]!.AsArray());
        Assert.Empty(credentials["deniedActions"]!.AsObject());
        Assert.Empty(credentials["optInRequiredRegions"]!.AsArray());

        credentials["expiredAccessKeys"] = new JsonArray(MappedKey);
        await PutAsync(config);
        await Expect.Ec2ErrorAsync(() => ec2.DescribeOwnSnapshotsAsync(), "RequestExpired", 400);
        await Expect.StsErrorAsync(() => sts.GetCallerIdentityAsync(new()), "ExpiredToken", 403);

        credentials["expiredAccessKeys"] = new JsonArray();
        credentials["deniedActions"] = new JsonObject { [MappedKey] = new JsonArray("DescribeSnapshots") };
        credentials["optInRequiredRegions"] = new JsonArray("eu-west-1");
        await PutAsync(config);
        await Expect.Ec2ErrorAsync(() => ec2.DescribeOwnSnapshotsAsync(), "UnauthorizedOperation", 403);
        await Expect.Ec2ErrorAsync(() => env.Client("eu-west-1").DescribeRegionsAsync(new()), "OptInRequired", 401);
        Assert.Equal(MappedAccount, (await sts.GetCallerIdentityAsync(new())).Account);
        Assert.Equal(["DescribeSnapshots"], env.Ec2.Config.Credentials.DeniedActions[MappedKey]);

        credentials["deniedActions"] = new JsonObject();
        credentials["optInRequiredRegions"] = new JsonArray();
        await PutAsync(config);
        Assert.Empty(await ec2.DescribeOwnSnapshotsAsync());
        Assert.NotEmpty((await env.Client("eu-west-1").DescribeRegionsAsync(new())).Regions.OrEmpty());
    }

    // ---- AWS CLI ----

    private ExternalTools.ProcessResult AwsSts(Ec2Emulator ec2, string accessKeyId, params string[] args)
        => ExternalTools.Run(ExternalTools.AwsCli!,
            ["sts", .. args, "--endpoint-url", ec2.BaseUrl.ToString(), "--region", "us-east-1", "--output", "json"],
            ExternalTools.IsolatedAwsEnvironment(_tempDir, accessKeyId), TimeSpan.FromSeconds(90));

    [AwsCliFact]
    public async Task AwsCli_GetCallerIdentity_ParsesTheAnswer_AndReportsExpiredToken()
    {
        await using var ec2 = await Ec2Emulator.StartAsync(new EmulatorOptions
        {
            Accounts = { [MappedKey] = MappedAccount },
            Config = new EmulatorConfig { Credentials = new CredentialConfig { ExpiredAccessKeys = ["AKIDEXPIRED"] } },
        });

        var ok = AwsSts(ec2, MappedKey, "get-caller-identity");
        var expired = AwsSts(ec2, "AKIDEXPIRED", "get-caller-identity");

        Assert.True(ok.ExitCode == 0, $"aws sts get-caller-identity failed ({ok.ExitCode}): {ok.StdErr}");
        var identity = JsonDocument.Parse(ok.StdOut).RootElement;
        Assert.Equal(MappedAccount, identity.GetProperty("Account").GetString());
        Assert.Equal($"arn:aws:iam::{MappedAccount}:user/emulator", identity.GetProperty("Arn").GetString());
        Assert.Equal(MappedKey, identity.GetProperty("UserId").GetString());
        Assert.NotEqual(0, expired.ExitCode);
        Assert.Contains("ExpiredToken", expired.StdErr);
    }
}
