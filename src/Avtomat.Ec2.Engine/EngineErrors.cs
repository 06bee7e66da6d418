using System;
using Avtomat.Ec2.Engine.Copy;
using Avtomat.Ec2.Engine.Internal;

namespace Avtomat.Ec2.Engine;

/// <summary>Factory for the engine's errors: stable ids (no data in them), a real category, the snapshot as target and
/// a recommended action. EC2's code is kept in <see cref="EngineError.AwsErrorCode"/>.</summary>
public static class EngineErrors
{
    public static EngineError SnapshotNotFound(string snapshotId, string region, string? awsCode = null) =>
        new("SnapshotNotFound", EngineErrorCategory.ObjectNotFound,
            $"The snapshot '{snapshotId}' does not exist in {region} or is not visible to this account.", snapshotId)
        {
            AwsErrorCode = awsCode,
            RecommendedAction = "Check the snapshot id and -SourceRegion, and that the snapshot is owned by or shared with this account.",
        };

    public static EngineError SourceSnapshotFailed(string snapshotId, string region, string? statusMessage) =>
        new("SourceSnapshotFailed", EngineErrorCategory.InvalidOperation,
            $"The source snapshot '{snapshotId}' in {region} is in the error state" +
            (string.IsNullOrEmpty(statusMessage) ? "." : $": {statusMessage}"), snapshotId)
        {
            RecommendedAction = "Create a new snapshot of the volume and copy that one.",
        };

    public static EngineError SourceOnOutpost(string snapshotId, string outpostArn) =>
        new("SourceOnOutpost", EngineErrorCategory.InvalidOperation,
            $"The snapshot '{snapshotId}' is stored on the Outpost {outpostArn}; snapshots on an Outpost cannot be copied.", snapshotId)
        {
            AwsErrorCode = null,
            RecommendedAction = "Copy a snapshot that is stored in the region instead.",
        };

    public static EngineError SnapshotCopyFailed(string copyId, string region, string? statusMessage) =>
        new("SnapshotCopyFailed", EngineErrorCategory.InvalidResult,
            $"The copy '{copyId}' in {region} ended in the error state" +
            (string.IsNullOrEmpty(statusMessage) ? "." : $": {statusMessage}"), copyId)
        {
            RecommendedAction = statusMessage is not null && statusMessage.IndexOf("key", StringComparison.OrdinalIgnoreCase) >= 0
                ? "Check that the KMS keys of the source and of the copy exist and grant kms:Decrypt, kms:ReEncrypt*, kms:CreateGrant, kms:GenerateDataKey* and kms:DescribeKey."
                : "Delete the failed copy and copy the snapshot again.",
        };

    public static EngineError CopyNotVisible(string copyId, string region, TimeSpan grace) =>
        new("CopyNotVisible", EngineErrorCategory.InvalidResult,
            $"EC2 accepted the copy '{copyId}' in {region} but it was not visible to DescribeSnapshots within {grace.TotalSeconds:0} s.",
            copyId)
        {
            RecommendedAction = "Look the copy up later with Get-EC2Snapshot; raise the visibility grace period if this recurs.",
        };

    public static EngineError CopyTimedOut(string targetId, string? copyId, string region, TimeSpan timeout) =>
        new("CopyTimedOut", EngineErrorCategory.OperationTimeout,
            copyId is null
                ? $"The copy of '{targetId}' to {region} was not started within the timeout of {timeout.TotalSeconds:0} s."
                : $"The copy '{copyId}' in {region} did not complete within the timeout of {timeout.TotalSeconds:0} s; it keeps running in EC2.",
            copyId ?? targetId)
        {
            RecommendedAction = copyId is null
                ? "Run the copy again with a longer -Timeout."
                : $"Wait for '{copyId}' (e.g. Wait-AvSnapshot) or raise -Timeout.",
        };

    public static EngineError CopyStopped(string targetId, string? copyId, string region) =>
        new("CopyStopped", EngineErrorCategory.OperationStopped,
            copyId is null
                ? $"The copy of '{targetId}' to {region} was not started: the operation was stopped."
                : $"Stopped waiting for the copy '{copyId}' in {region}; it keeps running in EC2.",
            copyId ?? targetId);

    public static EngineError AccessDenied(string targetId, string region, string action, bool encrypting, string? awsCode, string detail) =>
        new("AccessDenied", EngineErrorCategory.PermissionDenied,
            $"Not authorized to call {action} in {region} for '{targetId}': {detail}", targetId)
        {
            AwsErrorCode = awsCode,
            RecommendedAction = $"Grant {action}" + (action is "ec2:CopySnapshot" or "ec2:CreateSnapshot" or "ec2:CreateSnapshots" ? " and ec2:CreateTags (for the tags set at creation)" : "") +
                                (encrypting ? ", plus kms:Decrypt, kms:ReEncrypt*, kms:CreateGrant, kms:GenerateDataKey* and kms:DescribeKey on the KMS keys involved" : "") +
                                $" in {region} to the caller.",
        };

