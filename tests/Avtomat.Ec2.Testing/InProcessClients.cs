using System.Collections.Concurrent;
using System.Diagnostics;
using System.Reflection;
using System.Runtime.ExceptionServices;
using System.Runtime.InteropServices;
using Amazon.EC2;
using Amazon.KeyManagementService;
using Amazon.Runtime;
using Avtomat.Ec2.Emulator;
using Avtomat.Ec2.Engine;

namespace Avtomat.Ec2.Testing;

/// <summary>
/// EC2 clients for one run: real AWSSDK.EC2 clients set up as the module's own client source sets them up (Standard
/// retries with the SDK's default of 2 for ordinary calls; no retries and no stale-connection re-sends for CopySnapshot),
/// whose HTTP goes to the emulator's request handling in-process (<see cref="Ec2Emulator.CreateHandler"/>) instead of
/// a socket. So every call is marshalled, signed, sent, answered by the emulator (its limits, buckets and lifecycles)
/// and unmarshalled as over the wire. Each client is wrapped so the <see cref="VirtualTimeDriver"/> knows while any call
/// is outstanding (SDK retries included). The engine and the two baselines all use this one setup.
/// </summary>
public sealed class InProcessClients : IEc2ClientSourceLifetime, IKmsClientSource
{
    /// <summary>Any absolute URL: the in-process handler ignores the host.</summary>
    public const string ServiceUrl = "http://ec2.emulator.invalid/";

    private readonly VirtualTimeDriver _driver;
    private readonly int _maxErrorRetry;
    private readonly string _accessKey;
    private readonly HttpClient _http;
    private readonly ConcurrentDictionary<string, (AmazonEC2Client Client, IAmazonEC2 Counted)> _clients = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, (AmazonEC2Client Client, IAmazonEC2 Counted)> _copyClients = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, (AmazonKeyManagementServiceClient Client, IAmazonKeyManagementService Counted)> _kmsClients = new(StringComparer.Ordinal);

    /// <param name="maxErrorRetry">The SDK's own retries of ordinary calls (Standard mode): 2 as the module's client
    /// source. They wait in real time, which virtual time cannot drive: a test that injects many transient errors may
    /// pass 0 and leave the retries to the engine (in virtual time).</param>
    public InProcessClients(Ec2Emulator emulator, VirtualTimeDriver driver, string accessKey, EmulatorCost cost, int maxErrorRetry = 2)
    {
        _maxErrorRetry = maxErrorRetry;
        _driver = driver;
        _accessKey = accessKey;
        _http = new HttpClient(new MeasuringHandler(emulator.CreateHandler(), cost)) { Timeout = Timeout.InfiniteTimeSpan };
        var accountId = emulator.Options.Accounts.TryGetValue(accessKey, out var mapped) ? mapped : emulator.Options.DefaultAccountId;
        Account = "account:" + accountId;
    }

    public string Account { get; }

    public IAmazonEC2 For(string region) => _clients.GetOrAdd(region, r => Create(r, forCopy: false)).Counted;

    public IAmazonEC2 ForCopy(string region) => _copyClients.GetOrAdd(region, r => Create(r, forCopy: true)).Counted;

    /// <summary>KMS (DescribeKey) from the emulator's same handler, set up as the module's client source sets it up.</summary>
    public IAmazonKeyManagementService Kms(string region) => _kmsClients.GetOrAdd(region, r =>
    {
        var config = new AmazonKeyManagementServiceConfig
        {
            ServiceURL = ServiceUrl,
            AuthenticationRegion = region,
            RetryMode = RequestRetryMode.Standard,
            MaxErrorRetry = _maxErrorRetry,
            CacheHttpClient = false,
            HttpClientFactory = new FixedHttpClientFactory(_http),
        };
        var client = new AmazonKeyManagementServiceClient(new BasicAWSCredentials(_accessKey, "benchmark-secret-not-a-real-one"), config);
        return (client, CountingProxy.WrapAs<IAmazonKeyManagementService>(client, _driver));
    }).Counted;

    public string EndpointKey(string region) => ServiceUrl.TrimEnd('/');

    private (AmazonEC2Client, IAmazonEC2) Create(string region, bool forCopy)
    {
        var config = new AmazonEC2Config
        {
            ServiceURL = ServiceUrl,
            AuthenticationRegion = region,
            RetryMode = RequestRetryMode.Standard,
            MaxErrorRetry = forCopy ? 0 : _maxErrorRetry, // as Avtomat.Ec2.Engine.Aws.Ec2ClientSource
            CacheHttpClient = false,
            HttpClientFactory = new FixedHttpClientFactory(_http),
        };
        if (forCopy) config.MaxStaleConnectionRetries = 0;
        var client = new AmazonEC2Client(new BasicAWSCredentials(_accessKey, "benchmark-secret-not-a-real-one"), config);
        return (client, CountingProxy.Wrap(client, _driver));
    }

