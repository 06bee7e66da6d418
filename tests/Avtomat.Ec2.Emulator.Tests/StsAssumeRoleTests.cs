using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Xml.Linq;
using Amazon.Runtime;
using Amazon.SecurityToken;
using Amazon.SecurityToken.Model;
using Avtomat.Ec2.Emulator;
using Avtomat.Ec2.Emulator.Tests.Support;

namespace Avtomat.Ec2.Emulator.Tests;

/// <summary>STS AssumeRole and AssumeRoleWithWebIdentity at the emulator's URL: the answers real STS gives (through the
/// real AWSSDK.SecurityToken, the raw Query and JSON wires, the AWS CLI), issued credentials acting in the role's account,
/// expiring on the emulator's clock, and the refusals (denied role, rejected token, validation, missing token).</summary>
public sealed class StsAssumeRoleTests : IDisposable
{
    private static readonly XNamespace StsNs = "https://sts.amazonaws.com/doc/2011-06-15/";
    private const string SourceKey = "AKIDSOURCEUSER";
    private const string SourceAccount = "111111111111";
    private const string RoleAccount = "222222222222";
    private const string RoleArn = "arn:aws:iam::222222222222:role/SnapshotCopier";

    private readonly string _tempDir = Directory.CreateTempSubdirectory("avtomat-ec2-assume-").FullName;

    public void Dispose()
    {
        try { Directory.Delete(_tempDir, recursive: true); } catch (IOException) { }
    }

    private static Task<TestEmulator> StartAsync(Action<CredentialConfig>? credentials = null) => TestEmulator.StartAsync(o =>
    {
        o.Accounts[SourceKey] = SourceAccount;
        credentials?.Invoke(o.Config.Credentials);
    });

    private static AssumeRoleRequest Assume(string roleArn = RoleArn, string session = "copy-job", int? duration = null) =>
        new() { RoleArn = roleArn, RoleSessionName = session, DurationSeconds = duration };

    // ---- AssumeRole ----

    [Fact]
    public async Task AssumeRole_IssuesAsiaCredentials_ForTheRolesAccount_ShapedLikeSts()
    {
        await using var env = await StartAsync();

        var response = await env.Sts(accessKeyId: SourceKey).AssumeRoleAsync(Assume());

        var c = response.Credentials;
        Assert.Matches("^ASIA[A-Z2-7]{16}$", c.AccessKeyId);
        Assert.Equal(40, c.SecretAccessKey.Length);
        Assert.False(string.IsNullOrEmpty(c.SessionToken));
        // STS's default lifetime: one hour from now (the emulator's clock), to the second.
        Assert.Equal(TestEmulator.Epoch.AddHours(1).UtcDateTime, c.Expiration!.Value.ToUniversalTime());
        Assert.Equal($"arn:aws:sts::{RoleAccount}:assumed-role/SnapshotCopier/copy-job", response.AssumedRoleUser.Arn);
        Assert.Matches("^AROA[A-Z2-7]{17}:copy-job$", response.AssumedRoleUser.AssumedRoleId);
        Assert.False(string.IsNullOrEmpty(response.ResponseMetadata.RequestId));
        Assert.Equal(1, env.Ec2.GetStats().Calls[$"{SourceAccount}/us-east-1"]["sts:AssumeRole"]);
    }

    [Fact]
    public async Task IssuedCredentials_ActInTheRolesAccount_ForEc2AndGetCallerIdentity()
    {
        await using var env = await StartAsync();
        var inRoleAccount = env.SeedSnapshot("us-east-1", accountId: RoleAccount);
        env.SeedSnapshot("us-east-1", accountId: SourceAccount);
        var issued = (await env.Sts(accessKeyId: SourceKey).AssumeRoleAsync(Assume(duration: 900))).Credentials;
        var asRole = new SessionAWSCredentials(issued.AccessKeyId, issued.SecretAccessKey, issued.SessionToken);

        var identity = await env.Sts(asRole).GetCallerIdentityAsync(new GetCallerIdentityRequest());
        var own = await env.Client(asRole).DescribeOwnSnapshotsAsync();
        var copy = await env.Client(asRole, "us-west-2").CopyAsync("us-east-1", inRoleAccount);

        Assert.Equal(RoleAccount, identity.Account);
        Assert.Equal($"arn:aws:sts::{RoleAccount}:assumed-role/SnapshotCopier/copy-job", identity.Arn);
        Assert.EndsWith(":copy-job", identity.UserId);
        Assert.StartsWith("AROA", identity.UserId);
        Assert.Equal([inRoleAccount], own.Select(s => s.SnapshotId));
        Assert.StartsWith("snap-", copy.SnapshotId);
        var stats = env.Ec2.GetStats();
        Assert.Equal(1, stats.Calls[$"{RoleAccount}/us-west-2"]["CopySnapshot"]);
        Assert.Equal(1, stats.MaxPendingCopies[$"{RoleAccount}/us-west-2"]);
        Assert.False(stats.Calls.ContainsKey($"{SourceAccount}/us-west-2"));
    }

