using System.Runtime.CompilerServices;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Avtomat.Ec2.Emulator.Model;
using Microsoft.AspNetCore.Http;

namespace Avtomat.Ec2.Emulator.Http;

/// <summary>STS at the emulator's URL: GetCallerIdentity, AssumeRole and AssumeRoleWithWebIdentity, in the Query
/// protocol (form body, XML answer: what AWSSDK.SecurityToken v4, the AWS CLI and boto3 send) and in the JSON protocol
/// (<c>X-Amz-Target</c> header, JSON answer). Calls signed for the service <c>sts</c> come here, and so do unsigned calls
/// that name an STS operation (AssumeRoleWithWebIdentity is unsigned in real STS). Issued credentials act in the role's
/// account (<see cref="EmulatorState.AccountFor"/>) until they expire. Counted in the stats as <c>sts:ACTION</c> per
/// "ACCOUNT/REGION". Only the credential faults apply: STS draws no bucket tokens and meets no injected faults.</summary>
internal sealed partial class StsEndpoint(EmulatorState state)
{
    public const string ScopeService = "sts";
    public const string Namespace = "https://sts.amazonaws.com/doc/2011-06-15/";
    /// <summary>Stats name an STS action under, so that it never mixes with an EC2 action.</summary>
    public const string StatsPrefix = "sts:";
    public const string JsonTargetPrefix = "AWSSecurityTokenServiceV20110615.";
    // The global endpoint (sts.amazonaws.com) is signed for us-east-1, served or not; unsigned calls count there too.
    private const string GlobalSigningRegion = "us-east-1";
    private const int DefaultDurationSeconds = 3600;
    private const int ChainedMaxSeconds = 3600;

    /// <summary>Every STS operation: an unsigned call naming one of them is STS's, not EC2's.</summary>
    private static readonly HashSet<string> Operations = new(StringComparer.Ordinal)
    {
        "AssumeRole", "AssumeRoleWithSAML", "AssumeRoleWithWebIdentity", "AssumeRoot", "DecodeAuthorizationMessage",
        "GetAccessKeyInfo", "GetCallerIdentity", "GetDelegatedAccessToken", "GetFederationToken", "GetSessionToken",
    };

    [GeneratedRegex(@"^arn:aws[a-z-]*:iam::(\d{12}):role/(?:[\w+=,.@-]+/)*([\w+=,.@-]{1,64})$", RegexOptions.CultureInvariant)]
    private static partial Regex RoleArnPattern();

    [GeneratedRegex(@"^[\w+=,.@-]*$", RegexOptions.CultureInvariant)]
    private static partial Regex SessionNamePattern();

    [GeneratedRegex(@"^[\w+=,.@:/-]*$", RegexOptions.CultureInvariant)]
    private static partial Regex ExternalIdPattern();

    private sealed class StsError(int status, string code, string message) : Exception(message)
    {
        public int Status { get; } = status;
        public string Code { get; } = code;
    }

    /// <summary>An answer's members in order: a value is a string, a long, a DateTimeOffset or a nested member list.</summary>
    private sealed class Members : List<KeyValuePair<string, object>>
    {
        public void Add(string name, object? value) { if (value is not null) Add(new KeyValuePair<string, object>(name, value)); }
    }

    /// <summary>Is this unsigned call STS's? Its Query <c>Action</c> or its JSON <c>X-Amz-Target</c> names an STS operation.</summary>
    public static bool IsStsCall(HttpRequest request, Ec2Request parameters)
    {
        var target = request.Headers["X-Amz-Target"].ToString();
        if (target.StartsWith(JsonTargetPrefix, StringComparison.Ordinal)) return true;
        return parameters.GetNonEmpty("Action") is { } action && Operations.Contains(action);
    }

