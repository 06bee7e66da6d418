using System;
using System.Collections.Concurrent;
using System.IO;
using System.Net;
using System.Net.Http;
using System.Threading;
using System.Threading.Tasks;
using Amazon;
using Amazon.EC2;
using Amazon.KeyManagementService;
using Amazon.Runtime;
using Amazon.Runtime.Internal;

namespace Avtomat.Ec2.Engine.Aws;

/// <summary>
/// EC2 clients for one invocation, created lazily per region and cached; disposing the source disposes them.
/// <para><see cref="For"/>: SDK Standard retry mode with its default of 2 retries (Adaptive is never used: it was seen to
/// stall for many seconds after one throttle). <see cref="ForCopy"/>: no SDK retries, no SDK stale-connection re-sends
/// (MaxStaleConnectionRetries = 0) and a private HTTP client that never reuses a connection and writes each body once,
/// so nothing below the caller can re-send a CopySnapshot whose response was lost (which would create a second copy).</para>
/// <para>Every request carries <c>userAgentComponent</c> (e.g. <c>Avtomat.Ec2/0.1.0</c>) in its User-Agent, added per
/// request; the process-wide SDK user agent (<c>AWSConfigs</c>) is never touched.</para>
/// </summary>
public sealed class Ec2ClientSource : IEc2ClientSourceLifetime, IKmsClientSource
{
    private readonly object _accountGate = new();
    private string? _account;

    /// <summary>The SDK's default retry count for Standard mode.</summary>
    public const int DefaultMaxErrorRetry = 2;

    private readonly AWSCredentials _credentials;
    private readonly string? _serviceUrl;
    private readonly string _userAgentComponent;
    private readonly int _maxErrorRetry;
    private readonly TimeSpan? _timeout;
    private readonly ConcurrentDictionary<string, Lazy<EngineEc2Client>> _clients = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, Lazy<EngineEc2Client>> _copyClients = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, Lazy<AmazonKeyManagementServiceClient>> _kmsClients = new(StringComparer.Ordinal);
    private readonly NoConnectionReuseHttpClientFactory _copyHttp = new();
    private volatile bool _disposed;