    [Fact]
    public async Task IssuedCredentials_ExpireAfterTheConfiguredLifetime_Ec2RequestExpired_StsExpiredToken()
    {
        await using var env = await StartAsync(c => c.IssuedLifetimeSeconds = 60);
        var issued = (await env.Sts(accessKeyId: SourceKey).AssumeRoleAsync(Assume())).Credentials;
        var asRole = new SessionAWSCredentials(issued.AccessKeyId, issued.SecretAccessKey, issued.SessionToken);
        Assert.Equal(TestEmulator.Epoch.AddSeconds(60).UtcDateTime, issued.Expiration!.Value.ToUniversalTime());

        env.AdvanceSeconds(59);
        Assert.Empty(await env.Client(asRole).DescribeOwnSnapshotsAsync());
        env.AdvanceSeconds(1);

        var ec2 = await Expect.Ec2ErrorAsync(() => env.Client(asRole).DescribeOwnSnapshotsAsync(), "RequestExpired", 400);
        var sts = await Expect.StsErrorAsync<AmazonSecurityTokenServiceException>(
            () => env.Sts(asRole).GetCallerIdentityAsync(new()), "ExpiredToken", 403);
        await Expect.StsErrorAsync<AmazonSecurityTokenServiceException>(() => env.Sts(asRole).AssumeRoleAsync(Assume()), "ExpiredToken", 403);
        Assert.Equal("Request has expired.", ec2.Message);
        Assert.Equal("The security token included in the request is expired", sts.Message);
        // The source user's own key is not affected, and a fresh AssumeRole gives working credentials again.
        var again = (await env.Sts(accessKeyId: SourceKey).AssumeRoleAsync(Assume())).Credentials;
        Assert.Empty(await env.Client(new SessionAWSCredentials(again.AccessKeyId, again.SecretAccessKey, again.SessionToken)).DescribeOwnSnapshotsAsync());
    }

    [Fact]
    public async Task IssuedKey_WithoutItsSessionToken_IsRejected()
    {
        await using var env = await StartAsync();
        var issued = (await env.Sts(accessKeyId: SourceKey).AssumeRoleAsync(Assume())).Credentials;

        await Expect.Ec2ErrorAsync(() => env.Client(new BasicAWSCredentials(issued.AccessKeyId, issued.SecretAccessKey)).DescribeOwnSnapshotsAsync(),
            "AuthFailure", 401);
        await Expect.StsErrorAsync<AmazonSecurityTokenServiceException>(() => env.Sts(
            new SessionAWSCredentials(issued.AccessKeyId, issued.SecretAccessKey, "not-the-token")).GetCallerIdentityAsync(new()), "InvalidClientTokenId", 403);
    }

    [Fact]
    public async Task DeniedRole_Is403AccessDenied_NamingCallerAndRole_AndIssuesNothing()
    {
        await using var env = await StartAsync(c => c.DeniedRoles = [RoleArn]);

        var ex = await Expect.StsErrorAsync<AmazonSecurityTokenServiceException>(
            () => env.Sts(accessKeyId: SourceKey).AssumeRoleAsync(Assume()), "AccessDenied", 403);
        var other = await env.Sts(accessKeyId: SourceKey).AssumeRoleAsync(Assume("arn:aws:iam::333333333333:role/Other"));

        Assert.Equal($"User: arn:aws:iam::{SourceAccount}:user/emulator is not authorized to perform: sts:AssumeRole on resource: {RoleArn}", ex.Message);
        Assert.Equal("arn:aws:sts::333333333333:assumed-role/Other/copy-job", other.AssumedRoleUser.Arn);
        Assert.Equal(1, env.Ec2.GetStats().Errors["sts:AssumeRole"]["AccessDenied"]);
    }