    /// <param name="credential">The call's SigV4 scope; null when it is unsigned.</param>
    public async Task HandleAsync(HttpContext http, Ec2Request parameters, SigV4Credential? credential)
    {
        var requestId = Guid.NewGuid().ToString();
        var jsonContentType = JsonContentType(http.Request.ContentType);
        int status;
        string body;
        string? action = null;
        var logged = new StrongBox<bool>();
        try
        {
            if (jsonContentType is null) action = parameters.GetNonEmpty("Action");
            else (action, parameters) = await ReadJsonAsync(http.Request);
            var (resultName, members) = Run(action, parameters, credential, SigV4Scope.SessionToken(http.Request, parameters), logged);
            (status, body) = (200, jsonContentType is null ? QuerySuccess(action!, resultName, members, requestId) : JsonSuccess(members));
        }
        catch (DroppedConnection)
        {
            http.Abort();
            return;
        }
        catch (StsError e)
        {
            if (!logged.Value)
                lock (state.Gate)
                {
                    var account = credential is null ? "" : state.AccountFor(credential.AccessKeyId);
                    var call = state.Calls.Begin("sts", action ?? "", account, credential?.Region ?? "", credential?.AccessKeyId,
                        parameters.Values, state.Now);
                    state.Calls.Add(call with { Status = e.Status, ErrorCode = e.Code, ErrorMessage = e.Message }, state.Options.CallLogCapacity);
                }
            (status, body) = (e.Status, jsonContentType is null ? QueryError(e, requestId) : JsonError(e));
            // JSON clients of a former Query service read the Query error code from this header (awsQueryCompatible).
            if (jsonContentType is not null) http.Response.Headers["x-amzn-query-error"] = $"{e.Code};Sender";
        }
        http.Response.Headers["x-amzn-RequestId"] = requestId;
        await ServiceRouter.ReplyAsync(http, status, jsonContentType ?? "text/xml", body);
    }

    /// <summary>The interceptor closed the connection.</summary>
    private sealed class DroppedConnection : Exception;

    private (string ResultName, Members Members) Run(string? action, Ec2Request parameters, SigV4Credential? credential, string? sessionToken,
        StrongBox<bool> logged)
    {
        // Plausible code and status (real STS answers a wrongly scoped signature so).
        if (credential is not null && !state.IsKnownRegion(credential.Region) && credential.Region != GlobalSigningRegion)
            throw new StsError(403, "SignatureDoesNotMatch", "Credential should be scoped to a valid region.");
        if (action is null) throw new StsError(400, "MissingAction", "Missing Action");
        if (action is not ("GetCallerIdentity" or "AssumeRole" or "AssumeRoleWithWebIdentity"))
            throw new StsError(400, "InvalidAction", $"Could not find operation {action} for version 2011-06-15");
        // Only AssumeRoleWithWebIdentity (and SAML, not served) needs no signature.
        if (credential is null && action != "AssumeRoleWithWebIdentity")
            throw new StsError(403, "MissingAuthenticationToken", "Request is missing Authentication Token");

        lock (state.Gate)
        {
            var statsAction = StatsPrefix + action;
            // Logged in the account the call acts in: the signer's, or for the unsigned web identity call the role's.
            var account = credential is not null ? state.AccountFor(credential.AccessKeyId)
                : parameters.GetNonEmpty("RoleArn") is { } arn && RoleArnPattern().Match(arn) is { Success: true } m ? m.Groups[1].Value
                : state.Options.DefaultAccountId;
            var call = state.Calls.Begin("sts", action, account, credential?.Region ?? GlobalSigningRegion, credential?.AccessKeyId,
                parameters.Values, state.Now);
            logged.Value = true;
            var stage = CallStage.BeforeAction;
            var intercepted = false;
            try
            {
                // The interceptor before the action (STS checks the credentials inside each action).
                if (state.Options.Interceptor?.Invoke(call) is { } before)
                {
                    intercepted = true;
                    state.Stats.Fault("Intercepted");
                    if (before.DropConnection) throw new DroppedConnection();
                    throw ErrorOf(before);
                }
                (string, Members) result;
                try
                {
                    result = action switch
                    {
                        "GetCallerIdentity" => GetCallerIdentity(credential!, sessionToken, statsAction),
                        "AssumeRole" => AssumeRole(parameters, credential!, sessionToken, statsAction),
                        _ => AssumeRoleWithWebIdentity(parameters, credential, statsAction),
                    };
                }
                catch (StsError e)
                {
                    stage = CallStage.AfterAction;
                    if (state.Options.Interceptor?.Invoke(call with
                        {
                            Stage = stage, Status = e.Status, ErrorCode = e.Code, ErrorMessage = e.Message,
                        }) is { } afterError)
                        throw Intercept(afterError);
                    throw;
                }
                stage = CallStage.AfterAction;
                if (state.Options.Interceptor?.Invoke(call with { Stage = stage, Status = 200 }) is { } after) throw Intercept(after);
                state.Calls.Add(call with { Stage = stage, Status = 200 }, state.Options.CallLogCapacity);
                return result;
            }
            catch (StsError e)
            {
                state.Stats.Error(statsAction, e.Code);
                state.Calls.Add(call with
                {
                    Stage = stage, Status = e.Status, ErrorCode = e.Code, ErrorMessage = e.Message, Intercepted = intercepted,
                }, state.Options.CallLogCapacity);
                throw;
            }
            catch (DroppedConnection)
            {
                state.Calls.Add(call with { Stage = stage, Dropped = true, Intercepted = true }, state.Options.CallLogCapacity);
                throw;
            }

            Exception Intercept(CallDecision decision)
            {
                intercepted = true;
                state.Stats.Fault("Intercepted");
                return decision.DropConnection ? new DroppedConnection() : ErrorOf(decision);
            }
        }
    }

