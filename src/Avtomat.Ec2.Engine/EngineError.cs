using System;

namespace Avtomat.Ec2.Engine;

/// <summary>Categories the cmdlets map one-to-one onto PowerShell's ErrorCategory (same names).</summary>
public enum EngineErrorCategory
{
    ObjectNotFound,
    InvalidArgument,
    InvalidOperation,
    PermissionDenied,
    LimitsExceeded,
    OperationTimeout,
    ConnectionError,
    ResourceUnavailable,
    OperationStopped,
    InvalidResult,
    AuthenticationError,
    ReadError,
}

/// <summary>Why a request failed: a stable id (no data in it), a category, the snapshot it concerns and what to do.</summary>
public sealed class EngineError
{
    public EngineError(string errorId, EngineErrorCategory category, string message, string targetId)
    {
        ErrorId = errorId;
        Category = category;
        Message = message;
        TargetId = targetId;
    }

    /// <summary>Stable identifier, e.g. SnapshotNotFound, SnapshotCopyFailed, AccessDenied, CopyTimedOut.</summary>
    public string ErrorId { get; }
    public EngineErrorCategory Category { get; }
    public string Message { get; }
    /// <summary>The snapshot id the error is about (the source, or the copy once it exists).</summary>
    public string TargetId { get; }
    /// <summary>EC2's error code when EC2 answered (e.g. InvalidSnapshot.NotFound, UnauthorizedOperation).</summary>
    public string? AwsErrorCode { get; set; }
    /// <summary>What the user can do, e.g. the IAM action to grant.</summary>
    public string? RecommendedAction { get; set; }
    public Exception? Exception { get; set; }

    /// <summary>The same error about another snapshot (an account-wide failure reported on each item it ended).</summary>
    public EngineError For(string targetId) => targetId == TargetId ? this : new(ErrorId, Category, Message, targetId)
    {
        AwsErrorCode = AwsErrorCode,
        RecommendedAction = RecommendedAction,
        Exception = Exception,
    };

    public override string ToString() => $"{ErrorId}: {Message}";
}
