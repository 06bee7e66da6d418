using System;
using System.Management.Automation;

namespace Avtomat.Ec2.Context;

/// <summary>A context that cannot be resolved: carries everything a terminating <see cref="ErrorRecord"/> needs. Its
/// message never contains a secret key or session token.</summary>
internal sealed class AwsContextException : Exception
{
    public AwsContextException(string errorId, ErrorCategory category, string message, string recommendedAction,
        object? target = null, Exception? innerException = null)
        : base(message, innerException)
    {
        ErrorId = errorId;
        Category = category;
        RecommendedAction = recommendedAction;
        Target = target;
    }

    /// <summary>Stable FullyQualifiedErrorId prefix (no data in it), e.g. <c>AwsRegionNotFound</c>.</summary>
    public string ErrorId { get; }
    public ErrorCategory Category { get; }
    public string RecommendedAction { get; }
    public object? Target { get; }

    public ErrorRecord ToErrorRecord()
    {
        var record = new ErrorRecord(this, ErrorId, Category, Target)
        {
            ErrorDetails = new ErrorDetails(Message) { RecommendedAction = RecommendedAction },
        };
        return record;
    }

    // Stable error ids.
    public const string RegionNotFound = "AwsRegionNotFound";
    public const string CredentialsNotFound = "AwsCredentialsNotFound";
    public const string ProfileNotFound = "AwsProfileNotFound";
    public const string ProfileCredentialsUnavailable = "AwsProfileCredentialsUnavailable";
    public const string InvalidCredentialObject = "InvalidAwsCredentialObject";
    public const string IncompleteCredentialParameters = "AwsIncompleteCredentialParameters";
    public const string InvalidEndpointUrl = "InvalidAwsEndpointUrl";
}
