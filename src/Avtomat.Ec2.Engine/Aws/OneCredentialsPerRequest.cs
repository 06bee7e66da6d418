using System.Threading.Tasks;
using Amazon.EC2;
using Amazon.Runtime;
using Amazon.Runtime.Internal;
using Amazon.SecurityToken;

namespace Avtomat.Ec2.Engine.Aws;

/// <summary>
/// Signs each request with ONE set of credentials. AWSSDK.Core 4.0.x's <see cref="Signer"/> asks the credentials object
/// twice per request: once for the session token it puts in the request, then again (inside the SigV4 signer) for the
/// access key and secret. Refreshing credentials (AssumeRoleAWSCredentials, AssumeRoleWithWebIdentityCredentials,
/// ProcessAWSCredentials, SSO) start a background refresh from the first call whenever they are within their
/// PreemptExpiryTime (15 minutes for the STS ones) of expiring; when it completes before the second call, the request
/// carries the old session token with the new access key, and AWS rejects it (AuthFailure / InvalidClientTokenId).
/// Credentials that live no longer than 15 minutes (STS's minimum, 900 seconds, included) are always within that
/// window, so this hits almost every call; hour-long ones are hit once per refresh. Placed before the signer, this
/// handler resolves the credentials once and hands the signer a fixed copy of them for this request.
/// </summary>
internal sealed class OneCredentialsPerRequest : PipelineHandler
{
    public override Task<T> InvokeAsync<T>(IExecutionContext executionContext)
    {
        return Pin(executionContext) is { } pinning ? Continue<T>(pinning, executionContext) : base.InvokeAsync<T>(executionContext);
    }

    private async Task<T> Continue<T>(Task pinning, IExecutionContext executionContext) where T : AmazonWebServiceResponse, new()
    {
        await pinning.ConfigureAwait(false);
        return await base.InvokeAsync<T>(executionContext).ConfigureAwait(false);
    }

    /// <summary>Replaces refreshing credentials by a snapshot for this request; null when there is nothing to pin.</summary>
    private static Task? Pin(IExecutionContext executionContext)
    {
        var context = executionContext.RequestContext;
        if (context.Identity is not AWSCredentials credentials || credentials is BasicAWSCredentials || credentials is SessionAWSCredentials)
            return null;
        return PinAsync(context, credentials);
    }

    private static async Task PinAsync(IRequestContext context, AWSCredentials credentials)
    {
        var resolved = await credentials.GetCredentialsAsync().ConfigureAwait(false);
        context.Identity = resolved.UseToken
            ? new SessionAWSCredentials(resolved.AccessKey, resolved.SecretKey, resolved.Token)
            : new BasicAWSCredentials(resolved.AccessKey, resolved.SecretKey);
    }

    public static void AddTo(RuntimePipeline pipeline) => pipeline.AddHandlerBefore<Signer>(new OneCredentialsPerRequest());
}

/// <summary>The engine's EC2 client: <see cref="OneCredentialsPerRequest"/> in its pipeline.</summary>
internal sealed class EngineEc2Client : AmazonEC2Client
{
    public EngineEc2Client(AWSCredentials credentials, AmazonEC2Config config) : base(credentials, config) { }

    protected override void CustomizeRuntimePipeline(RuntimePipeline pipeline)
    {
        base.CustomizeRuntimePipeline(pipeline);
        OneCredentialsPerRequest.AddTo(pipeline);
    }
}

/// <summary>The engine's STS client (GetCallerIdentity): <see cref="OneCredentialsPerRequest"/> in its pipeline.</summary>
internal sealed class EngineStsClient : AmazonSecurityTokenServiceClient
{
    public EngineStsClient(AWSCredentials credentials, AmazonSecurityTokenServiceConfig config) : base(credentials, config) { }

    protected override void CustomizeRuntimePipeline(RuntimePipeline pipeline)
    {
        base.CustomizeRuntimePipeline(pipeline);
        OneCredentialsPerRequest.AddTo(pipeline);
    }
}