    /// <param name="credentials">Credentials for every client (refreshable credentials stay refreshable).</param>
    /// <param name="serviceUrl">An EC2-compatible endpoint for every region (signing region = the client's region), or null for AWS.</param>
    /// <param name="userAgentComponent">Added to each request's User-Agent, e.g. <c>Avtomat.Ec2/0.1.0</c>.</param>
    /// <param name="maxErrorRetry">SDK retries for <see cref="For"/> clients (Standard mode).</param>
    /// <param name="timeout">HTTP timeout per attempt; null keeps the SDK's default.</param>
    public Ec2ClientSource(AWSCredentials credentials, string? serviceUrl, string userAgentComponent,
        int maxErrorRetry = DefaultMaxErrorRetry, TimeSpan? timeout = null)
    {
        _credentials = credentials ?? throw new ArgumentNullException(nameof(credentials));
        if (serviceUrl != null)
        {
            if (!Uri.TryCreate(serviceUrl, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
                throw new ArgumentException($"'{serviceUrl}' is not an absolute http or https URL.", nameof(serviceUrl));
        }
        if (maxErrorRetry < 0) throw new ArgumentOutOfRangeException(nameof(maxErrorRetry));
        _serviceUrl = string.IsNullOrWhiteSpace(serviceUrl) ? null : serviceUrl;
        _userAgentComponent = string.IsNullOrWhiteSpace(userAgentComponent)
            ? throw new ArgumentException("A user agent component is required.", nameof(userAgentComponent))
            : userAgentComponent.Trim();
        _maxErrorRetry = maxErrorRetry;
        _timeout = timeout;
    }

    /// <summary>The service URL every region's calls go to, or null for AWS's regional endpoints.</summary>
    public string? ServiceUrl => _serviceUrl;

    /// <summary>What is added to every request's User-Agent.</summary>
    public string UserAgentComponent => _userAgentComponent;

    /// <summary>The account the credentials act in (see <see cref="AccountResolver"/>): learned by
    /// <see cref="ResolveAccount"/>, or on first use.</summary>
    public string Account => ResolveAccount(null, CancellationToken.None).Account;

    /// <summary>Learns the account once (STS GetCallerIdentity in <paramref name="region"/>, cached per access key for
    /// the process). <c>Problem</c> says why a stand-in is used when it could not be learned (no secret in it).</summary>
    /// <param name="region">Where to ask STS (the invocation's region); null: us-east-1.</param>
    /// <param name="cancellationToken">Ctrl+C while STS is asked.</param>
    public (string Account, string? Problem) ResolveAccount(string? region, CancellationToken cancellationToken)
    {
        lock (_accountGate)
        {
            if (_account is { } known) return (known, null);
            var (account, problem) = AccountResolver.Resolve(_credentials, _serviceUrl, region ?? "us-east-1", _userAgentComponent, cancellationToken);
            _account = account;
            return (account, problem);
        }
    }

    /// <inheritdoc />
    public IAmazonEC2 For(string region) => Get(_clients, region, forCopy: false);

    /// <inheritdoc />
    public IAmazonEC2 ForCopy(string region) => Get(_copyClients, region, forCopy: true);

    /// <inheritdoc />
    public IAmazonKeyManagementService Kms(string region)
    {
        CheckRegion(region);
        if (_disposed) throw new ObjectDisposedException(nameof(Ec2ClientSource));
        var client = _kmsClients.GetOrAdd(region, r => new Lazy<AmazonKeyManagementServiceClient>(() => CreateKms(r))).Value;
        if (_disposed)
        {
            DisposeKms();
            throw new ObjectDisposedException(nameof(Ec2ClientSource));
        }
        return client;
    }

    /// <summary>As the EC2 clients: the same credentials, Standard retries, the service URL (the emulator serves KMS there
    /// too) or the region's KMS endpoint, signed for the region, our User-Agent component.</summary>
    private AmazonKeyManagementServiceClient CreateKms(string region)
    {
        var config = new AmazonKeyManagementServiceConfig { RetryMode = RequestRetryMode.Standard, MaxErrorRetry = _maxErrorRetry };
        if (_timeout is { } timeout) config.Timeout = timeout;
        if (_serviceUrl != null) config.ServiceURL = _serviceUrl;
        else config.RegionEndpoint = RegionEndpoint.GetBySystemName(region);
        config.AuthenticationRegion = region;
        var client = new AmazonKeyManagementServiceClient(_credentials, config);
        client.BeforeRequestEvent += AddUserAgent;
        return client;
    }

    private void DisposeKms()
    {
        foreach (var key in _kmsClients.Keys)
        {
            if (_kmsClients.TryRemove(key, out var lazy) && lazy.IsValueCreated)
            {
                try { lazy.Value.Dispose(); } catch (ObjectDisposedException) { }
            }
        }
    }

    /// <inheritdoc />
    public string EndpointKey(string region)
    {
        CheckRegion(region);
        if (_serviceUrl != null) return _serviceUrl.TrimEnd('/');
        return "https://" + EndpointHost(region);
    }

    /// <summary>The EC2 host name of a region, e.g. <c>ec2.us-east-1.amazonaws.com</c>.</summary>
    public static string EndpointHost(string region)
    {
        var endpoint = RegionEndpoint.GetBySystemName(region);
        var template = string.IsNullOrEmpty(endpoint.HostnameTemplate) ? "{service}.{region}.{dnsSuffix}" : endpoint.HostnameTemplate;
        var suffix = string.IsNullOrEmpty(endpoint.PartitionDnsSuffix) ? "amazonaws.com" : endpoint.PartitionDnsSuffix;
        return template.Replace("{service}", "ec2").Replace("{region}", region).Replace("{dnsSuffix}", suffix);
    }

    private IAmazonEC2 Get(ConcurrentDictionary<string, Lazy<EngineEc2Client>> cache, string region, bool forCopy)
    {
        CheckRegion(region);
        if (_disposed) throw new ObjectDisposedException(nameof(Ec2ClientSource));
        var client = cache.GetOrAdd(region, r => new Lazy<EngineEc2Client>(() => Create(r, forCopy))).Value;
        if (_disposed)
        {
            // Lost a race with Dispose: make sure the client does not outlive the source.
            DisposeAll(cache);
            throw new ObjectDisposedException(nameof(Ec2ClientSource));
        }
        return client;
    }

    private EngineEc2Client Create(string region, bool forCopy)
    {
        var config = new AmazonEC2Config
        {
            RetryMode = RequestRetryMode.Standard,
            MaxErrorRetry = forCopy ? 0 : _maxErrorRetry,
        };
        if (_timeout is { } timeout) config.Timeout = timeout;
        if (_serviceUrl != null) config.ServiceURL = _serviceUrl;
        else config.RegionEndpoint = RegionEndpoint.GetBySystemName(region);
        // Signed for this region whatever the URL: with -EndpointUrl, AWS_ENDPOINT_URL(_EC2) or a profile's endpoint_url
        // the SDK would sign for a region guessed from the host, and a copy meant for this region be made in another.
        config.AuthenticationRegion = region;
        if (forCopy)
        {
            // MaxErrorRetry = 0 is not enough: AWSSDK.Core 4.0.x also re-sends a request after a "stale connection"
            // error (connection reset/closed before the response) up to MaxStaleConnectionRetries = 10 times, outside
            // MaxErrorRetry and with the same "attempt=1" header. After a lost CopySnapshot response every one of those
            // re-sends creates another copy (measured: 11 copies for one call). Switch it off.
            config.MaxStaleConnectionRetries = 0;
            // Our own HttpClient (not the SDK's process-wide cache): "Connection: close" on every request, so a copy is
            // never sent on a pooled connection, and a body that can be written once, so the HTTP stack cannot
            // transparently re-send it either.
            config.CacheHttpClient = false;
            config.HttpClientFactory = _copyHttp;
        }

        var client = new EngineEc2Client(_credentials, config);
        client.BeforeRequestEvent += AddUserAgent;
        return client;
    }

    private void AddUserAgent(object sender, RequestEventArgs e)
    {
        // Raised before the SDK renders the User-Agent header (which is not signed): the component goes into this
        // request object's own details, so only requests sent through our clients carry it. A set: retries add nothing.
        if (e is WebServiceRequestEventArgs { Request: IAmazonWebServiceRequest request })
            request.UserAgentDetails?.AddUserAgentComponent(_userAgentComponent);
    }

    private static void CheckRegion(string region)
    {
        if (string.IsNullOrWhiteSpace(region)) throw new ArgumentException("A region is required.", nameof(region));
    }

    private static void DisposeAll(ConcurrentDictionary<string, Lazy<EngineEc2Client>> cache)
    {
        foreach (var key in cache.Keys)
        {
            if (cache.TryRemove(key, out var lazy) && lazy.IsValueCreated)
            {
                try { lazy.Value.Dispose(); } catch (ObjectDisposedException) { }
            }
        }
    }

    /// <summary>Disposes every client created (and the copy clients' HTTP client).</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        DisposeAll(_clients);
        DisposeAll(_copyClients);
        DisposeKms();
        _copyHttp.Dispose();
    }
}

/// <summary>
/// Hands the SDK one HttpClient for non-idempotent calls: every request says <c>Connection: close</c> (never sent on a
/// pooled connection, never leaves one behind) and its body can be written to the wire only once
/// (<see cref="SendOnceHandler"/>), so SocketsHttpHandler's transparent retry of a request that failed on a reused
/// connection cannot re-send it. (The SDK's own stale-connection re-sends are switched off in the client config.) Works
/// on .NET Framework too, which matters because a netstandard2.0 module cannot name SocketsHttpHandler or its settings.
/// </summary>
internal sealed class NoConnectionReuseHttpClientFactory : HttpClientFactory, IDisposable
{
    private readonly object _gate = new();
    private HttpClient? _client;
    private bool _disposed;