    public static EngineError CopyRejected(string targetId, string region, Exception exception, bool encrypting)
    {
        var code = FailurePolicy.CodeOf(exception);
        var detail = FailurePolicy.Describe(exception);
        switch (code)
        {
            case "InvalidSnapshot.NotFound":
                return SnapshotNotFound(targetId, region, code);
            case "UnauthorizedOperation":
            case "AuthFailure":
            case "AccessDenied":
            case "AccessDeniedException":
            case "OptInRequired":
            case "InvalidClientTokenId":
            case "SignatureDoesNotMatch":
                return AccessDenied(targetId, region, "ec2:CopySnapshot", encrypting, code, detail);
        }
        var category = code is not null && (code.StartsWith("InvalidParameter", StringComparison.Ordinal)
                                            || code.StartsWith("MissingParameter", StringComparison.Ordinal)
                                            || code.StartsWith("InvalidKms", StringComparison.OrdinalIgnoreCase)
                                            || code == "InvalidRequest" || code == "InvalidOutpostArn")
            ? EngineErrorCategory.InvalidArgument
            : code is null && exception is not Amazon.Runtime.AmazonServiceException
                ? EngineErrorCategory.ConnectionError
                : EngineErrorCategory.InvalidOperation;
        return new EngineError("SnapshotCopyRejected", category, $"EC2 refused to copy '{targetId}' to {region}: {detail}", targetId)
        {
            AwsErrorCode = code,
            Exception = exception,
            RecommendedAction = category == EngineErrorCategory.InvalidArgument
                ? "Check the parameters of the copy (KMS key, Outpost ARN, Availability Zone, tags, description)."
                : "See the EC2 error code and message.",
        };
    }

    public static EngineError CopyOutcomeUnknown(string targetId, string region, string token, Exception exception) =>
        new("CopyOutcomeUnknown", EngineErrorCategory.ConnectionError,
            $"CopySnapshot of '{targetId}' to {region} kept failing without a definite answer ({FailurePolicy.Describe(exception)}), " +
            $"and no copy tagged {CopyTagNames.RequestToken}={token} was found.", targetId)
        {
            Exception = exception,
            RecommendedAction = $"Check connectivity to EC2 in {region}; look for snapshots tagged {CopyTagNames.RequestToken}={token} before copying again.",
        };

    public static EngineError Throttled(string targetId, string region, string action, Exception exception) =>
        new("RequestLimitExceeded", EngineErrorCategory.LimitsExceeded,
            $"{action} in {region} for '{targetId}' was throttled by EC2 on every retry.", targetId)
        {
            AwsErrorCode = FailurePolicy.CodeOf(exception),
            Exception = exception,
            RecommendedAction = "Run fewer concurrent EC2 calls in the account and region, or run again later.",
        };

    // ------------------------------------------------------------------ snapshot creation and waits

    public static EngineError VolumeNotFound(string volumeId, string region, string? awsCode = null) =>
        new("VolumeNotFound", EngineErrorCategory.ObjectNotFound,
            $"The volume '{volumeId}' does not exist in {region} or is not visible to this account.", volumeId)
        {
            AwsErrorCode = awsCode,
            RecommendedAction = "Check the volume id and -Region.",
        };

    public static EngineError InstanceNotFound(string instanceId, string region, string? awsCode = null) =>
        new("InstanceNotFound", EngineErrorCategory.ObjectNotFound,
            $"The instance '{instanceId}' does not exist in {region} or is not visible to this account.", instanceId)
        {
            AwsErrorCode = awsCode,
            RecommendedAction = "Check the instance id and -Region.",
        };

    public static EngineError InstanceHasNoVolumes(string instanceId, string region) =>
        new("InstanceHasNoVolumes", EngineErrorCategory.InvalidOperation,
            $"The instance '{instanceId}' in {region} has no EBS volumes to snapshot (with the boot volume excluded, if asked).", instanceId)
        {
            RecommendedAction = "Snapshot the instance without -ExcludeBootVolume, or check its block device mappings.",
        };

    /// <summary>A snapshot the module created ended in the error state (EC2's statusMessage kept).</summary>
    public static EngineError SnapshotCreationFailed(string snapshotId, string volumeId, string region, string? statusMessage) =>
        new("SnapshotCreationFailed", EngineErrorCategory.InvalidResult,
            $"The snapshot '{snapshotId}' of {volumeId} in {region} ended in the error state" +
            (string.IsNullOrEmpty(statusMessage) ? "." : $": {statusMessage}"), snapshotId)
        {
            RecommendedAction = $"Delete the failed snapshot (it counts against the volume's limit of pending snapshots) and snapshot {volumeId} again.",
        };

