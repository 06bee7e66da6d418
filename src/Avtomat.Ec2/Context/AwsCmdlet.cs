using System;
using System.Management.Automation;
using Avtomat.Ec2.Engine;

namespace Avtomat.Ec2.Context;

// CONTRACT: the base of every Avtomat.Ec2 cmdlet. The implementation replaces the bodies; keep the members.

/// <summary>AWS Tools' common credential parameters, with their aliases, and the context they resolve to.
/// Each cmdlet declares its own region parameter and passes its value to <see cref="ResolveAwsContext"/>.</summary>
public abstract class AwsCmdlet : PSCmdlet
{
    /// <summary>The AWS access key id of the credentials to use.</summary>
    [Parameter(ValueFromPipelineByPropertyName = false)]
    [Alias("AK")]
    public string? AccessKey { get; set; }

    /// <summary>The AWS secret access key of the credentials to use.</summary>
    [Parameter]
    [Alias("SK", "SecretAccessKey")]
    public string? SecretKey { get; set; }

    /// <summary>The session token of temporary credentials.</summary>
    [Parameter]
    [Alias("ST")]
    public string? SessionToken { get; set; }

    /// <summary>The name of a profile in the SDK store or the shared credentials file.</summary>
    [Parameter]
    [Alias("StoredCredentials", "AWSProfileName")]
    public string? ProfileName { get; set; }

    /// <summary>The shared credentials file to read -ProfileName from.</summary>
    [Parameter]
    [Alias("AWSProfilesLocation", "ProfilesLocation")]
    public string? ProfileLocation { get; set; }

    /// <summary>An AWSCredentials object (from any AWSSDK or AWS.Tools load), read by shape.</summary>
    [Parameter]
    public object? Credential { get; set; }

    /// <summary>The EC2 endpoint to call instead of AWS's (for example an emulator or a VPC endpoint).</summary>
    [Parameter]
    public string? EndpointUrl { get; set; }

    /// <summary>Resolves credentials and region in the AWS Tools 5.x order (facts sheet), reading
    /// $StoredAWSCredentials and $StoredAWSRegion from the caller's session state. A missing region or missing
    /// credentials is a terminating error naming the parameter, variable or cmdlet that fixes it.</summary>
    /// <param name="region">The cmdlet's own -Region (or -SourceRegion) value, or null.</param>
    protected AwsContext ResolveAwsContext(string? region) => throw new NotImplementedException();

    /// <summary>EC2 clients for the resolved context, with our module name and version in each request's user agent.
    /// The caller disposes it at the end of the invocation.</summary>
    protected IEc2ClientSourceLifetime CreateClientSource(AwsContext context) => throw new NotImplementedException();
}