    private static StsError ErrorOf(CallDecision decision)
    {
        if (string.IsNullOrEmpty(decision.ErrorCode) || decision.Status is < 400 or > 599)
            throw new InvalidOperationException("Interceptor: an error decision needs an error code and a 4xx/5xx status (or DropConnection).");
        return new StsError(decision.Status, decision.ErrorCode, decision.Message);
    }

    private (string, Members) GetCallerIdentity(SigV4Credential credential, string? sessionToken, string statsAction)
    {
        var account = state.AccountFor(credential.AccessKeyId);
        state.Stats.Call(RegionState.KeyOf(account, credential.Region), statsAction);
        // GetCallerIdentity needs no permission and no region opt-in: only authentication can fail.
        Authenticate(credential.AccessKeyId, sessionToken);
        var issued = state.Issued.Find(credential.AccessKeyId);
        return ("GetCallerIdentityResult", new Members
        {
            { "UserId", issued?.AssumedRoleId ?? credential.AccessKeyId },
            { "Account", account },
            { "Arn", issued?.AssumedRoleArn ?? CallerArn(credential.AccessKeyId, account) },
        });
    }

    private (string, Members) AssumeRole(Ec2Request parameters, SigV4Credential credential, string? sessionToken, string statsAction)
    {
        var callerAccount = state.AccountFor(credential.AccessKeyId);
        state.Stats.Call(RegionState.KeyOf(callerAccount, credential.Region), statsAction);
        // As STS: the signature first, then the request's shape, then the permission.
        Authenticate(credential.AccessKeyId, sessionToken);
        var errors = new List<string>();
        var roleArn = Validate(parameters, "RoleArn", "roleArn", 20, 2048, null, errors);
        var sessionName = Validate(parameters, "RoleSessionName", "roleSessionName", 2, 64, SessionNamePattern(), errors);
        Validate(parameters, "ExternalId", "externalId", 2, 1224, ExternalIdPattern(), errors, required: false);
        var duration = Duration(parameters, errors);
        ThrowIfInvalid(errors);
        var (account, roleName) = ParseRoleArn(roleArn!);
        var caller = state.Issued.Find(credential.AccessKeyId);
        var chained = caller is not null;
        if (chained && duration > ChainedMaxSeconds)
            throw new StsError(400, "ValidationError",
                "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.");
        if (IsDenied(roleArn!))
            throw new StsError(403, "AccessDenied",
                $"User: {caller?.AssumedRoleArn ?? CallerArn(credential.AccessKeyId, callerAccount)} is not authorized to perform: sts:AssumeRole on resource: {roleArn}");

        var issued = Issue(account, roleArn!, roleName, sessionName!, duration, chained);
        return ("AssumeRoleResult", new Members
        {
            { "Credentials", CredentialMembers(issued) },
            { "AssumedRoleUser", AssumedRoleUser(issued) },
        });
    }

