using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Amazon;
using Amazon.EC2;
using Amazon.EC2.Model;
using Amazon.Runtime;
using Avtomat.Ec2.Emulator;
using Avtomat.Ec2.Engine.Aws;
using Microsoft.Extensions.Time.Testing;

namespace Avtomat.Ec2.Engine.Tests;

/// <summary>
/// The client source: per-region clients, the endpoint key, the user agent, and above all that a CopySnapshot whose
/// response is lost is never sent twice (neither by the SDK nor by .NET's transparent re-send on a reused connection).
/// </summary>
public sealed class Ec2ClientSourceTests
{
    private const string UserAgent = "Avtomat.Ec2/0.1.0";

    static Ec2ClientSourceTests()
    {
        // Nothing in these tests may ever reach instance metadata.
        Environment.SetEnvironmentVariable("AWS_EC2_METADATA_DISABLED", "true");
    }

    private static BasicAWSCredentials Credentials() => new("AKIDCLIENTSOURCE", "client-source-secret");

    private static async Task<Ec2Emulator> StartEmulatorAsync(Action<EmulatorConfig>? configure = null)
    {
        var options = new EmulatorOptions { TimeProvider = new FakeTimeProvider(new DateTimeOffset(2026, 3, 4, 5, 6, 7, TimeSpan.Zero)) };
        configure?.Invoke(options.Config);
        return await Ec2Emulator.StartAsync(options);
    }

    private static string SeedSnapshot(Ec2Emulator ec2, string region = "us-east-1")
        => ec2.Seed(new SeedRequest { Region = region, Snapshots = 1 }).SnapshotIds.Single();

    private static int Copies(Ec2Emulator ec2, string sourceRegion, string sourceId, string destination)
        => ec2.GetStats().CopiesPerSource.TryGetValue($"{sourceRegion}/{sourceId}", out var perDestination)
            ? perDestination.GetValueOrDefault(destination) : 0;

    [Fact]
    public async Task ForCopy_LostResponse_NeverResendsCopySnapshot_EvenAfterPooledCallsWarmedTheConnectionPool()
    {
        await using var ec2 = await StartEmulatorAsync(c =>
        {
            c.Faults.DropAfterActionRate = 1.0;
            c.Faults.Actions = ["CopySnapshot"];
        });
        using var source = new Ec2ClientSource(Credentials(), ec2.BaseUrl.ToString(), UserAgent);
        var snapshot = SeedSnapshot(ec2);
        const int calls = 4;

        for (var i = 0; i < calls; i++)
        {
            // Ordinary calls through both clients first: any pooled connection that could be reused now exists.
            await source.For("us-west-2").DescribeRegionsAsync(new DescribeRegionsRequest());
            await source.ForCopy("us-west-2").DescribeRegionsAsync(new DescribeRegionsRequest());

            var ex = await Assert.ThrowsAnyAsync<Exception>(() => source.ForCopy("us-west-2").CopySnapshotAsync(
                new CopySnapshotRequest { SourceRegion = "us-east-1", SourceSnapshotId = snapshot }));
            Assert.IsNotType<AmazonEC2Exception>(ex); // no EC2 answer: the connection was dropped after the action ran

            Assert.Equal(i + 1, Copies(ec2, "us-east-1", snapshot, "us-west-2")); // exactly one copy per call
        }
        Assert.Equal(calls, ec2.GetStats().Faults["DropAfterAction"]);
    }

    [Fact]
    public async Task PlainPooledClient_WithoutSdkRetries_StillDuplicatesCopies_WhichIsWhyForCopyExists()
    {
        await using var ec2 = await StartEmulatorAsync(c =>
        {
            c.Faults.DropAfterActionRate = 1.0;
            c.Faults.Actions = ["CopySnapshot"];
        });
        // What ForCopy would be without its private, non-reusing HTTP client: SDK retries off, the SDK's pooled HttpClient.
        using var plain = new AmazonEC2Client(Credentials(), new AmazonEC2Config
        {
            ServiceURL = ec2.BaseUrl.ToString(), AuthenticationRegion = "us-west-2",
            MaxErrorRetry = 0, RetryMode = RequestRetryMode.Standard,
        });
        var snapshot = SeedSnapshot(ec2);
        const int calls = 4;

        for (var i = 0; i < calls; i++)
        {
            await plain.DescribeRegionsAsync(new DescribeRegionsRequest()); // leaves a pooled connection behind
            await Assert.ThrowsAnyAsync<Exception>(() => plain.CopySnapshotAsync(
                new CopySnapshotRequest { SourceRegion = "us-east-1", SourceSnapshotId = snapshot }));
        }

        var copies = Copies(ec2, "us-east-1", snapshot, "us-west-2");
        Assert.True(copies > calls, $"expected the HTTP stack to re-send on a reused connection: {copies} copies for {calls} calls");
    }