    [Theory]
    [InlineData(899, "Value '899' at 'durationSeconds' failed to satisfy constraint: Member must have value greater than or equal to 900")]
    [InlineData(43201, "Value '43201' at 'durationSeconds' failed to satisfy constraint: Member must have value less than or equal to 43200")]
    public async Task AssumeRole_DurationOutside900To43200_IsValidationError(int duration, string detail)
    {
        await using var env = await StartAsync();

        var ex = await Expect.StsErrorAsync<AmazonSecurityTokenServiceException>(
            () => env.Sts(accessKeyId: SourceKey).AssumeRoleAsync(Assume(duration: duration)), "ValidationError", 400);

        Assert.Equal("1 validation error detected: " + detail, ex.Message);
        var longest = await env.Sts(accessKeyId: SourceKey).AssumeRoleAsync(Assume(duration: 43200));
        Assert.Equal(TestEmulator.Epoch.AddHours(12).UtcDateTime, longest.Credentials.Expiration!.Value.ToUniversalTime());
    }

    [Fact]
    public async Task AssumeRole_BadArnOrSessionName_IsValidationError()
    {
        await using var env = await StartAsync();
        var sts = env.Sts(accessKeyId: SourceKey);

        var arn = await Expect.StsErrorAsync<AmazonSecurityTokenServiceException>(
            () => sts.AssumeRoleAsync(Assume("arn:aws:iam::12345:role/TooShortAccount")), "ValidationError", 400);
        var session = await Expect.StsErrorAsync<AmazonSecurityTokenServiceException>(
            () => sts.AssumeRoleAsync(Assume(session: "has space")), "ValidationError", 400);
        var both = await Expect.StsErrorAsync<AmazonSecurityTokenServiceException>(
            () => sts.AssumeRoleAsync(Assume(roleArn: "arn:aws:iam", session: "x")), "ValidationError", 400);

        Assert.Equal("Request ARN is invalid", arn.Message);
        Assert.Contains("at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern", session.Message);
        Assert.StartsWith("2 validation errors detected: ", both.Message);
    }

    [Fact]
    public async Task RoleChaining_LimitsTheSessionToOneHour()
    {
        await using var env = await StartAsync();
        var first = (await env.Sts(accessKeyId: SourceKey).AssumeRoleAsync(Assume())).Credentials;
        var asRole = env.Sts(new SessionAWSCredentials(first.AccessKeyId, first.SecretAccessKey, first.SessionToken));

        var ex = await Expect.StsErrorAsync<AmazonSecurityTokenServiceException>(
            () => asRole.AssumeRoleAsync(Assume("arn:aws:iam::333333333333:role/Next", duration: 7200)), "ValidationError", 400);
        var chained = await asRole.AssumeRoleAsync(Assume("arn:aws:iam::333333333333:role/Next", duration: 3600));

        Assert.Equal("The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.", ex.Message);
        Assert.Equal("arn:aws:sts::333333333333:assumed-role/Next/copy-job", chained.AssumedRoleUser.Arn);
    }

    // ---- AssumeRoleWithWebIdentity ----