    private (string, Members) AssumeRoleWithWebIdentity(Ec2Request parameters, SigV4Credential? credential, string statsAction)
    {
        var errors = new List<string>();
        var roleArn = Validate(parameters, "RoleArn", "roleArn", 20, 2048, null, errors);
        var sessionName = Validate(parameters, "RoleSessionName", "roleSessionName", 2, 64, SessionNamePattern(), errors);
        var token = Validate(parameters, "WebIdentityToken", "webIdentityToken", 4, 20000, null, errors);
        var providerId = Validate(parameters, "ProviderId", "providerId", 4, 2048, null, errors, required: false);
        var duration = Duration(parameters, errors);
        // Counted under the role's account when its ARN can be read (the call has no signer), else the default account.
        var roleAccount = roleArn is not null && RoleArnPattern().Match(roleArn) is { Success: true } m ? m.Groups[1].Value : state.Options.DefaultAccountId;
        state.Stats.Call(RegionState.KeyOf(roleAccount, credential?.Region ?? GlobalSigningRegion), statsAction);
        ThrowIfInvalid(errors);
        var (account, roleName) = ParseRoleArn(roleArn!);
        var rejected = state.Config.Credentials.RejectedWebIdentityTokens;
        // Never echo the token: it is a secret.
        if (rejected.Contains("*", StringComparer.Ordinal) || rejected.Contains(token!, StringComparer.Ordinal))
            throw new StsError(400, "InvalidIdentityToken",
                "The web identity token that was passed could not be validated by AWS. Get a new identity token from the identity provider and then retry the request.");
        if (IsDenied(roleArn!))
            throw new StsError(403, "AccessDenied", "Not authorized to perform sts:AssumeRoleWithWebIdentity");

        var claims = JwtClaims(token!);
        var issued = Issue(account, roleArn!, roleName, sessionName!, duration, chained: false);
        return ("AssumeRoleWithWebIdentityResult", new Members
        {
            { "Credentials", CredentialMembers(issued) },
            { "SubjectFromWebIdentityToken", claims.GetValueOrDefault("sub") ?? "emulator-subject" },
            { "AssumedRoleUser", AssumedRoleUser(issued) },
            { "Provider", providerId ?? claims.GetValueOrDefault("iss") ?? "emulator" },
            { "Audience", claims.GetValueOrDefault("aud") ?? "sts.amazonaws.com" },
        });
    }

    // ---------------------------------------------------------------- rules

    private void Authenticate(string accessKeyId, string? sessionToken)
    {
        if (CredentialChecks.Authentication(state, accessKeyId, sessionToken) is { } fault) throw ErrorFor(fault);
    }

    private bool IsDenied(string roleArn)
    {
        var denied = state.Config.Credentials.DeniedRoles;
        return denied.Contains("*", StringComparer.Ordinal) || denied.Contains(roleArn, StringComparer.Ordinal);
    }

    private IssuedCredential Issue(string account, string roleArn, string roleName, string sessionName, int duration, bool chained)
    {
        var lifetime = state.Config.Credentials.IssuedLifetimeSeconds ?? duration;
        return state.Issued.Issue(account, roleArn, roleName, sessionName, state.Now.AddSeconds(lifetime), chained);
    }

    private static string CallerArn(string accessKeyId, string account) => $"arn:aws:iam::{account}:user/emulator";

    private static (string Account, string RoleName) ParseRoleArn(string roleArn)
    {
        var m = RoleArnPattern().Match(roleArn);
        if (!m.Success) throw new StsError(400, "ValidationError", "Request ARN is invalid");
        return (m.Groups[1].Value, m.Groups[2].Value);
    }