    /// <summary>A snapshot waited for (Wait-AvSnapshot) ended in the error state.</summary>
    public static EngineError SnapshotFailed(string snapshotId, string region, string? statusMessage) =>
        new("SnapshotFailed", EngineErrorCategory.InvalidResult,
            $"The snapshot '{snapshotId}' in {region} ended in the error state" +
            (string.IsNullOrEmpty(statusMessage) ? "." : $": {statusMessage}"), snapshotId)
        {
            RecommendedAction = statusMessage is not null && statusMessage.IndexOf("key", StringComparison.OrdinalIgnoreCase) >= 0
                ? "Check that the KMS key exists and grants kms:Decrypt, kms:ReEncrypt*, kms:CreateGrant, kms:GenerateDataKey* and kms:DescribeKey."
                : "Delete the failed snapshot and create or copy it again.",
        };

    public static EngineError WaitTimedOut(string snapshotId, string region, TimeSpan timeout) =>
        new("WaitTimedOut", EngineErrorCategory.OperationTimeout,
            $"The snapshot '{snapshotId}' in {region} did not complete within the timeout of {timeout.TotalSeconds:0} s; it keeps running in EC2.",
            snapshotId)
        {
            RecommendedAction = "Wait again (Wait-AvSnapshot) or raise -Timeout.",
        };

    public static EngineError WaitStopped(string snapshotId, string region) =>
        new("WaitStopped", EngineErrorCategory.OperationStopped,
            $"Stopped waiting for the snapshot '{snapshotId}' in {region}; it keeps running in EC2.", snapshotId);

    public static EngineError SnapshotNotVisible(string snapshotId, string region, TimeSpan grace) =>
        new("SnapshotNotVisible", EngineErrorCategory.InvalidResult,
            $"EC2 accepted the snapshot '{snapshotId}' in {region} but it was not visible to DescribeSnapshots within {grace.TotalSeconds:0} s.",
            snapshotId)
        {
            RecommendedAction = "Look the snapshot up later with Get-EC2Snapshot; raise the visibility grace period if this recurs.",
        };

    /// <summary>The job's timeout ran out (<paramref name="snapshotId"/> null: before EC2 accepted the snapshot).</summary>
    public static EngineError CreateTimedOut(string targetId, string? snapshotId, string region, TimeSpan timeout) =>
        new("CreateTimedOut", EngineErrorCategory.OperationTimeout,
            snapshotId is null
                ? $"The snapshot of '{targetId}' in {region} was not started within the timeout of {timeout.TotalSeconds:0} s."
                : $"The snapshot '{snapshotId}' of '{targetId}' in {region} did not complete within the timeout of {timeout.TotalSeconds:0} s; it keeps running in EC2.",
            snapshotId ?? targetId)
        {
            RecommendedAction = snapshotId is null ? "Run again with a longer -Timeout." : $"Wait for '{snapshotId}' (e.g. Wait-AvSnapshot) or raise -Timeout.",
        };

    public static EngineError CreateStopped(string targetId, string? snapshotId, string region) =>
        new("CreateStopped", EngineErrorCategory.OperationStopped,
            snapshotId is null
                ? $"The snapshot of '{targetId}' in {region} was not started: the operation was stopped."
                : $"Stopped waiting for the snapshot '{snapshotId}' of '{targetId}' in {region}; it keeps running in EC2.",
            snapshotId ?? targetId);

    /// <summary>EC2 refused CreateSnapshot / CreateSnapshots (target: the volume or instance id).</summary>
    public static EngineError CreateRejected(string targetId, string region, string action, Exception exception)
    {
        var code = FailurePolicy.CodeOf(exception);
        var detail = FailurePolicy.Describe(exception);
        switch (code)
        {
            case "InvalidVolume.NotFound":
            case "InvalidVolumeID.NotFound":
                return VolumeNotFound(targetId, region, code);
            case "InvalidInstanceID.NotFound":
            case "InvalidInstanceId.NotFound":
                return InstanceNotFound(targetId, region, code);
            case "UnauthorizedOperation":
            case "AuthFailure":
            case "AccessDenied":
            case "AccessDeniedException":
            case "OptInRequired":
            case "InvalidClientTokenId":
            case "SignatureDoesNotMatch":
                return AccessDenied(targetId, region, action, false, code, detail);
        }
        var category = code is not null && (code.StartsWith("InvalidParameter", StringComparison.Ordinal)
                                            || code.StartsWith("MissingParameter", StringComparison.Ordinal)
                                            || code == "InvalidRequest" || code == "InvalidOutpostArn")
            ? EngineErrorCategory.InvalidArgument
            : code is "IncorrectState" or "InvalidVolume.ZoneMismatch"
                ? EngineErrorCategory.InvalidOperation
                : code is null && exception is not Amazon.Runtime.AmazonServiceException
                    ? EngineErrorCategory.ConnectionError
                    : EngineErrorCategory.InvalidOperation;
        return new EngineError("SnapshotCreateRejected", category, $"EC2 refused to snapshot '{targetId}' in {region}: {detail}", targetId)
        {
            AwsErrorCode = code,
            Exception = exception,
            RecommendedAction = category == EngineErrorCategory.InvalidArgument
                ? "Check the parameters (Outpost ARN, location, tags, description)."
                : "See the EC2 error code and message.",
        };
    }

