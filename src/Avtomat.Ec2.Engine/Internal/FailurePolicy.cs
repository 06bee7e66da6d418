using System;
using System.Collections.Generic;
using System.IO;
using System.Net.Http;
using System.Net.Sockets;
using Amazon.Runtime;

namespace Avtomat.Ec2.Engine.Internal;

/// <summary>What happens after a failed EC2 call. Every call site asks <see cref="FailurePolicy"/>; none decides alone.</summary>
internal enum FailureAction
{
    /// <summary>EC2 certainly did not act (throttled), or the call is idempotent and the failure transient (5xx, I/O,
    /// timeout): back off and call again.</summary>
    Retry,
    /// <summary>A call that creates something got no definite answer (5xx, I/O, timeout): look the request token up
    /// before calling again, or a second snapshot may be made.</summary>
    LookUpToken,
    /// <summary>An EC2 limit on pending work was hit (copies per region, snapshots per volume, spacing per volume):
    /// nothing was done; wait for capacity and queue again.</summary>
    WaitForCapacity,
    /// <summary>DryRunOperation: the call would have succeeded.</summary>
    DryRunSucceeded,
    /// <summary>The item's own problem (not found, invalid parameter, refused for this resource): fail that item.</summary>
    FailItem,
    /// <summary>Nothing more can succeed in this account and region with these credentials (expired or invalid
    /// credentials, not authorized for a call without resource-level permissions, region not enabled): fail every item
    /// of the job there at once and free what they hold.</summary>
    FailAccountRegion,
}

/// <summary>Why an account and region failed as a whole (see <see cref="FailureAction.FailAccountRegion"/>).</summary>
internal enum AccountRegionFailure { None, CredentialsExpired, CredentialsInvalid, AccessDenied, RegionNotEnabled }

/// <summary>The one table from EC2 error codes and transport failures to <see cref="FailureAction"/>s. Branches on
/// codes and types, never on message text.</summary>
internal static class FailurePolicy
{
    private static readonly HashSet<string> ThrottleCodes = new(StringComparer.Ordinal)
    {
        "RequestLimitExceeded", "Throttling", "ThrottlingException", "ThrottledException", "RequestThrottled",
        "RequestThrottledException", "TooManyRequestsException", "SlowDown", "EC2ThrottledException",
    };

    /// <summary>Limits on pending work: the call was not performed.</summary>
    private static readonly HashSet<string> CapacityCodes = new(StringComparer.Ordinal)
    {
        "ResourceLimitExceeded", "ConcurrentSnapshotLimitExceeded", "SnapshotCreationPerVolumeRateExceeded",
    };

    /// <summary>The SDK corrects clock skew by itself, so a RequestExpired that reaches us is an expired session token.</summary>
    private static readonly HashSet<string> ExpiredCodes = new(StringComparer.Ordinal)
    {
        "ExpiredToken", "ExpiredTokenException", "RequestExpired",
    };

    private static readonly HashSet<string> InvalidCredentialCodes = new(StringComparer.Ordinal)
    {
        "AuthFailure", "InvalidClientTokenId", "SignatureDoesNotMatch", "UnrecognizedClientException", "IncompleteSignature",
    };

    private static readonly HashSet<string> DeniedCodes = new(StringComparer.Ordinal)
    {
        "UnauthorizedOperation", "AccessDenied", "AccessDeniedException",
    };

    /// <summary>Calls that create something: an uncertain outcome must be resolved by the request token.</summary>
    private static readonly HashSet<string> CreatingActions = new(StringComparer.Ordinal)
    {
        "CopySnapshot", "CreateSnapshot", "CreateSnapshots",
    };

    /// <summary>Calls IAM can allow for some resources and not others (resource-level permissions, condition keys):
    /// a denial there concerns the item. Describe calls have no resource-level permissions: a denial concerns all.</summary>
    private static readonly HashSet<string> ResourceScopedActions = new(StringComparer.Ordinal)
    {
        "CopySnapshot", "CreateSnapshot", "CreateSnapshots", "DeleteSnapshot", "CreateTags", "DeleteTags",
        "ModifySnapshotAttribute", "DescribeSnapshotAttribute",
    };

