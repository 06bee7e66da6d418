using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Http;

namespace Avtomat.Ec2.Emulator.Http;

/// <summary>JSON control API under <c>/_emulator/</c>: health, reset, seed, config, stats, calls, duplicate, kms/keys,
/// kms/grants. Not EC2 calls: no
/// buckets, faults, stats or call log.</summary>
internal static class ControlApi
{
    public const string Prefix = "/_emulator/";

    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        Converters = { new JsonStringEnumConverter() },
        WriteIndented = true,
    };

    public static async Task HandleAsync(HttpContext http, Ec2Emulator emulator)
    {
        var route = http.Request.Path.Value![Prefix.Length..].TrimEnd('/');
        var method = http.Request.Method;
        try
        {
            switch (route, method)
            {
                case ("health", "GET"):
                    await Reply(http, 200, new { status = "ok", baseUrl = emulator.BaseUrl.ToString(), regions = emulator.Options.Regions,
                        now = XmlOut.FormatTime(emulator.Options.TimeProvider.GetUtcNow()) });
                    break;
                case ("reset", "POST"):
                    emulator.Reset();
                    await Reply(http, 200, new { status = "ok" });
                    break;
                case ("seed", "POST"):
                    var seed = await JsonSerializer.DeserializeAsync<SeedRequest>(http.Request.Body, Json) ?? new SeedRequest();
                    await Reply(http, 200, emulator.Seed(seed));
                    break;
                case ("config", "GET"):
                    await Reply(http, 200, emulator.Config);
                    break;
                case ("config", "PUT"):
                    var config = await JsonSerializer.DeserializeAsync<EmulatorConfig>(http.Request.Body, Json)
                        ?? throw new ArgumentException("A configuration body is required.");
                    emulator.Configure(config);
                    await Reply(http, 200, emulator.Config);
                    break;
                case ("stats", "GET"):
                    await Reply(http, 200, emulator.GetStats());
                    break;
                case ("calls", "GET"):
                    // ?action=CopySnapshot&region=us-west-2&account=123456789012, each optional.
                    var q = http.Request.Query;
                    string? Arg(string name) => q.TryGetValue(name, out var v) && v.ToString().Length > 0 ? v.ToString() : null;
                    await Reply(http, 200, emulator.GetCalls().Where(c =>
                        (Arg("action") is not { } a || c.Action == a) && (Arg("region") is not { } r || c.Region == r)
                        && (Arg("account") is not { } acct || c.Account == acct)).ToList());
                    break;
                case ("duplicate", "POST"):
                    var duplicate = await JsonSerializer.DeserializeAsync<DuplicateRequest>(http.Request.Body, Json)
                        ?? throw new ArgumentException("A body {\"snapshotId\": …} is required.");
                    var id = emulator.Duplicate(duplicate.SnapshotId ?? throw new ArgumentException("snapshotId is required."),
                        duplicate.AfterSeconds is { } after ? TimeSpan.FromSeconds(after) : null);
                    await Reply(http, 200, new { snapshotId = id });
                    break;
                case ("kms/keys", "POST"):
                    var keyRequest = await JsonSerializer.DeserializeAsync<KmsKeyRequest>(http.Request.Body, Json) ?? new KmsKeyRequest();
                    await Reply(http, 200, emulator.CreateKmsKey(emulator.AccountOf(keyRequest.AccountId, keyRequest.AccessKeyId),
                        keyRequest.Region, keyRequest.Alias));
                    break;
                case ("kms/keys", "GET"):
                    // ?account=123456789012&region=us-east-1, each optional.
                    await Reply(http, 200, emulator.GetKmsKeys(QueryArg(http, "account"), QueryArg(http, "region")));
                    break;
                case ("kms/grants", "POST" or "DELETE"):
                    // The body, or for a DELETE without one the query string (?keyId=…|arn=…&accountId=…).
                    var grant = http.Request.ContentLength is > 0 || http.Request.HasJsonContentType()
                        ? await JsonSerializer.DeserializeAsync<KmsGrantRequest>(http.Request.Body, Json) ?? new KmsGrantRequest()
                        : new KmsGrantRequest { KeyId = QueryArg(http, "keyId"), Arn = QueryArg(http, "arn"), AccountId = QueryArg(http, "accountId") };
                    var key = grant.Arn ?? grant.KeyId ?? throw new ArgumentException("A body {\"keyId\" or \"arn\", \"accountId\"} is required.");
                    var account = grant.AccountId ?? throw new ArgumentException("accountId is required.");
                    await Reply(http, 200, method == "POST" ? emulator.GrantKmsKey(key, account) : emulator.RevokeKmsKey(key, account));
                    break;
                default:
                    await Reply(http, 404, new { error = $"No control route {method} {Prefix}{route}" });
                    break;
            }
        }
        catch (Exception e) when (e is ArgumentException or JsonException)
        {
            await Reply(http, 400, new { error = e.Message });
        }
    }

    private static string? QueryArg(HttpContext http, string name) =>
        http.Request.Query.TryGetValue(name, out var v) && v.ToString().Length > 0 ? v.ToString() : null;

    private static Task Reply(HttpContext http, int status, object value)
    {
        http.Response.StatusCode = status;
        http.Response.ContentType = "application/json; charset=utf-8";
        return http.Response.WriteAsync(JsonSerializer.Serialize(value, value.GetType(), Json));
    }
}

/// <summary>Body of POST <c>/_emulator/duplicate</c>: the snapshot to duplicate silently, and how much later the
/// duplicate starts (seconds; default 0.01).</summary>
internal sealed class DuplicateRequest
{
    public string? SnapshotId { get; set; }
    public double? AfterSeconds { get; set; }
}