    public static EngineError CreateOutcomeUnknown(string targetId, string region, string action, string token, Exception exception) =>
        new("CreateOutcomeUnknown", EngineErrorCategory.ConnectionError,
            $"{action} of '{targetId}' in {region} kept failing without a definite answer ({FailurePolicy.Describe(exception)}), " +
            $"and no snapshot tagged {CopyTagNames.RequestToken}={token} was found.", targetId)
        {
            Exception = exception,
            RecommendedAction = $"Check connectivity to EC2 in {region}; look for snapshots tagged {CopyTagNames.RequestToken}={token} before trying again.",
        };

    /// <summary>A Describe call needed before copying or creating failed for good.</summary>
    public static EngineError DescribeFailed(string targetId, string region, string action, Exception exception)
    {
        var code = FailurePolicy.CodeOf(exception);
        if (code is "UnauthorizedOperation" or "AuthFailure" or "AccessDenied")
            return AccessDenied(targetId, region, "ec2:" + action, false, code, FailurePolicy.Describe(exception));
        if (FailurePolicy.IsThrottle(exception)) return Throttled(targetId, region, action, exception);
        return new EngineError(action + "Failed", EngineErrorCategory.InvalidOperation,
            $"{action} in {region} failed for '{targetId}': {FailurePolicy.Describe(exception)}", targetId)
        {
            AwsErrorCode = code,
            Exception = exception,
        };
    }

    /// <summary>Nothing more can succeed in <paramref name="region"/> with these credentials (see the failure policy):
    /// expired or invalid credentials, a Describe call not authorized, or a region not enabled for the account.</summary>
    public static EngineError AccountRegionFailed(string targetId, string region, string action, Exception exception)
    {
        var code = FailurePolicy.CodeOf(exception);
        var detail = FailurePolicy.Describe(exception);
        switch (FailurePolicy.AccountRegionFailureOf(code))
        {
            case AccountRegionFailure.CredentialsExpired:
                return new EngineError("CredentialsExpired", EngineErrorCategory.AuthenticationError,
                    $"The credentials expired: EC2 refused {action} in {region} ({detail}). Work in {region} was stopped; snapshots EC2 already accepted keep running.", targetId)
                {
                    AwsErrorCode = code,
                    Exception = exception,
                    RecommendedAction = "Use credentials that refresh themselves for long jobs (a profile with role_arn, SSO, an instance or container role) " +
                                        "or a session token that outlives the job; then run the same command again, or Wait-AvSnapshot for the snapshots already started. " +
                                        "If the machine's clock is wrong, correct it.",
                };
            case AccountRegionFailure.CredentialsInvalid:
                return new EngineError("CredentialsInvalid", EngineErrorCategory.AuthenticationError,
                    $"EC2 did not accept the credentials for {action} in {region} ({detail}).", targetId)
                {
                    AwsErrorCode = code,
                    Exception = exception,
                    RecommendedAction = "Check the access key, secret key and session token (or the profile) in use; a deleted or deactivated key fails like this.",
                };
            case AccountRegionFailure.RegionNotEnabled:
                return new EngineError("RegionNotEnabled", EngineErrorCategory.ResourceUnavailable,
                    $"The region {region} is not enabled for this account ({detail}).", targetId)
                {
                    AwsErrorCode = code,
                    Exception = exception,
                    RecommendedAction = $"Enable {region} for the account (AWS console: Account, AWS Regions), or choose another region.",
                };
            default:
                return AccessDenied(targetId, region, "ec2:" + action, false, code, detail);
        }
    }

    public static EngineError Unexpected(string targetId, Exception exception) =>
        new("UnexpectedEngineError", EngineErrorCategory.InvalidOperation,
            $"Unexpected error while processing '{targetId}': {exception.GetType().Name}: {exception.Message}", targetId)
        {
            Exception = exception,
        };
}
