using Amazon.EC2;
using Amazon.Runtime;
using Amazon.SecurityToken;
using Avtomat.Ec2.Emulator;

namespace Avtomat.Ec2.Emulator.Tests.Support;

/// <summary>Creates real AWSSDK.EC2 and AWSSDK.SecurityToken clients that talk to an emulator over HTTP.</summary>
public static class EmulatorClients
{
    /// <summary>Access key id that maps to the emulator's default account unless an Accounts entry says otherwise.</summary>
    public const string DefaultAccessKeyId = "AKIDEMULATORTEST";

    /// <summary>
    /// A client for <paramref name="region"/>. With ServiceURL set the SDK would otherwise sign for a region guessed from
    /// the host or environment, so AuthenticationRegion is always set: the emulator keys resources by signing region.
    /// </summary>
    public static AmazonEC2Client Create(Ec2Emulator ec2, string region = "us-east-1", string accessKeyId = DefaultAccessKeyId,
        int maxErrorRetry = 0, TimeSpan? timeout = null)
        => Create(ec2, new BasicAWSCredentials(accessKeyId, "secret"), region, maxErrorRetry, timeout);

    /// <summary>A client signing with <paramref name="credentials"/> (e.g. session credentials STS issued).</summary>
    public static AmazonEC2Client Create(Ec2Emulator ec2, AWSCredentials credentials, string region = "us-east-1",
        int maxErrorRetry = 0, TimeSpan? timeout = null)
    {
        var config = new AmazonEC2Config
        {
            ServiceURL = ec2.BaseUrl.ToString(),
            AuthenticationRegion = region,
            MaxErrorRetry = maxErrorRetry,
            RetryMode = RequestRetryMode.Standard,
            Timeout = timeout ?? TimeSpan.FromSeconds(15),
        };
        return new AmazonEC2Client(credentials, config);
    }

    /// <summary>A client whose HTTP goes to an in-process emulator (<c>new HttpClient(ec2.CreateHandler())</c>), no sockets.</summary>
    public static AmazonEC2Client CreateInProcess(HttpClient http, string region = "us-east-1", string accessKeyId = DefaultAccessKeyId,
        int maxErrorRetry = 0)
        => new(new BasicAWSCredentials(accessKeyId, "secret"), new AmazonEC2Config
        {
            ServiceURL = "http://ec2.emulator.invalid/",
            AuthenticationRegion = region,
            MaxErrorRetry = maxErrorRetry,
            RetryMode = RequestRetryMode.Standard,
            CacheHttpClient = false,
            HttpClientFactory = new FixedHttpClientFactory(http),
        });

    /// <summary>Hands the SDK one given HttpClient (e.g. over the emulator's in-process handler).</summary>
    public sealed class FixedHttpClientFactory(HttpClient client) : HttpClientFactory
    {
        public override HttpClient CreateHttpClient(IClientConfig clientConfig) => client;
        public override bool UseSDKHttpClientCaching(IClientConfig clientConfig) => false;
        public override bool DisposeHttpClientsAfterUse(IClientConfig clientConfig) => false;
    }

    /// <summary>An STS client signing for <paramref name="region"/> (service <c>sts</c>), answered at the same URL.</summary>
    public static AmazonSecurityTokenServiceClient CreateSts(Ec2Emulator ec2, string region = "us-east-1",
        string accessKeyId = DefaultAccessKeyId)
        => CreateSts(ec2, new BasicAWSCredentials(accessKeyId, "secret"), region);

    /// <summary>An STS client signing with <paramref name="credentials"/>; <see cref="AnonymousAWSCredentials"/> sends
    /// unsigned calls (AssumeRoleWithWebIdentity).</summary>
    public static AmazonSecurityTokenServiceClient CreateSts(Ec2Emulator ec2, AWSCredentials credentials, string region = "us-east-1")
    {
        var config = new AmazonSecurityTokenServiceConfig
        {
            ServiceURL = ec2.BaseUrl.ToString(),
            AuthenticationRegion = region,
            MaxErrorRetry = 0,
            Timeout = TimeSpan.FromSeconds(15),
        };
        return new AmazonSecurityTokenServiceClient(credentials, config);
    }
}