    [Fact]
    public async Task Kms_SignsForTheRegionAtTheSameEndpoint_ResolvesAnAliasToItsKeyArn_AndDisposesWithTheSource()
    {
        await using var ec2 = await StartEmulatorAsync();
        var key = ec2.CreateKmsKey(ec2.Options.DefaultAccountId, "us-west-2", "alias/backup");
        var source = new Ec2ClientSource(Credentials(), ec2.BaseUrl.ToString(), UserAgent);

        var kms = source.Kms("us-west-2");
        Assert.Same(kms, source.Kms("us-west-2"));
        Assert.Equal("us-west-2", kms.Config.AuthenticationRegion);
        Assert.Equal(RequestRetryMode.Standard, kms.Config.RetryMode);
        var metadata = (await kms.DescribeKeyAsync(new Amazon.KeyManagementService.Model.DescribeKeyRequest { KeyId = "alias/backup" })).KeyMetadata;
        Assert.Equal(key.Arn, metadata.Arn);
        Assert.Equal("us-west-2", ec2.GetCalls("DescribeKey").Single().Region);

        source.Dispose();
        Assert.Throws<ObjectDisposedException>(() => source.Kms("us-west-2"));
    }

    [Fact]
    public async Task For_And_ForCopy_CachePerRegion_SignForTheRegion_AndDisposeWithTheSource()
    {
        await using var ec2 = await StartEmulatorAsync();
        var source = new Ec2ClientSource(Credentials(), ec2.BaseUrl.ToString(), UserAgent);

        var east = source.For("us-east-1");
        Assert.Same(east, source.For("us-east-1"));
        Assert.NotSame(east, source.For("eu-west-1"));
        Assert.NotSame(east, source.ForCopy("us-east-1"));
        Assert.Same(source.ForCopy("us-east-1"), source.ForCopy("us-east-1"));

        Assert.Equal(2, east.Config.MaxErrorRetry);
        Assert.Equal(RequestRetryMode.Standard, east.Config.RetryMode);
        Assert.Equal(0, source.ForCopy("us-east-1").Config.MaxErrorRetry);
        Assert.Equal(RequestRetryMode.Standard, source.ForCopy("us-east-1").Config.RetryMode);
        Assert.Equal("eu-west-1", source.For("eu-west-1").Config.AuthenticationRegion);

        // A snapshot seeded in eu-west-1 is visible only to the client that signs for eu-west-1.
        var id = SeedSnapshot(ec2, "eu-west-1");
        var inEu = await source.For("eu-west-1").DescribeSnapshotsAsync(new DescribeSnapshotsRequest { OwnerIds = ["self"] });
        var inUs = await source.For("us-east-1").DescribeSnapshotsAsync(new DescribeSnapshotsRequest { OwnerIds = ["self"] });
        Assert.Contains(inEu.Snapshots ?? [], s => s.SnapshotId == id);
        Assert.DoesNotContain(inUs.Snapshots ?? [], s => s.SnapshotId == id);

        source.Dispose();
        Assert.Throws<ObjectDisposedException>(() => source.For("us-east-1"));
        await Assert.ThrowsAnyAsync<ObjectDisposedException>(() => east.DescribeRegionsAsync(new DescribeRegionsRequest()));
    }

    [Fact]
    public void EndpointKey_IsTheServiceUrl_OrTheRegionsEndpoint()
    {
        using var emulated = new Ec2ClientSource(Credentials(), "http://127.0.0.1:4566/", UserAgent);
        Assert.Equal("http://127.0.0.1:4566", emulated.EndpointKey("us-east-1"));
        Assert.Equal("http://127.0.0.1:4566", emulated.EndpointKey("eu-west-1"));

        using var aws = new Ec2ClientSource(Credentials(), null, UserAgent);
        Assert.Equal("https://ec2.us-east-1.amazonaws.com", aws.EndpointKey("us-east-1"));
        Assert.Equal("https://ec2.eu-west-1.amazonaws.com", aws.EndpointKey("eu-west-1"));
        Assert.Equal("https://ec2.cn-north-1.amazonaws.com.cn", aws.EndpointKey("cn-north-1"));
        Assert.Equal(RegionEndpoint.EUWest1, aws.For("eu-west-1").Config.RegionEndpoint);
        Assert.Null(aws.For("eu-west-1").Config.ServiceURL);
    }

