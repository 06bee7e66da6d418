using System;
using Avtomat.Ec2.Engine;

namespace Avtomat.Ec2.Engine.Context;

/// <summary>A context that cannot be resolved: carries everything a terminating ErrorRecord needs (the cmdlets build it). Its
/// message never contains a secret key or session token.</summary>
public sealed class AwsContextException : Exception
{
    public AwsContextException(string errorId, EngineErrorCategory category, string message, string recommendedAction,
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
    public EngineErrorCategory Category { get; }
    public string RecommendedAction { get; }
    public object? Target { get; }


    // Stable error ids.
    public const string RegionNotFound = "AwsRegionNotFound";
    public const string CredentialsNotFound = "AwsCredentialsNotFound";
    public const string ProfileNotFound = "AwsProfileNotFound";
    public const string ProfileCredentialsUnavailable = "AwsProfileCredentialsUnavailable";
    /// <summary>The SDK's default chain found a source (web identity, container, instance role) that could not provide credentials.</summary>
    public const string CredentialsUnavailable = "AwsCredentialsUnavailable";
    public const string InvalidCredentialObject = "InvalidAwsCredentialObject";
    public const string IncompleteCredentialParameters = "AwsIncompleteCredentialParameters";
    public const string InvalidEndpointUrl = "InvalidAwsEndpointUrl";
}
