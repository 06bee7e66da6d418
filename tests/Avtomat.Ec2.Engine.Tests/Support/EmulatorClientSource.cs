using System.Collections.Concurrent;
using Amazon.EC2;
using Amazon.Runtime;
using Avtomat.Ec2.Emulator;
using Avtomat.Ec2.Engine;

namespace Avtomat.Ec2.Engine.Tests.Support;

/// <summary>Plain AWSSDK.EC2 clients against an emulator: Standard retries for ordinary calls, none for CopySnapshot,
/// pooled connections everywhere — so .NET's transparent re-send after a lost response CAN duplicate a copy, which the
/// engine must clean up. (The module's own Ec2ClientSource prevents the re-send; tests use both.)</summary>
public sealed class EmulatorClientSource : IEc2ClientSourceLifetime
{
    /// <summary>The account the emulator maps the access key to (unlisted keys: its default account).</summary>
    public string Account => "account:" + (_ec2.Options.Accounts.TryGetValue(_accessKey, out var account) ? account : _ec2.Options.DefaultAccountId);

    private readonly Ec2Emulator _ec2;
    private readonly ConcurrentDictionary<string, AmazonEC2Client> _clients = new();
    private readonly ConcurrentDictionary<string, AmazonEC2Client> _copyClients = new();

    private readonly string _accessKey;

    public EmulatorClientSource(Ec2Emulator ec2, string accessKey = "AKIDENGINETEST")
    {
        _ec2 = ec2;
        _accessKey = accessKey;
    }

    public IAmazonEC2 For(string region) => _clients.GetOrAdd(region, r => Create(r, maxErrorRetry: 2));

    public IAmazonEC2 ForCopy(string region) => _copyClients.GetOrAdd(region, r => Create(r, maxErrorRetry: 0));

    public string EndpointKey(string region) => _ec2.BaseUrl.ToString();

    private AmazonEC2Client Create(string region, int maxErrorRetry)
    {
        var config = new AmazonEC2Config
        {
            ServiceURL = _ec2.BaseUrl.ToString(),
            AuthenticationRegion = region,
            MaxErrorRetry = maxErrorRetry,
            RetryMode = RequestRetryMode.Standard,
            Timeout = TimeSpan.FromSeconds(15),
        };
        return new AmazonEC2Client(new BasicAWSCredentials(_accessKey, "engine-test-secret"), config);
    }

    public void Dispose()
    {
        foreach (var c in _clients.Values) c.Dispose();
        foreach (var c in _copyClients.Values) c.Dispose();
    }
}
