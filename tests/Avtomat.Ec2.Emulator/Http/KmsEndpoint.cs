using System.Text.Json;
using Avtomat.Ec2.Emulator.Model;
using Microsoft.AspNetCore.Http;

namespace Avtomat.Ec2.Emulator.Http;

/// <summary>KMS at the emulator's URL, in KMS's JSON protocol (<c>POST /</c>, <c>Content-Type:
/// application/x-amz-json-1.1</c>, <c>X-Amz-Target: TrentService.Operation</c>, JSON answers; errors as
/// <c>{"__type": code, "message": …}</c> with HTTP 400): DescribeKey only
/// (https://docs.aws.amazon.com/kms/latest/APIReference/API_DescribeKey.html). Calls signed for the service <c>kms</c>
/// come here, and so does any call whose target names TrentService.
/// <para>What a KeyId names, as KMS documents it: a key id or alias name is looked up in the caller's account and the
/// signing region; a key ARN or alias ARN names its own account and region ("To specify a KMS key in a different AWS
/// account, you must use the key ARN or alias ARN"). A predefined AWS alias (<c>alias/aws/ebs</c>) names the account's AWS
/// managed key. In the caller's own account any well-formed key id or alias names a key (the emulator's leniency, as
/// for CopySnapshot's KmsKeyId: keys that were never created are still usable there); a key of another account is found
/// only when it was created through <c>POST /_emulator/kms/keys</c>, and described only when that account granted it
/// (<c>/_emulator/kms/grants</c>): otherwise AccessDeniedException, as KMS answers without a key policy allowing
/// kms:DescribeKey. A key of another region is not found there (keys are regional). Counted in the call log and the stats
/// as <c>DescribeKey</c> (service <c>kms</c>); the interceptor applies before and after the action; no token bucket.</para>
/// </summary>
internal sealed class KmsEndpoint(EmulatorState state)
{
    public const string ScopeService = "kms";
    public const string TargetPrefix = "TrentService.";

    private sealed class KmsError(int status, string code, string message) : Exception(message)
    {
        public int Status { get; } = status;
        public string Code { get; } = code;
    }

    private sealed class DroppedConnection : Exception;

    public static bool IsKmsCall(HttpRequest request) =>
        request.Headers["X-Amz-Target"].ToString().StartsWith(TargetPrefix, StringComparison.Ordinal);

    public async Task HandleAsync(HttpContext http, SigV4Credential? credential)
    {
        var requestId = Guid.NewGuid().ToString();
        int status;
        string body;
        try
        {
            var target = http.Request.Headers["X-Amz-Target"].ToString();
            var action = target.StartsWith(TargetPrefix, StringComparison.Ordinal) ? target[TargetPrefix.Length..] : target;
            using var reader = new StreamReader(http.Request.Body);
            var text = await reader.ReadToEndAsync();
            var sessionToken = http.Request.Headers["X-Amz-Security-Token"].ToString();
            body = Run(action, text, credential, sessionToken.Length > 0 ? sessionToken : null);
            status = 200;
        }
        catch (DroppedConnection)
        {
            http.Abort();
            return;
        }
        catch (KmsError e)
        {
            status = e.Status;
            body = JsonSerializer.Serialize(new Dictionary<string, string> { ["__type"] = e.Code, ["message"] = e.Message });
        }
        http.Response.Headers["x-amzn-RequestId"] = requestId;
        await ServiceRouter.ReplyAsync(http, status, "application/x-amz-json-1.1", body);
    }

    private string Run(string action, string text, SigV4Credential? credential, string? sessionToken)
    {
        if (credential is null) throw new KmsError(400, "MissingAuthenticationTokenException", "Missing Authentication Token");
        if (action != "DescribeKey") throw new KmsError(400, "UnknownOperationException", "");
        string? keyId = null;
        try
        {
            if (text.Length > 0)
            {
                using var json = JsonDocument.Parse(text);
                if (json.RootElement.ValueKind == JsonValueKind.Object && json.RootElement.TryGetProperty("KeyId", out var k) && k.ValueKind == JsonValueKind.String)
                    keyId = k.GetString();
            }
        }
        catch (JsonException)
        {
            throw new KmsError(400, "SerializationException", "Start of structure or map found where not expected.");
        }

        lock (state.Gate)
        {
            var account = state.AccountFor(credential.AccessKeyId);
            var region = credential.Region;
            var parameters = new Dictionary<string, string>(StringComparer.Ordinal);
            if (keyId is not null) parameters["KeyId"] = keyId;
            var call = state.Calls.Begin(ScopeService, action, account, region, credential.AccessKeyId, parameters, state.Now);
            var stage = CallStage.BeforeAction;
            try
            {
                if (state.Options.Interceptor?.Invoke(call) is { } before) throw Intercepted(before);
                state.Stats.Call(RegionState.KeyOf(account, region), "kms:" + action);
                if (CredentialChecks.Authentication(state, credential.AccessKeyId, sessionToken) is { } fault)
                    throw fault == CredentialFault.ExpiredAccessKey
                        ? new KmsError(400, "ExpiredTokenException", "The security token included in the request is expired")
                        : new KmsError(400, "UnrecognizedClientException", "The security token included in the request is invalid.");
                var result = DescribeKey(keyId, account, region);
                stage = CallStage.AfterAction;
                if (state.Options.Interceptor?.Invoke(call with { Stage = stage, Status = 200 }) is { } after) throw Intercepted(after);
                state.Calls.Add(call with { Stage = stage, Status = 200 }, state.Options.CallLogCapacity);
                return result;
            }
            catch (KmsError e)
            {
                state.Calls.Add(call with { Stage = stage, Status = e.Status, ErrorCode = e.Code, ErrorMessage = e.Message }, state.Options.CallLogCapacity);
                throw;
            }
            catch (DroppedConnection)
            {
                state.Calls.Add(call with { Stage = stage, Dropped = true, Intercepted = true }, state.Options.CallLogCapacity);
                throw;
            }
        }

        Exception Intercepted(CallDecision decision)
        {
            state.Stats.Fault("Intercepted");
            if (decision.DropConnection) return new DroppedConnection();
            if (string.IsNullOrEmpty(decision.ErrorCode) || decision.Status is < 400 or > 599)
                throw new InvalidOperationException("Interceptor: an error decision needs an error code and a 4xx/5xx status (or DropConnection).");
            return new KmsError(decision.Status, decision.ErrorCode, decision.Message ?? "");
        }
    }