    [Fact]
    public void Constructor_RejectsARelativeOrNonHttpServiceUrl()
    {
        Assert.Throws<ArgumentException>(() => new Ec2ClientSource(Credentials(), "127.0.0.1:4566", UserAgent));
        Assert.Throws<ArgumentException>(() => new Ec2ClientSource(Credentials(), "ftp://example.com/", UserAgent));
        Assert.Throws<ArgumentException>(() => new Ec2ClientSource(Credentials(), null, " "));
    }

    [Fact]
    public async Task EveryRequest_CarriesTheModuleUserAgent_CopyRequestsCloseTheirConnection_AndOtherClientsAreUntouched()
    {
        await using var server = await LoopbackEc2.StartAsync();
        using (var source = new Ec2ClientSource(Credentials(), server.Url, UserAgent))
        {
            await source.For("us-east-1").DescribeRegionsAsync(new DescribeRegionsRequest());
            await source.For("us-east-1").DescribeRegionsAsync(new DescribeRegionsRequest());
            await source.ForCopy("us-west-2").DescribeRegionsAsync(new DescribeRegionsRequest());
            await source.ForCopy("us-west-2").DescribeRegionsAsync(new DescribeRegionsRequest());
        }
        // A client that is not ours, created afterwards in the same process: the SDK's process-wide user agent is unchanged.
        using (var other = new AmazonEC2Client(Credentials(), new AmazonEC2Config { ServiceURL = server.Url, AuthenticationRegion = "us-east-1", MaxErrorRetry = 0 }))
        {
            await other.DescribeRegionsAsync(new DescribeRegionsRequest());
        }

        var requests = server.Requests.ToArray();
        Assert.Equal(5, requests.Length);
        foreach (var ours in requests.Take(4))
        {
            Assert.Contains(" " + UserAgent, ours.Header("User-Agent"));
            Assert.StartsWith("aws-sdk-dotnet", ours.Header("User-Agent")); // appended, the SDK's own part kept
            Assert.Single(ours.Header("User-Agent").Split(' '), part => part == UserAgent); // once, also on a reused request object
        }
        Assert.DoesNotContain("Avtomat", requests[4].Header("User-Agent"));

        // Pooled clients keep their connections; copy clients never do.
        Assert.NotEqual("close", requests[0].Header("Connection"), StringComparer.OrdinalIgnoreCase);
        Assert.Equal("close", requests[2].Header("Connection"), StringComparer.OrdinalIgnoreCase);
        Assert.Equal("close", requests[3].Header("Connection"), StringComparer.OrdinalIgnoreCase);
        Assert.Equal(requests[0].ConnectionId, requests[1].ConnectionId);
        Assert.NotEqual(requests[2].ConnectionId, requests[3].ConnectionId);
        // Signed for the client's region.
        Assert.Contains("/us-west-2/ec2/aws4_request", requests[2].Header("Authorization"));
    }

    [Fact]
    public async Task UserAgent_IsAddedToARequestObjectTheCallerReuses_OnlyOnce()
    {
        await using var server = await LoopbackEc2.StartAsync();
        using var source = new Ec2ClientSource(Credentials(), server.Url, UserAgent);
        var request = new DescribeRegionsRequest();
        await source.For("us-east-1").DescribeRegionsAsync(request);
        await source.For("us-east-1").DescribeRegionsAsync(request);
        await source.ForCopy("us-east-1").DescribeRegionsAsync(request);

        Assert.All(server.Requests, r => Assert.Single(r.Header("User-Agent").Split(' '), part => part == UserAgent));
    }

    /// <summary>A raw HTTP/1.1 server on 127.0.0.1 that records request headers and answers every call with an empty
    /// DescribeRegions response (keeping the connection unless the client asked to close it).</summary>
    private sealed class LoopbackEc2 : IAsyncDisposable
    {
        private readonly TcpListener _listener;
        private readonly CancellationTokenSource _stop = new();
        private readonly List<Task> _tasks = new();
        private int _connections;

