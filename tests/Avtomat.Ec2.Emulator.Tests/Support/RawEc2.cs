using System.Net;
using System.Xml.Linq;

namespace Avtomat.Ec2.Emulator.Tests.Support;

/// <summary>Hand-made EC2 Query requests (form body + a SigV4-shaped Authorization header) to look at the wire format.</summary>
public static class RawEc2
{
    public static readonly XNamespace Ec2Ns = "http://ec2.amazonaws.com/doc/2016-11-15/";

    public static string Authorization(string region, string accessKeyId = EmulatorClients.DefaultAccessKeyId)
        => $"AWS4-HMAC-SHA256 Credential={accessKeyId}/20260304/{region}/ec2/aws4_request, " +
           "SignedHeaders=content-type;host;x-amz-date, Signature=" + new string('0', 64);

    public static async Task<(HttpStatusCode Status, XDocument Xml, string Body)> PostAsync(Uri baseUrl,
        IEnumerable<KeyValuePair<string, string>> form, string? authorization)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(15) };
        using var request = new HttpRequestMessage(HttpMethod.Post, baseUrl)
        {
            Content = new FormUrlEncodedContent(form),
        };
        request.Headers.TryAddWithoutValidation("X-Amz-Date", "20260304T050607Z");
        if (authorization != null) request.Headers.TryAddWithoutValidation("Authorization", authorization);
        using var response = await http.SendAsync(request);
        var body = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, XDocument.Parse(body), body);
    }

    public static Task<(HttpStatusCode Status, XDocument Xml, string Body)> CallAsync(Uri baseUrl, string region, string action,
        params (string Key, string Value)[] parameters)
    {
        var form = new List<KeyValuePair<string, string>> { new("Action", action), new("Version", "2016-11-15") };
        form.AddRange(parameters.Select(p => new KeyValuePair<string, string>(p.Key, p.Value)));
        return PostAsync(baseUrl, form, Authorization(region));
    }

    /// <summary>Asserts the EC2 error envelope (no namespace, RequestID capitalised) and returns the error code.</summary>
    public static string AssertErrorEnvelope(XDocument xml)
    {
        var root = xml.Root!;
        Assert.Equal(XNamespace.None, root.Name.Namespace);
        Assert.Equal("Response", root.Name.LocalName);
        var error = root.Element("Errors")?.Element("Error");
        Assert.NotNull(error);
        Assert.NotNull(error.Element("Message"));
        Assert.False(string.IsNullOrEmpty(root.Element("RequestID")?.Value), "RequestID must be present");
        var code = error.Element("Code")?.Value;
        Assert.False(string.IsNullOrEmpty(code));
        return code!;
    }
}
