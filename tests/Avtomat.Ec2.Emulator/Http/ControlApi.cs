using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Http;

namespace Avtomat.Ec2.Emulator.Http;

/// <summary>JSON control API under <c>/_emulator/</c>: health, reset, seed, config, stats. Not EC2 calls: no buckets, faults or stats.</summary>
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

    private static Task Reply(HttpContext http, int status, object value)
    {
        http.Response.StatusCode = status;
        http.Response.ContentType = "application/json; charset=utf-8";
        return http.Response.WriteAsync(JsonSerializer.Serialize(value, value.GetType(), Json));
    }
}