    /// <summary>A string member checked as STS's model does (length, pattern); problems are added to
    /// <paramref name="errors"/> in STS's words, with the member's camelCase name.</summary>
    private static string? Validate(Ec2Request parameters, string name, string modelName, int min, int max, Regex? pattern,
        List<string> errors, bool required = true)
    {
        var value = parameters.Get(name);
        if (value is null)
        {
            if (required) errors.Add($"Value null at '{modelName}' failed to satisfy constraint: Member must not be null");
            return null;
        }
        // The value itself is not repeated for secrets (the web identity token).
        var shown = modelName == "webIdentityToken" ? "" : $" '{value}'";
        if (value.Length < min)
            errors.Add($"Value{shown} at '{modelName}' failed to satisfy constraint: Member must have length greater than or equal to {min}");
        else if (value.Length > max)
            errors.Add($"Value{shown} at '{modelName}' failed to satisfy constraint: Member must have length less than or equal to {max}");
        else if (pattern is not null && !pattern.IsMatch(value))
            errors.Add($"Value{shown} at '{modelName}' failed to satisfy constraint: Member must satisfy regular expression pattern: {pattern.ToString().Trim('^', '$')}");
        return value;
    }

    /// <summary>DurationSeconds: 900..43200 (the longest a role's MaxSessionDuration can be); 3600 when not given.</summary>
    private static int Duration(Ec2Request parameters, List<string> errors)
    {
        var text = parameters.Get("DurationSeconds");
        if (text is null) return DefaultDurationSeconds;
        if (!int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var seconds))
        {
            errors.Add($"Value '{text}' at 'durationSeconds' failed to satisfy constraint: Member must be an integer");
            return DefaultDurationSeconds;
        }
        if (seconds < 900) errors.Add($"Value '{seconds}' at 'durationSeconds' failed to satisfy constraint: Member must have value greater than or equal to 900");
        else if (seconds > 43200) errors.Add($"Value '{seconds}' at 'durationSeconds' failed to satisfy constraint: Member must have value less than or equal to 43200");
        return seconds;
    }

    private static void ThrowIfInvalid(List<string> errors)
    {
        if (errors.Count == 0) return;
        var count = errors.Count == 1 ? "1 validation error detected: " : $"{errors.Count} validation errors detected: ";
        throw new StsError(400, "ValidationError", count + string.Join("; ", errors));
    }

    /// <summary>The string claims of a JWT's payload (sub, iss, aud), or none when the token is not a JWT.</summary>
    private static Dictionary<string, string> JwtClaims(string token)
    {
        var claims = new Dictionary<string, string>(StringComparer.Ordinal);
        var parts = token.Split('.');
        if (parts.Length != 3) return claims;
        try
        {
            var payload = parts[1].Replace('-', '+').Replace('_', '/');
            payload = payload.PadRight(payload.Length + (4 - payload.Length % 4) % 4, '=');
            using var json = JsonDocument.Parse(Convert.FromBase64String(payload));
            if (json.RootElement.ValueKind != JsonValueKind.Object) return claims;
            foreach (var p in json.RootElement.EnumerateObject())
            {
                if (p.Value.ValueKind == JsonValueKind.String) claims[p.Name] = p.Value.GetString()!;
                else if (p.Value.ValueKind == JsonValueKind.Array && p.Value.GetArrayLength() > 0 && p.Value[0].ValueKind == JsonValueKind.String)
                    claims[p.Name] = p.Value[0].GetString()!;
            }
        }
        catch (Exception e) when (e is FormatException or JsonException) { }
        return claims;
    }

    /// <summary>STS's answers to a credential fault: both 403, as real STS sends them.</summary>
    private static StsError ErrorFor(CredentialFault fault) => fault switch
    {
        CredentialFault.ExpiredAccessKey => new(403, "ExpiredToken", "The security token included in the request is expired"),
        CredentialFault.InvalidAccessKey => new(403, "InvalidClientTokenId", "The security token included in the request is invalid."),
        _ => throw new ArgumentOutOfRangeException(nameof(fault), fault, null),
    };

    // ---------------------------------------------------------------- wire

    private static Members CredentialMembers(IssuedCredential issued) => new()
    {
        { "AccessKeyId", issued.AccessKeyId },
        { "SecretAccessKey", issued.SecretAccessKey },
        { "SessionToken", issued.SessionToken },
        { "Expiration", issued.Expiration },
    };

    private static Members AssumedRoleUser(IssuedCredential issued) => new()
    {
        { "AssumedRoleId", issued.AssumedRoleId },
        { "Arn", issued.AssumedRoleArn },
    };

    /// <summary>The media type when the call uses the JSON protocol, otherwise null (Query).</summary>
    private static string? JsonContentType(string? contentType)
    {
        var mediaType = contentType?.Split(';')[0].Trim().ToLowerInvariant();
        return mediaType is "application/x-amz-json-1.0" or "application/x-amz-json-1.1" ? mediaType : null;
    }

    /// <summary>The operation named by <c>X-Amz-Target: AWSSecurityTokenServiceV20110615.Operation</c> (a target without
    /// that prefix stays whole, so it is an invalid action) and the body's top-level scalar members as parameters.</summary>
    private static async Task<(string? Action, Ec2Request Parameters)> ReadJsonAsync(HttpRequest request)
    {
        using var reader = new StreamReader(request.Body);
        var text = await reader.ReadToEndAsync();
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        if (text.Length > 0)
        {
            // Plausible code and wording for a body that is not JSON.
            try
            {
                using var json = JsonDocument.Parse(text);
                if (json.RootElement.ValueKind == JsonValueKind.Object)
                {
                    foreach (var p in json.RootElement.EnumerateObject())
                    {
                        if (p.Value.ValueKind is JsonValueKind.String) values[p.Name] = p.Value.GetString()!;
                        else if (p.Value.ValueKind is JsonValueKind.Number or JsonValueKind.True or JsonValueKind.False) values[p.Name] = p.Value.GetRawText();
                    }
                }
            }
            catch (JsonException) { throw new StsError(400, "SerializationException", "The request body is not valid JSON."); }
        }
        var target = request.Headers["X-Amz-Target"].ToString();
        var action = target.Length == 0 ? null
            : target.StartsWith(JsonTargetPrefix, StringComparison.Ordinal) ? target[JsonTargetPrefix.Length..] : target;
        return (action, new Ec2Request(values));
    }

    private static string QuerySuccess(string action, string resultName, Members members, string requestId) =>
        XmlOut.Document(action + "Response", Namespace, x =>
        {
            x.Open(resultName);
            WriteXml(x, members);
            x.Close(resultName).Open("ResponseMetadata").Element("RequestId", requestId).Close("ResponseMetadata");
        });

    private static void WriteXml(XmlOut x, Members members)
    {
        foreach (var (name, value) in members)
        {
            switch (value)
            {
                case Members nested: x.Open(name); WriteXml(x, nested); x.Close(name); break;
                // STS writes times to the second: 2026-03-04T06:06:07Z.
                case DateTimeOffset time: x.Element(name, time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture)); break;
                case long number: x.Element(name, number); break;
                default: x.Element(name, (string)value); break;
            }
        }
    }

    private static string QueryError(StsError e, string requestId) =>
        XmlOut.Document("ErrorResponse", Namespace, x => x
            .Open("Error").Element("Type", "Sender").Element("Code", e.Code).Element("Message", e.Message).Close("Error")
            .Element("RequestId", requestId));

    /// <summary>awsJson: the same members; timestamps as epoch seconds.</summary>
    private static string JsonSuccess(Members members)
    {
        using var stream = new MemoryStream();
        using (var json = new Utf8JsonWriter(stream)) WriteJson(json, members);
        return Encoding.UTF8.GetString(stream.ToArray());
    }

    private static void WriteJson(Utf8JsonWriter json, Members members)
    {
        json.WriteStartObject();
        foreach (var (name, value) in members)
        {
            json.WritePropertyName(name);
            switch (value)
            {
                case Members nested: WriteJson(json, nested); break;
                case DateTimeOffset time: json.WriteNumberValue(time.ToUnixTimeSeconds()); break;
                case long number: json.WriteNumberValue(number); break;
                default: json.WriteStringValue((string)value); break;
            }
        }
        json.WriteEndObject();
    }

    private static string JsonError(StsError e) => JsonSerializer.Serialize(new Dictionary<string, string>
    {
        ["__type"] = e.Code,
        ["message"] = e.Message,
    });
}
