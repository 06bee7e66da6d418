using System.Text.Json;
using Avtomat.Ec2.Emulator.Model;
using Microsoft.AspNetCore.Http;

namespace Avtomat.Ec2.Emulator.Http;

/// <summary>STS at the emulator's URL, for calls whose credential scope names the service <c>sts</c>: GetCallerIdentity in
/// the Query protocol (form body, XML answer: what AWSSDK.SecurityToken v4, the AWS CLI and boto3 send) and in the JSON
/// protocol (<c>X-Amz-Target</c> header, JSON answer). Counted in the stats as <c>sts:GetCallerIdentity</c> per
/// "ACCOUNT/REGION". Only the credential faults apply: STS draws no bucket tokens and meets no injected faults.</summary>
internal sealed class StsEndpoint(EmulatorState state)
{
    public const string ScopeService = "sts";
    public const string Namespace = "https://sts.amazonaws.com/doc/2011-06-15/";
    /// <summary>Stats name an STS action under, so that it never mixes with an EC2 action.</summary>
    public const string StatsPrefix = "sts:";
    private const string JsonTargetPrefix = "AWSSecurityTokenServiceV20110615.";
    // The global endpoint (sts.amazonaws.com) is signed for us-east-1, served or not.
    private const string GlobalSigningRegion = "us-east-1";

    private sealed record CallerIdentity(string Account, string Arn, string UserId);

    private sealed class StsError(int status, string code, string message) : Exception(message)
    {
        public int Status { get; } = status;
        public string Code { get; } = code;
    }

    public async Task HandleAsync(HttpContext http, Ec2Request parameters, SigV4Credential credential)
    {
        var requestId = Guid.NewGuid().ToString();
        var jsonContentType = JsonContentType(http.Request.ContentType);
        int status;
        string body;
        try
        {
            var action = jsonContentType is null ? parameters.GetNonEmpty("Action") : await ReadJsonActionAsync(http.Request);
            var identity = Run(action, credential);
            (status, body) = (200, jsonContentType is null ? QuerySuccess(identity, requestId) : JsonSuccess(identity));
        }
        catch (StsError e)
        {
            (status, body) = (e.Status, jsonContentType is null ? QueryError(e, requestId) : JsonError(e));
            // JSON clients of a former Query service read the Query error code from this header (awsQueryCompatible).
            if (jsonContentType is not null) http.Response.Headers["x-amzn-query-error"] = $"{e.Code};Sender";
        }
        http.Response.Headers["x-amzn-RequestId"] = requestId;
        await ServiceRouter.ReplyAsync(http, status, jsonContentType ?? "text/xml", body);
    }

    private CallerIdentity Run(string? action, SigV4Credential credential)
    {
        // Plausible code and status (real STS answers a wrongly scoped signature so).
        if (!state.IsKnownRegion(credential.Region) && credential.Region != GlobalSigningRegion)
            throw new StsError(403, "SignatureDoesNotMatch", "Credential should be scoped to a valid region.");
        if (action is null) throw new StsError(400, "MissingAction", "Missing Action");
        if (action != "GetCallerIdentity")
            throw new StsError(400, "InvalidAction", $"Could not find operation {action} for version 2011-06-15");

        lock (state.Gate)
        {
            var account = state.AccountFor(credential.AccessKeyId);
            var statsAction = StatsPrefix + action;
            state.Stats.Call(RegionState.KeyOf(account, credential.Region), statsAction);
            // GetCallerIdentity needs no permission and no region opt-in: only authentication can fail.
            if (CredentialChecks.Authentication(state.Config.Credentials, credential.AccessKeyId) is { } fault)
            {
                var error = ErrorFor(fault);
                state.Stats.Error(statsAction, error.Code);
                throw error;
            }
            return new CallerIdentity(account, $"arn:aws:iam::{account}:user/emulator", credential.AccessKeyId);
        }
    }

    /// <summary>STS's answers to a credential fault: both 403, as real STS sends them.</summary>
    private static StsError ErrorFor(CredentialFault fault) => fault switch
    {
        CredentialFault.ExpiredAccessKey => new(403, "ExpiredToken", "The security token included in the request is expired"),
        CredentialFault.InvalidAccessKey => new(403, "InvalidClientTokenId", "The security token included in the request is invalid."),
        _ => throw new ArgumentOutOfRangeException(nameof(fault), fault, null),
    };

    /// <summary>The media type when the call uses the JSON protocol, otherwise null (Query).</summary>
    private static string? JsonContentType(string? contentType)
    {
        var mediaType = contentType?.Split(';')[0].Trim().ToLowerInvariant();
        return mediaType is "application/x-amz-json-1.0" or "application/x-amz-json-1.1" ? mediaType : null;
    }

    /// <summary>The operation named by <c>X-Amz-Target: AWSSecurityTokenServiceV20110615.Operation</c> (a target
    /// without that prefix stays whole, so it is an invalid action); the body must be JSON (<c>{}</c> for GetCallerIdentity).</summary>
    private static async Task<string?> ReadJsonActionAsync(HttpRequest request)
    {
        using var reader = new StreamReader(request.Body);
        var text = await reader.ReadToEndAsync();
        if (text.Length > 0)
        {
            // Plausible code and wording for a body that is not JSON.
            try { using var _ = JsonDocument.Parse(text); }
            catch (JsonException) { throw new StsError(400, "SerializationException", "The request body is not valid JSON."); }
        }
        var target = request.Headers["X-Amz-Target"].ToString();
        if (target.Length == 0) return null;
        return target.StartsWith(JsonTargetPrefix, StringComparison.Ordinal) ? target[JsonTargetPrefix.Length..] : target;
    }

    private static string QuerySuccess(CallerIdentity identity, string requestId) =>
        XmlOut.Document("GetCallerIdentityResponse", Namespace, x => x
            .Open("GetCallerIdentityResult")
            .Element("Arn", identity.Arn).Element("UserId", identity.UserId).Element("Account", identity.Account)
            .Close("GetCallerIdentityResult")
            .Open("ResponseMetadata").Element("RequestId", requestId).Close("ResponseMetadata"));

    private static string QueryError(StsError e, string requestId) =>
        XmlOut.Document("ErrorResponse", Namespace, x => x
            .Open("Error").Element("Type", "Sender").Element("Code", e.Code).Element("Message", e.Message).Close("Error")
            .Element("RequestId", requestId));

    private static string JsonSuccess(CallerIdentity identity) =>
        JsonSerializer.Serialize(new { identity.UserId, identity.Account, identity.Arn });

    private static string JsonError(StsError e) => JsonSerializer.Serialize(new Dictionary<string, string>
    {
        ["__type"] = e.Code,
        ["message"] = e.Message,
    });
}
