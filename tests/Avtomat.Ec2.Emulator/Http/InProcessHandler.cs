using System.Net;
using System.Net.Http.Headers;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace Avtomat.Ec2.Emulator.Http;

/// <summary>The emulator's request handling as an <see cref="HttpMessageHandler"/>: each request becomes an
/// <see cref="HttpContext"/> (method, path, query, headers, body) that the same <see cref="RequestDelegate"/> the Kestrel
/// listener runs handles; its status, headers and body come back as the response. No sockets, no listener. When
/// the handling aborts the connection (an injected drop), the caller gets what a TCP client gets: an
/// <see cref="HttpRequestException"/> over an <see cref="IOException"/>.</summary>
internal sealed class InProcessHandler(RequestDelegate handle) : HttpMessageHandler
{
    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var body = request.Content is null ? [] : await request.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false);
        var uri = request.RequestUri ?? throw new InvalidOperationException("The request has no URI.");
        var headers = new HeaderDictionary();
        foreach (var (name, values) in request.Headers) headers[name] = values.ToArray();
        if (request.Content is not null)
            foreach (var (name, values) in request.Content.Headers) headers[name] = values.ToArray();
        headers.ContentLength = body.Length;
        headers["Host"] = uri.Authority;

        var features = new FeatureCollection();
        features.Set<IHttpRequestFeature>(new HttpRequestFeature
        {
            Protocol = "HTTP/1.1",
            Method = request.Method.Method,
            Scheme = uri.Scheme,
            Path = Uri.UnescapeDataString(uri.AbsolutePath),
            QueryString = uri.Query,
            Headers = headers,
            Body = new MemoryStream(body, writable: false),
        });
        var response = new HttpResponseFeature();
        var responseBody = new MemoryStream();
        features.Set<IHttpResponseFeature>(response);
        features.Set<IHttpResponseBodyFeature>(new StreamResponseBodyFeature(responseBody));
        var lifetime = new Lifetime(cancellationToken);
        features.Set<IHttpRequestLifetimeFeature>(lifetime);

        await handle(new DefaultHttpContext(features)).ConfigureAwait(false);
        if (lifetime.Aborted)
            throw new HttpRequestException("The emulator closed the connection before sending a response.",
                new IOException("The response ended prematurely."));

        var message = new HttpResponseMessage((HttpStatusCode)response.StatusCode)
        {
            RequestMessage = request,
            Version = HttpVersion.Version11,
            Content = new ByteArrayContent(responseBody.ToArray()),
        };
        foreach (var (name, values) in response.Headers)
            if (!message.Headers.TryAddWithoutValidation(name, (IEnumerable<string?>)values))
                message.Content.Headers.TryAddWithoutValidation(name, (IEnumerable<string?>)values);
        message.Content.Headers.ContentLength = responseBody.Length;
        return message;
    }

    private sealed class Lifetime(CancellationToken requestAborted) : IHttpRequestLifetimeFeature
    {
        public bool Aborted { get; private set; }
        public CancellationToken RequestAborted { get; set; } = requestAborted;
        public void Abort() => Aborted = true;
    }
}