    public void Dispose()
    {
        foreach (var (client, _) in _clients.Values) client.Dispose();
        foreach (var (client, _) in _copyClients.Values) client.Dispose();
        foreach (var (client, _) in _kmsClients.Values) client.Dispose();
        _http.Dispose();
    }

    private sealed class FixedHttpClientFactory(HttpClient client) : HttpClientFactory
    {
        public override HttpClient CreateHttpClient(IClientConfig clientConfig) => client;
        public override bool UseSDKHttpClientCaching(IClientConfig clientConfig) => false;
        public override bool DisposeHttpClientsAfterUse(IClientConfig clientConfig) => false;
    }
}

/// <summary>Counts every client call (IAmazonEC2, IAmazonKeyManagementService) as outstanding from the moment it is made until its task completes.</summary>
public class CountingProxy : DispatchProxy
{
    private object _target = null!;
    private VirtualTimeDriver _driver = null!;

    public static IAmazonEC2 Wrap(IAmazonEC2 target, VirtualTimeDriver driver) => WrapAs<IAmazonEC2>(target, driver);

    /// <summary>Any client interface (EC2, KMS), counted the same way.</summary>
    public static T WrapAs<T>(T target, VirtualTimeDriver driver) where T : class
    {
        var proxy = Create<T, CountingProxy>();
        var self = (CountingProxy)(object)proxy;
        self._target = target;
        self._driver = driver;
        return proxy;
    }

    protected override object? Invoke(MethodInfo? targetMethod, object?[]? args)
    {
        _driver.CallStarted();
        object? result;
        try
        {
            result = targetMethod!.Invoke(_target, args);
        }
        catch (TargetInvocationException e) when (e.InnerException is not null)
        {
            _driver.CallEnded();
            ExceptionDispatchInfo.Throw(e.InnerException);
            throw;
        }
        catch
        {
            _driver.CallEnded();
            throw;
        }
        if (result is Task task)
            task.ContinueWith(static (_, d) => ((VirtualTimeDriver)d!).CallEnded(), _driver, CancellationToken.None,
                TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        else _driver.CallEnded();
        return result;
    }
}

/// <summary>CPU time and managed bytes spent inside the emulator's handling of calls (on the calling thread, which is
/// where the in-process handler runs it), so they can be taken out of the engine's figures.</summary>
public sealed class EmulatorCost
{
    public long CpuTicks; // TimeSpan ticks
    public long Bytes;
    public long Calls;
    /// <summary>Calls whose handling did not complete on the calling thread (their cost is not separated).</summary>
    public long Asynchronous;
}

/// <summary>Measures each call's handling by the emulator on the calling thread.</summary>
internal sealed class MeasuringHandler(HttpMessageHandler inner, EmulatorCost cost) : DelegatingHandler(inner)
{
    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var cpu = ThreadCpu.Now();
        var bytes = GC.GetAllocatedBytesForCurrentThread();
        var task = base.SendAsync(request, cancellationToken);
        Interlocked.Add(ref cost.CpuTicks, (ThreadCpu.Now() - cpu).Ticks);
        Interlocked.Add(ref cost.Bytes, GC.GetAllocatedBytesForCurrentThread() - bytes);
        Interlocked.Increment(ref cost.Calls);
        if (!task.IsCompleted) Interlocked.Increment(ref cost.Asynchronous);
        return task;
    }
}

/// <summary>CPU time of the calling thread (Linux: CLOCK_THREAD_CPUTIME_ID; elsewhere the wall time, an over-estimate).</summary>
public static class ThreadCpu
{
    private const int ClockThreadCpuTimeId = 3;

    [StructLayout(LayoutKind.Sequential)]
    private struct TimeSpec { public long Seconds; public long Nanoseconds; }

    [DllImport("libc", EntryPoint = "clock_gettime", SetLastError = false)]
    private static extern int ClockGetTime(int clock, out TimeSpec time);

    private static readonly bool Available = OperatingSystem.IsLinux() && Probe();

    /// <summary>True when this is the thread's CPU time (not wall time).</summary>
    public static bool IsThreadCpuTime => Available;

    public static TimeSpan Now()
    {
        if (Available && ClockGetTime(ClockThreadCpuTimeId, out var t) == 0)
            return TimeSpan.FromTicks(t.Seconds * TimeSpan.TicksPerSecond + t.Nanoseconds / 100);
        return Stopwatch.GetElapsedTime(0);
    }

    private static bool Probe()
    {
        try { return ClockGetTime(ClockThreadCpuTimeId, out _) == 0; }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException) { return false; }
    }
}