    /// <summary>Refusals of one item's call that the engine's errors name (EngineErrors: not found, bad parameters, a
    /// state or key that does not allow it); with the tables above, every code the engine knows. Any other 4xx code, and
    /// every 5xx one that ends an item, is Ec2RequestFailed with EC2's code, message and request id.</summary>
    private static readonly HashSet<string> ItemCodes = new(StringComparer.Ordinal)
    {
        "InvalidSnapshot.NotFound", "InvalidVolume.NotFound", "InvalidVolumeID.NotFound", "InvalidInstanceID.NotFound", "InvalidInstanceId.NotFound",
        "InvalidRequest", "InvalidOutpostArn", "OperationNotPermitted", "DryRunOperation",
    };

    private static readonly string[] ItemCodePrefixes = { "InvalidParameter", "MissingParameter", "InvalidKms" };

    /// <summary>A code in one of this policy's tables (or one the engine's errors name): its meaning is known.</summary>
    public static bool IsKnownCode(string code) =>
        ThrottleCodes.Contains(code) || CapacityCodes.Contains(code) || AccountRegionFailureOf(code) != AccountRegionFailure.None || ItemCodes.Contains(code)
        || Array.Exists(ItemCodePrefixes, p => code.StartsWith(p, StringComparison.OrdinalIgnoreCase));

    public static FailureAction Decide(Exception exception, string action)
    {
        if (exception is RegionFailedException) return FailureAction.FailAccountRegion;
        // The credentials could not be obtained (STS or SSO refused to issue them): nothing was sent to EC2, so calling
        // again is safe, but only a throttled or failing STS can answer differently next time.
        if (CredentialSourceError(exception) is { } source)
            return ThrottleCodes.Contains(source.ErrorCode ?? "") || (int)source.StatusCode >= 500
                ? FailureAction.Retry
                : FailureAction.FailAccountRegion;
        // Nothing was sent when no connection could be made: safe to send again, even for calls that create.
        if (ConnectFailure(exception) is not null) return FailureAction.Retry;
        var code = CodeOf(exception);
        if (code is not null)
        {
            if (ThrottleCodes.Contains(code)) return FailureAction.Retry;
            if (CapacityCodes.Contains(code)) return FailureAction.WaitForCapacity;
            if (code == "DryRunOperation") return FailureAction.DryRunSucceeded;
            if (AccountRegionFailureOf(code) is var scope && scope != AccountRegionFailure.None)
                return scope == AccountRegionFailure.AccessDenied && ResourceScopedActions.Contains(action)
                    ? FailureAction.FailItem
                    : FailureAction.FailAccountRegion;
        }
        if (IsTransport(exception)) return CreatingActions.Contains(action) ? FailureAction.LookUpToken : FailureAction.Retry;
        return FailureAction.FailItem;
    }

    /// <summary>True for throttling and transient failures (what idempotent calls retry).</summary>
    public static bool IsThrottle(Exception exception) => CodeOf(exception) is { } code && ThrottleCodes.Contains(code);

    public static AccountRegionFailure AccountRegionFailureOf(string? code) =>
        code is null ? AccountRegionFailure.None
        : ExpiredCodes.Contains(code) ? AccountRegionFailure.CredentialsExpired
        : InvalidCredentialCodes.Contains(code) ? AccountRegionFailure.CredentialsInvalid
        : DeniedCodes.Contains(code) ? AccountRegionFailure.AccessDenied
        : code == "OptInRequired" ? AccountRegionFailure.RegionNotEnabled
        : AccountRegionFailure.None;

