using System.Text.Json;
using Avtomat.Ec2.Emulator.Model;
using Microsoft.AspNetCore.Http;

namespace Avtomat.Ec2.Emulator.Http;

/// <summary>The IAM Identity Center (SSO) portal's GetRoleCredentials at the emulator's URL: REST-JSON, unsigned,
/// <c>GET /federation/credentials?role_name=R&amp;account_id=A</c> with the access token of <c>aws sso login</c> in the
/// <c>x-amz-sso_bearer_token</c> header (what AWSSDK.SSO sends for an SSO profile). The answer is
/// <c>{"roleCredentials":{accessKeyId, secretAccessKey, sessionToken, expiration (epoch milliseconds)}}</c>; the
/// credentials act in account A until they expire (<see cref="IssuedCredentials"/>). The emulator keeps no sign-in: any
/// token is accepted except an empty one and those in <see cref="CredentialConfig.RejectedSsoTokens"/> (401
/// <c>UnauthorizedException</c>); a role in <see cref="CredentialConfig.DeniedRoles"/> (its ARN
/// <c>arn:aws:iam::A:role/R</c>) is 403 <c>ForbiddenException</c>. Counted in the stats as <c>sso:GetRoleCredentials</c>
/// under "A/us-east-1" (the call names no region).</summary>
internal sealed class SsoPortalEndpoint(EmulatorState state)
{
    public const string Path = "/federation/credentials";
    public const string TokenHeader = "x-amz-sso_bearer_token";
    public const string StatsAction = "sso:GetRoleCredentials";
    private const string StatsRegion = "us-east-1";
    private const int DefaultLifetimeSeconds = 3600;

    private sealed class SsoError(int status, string code, string message) : Exception(message)
    {
        public int Status { get; } = status;
        public string Code { get; } = code;
    }

    /// <summary>A GET to <c>/federation/credentials</c> (leading slashes tolerated, as for every route).</summary>
    public static bool IsSsoCall(HttpRequest request) =>
        HttpMethods.IsGet(request.Method) && "/" + (request.Path.Value ?? "").TrimStart('/') == Path;

    public Task HandleAsync(HttpContext http)
    {
        var requestId = Guid.NewGuid().ToString();
        int status;
        string body;
        try
        {
            (status, body) = (200, Run(http.Request));
        }
        catch (SsoError e)
        {
            (status, body) = (e.Status, JsonSerializer.Serialize(new Dictionary<string, string> { ["message"] = e.Message }));
            // REST-JSON clients read the error code from this header.
            http.Response.Headers["x-amzn-ErrorType"] = e.Code;
        }
        http.Response.Headers["x-amzn-RequestId"] = requestId;
        return ServiceRouter.ReplyAsync(http, status, "application/json", body);
    }

    private string Run(HttpRequest request)
    {
        var roleName = request.Query["role_name"].ToString();
        var accountId = request.Query["account_id"].ToString();
        var token = request.Headers[TokenHeader].ToString();
        lock (state.Gate)
        {
            state.Stats.Call(RegionState.KeyOf(accountId.Length > 0 ? accountId : state.Options.DefaultAccountId, StatsRegion), StatsAction);
            try
            {
                // Never echo the token: it is a secret.
                var rejected = state.Config.Credentials.RejectedSsoTokens;
                if (token.Length == 0 || rejected.Contains("*", StringComparer.Ordinal) || rejected.Contains(token, StringComparer.Ordinal))
                    throw new SsoError(401, "UnauthorizedException", "Session token not found or invalid");
                if (roleName.Length == 0 || accountId.Length == 0)
                    throw new SsoError(400, "InvalidRequestException", roleName.Length == 0 ? "role_name is required" : "account_id is required");
                var roleArn = $"arn:aws:iam::{accountId}:role/{roleName}";
                var denied = state.Config.Credentials.DeniedRoles;
                if (denied.Contains("*", StringComparer.Ordinal) || denied.Contains(roleArn, StringComparer.Ordinal))
                    throw new SsoError(403, "ForbiddenException", "No access");

                var lifetime = state.Config.Credentials.IssuedLifetimeSeconds ?? DefaultLifetimeSeconds;
                var issued = state.Issued.Issue(accountId, roleArn, roleName, "emulator-sso-user", state.Now.AddSeconds(lifetime), chained: false);
                using var stream = new MemoryStream();
                using (var json = new Utf8JsonWriter(stream))
                {
                    json.WriteStartObject();
                    json.WriteStartObject("roleCredentials");
                    json.WriteString("accessKeyId", issued.AccessKeyId);
                    json.WriteString("secretAccessKey", issued.SecretAccessKey);
                    json.WriteString("sessionToken", issued.SessionToken);
                    json.WriteNumber("expiration", issued.Expiration.ToUnixTimeMilliseconds());
                    json.WriteEndObject();
                    json.WriteEndObject();
                }
                return System.Text.Encoding.UTF8.GetString(stream.ToArray());
            }
            catch (SsoError e)
            {
                state.Stats.Error(StatsAction, e.Code);
                throw;
            }
        }
    }
}