    public override HttpClient CreateHttpClient(IClientConfig clientConfig)
    {
        lock (_gate)
        {
            if (_disposed) throw new ObjectDisposedException(nameof(NoConnectionReuseHttpClientFactory));
            return _client ??= Build(clientConfig);
        }
    }

    // We cache (one HttpClient for all copy clients of the source) and dispose it ourselves.
    public override bool UseSDKHttpClientCaching(IClientConfig clientConfig) => false;
    public override bool DisposeHttpClientsAfterUse(IClientConfig clientConfig) => false;

    private static HttpClient Build(IClientConfig config)
    {
        var handler = new HttpClientHandler
        {
            AllowAutoRedirect = config.AllowAutoRedirect,
            AutomaticDecompression = System.Net.DecompressionMethods.None,
        };
        var proxy = config.GetWebProxy();
        if (proxy != null)
        {
            handler.Proxy = proxy;
            if (config.ProxyCredentials != null) handler.Proxy.Credentials = config.ProxyCredentials;
        }
        var client = new HttpClient(new SendOnceHandler(handler), disposeHandler: true);
        client.DefaultRequestHeaders.ConnectionClose = true;
        if (config.Timeout is { } timeout) client.Timeout = timeout;
        return client;
    }

    public void Dispose()
    {
        lock (_gate)
        {
            _disposed = true;
            _client?.Dispose();
            _client = null;
        }
    }
}

/// <summary>
/// Wraps each request body so the HTTP stack can write it once: a transparent re-send by the connection pool (after the
/// connection dropped before the response) fails instead of reaching the server a second time. The caller then sees
/// one I/O failure for one request that may or may not have run — the uncertainty the copy engine resolves by looking
/// its provenance token up — instead of silently getting duplicates.
/// </summary>
internal sealed class SendOnceHandler : DelegatingHandler
{
    public SendOnceHandler(HttpMessageHandler inner) : base(inner) { }

    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        request.Headers.ConnectionClose = true;
        if (request.Content != null && !(request.Content is SendOnceContent))
            request.Content = new SendOnceContent(request.Content);
        return base.SendAsync(request, cancellationToken);
    }
}

/// <summary>Request content that refuses to be serialized a second time.</summary>
internal sealed class SendOnceContent : HttpContent
{
    private readonly HttpContent _inner;
    private int _serialized;

    public SendOnceContent(HttpContent inner)
    {
        _inner = inner;
        foreach (var header in inner.Headers)
            Headers.TryAddWithoutValidation(header.Key, header.Value);
    }

    /// <summary>True once the body has been handed to the transport.</summary>
    public bool Sent => Volatile.Read(ref _serialized) != 0;

    protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context)
    {
        if (Interlocked.Exchange(ref _serialized, 1) != 0)
            throw new IOException("Not re-sending a non-idempotent request on a new connection: the first attempt may have run on the server.");
        await _inner.CopyToAsync(stream).ConfigureAwait(false);
    }

    protected override bool TryComputeLength(out long length)
    {
        var known = _inner.Headers.ContentLength;
        length = known ?? -1;
        return known.HasValue;
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing) _inner.Dispose();
        base.Dispose(disposing);
    }
}
