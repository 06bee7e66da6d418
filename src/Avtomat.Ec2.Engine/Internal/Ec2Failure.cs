using System;
using System.IO;
using System.Net.Http;
using System.Net.Sockets;
using Amazon.Runtime;

namespace Avtomat.Ec2.Engine.Internal;

/// <summary>How a failed EC2 call must be treated.</summary>
internal enum FailureKind
{
    /// <summary>RequestLimitExceeded / Throttling: EC2 certainly did not perform the call; back off and retry.</summary>
    Throttled,
    /// <summary>ResourceLimitExceeded: too many copies pending in the destination; not performed.</summary>
    CopyLimitExceeded,
    /// <summary>DryRunOperation: the call would have succeeded.</summary>
    DryRunSucceeded,
    /// <summary>5xx, timeout, I/O: EC2 may or may not have performed the call.</summary>
    Uncertain,
    /// <summary>Any other answer: retrying will not help.</summary>
    Fatal,
}

/// <summary>Classifies exceptions from AWSSDK calls. Branches on error codes and types, never on message text.</summary>
internal static class Ec2Failure
{
    private static readonly string[] ThrottleCodes =
    {
        "RequestLimitExceeded", "Throttling", "ThrottlingException", "ThrottledException", "RequestThrottled",
        "RequestThrottledException", "TooManyRequestsException", "SlowDown", "EC2ThrottledException",
    };

    public static FailureKind Classify(Exception exception)
    {
        if (exception is AmazonServiceException service && !string.IsNullOrEmpty(service.ErrorCode))
        {
            var code = service.ErrorCode;
            if (Array.IndexOf(ThrottleCodes, code) >= 0) return FailureKind.Throttled;
            if (code == "ResourceLimitExceeded") return FailureKind.CopyLimitExceeded;
            if (code == "DryRunOperation") return FailureKind.DryRunSucceeded;
            if ((int)service.StatusCode >= 500) return FailureKind.Uncertain;
            return FailureKind.Fatal;
        }
        if (exception is AmazonServiceException { StatusCode: var status } && (int)status >= 500) return FailureKind.Uncertain;
        // Timeouts (the SDK's or HttpClient's) surface as TaskCanceled/OperationCanceled not caused by our token.
        if (exception is OperationCanceledException || exception is TimeoutException) return FailureKind.Uncertain;
        for (var e = exception; e is not null; e = e.InnerException)
        {
            if (e is IOException || e is HttpRequestException || e is SocketException || e is System.Net.WebException
                || e is TimeoutException || e is OperationCanceledException)
                return FailureKind.Uncertain;
        }
        return FailureKind.Fatal;
    }

    /// <summary>True for failures worth retrying on idempotent calls (Describe, Delete).</summary>
    public static bool IsTransient(Exception exception)
    {
        var kind = Classify(exception);
        return kind == FailureKind.Throttled || kind == FailureKind.Uncertain;
    }

    public static string? CodeOf(Exception exception) => (exception as AmazonServiceException)?.ErrorCode;

    /// <summary>A short description without secrets: the code, or the exception type, plus the message.</summary>
    public static string Describe(Exception exception)
    {
        var code = CodeOf(exception);
        var message = exception.Message;
        return string.IsNullOrEmpty(code) ? $"{exception.GetType().Name}: {message}"
            : string.IsNullOrEmpty(message) ? code! : $"{code}: {message}";
    }
}