    private static string Jwt(string sub, string iss, string aud)
    {
        static string Part(object o) => Convert.ToBase64String(JsonSerializer.SerializeToUtf8Bytes(o)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
        return Part(new { alg = "RS256", typ = "JWT" }) + "." + Part(new { sub, iss, aud }) + ".c2lnbmF0dXJl";
    }

    [Fact]
    public async Task AssumeRoleWithWebIdentity_Unsigned_IssuesCredentialsForTheRolesAccount()
    {
        await using var env = await StartAsync();
        var token = Jwt("system:serviceaccount:ops:copier", "https://oidc.example.com", "sts.amazonaws.com");

        var response = await env.Sts(new AnonymousAWSCredentials()).AssumeRoleWithWebIdentityAsync(new AssumeRoleWithWebIdentityRequest
        {
            RoleArn = RoleArn, RoleSessionName = "pod-1", WebIdentityToken = token,
        });
        var c = response.Credentials;
        var identity = await env.Sts(new SessionAWSCredentials(c.AccessKeyId, c.SecretAccessKey, c.SessionToken)).GetCallerIdentityAsync(new());

        Assert.Matches("^ASIA[A-Z2-7]{16}$", c.AccessKeyId);
        Assert.Equal($"arn:aws:sts::{RoleAccount}:assumed-role/SnapshotCopier/pod-1", response.AssumedRoleUser.Arn);
        Assert.Equal("system:serviceaccount:ops:copier", response.SubjectFromWebIdentityToken);
        Assert.Equal("https://oidc.example.com", response.Provider);
        Assert.Equal("sts.amazonaws.com", response.Audience);
        Assert.Equal(RoleAccount, identity.Account);
        Assert.Equal(1, env.Ec2.GetStats().Calls[$"{RoleAccount}/us-east-1"]["sts:AssumeRoleWithWebIdentity"]);
    }

    [Fact]
    public async Task AssumeRoleWithWebIdentity_RejectedToken_IsInvalidIdentityToken_DeniedRole_AccessDenied_NoTokenEchoed()
    {
        const string token = "rejected-token-value";
        await using var env = await StartAsync(c =>
        {
            c.RejectedWebIdentityTokens = [token];
            c.DeniedRoles = ["arn:aws:iam::333333333333:role/Closed"];
        });
        var sts = env.Sts(new AnonymousAWSCredentials());

        var rejected = await Expect.StsErrorAsync<InvalidIdentityTokenException>(() => sts.AssumeRoleWithWebIdentityAsync(new()
        {
            RoleArn = RoleArn, RoleSessionName = "pod-1", WebIdentityToken = token,
        }), "InvalidIdentityToken", 400);
        var denied = await Expect.StsErrorAsync<AmazonSecurityTokenServiceException>(() => sts.AssumeRoleWithWebIdentityAsync(new()
        {
            RoleArn = "arn:aws:iam::333333333333:role/Closed", RoleSessionName = "pod-1", WebIdentityToken = "another-token",
        }), "AccessDenied", 403);
        var shortToken = await Expect.StsErrorAsync<AmazonSecurityTokenServiceException>(() => sts.AssumeRoleWithWebIdentityAsync(new()
        {
            RoleArn = RoleArn, RoleSessionName = "pod-1", WebIdentityToken = "abc",
        }), "ValidationError", 400);

        Assert.DoesNotContain(token, rejected.Message);
        Assert.Equal("Not authorized to perform sts:AssumeRoleWithWebIdentity", denied.Message);
        Assert.DoesNotContain("abc'", shortToken.Message);
        Assert.Contains("at 'webIdentityToken' failed to satisfy constraint: Member must have length greater than or equal to 4", shortToken.Message);
    }

    // ---- the wire ----

    private static async Task<(HttpStatusCode Status, string Body, HttpResponseMessage Response)> PostAsync(Uri baseUrl, HttpContent content,
        string? authorization = null, string? target = null)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(15) };
        using var request = new HttpRequestMessage(HttpMethod.Post, baseUrl) { Content = content };
        if (authorization is not null) request.Headers.TryAddWithoutValidation("Authorization", authorization);
        if (target is not null) request.Headers.TryAddWithoutValidation("X-Amz-Target", target);
        var response = await http.SendAsync(request);
        return (response.StatusCode, await response.Content.ReadAsStringAsync(), response);
    }

    private static string StsAuthorization(string accessKeyId) =>
        $"AWS4-HMAC-SHA256 Credential={accessKeyId}/20260304/us-east-1/sts/aws4_request, SignedHeaders=host, Signature=00";

    [Fact]
    public async Task QueryWire_UnsignedWebIdentity_GoesToSts_AndAnswersStsXml()
    {
        await using var env = await StartAsync();

        var (status, body, response) = await PostAsync(env.Ec2.BaseUrl, new FormUrlEncodedContent([
            new("Action", "AssumeRoleWithWebIdentity"), new("Version", "2011-06-15"), new("RoleArn", RoleArn),
            new("RoleSessionName", "raw"), new("WebIdentityToken", "opaque-token"), new("DurationSeconds", "900")]));
        using var _ = response;

        Assert.Equal(HttpStatusCode.OK, status);
        var root = XDocument.Parse(body).Root!;
        Assert.Equal(StsNs + "AssumeRoleWithWebIdentityResponse", root.Name);
        var result = root.Element(StsNs + "AssumeRoleWithWebIdentityResult")!;
        var credentials = result.Element(StsNs + "Credentials")!;
        Assert.Matches("^ASIA", credentials.Element(StsNs + "AccessKeyId")!.Value);
        Assert.NotNull(credentials.Element(StsNs + "SecretAccessKey"));
        Assert.NotNull(credentials.Element(StsNs + "SessionToken"));
        Assert.Equal("2026-03-04T05:21:07Z", credentials.Element(StsNs + "Expiration")!.Value);
        Assert.Equal($"arn:aws:sts::{RoleAccount}:assumed-role/SnapshotCopier/raw",
            result.Element(StsNs + "AssumedRoleUser")!.Element(StsNs + "Arn")!.Value);
        Assert.False(string.IsNullOrEmpty(root.Element(StsNs + "ResponseMetadata")!.Element(StsNs + "RequestId")!.Value));
    }

    [Fact]
    public async Task QueryWire_UnsignedAssumeRole_IsMissingAuthenticationToken_UnsignedEc2StaysEc2()
    {
        await using var env = await StartAsync();

        var (status, body, response) = await PostAsync(env.Ec2.BaseUrl, new FormUrlEncodedContent([
            new("Action", "AssumeRole"), new("Version", "2011-06-15"), new("RoleArn", RoleArn), new("RoleSessionName", "raw")]));
        using var _ = response;
        var (ec2Status, ec2Xml, _) = await RawEc2.PostAsync(env.Ec2.BaseUrl, [new("Action", "DescribeRegions"), new("Version", "2016-11-15")], null);

        Assert.Equal(HttpStatusCode.Forbidden, status);
        var error = XDocument.Parse(body).Root!.Element(StsNs + "Error")!;
        Assert.Equal("MissingAuthenticationToken", error.Element(StsNs + "Code")!.Value);
        Assert.Equal(HttpStatusCode.Unauthorized, ec2Status);
        Assert.Equal("AuthFailure", RawEc2.AssertErrorEnvelope(ec2Xml));
    }

    [Fact]
    public async Task JsonWire_AssumeRole_AnswersJson_WithEpochSecondsExpiration()
    {
        await using var env = await StartAsync();
        var content = new StringContent(JsonSerializer.Serialize(new { RoleArn, RoleSessionName = "json", DurationSeconds = 1800 }), Encoding.UTF8);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/x-amz-json-1.0");

        var (status, body, response) = await PostAsync(env.Ec2.BaseUrl, content, StsAuthorization(SourceKey),
            StsEndpointTarget("AssumeRole"));
        using var _ = response;

        Assert.Equal(HttpStatusCode.OK, status);
        var json = JsonNode.Parse(body)!;
        Assert.Equal(TestEmulator.Epoch.AddSeconds(1800).ToUnixTimeSeconds(), json["Credentials"]!["Expiration"]!.GetValue<long>());
        Assert.Matches("^ASIA", json["Credentials"]!["AccessKeyId"]!.GetValue<string>());
        Assert.Equal($"arn:aws:sts::{RoleAccount}:assumed-role/SnapshotCopier/json", json["AssumedRoleUser"]!["Arn"]!.GetValue<string>());
    }

    [Fact]
    public async Task JsonWire_UnsignedWebIdentity_IsRoutedByTarget_ValidationErrorsAreJson()
    {
        await using var env = await StartAsync();
        var content = new StringContent(JsonSerializer.Serialize(new { RoleArn, RoleSessionName = "json", WebIdentityToken = "opaque-token", DurationSeconds = 60 }), Encoding.UTF8);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/x-amz-json-1.0");

        var (status, body, response) = await PostAsync(env.Ec2.BaseUrl, content, target: StsEndpointTarget("AssumeRoleWithWebIdentity"));
        using var _ = response;

        Assert.Equal(HttpStatusCode.BadRequest, status);
        var json = JsonNode.Parse(body)!;
        Assert.Equal("ValidationError", json["__type"]!.GetValue<string>());
        Assert.Equal("ValidationError;Sender", Assert.Single(response.Headers.GetValues("x-amzn-query-error")));
    }

    private static string StsEndpointTarget(string operation) => "AWSSecurityTokenServiceV20110615." + operation;

    // ---- other clients ----

    private ExternalTools.ProcessResult AwsCli(Ec2Emulator ec2, IDictionary<string, string?> environment, params string[] args)
        => ExternalTools.Run(ExternalTools.AwsCli!, [.. args, "--endpoint-url", ec2.BaseUrl.ToString(), "--output", "json", "--region", "us-east-1"],
            environment, TimeSpan.FromSeconds(90));

    [AwsCliFact]
    public async Task AwsCli_AssumeRole_ThenEc2WithTheIssuedCredentials_ActsInTheRolesAccount()
    {
        await using var ec2 = await Ec2Emulator.StartAsync(new EmulatorOptions { Accounts = { [SourceKey] = SourceAccount } });
        var source = ec2.Seed(new SeedRequest { AccountId = RoleAccount, Region = "us-east-1", Snapshots = 1 }).SnapshotIds.Single();

        var assumed = AwsCli(ec2, ExternalTools.IsolatedAwsEnvironment(_tempDir, SourceKey),
            "sts", "assume-role", "--role-arn", RoleArn, "--role-session-name", "cli", "--duration-seconds", "900");
        Assert.True(assumed.ExitCode == 0, $"aws sts assume-role failed ({assumed.ExitCode}): {assumed.StdErr}");
        var credentials = JsonDocument.Parse(assumed.StdOut).RootElement.GetProperty("Credentials");
        var asRole = ExternalTools.IsolatedAwsEnvironment(_tempDir, credentials.GetProperty("AccessKeyId").GetString()!);
        asRole["AWS_SECRET_ACCESS_KEY"] = credentials.GetProperty("SecretAccessKey").GetString();
        asRole["AWS_SESSION_TOKEN"] = credentials.GetProperty("SessionToken").GetString();

        var identity = AwsCli(ec2, asRole, "sts", "get-caller-identity");
        var described = AwsCli(ec2, asRole, "ec2", "describe-snapshots", "--owner-ids", "self");
        var web = AwsCli(ec2, ExternalTools.IsolatedAwsEnvironment(_tempDir), "sts", "assume-role-with-web-identity",
            "--role-arn", "arn:aws:iam::333333333333:role/Web", "--role-session-name", "cli", "--web-identity-token", "opaque-token");

        Assert.True(identity.ExitCode == 0, identity.StdErr);
        Assert.Equal($"arn:aws:sts::{RoleAccount}:assumed-role/SnapshotCopier/cli",
            JsonDocument.Parse(identity.StdOut).RootElement.GetProperty("Arn").GetString());
        Assert.True(described.ExitCode == 0, described.StdErr);
        Assert.Equal([source], JsonDocument.Parse(described.StdOut).RootElement.GetProperty("Snapshots").EnumerateArray()
            .Select(s => s.GetProperty("SnapshotId").GetString()));
        Assert.True(web.ExitCode == 0, web.StdErr);
        Assert.Equal("arn:aws:sts::333333333333:assumed-role/Web/cli",
            JsonDocument.Parse(web.StdOut).RootElement.GetProperty("AssumedRoleUser").GetProperty("Arn").GetString());
    }

    [AwsCliFact]
    public async Task AwsCli_RoleArnProfile_AssumesTheRoleThroughAwsEndpointUrlSts()
    {
        await using var ec2 = await Ec2Emulator.StartAsync(new EmulatorOptions { Accounts = { [SourceKey] = SourceAccount } });
        var config = Path.Combine(_tempDir, "config");
        File.WriteAllText(config, $"""
            [profile source]
            aws_access_key_id = {SourceKey}
            aws_secret_access_key = source-secret

            [profile member]
            role_arn = {RoleArn}
            source_profile = source
            role_session_name = cli-profile
            """);
        var environment = ExternalTools.IsolatedAwsEnvironment(_tempDir);
        environment["AWS_ACCESS_KEY_ID"] = null;
        environment["AWS_SECRET_ACCESS_KEY"] = null;
        environment["AWS_CONFIG_FILE"] = config;
        environment["AWS_ENDPOINT_URL_STS"] = ec2.BaseUrl.ToString();
        // The CLI caches assumed-role credentials under ~/.aws/cli/cache: a fresh home, so this run asks STS itself.
        environment["HOME"] = _tempDir;
        environment["USERPROFILE"] = _tempDir;

        var identity = ExternalTools.Run(ExternalTools.AwsCli!, ["ec2", "describe-snapshots", "--owner-ids", "self", "--profile", "member",
            "--endpoint-url", ec2.BaseUrl.ToString(), "--region", "us-east-1", "--output", "json"], environment, TimeSpan.FromSeconds(90));

        Assert.True(identity.ExitCode == 0, $"aws with a role_arn profile failed ({identity.ExitCode}): {identity.StdErr}");
        var stats = ec2.GetStats();
        Assert.Equal(1, stats.Calls[$"{SourceAccount}/us-east-1"]["sts:AssumeRole"]);
        Assert.Equal(1, stats.Calls[$"{RoleAccount}/us-east-1"]["DescribeSnapshots"]);
    }
}
