using System.Net;
using Amazon.Runtime;
using Amazon.SSO;
using Amazon.SSO.Model;
using Avtomat.Ec2.Emulator.Tests.Support;

namespace Avtomat.Ec2.Emulator.Tests;

/// <summary>The SSO portal's GetRoleCredentials at the emulator's URL, through the real AWSSDK.SSO (REST-JSON, unsigned,
/// GET /federation/credentials with x-amz-sso_bearer_token): credentials acting in the asked account until they expire,
/// and the portal's refusals (empty or rejected token 401 UnauthorizedException, denied role 403 ForbiddenException).</summary>
public sealed class SsoPortalTests
{
    private const string SsoAccount = "246813579246";
    private const string RoleName = "SnapshotOperator";
    private const string AccessToken = "sso-access-token-do-not-echo";

    private static Task<TestEmulator> StartAsync(Action<CredentialConfig>? credentials = null) =>
        TestEmulator.StartAsync(o => credentials?.Invoke(o.Config.Credentials));

    private static AmazonSSOClient Sso(TestEmulator env) => new(new AnonymousAWSCredentials(), new AmazonSSOConfig
    {
        ServiceURL = env.Ec2.BaseUrl.ToString(),
        AuthenticationRegion = "us-east-1",
        MaxErrorRetry = 0,
        Timeout = TimeSpan.FromSeconds(15),
    });

    private static GetRoleCredentialsRequest Ask(string token = AccessToken, string account = SsoAccount, string role = RoleName) =>
        new() { AccessToken = token, AccountId = account, RoleName = role };

    [Fact]
    public async Task GetRoleCredentials_IssuesCredentials_ThatActInTheAskedAccount_UntilTheyExpire()
    {
        await using var env = await StartAsync();
        using var sso = Sso(env);

        var response = await sso.GetRoleCredentialsAsync(Ask());

        var c = response.RoleCredentials;
        Assert.Matches("^ASIA[A-Z2-7]{16}$", c.AccessKeyId);
        Assert.Equal(40, c.SecretAccessKey.Length);
        Assert.False(string.IsNullOrEmpty(c.SessionToken));
        // Epoch milliseconds on the wire: one hour from the emulator's now.
        Assert.Equal(TestEmulator.Epoch.AddHours(1).ToUnixTimeMilliseconds(), c.Expiration);

        using var ec2 = env.Client(new SessionAWSCredentials(c.AccessKeyId, c.SecretAccessKey, c.SessionToken));
        Assert.Empty(await ec2.DescribeOwnSnapshotsAsync());
        var stats = env.Ec2.GetStats();
        Assert.Equal(1, stats.Calls[$"{SsoAccount}/us-east-1"]["sso:GetRoleCredentials"]);
        Assert.Equal(1, stats.Calls[$"{SsoAccount}/us-east-1"]["DescribeSnapshots"]);

        env.Advance(TimeSpan.FromHours(1));
        await Expect.Ec2ErrorAsync(() => ec2.DescribeOwnSnapshotsAsync(), "RequestExpired", 400);
    }

    [Fact]
    public async Task GetRoleCredentials_IssuedLifetimeSeconds_SetsTheExpiration()
    {
        await using var env = await StartAsync(c => c.IssuedLifetimeSeconds = 60);
        using var sso = Sso(env);

        var response = await sso.GetRoleCredentialsAsync(Ask());

        Assert.Equal(TestEmulator.Epoch.AddSeconds(60).ToUnixTimeMilliseconds(), response.RoleCredentials.Expiration);
    }

    [Fact]
    public async Task RejectedToken_IsUnauthorized_DeniedRole_IsForbidden_NoTokenEchoed()
    {
        const string rejectedToken = "rejected-sso-token-value";
        await using var env = await StartAsync(c =>
        {
            c.RejectedSsoTokens = [rejectedToken];
            c.DeniedRoles = [$"arn:aws:iam::{SsoAccount}:role/Closed"];
        });
        using var sso = Sso(env);

        var rejected = await Assert.ThrowsAsync<UnauthorizedException>(() => sso.GetRoleCredentialsAsync(Ask(rejectedToken)));
        // Not in the SSO model (the real portal sends it for a role not assigned): the SDK raises its base exception.
        var denied = await Assert.ThrowsAsync<AmazonSSOException>(() => sso.GetRoleCredentialsAsync(Ask(role: "Closed")));

        Assert.Equal(HttpStatusCode.Unauthorized, rejected.StatusCode);
        Assert.Equal("UnauthorizedException", rejected.ErrorCode);
        Assert.Equal("Session token not found or invalid", rejected.Message);
        Assert.DoesNotContain(rejectedToken, rejected.Message);
        Assert.Equal(HttpStatusCode.Forbidden, denied.StatusCode);
        Assert.Equal("ForbiddenException", denied.ErrorCode);
        Assert.Equal("No access", denied.Message);
        var stats = env.Ec2.GetStats();
        Assert.Equal(1, stats.Errors["sso:GetRoleCredentials"]["UnauthorizedException"]);
        Assert.Equal(1, stats.Errors["sso:GetRoleCredentials"]["ForbiddenException"]);
    }

    [Fact]
    public async Task RawWire_NoToken_Is401_UnsignedGetElsewhere_StaysEc2()
    {
        await using var env = await StartAsync();
        using var http = new HttpClient { BaseAddress = env.Ec2.BaseUrl };

        using var noToken = await http.GetAsync($"federation/credentials?role_name={RoleName}&account_id={SsoAccount}");
        Assert.Equal(HttpStatusCode.Unauthorized, noToken.StatusCode);
        Assert.Equal("UnauthorizedException", noToken.Headers.GetValues("x-amzn-ErrorType").Single());
        Assert.Equal("""{"message":"Session token not found or invalid"}""", await noToken.Content.ReadAsStringAsync());

        using var request = new HttpRequestMessage(HttpMethod.Get, $"federation/credentials?role_name={RoleName}&account_id={SsoAccount}");
        request.Headers.Add("x-amz-sso_bearer_token", AccessToken);
        using var ok = await http.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        Assert.StartsWith("""{"roleCredentials":{"accessKeyId":"ASIA""", await ok.Content.ReadAsStringAsync());

        // Any other unsigned GET is EC2's, as before.
        using var other = await http.GetAsync("?Action=DescribeRegions");
        Assert.Contains("<Response>", await other.Content.ReadAsStringAsync());
    }
}