        private LoopbackEc2(TcpListener listener) => _listener = listener;

        public ConcurrentQueue<RecordedRequest> Requests { get; } = new();
        public string Url => $"http://127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}/";

        public static Task<LoopbackEc2> StartAsync()
        {
            var listener = new TcpListener(IPAddress.Loopback, 0);
            listener.Start();
            var server = new LoopbackEc2(listener);
            lock (server._tasks) server._tasks.Add(Task.Run(server.AcceptLoopAsync));
            return Task.FromResult(server);
        }

        private async Task AcceptLoopAsync()
        {
            while (!_stop.IsCancellationRequested)
            {
                TcpClient client;
                try { client = await _listener.AcceptTcpClientAsync(_stop.Token); }
                catch (Exception) { return; }
                var id = Interlocked.Increment(ref _connections);
                lock (_tasks) _tasks.Add(Task.Run(() => ServeAsync(client, id)));
            }
        }

        private async Task ServeAsync(TcpClient client, int connectionId)
        {
            using var _ = client;
            var stream = client.GetStream();
            var buffer = new List<byte>();
            var chunk = new byte[8192];
            try
            {
                while (!_stop.IsCancellationRequested)
                {
                    var end = IndexOfHeaderEnd(buffer);
                    if (end < 0)
                    {
                        var n = await stream.ReadAsync(chunk, _stop.Token);
                        if (n == 0) return;
                        buffer.AddRange(chunk.AsSpan(0, n).ToArray());
                        continue;
                    }
                    var head = Encoding.ASCII.GetString(buffer.GetRange(0, end).ToArray());
                    var headers = head.Split("\r\n").Skip(1)
                        .Select(l => l.Split(':', 2))
                        .Where(p => p.Length == 2)
                        .GroupBy(p => p[0].Trim(), StringComparer.OrdinalIgnoreCase)
                        .ToDictionary(g => g.Key, g => string.Join(", ", g.Select(p => p[1].Trim())), StringComparer.OrdinalIgnoreCase);
                    var length = headers.TryGetValue("Content-Length", out var cl) ? int.Parse(cl) : 0;
                    while (buffer.Count < end + 4 + length)
                    {
                        var n = await stream.ReadAsync(chunk, _stop.Token);
                        if (n == 0) return;
                        buffer.AddRange(chunk.AsSpan(0, n).ToArray());
                    }
                    buffer.RemoveRange(0, end + 4 + length);
                    Requests.Enqueue(new RecordedRequest(connectionId, headers));

                    var close = headers.TryGetValue("Connection", out var c) && c.Equals("close", StringComparison.OrdinalIgnoreCase);
                    const string body = "<DescribeRegionsResponse xmlns=\"http://ec2.amazonaws.com/doc/2016-11-15/\"><requestId>r-1</requestId><regionInfo/></DescribeRegionsResponse>";
                    var response = "HTTP/1.1 200 OK\r\nContent-Type: text/xml;charset=UTF-8\r\n"
                        + $"Content-Length: {Encoding.UTF8.GetByteCount(body)}\r\n" + (close ? "Connection: close\r\n" : "") + "\r\n" + body;
                    await stream.WriteAsync(Encoding.UTF8.GetBytes(response), _stop.Token);
                    if (close) return;
                }
            }
            catch (Exception) when (_stop.IsCancellationRequested) { }
            catch (IOException) { }
        }

        private static int IndexOfHeaderEnd(List<byte> buffer)
        {
            for (var i = 0; i + 3 < buffer.Count; i++)
            {
                if (buffer[i] == '\r' && buffer[i + 1] == '\n' && buffer[i + 2] == '\r' && buffer[i + 3] == '\n') return i;
            }
            return -1;
        }

        public async ValueTask DisposeAsync()
        {
            _stop.Cancel();
            _listener.Stop();
            Task[] tasks;
            lock (_tasks) tasks = _tasks.ToArray();
            try { await Task.WhenAll(tasks).WaitAsync(TimeSpan.FromSeconds(5)); } catch (Exception) { }
            _stop.Dispose();
        }
    }

    private sealed record RecordedRequest(int ConnectionId, IReadOnlyDictionary<string, string> Headers)
    {
        public string Header(string name) => Headers.TryGetValue(name, out var value) ? value : "";
    }
}
