using System;
using System.Management.Automation;
using Avtomat.Ec2.Engine;
using Avtomat.Ec2.Engine.Context;

namespace Avtomat.Ec2.Errors;

/// <summary>Turns engine errors and parameter problems into <see cref="ErrorRecord"/>s: a stable id without data in it
/// (PowerShell appends the command, giving e.g. "SnapshotNotFound,Avtomat.Ec2.Commands.CopyAvSnapshotCommand"), a real
/// category (never NotSpecified), the snapshot id as target and a recommended action.</summary>
internal static class ErrorRecordFactory
{
    /// <summary>A non-terminating error for one copy that failed, timed out or was refused.</summary>
    public static ErrorRecord FromEngineError(EngineError error, SnapshotCopyResult? result)
    {
        if (error is null) throw new ArgumentNullException(nameof(error));
        var target = TargetOf(error, result?.SnapshotId ?? result?.SourceSnapshotId);
        var exception = new SnapshotCopyException(MessageOf(error, target), error.Exception)
        {
            ErrorId = error.ErrorId,
            AwsErrorCode = error.AwsErrorCode,
            SourceSnapshotId = result?.SourceSnapshotId,
            SnapshotId = result?.SnapshotId,
            Region = result?.Region,
        };
        return Record(error, exception, target, "SnapshotCopyFailed");
    }

    /// <summary>A non-terminating error for one snapshot that failed, timed out or was refused (New-/Wait-AvSnapshot).</summary>
    public static ErrorRecord FromEngineError(EngineError error, SnapshotResult? result)
    {
        if (error is null) throw new ArgumentNullException(nameof(error));
        var target = TargetOf(error, result?.SnapshotId ?? result?.VolumeId ?? result?.InstanceId);
        var exception = new SnapshotException(MessageOf(error, target), error.Exception)
        {
            ErrorId = error.ErrorId,
            AwsErrorCode = error.AwsErrorCode,
            SnapshotId = result?.SnapshotId,
            VolumeId = result?.VolumeId,
            InstanceId = result?.InstanceId,
            Region = result?.Region,
        };
        return Record(error, exception, target, "SnapshotFailed");
    }

    private static string TargetOf(EngineError error, string? fallback) =>
        !string.IsNullOrEmpty(error.TargetId) ? error.TargetId : fallback ?? "";

    private static string MessageOf(EngineError error, string target) =>
        string.IsNullOrWhiteSpace(error.Message) ? $"{error.ErrorId}: {target}" : error.Message;

    private static ErrorRecord Record(EngineError error, Exception exception, string target, string fallbackId)
    {
        var record = new ErrorRecord(exception, StableId(error.ErrorId, fallbackId), MapCategory(error.Category), target)
        {
            ErrorDetails = new ErrorDetails(exception.Message),
        };
        if (!string.IsNullOrWhiteSpace(error.RecommendedAction))
        {
            record.ErrorDetails.RecommendedAction = error.RecommendedAction;
        }
        return record;
    }

    /// <summary>The engine's categories carry PowerShell's names; anything unknown becomes InvalidOperation (never NotSpecified).</summary>
    public static ErrorCategory MapCategory(EngineErrorCategory category) =>
        Enum.TryParse<ErrorCategory>(category.ToString(), ignoreCase: false, out var mapped) && mapped != ErrorCategory.NotSpecified
            ? mapped
            : ErrorCategory.InvalidOperation;

    /// <summary>The AWS context cannot be resolved (no region, no credentials, a bad profile): a terminating error whose
    /// id, category, target and recommended action come from the engine's resolution.</summary>
    public static ErrorRecord FromContextError(AwsContextException e) =>
        new(e, e.ErrorId, MapCategory(e.Category), e.Target)
        {
            ErrorDetails = new ErrorDetails(e.Message) { RecommendedAction = e.RecommendedAction },
        };

    /// <summary>A terminating error for a parameter value or combination that can never work (raised before any call).</summary>
    public static ErrorRecord InvalidParameter(string errorId, string parameterName, object? value, string message, string? recommendedAction = null)
    {
        var record = new ErrorRecord(new PSArgumentException(message, parameterName), errorId, ErrorCategory.InvalidArgument, value)
        {
            ErrorDetails = new ErrorDetails(message),
        };
        if (recommendedAction is not null)
        {
            record.ErrorDetails.RecommendedAction = recommendedAction;
        }
        return record;
    }

    private static string StableId(string? id, string fallback) =>
        string.IsNullOrWhiteSpace(id) || id!.IndexOfAny(new[] { ',', ' ' }) >= 0 ? fallback : id;
}