    /// <summary>The STS or SSO error behind a failure to obtain credentials (a refreshing source: AssumeRole,
    /// AssumeRoleWithWebIdentity, SSO GetRoleCredentials), which the SDK surfaces from an EC2 call wrapped in an
    /// AmazonClientException; null for any other failure. EC2 calls never raise these services' exceptions themselves.</summary>
    public static AmazonServiceException? CredentialSourceError(Exception exception)
    {
        for (var e = exception; e is not null; e = e.InnerException)
        {
            if (e is AmazonServiceException service && IsCredentialService(service)) return service;
        }
        return null;
    }

    private static bool IsCredentialService(Exception exception)
    {
        var ns = exception.GetType().Namespace ?? "";
        return ns.StartsWith("Amazon.SecurityToken", StringComparison.Ordinal) || ns.StartsWith("Amazon.SSO", StringComparison.Ordinal);
    }

    public static string? CodeOf(Exception exception) => (exception as AmazonServiceException)?.ErrorCode is { Length: > 0 } code ? code : null;

    /// <summary>A short description without secrets: the code, or the exception type, plus the message.</summary>
    public static string Describe(Exception exception)
    {
        var code = CodeOf(exception);
        var message = exception.Message;
        return string.IsNullOrEmpty(code) ? $"{exception.GetType().Name}: {message}"
            : string.IsNullOrEmpty(message) ? code! : $"{code}: {message}";
    }

    /// <summary>The error that ends a region's items for <paramref name="exception"/>: its own when the job already decided
    /// (<see cref="RegionFailedException"/>), else what the code means (expired, invalid, denied, not enabled).</summary>
    public static EngineError RegionError(Exception exception, string targetId, string region, string action) =>
        exception is RegionFailedException failed ? failed.Error.For(targetId) : EngineErrors.AccountRegionFailed(targetId, region, action, exception);

    /// <summary>The socket error when no connection could be made at all (nothing reached EC2), else null. TLS
    /// failures count too.</summary>
    public static System.Net.Sockets.SocketError? ConnectFailure(Exception exception)
    {
        for (var e = exception; e is not null; e = e.InnerException)
        {
            if (e is SocketException socket && socket.SocketErrorCode is System.Net.Sockets.SocketError.ConnectionRefused
                    or System.Net.Sockets.SocketError.HostNotFound or System.Net.Sockets.SocketError.NoData
                    or System.Net.Sockets.SocketError.HostUnreachable or System.Net.Sockets.SocketError.NetworkUnreachable
                    or System.Net.Sockets.SocketError.AddressNotAvailable)
                return socket.SocketErrorCode;
            if (e is System.Security.Authentication.AuthenticationException) return System.Net.Sockets.SocketError.SocketError;
        }
        return null;
    }

    /// <summary>The host name does not resolve (NXDOMAIN): certain, no retry helps.</summary>
    public static bool HostNotFound(Exception exception) =>
        ConnectFailure(exception) is System.Net.Sockets.SocketError.HostNotFound or System.Net.Sockets.SocketError.NoData;

    /// <summary>5xx, timeouts (the SDK's or HttpClient's surface as OperationCanceled not caused by our token) and I/O.</summary>
    private static bool IsTransport(Exception exception)
    {
        if (exception is AmazonServiceException { StatusCode: var status } && (int)status >= 500) return true;
        for (var e = exception; e is not null; e = e.InnerException)
        {
            if (e is IOException || e is HttpRequestException || e is SocketException || e is System.Net.WebException
                || e is TimeoutException || e is OperationCanceledException)
                return true;
        }
        return false;
    }
}

/// <summary>A call failed in a way that ends every item of the job in <see cref="Region"/> (see
/// <see cref="FailureAction.FailAccountRegion"/>). Thrown to the job's workers, which hand it to the job.</summary>
internal sealed class RegionFailedException : Exception
{
    public RegionFailedException(string region, EngineError error) : base(error.Message)
    {
        Region = region;
        Error = error;
    }

    public string Region { get; }
    public EngineError Error { get; }
}