    private string DescribeKey(string? keyId, string account, string region)
    {
        if (string.IsNullOrEmpty(keyId))
            throw new KmsError(400, "ValidationException", "1 validation error detected: Value null at 'keyId' failed to satisfy constraint: Member must not be null");
        var isArn = keyId.StartsWith("arn:", StringComparison.Ordinal);
        if (isArn && !KmsKeys.IsWellFormed(keyId)) throw new KmsError(400, "InvalidArnException", $"ARN {keyId} is not valid");
        if (!isArn && !KmsKeys.IsWellFormed(keyId))
            throw new KmsError(400, "NotFoundException", $"Invalid keyId '{keyId}'");
        var arn = KmsKeys.ResolveArn(keyId, account, region);
        var owner = KmsKeys.AccountOf(arn)!;
        var keyRegion = KmsKeys.RegionOf(arn)!;
        var alias = keyId.StartsWith("alias/", StringComparison.Ordinal) ? keyId
            : isArn && keyId.Contains(":alias/", StringComparison.Ordinal) ? keyId[(keyId.IndexOf(":alias/", StringComparison.Ordinal) + 1)..] : null;
        // "alias/aws/…" other than aws/ebs: predefined aliases of services the emulator does not have.
        if (alias is not null && alias.StartsWith("alias/aws/", StringComparison.Ordinal) && alias != KmsKeys.DefaultEbsAlias)
            throw NotFound(keyId, owner, keyRegion, alias);
        if (keyRegion != region) throw NotFound(keyId, owner, keyRegion, alias);
        KmsKeyRecord key;
        if (KmsKeys.IsAwsManaged(arn)) key = KmsRegistry.DefaultKey(owner, keyRegion);
        else if (state.Kms.Find(arn) is { } created) key = created;
        else if (owner == account)
            key = new KmsKeyRecord
            {
                KeyId = arn[(arn.IndexOf(":key/", StringComparison.Ordinal) + 5)..], Arn = arn, Account = owner, Region = keyRegion, Alias = alias,
                Manager = KmsRegistry.Customer,
            };
        else throw NotFound(keyId, owner, keyRegion, alias);
        if (owner != account && !state.Kms.CanUse(account, key.Arn))
            throw new KmsError(400, "AccessDeniedException",
                $"User: arn:aws:iam::{account}:root is not authorized to perform: kms:DescribeKey on resource: {key.Arn} because no resource-based policy allows the kms:DescribeKey action");
        return JsonSerializer.Serialize(new Dictionary<string, object>
        {
            ["KeyMetadata"] = new Dictionary<string, object>
            {
                ["AWSAccountId"] = key.Account,
                ["KeyId"] = key.KeyId,
                ["Arn"] = key.Arn,
                ["CreationDate"] = 1.7e9,
                ["Enabled"] = true,
                ["Description"] = key.Manager == KmsRegistry.Aws ? "Default key that protects my EBS volumes when no other key is defined" : "",
                ["KeyUsage"] = "ENCRYPT_DECRYPT",
                ["KeyState"] = "Enabled",
                ["Origin"] = "AWS_KMS",
                ["KeyManager"] = key.Manager,
                ["CustomerMasterKeySpec"] = "SYMMETRIC_DEFAULT",
                ["KeySpec"] = "SYMMETRIC_DEFAULT",
                ["EncryptionAlgorithms"] = new[] { "SYMMETRIC_DEFAULT" },
                ["MultiRegion"] = false,
            },
        });
    }

    private static KmsError NotFound(string keyId, string account, string region, string? alias) =>
        alias is not null
            ? new KmsError(400, "NotFoundException", $"Alias arn:aws:kms:{region}:{account}:{alias} is not found.")
            : new KmsError(400, "NotFoundException", $"Key '{KmsKeys.ResolveArn(keyId, account, region)}' does not exist");
}
