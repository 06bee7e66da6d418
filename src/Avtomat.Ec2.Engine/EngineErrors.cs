using System;
using Amazon.Runtime;
using Avtomat.Ec2.Engine.Context;
using Avtomat.Ec2.Engine.Copy;
using Avtomat.Ec2.Engine.Internal;

namespace Avtomat.Ec2.Engine;

/// <summary>Factory for the engine's errors: stable ids (no data in them), a real category, the snapshot as target and
/// a recommended action. EC2's code is kept in <see cref="EngineError.AwsErrorCode"/>. Copies, creations and waits
/// share one builder per kind of error; only their ids and wording differ.</summary>
public static class EngineErrors
{
    private const string KmsPermissions = "kms:Decrypt, kms:ReEncrypt*, kms:CreateGrant, kms:GenerateDataKey* and kms:DescribeKey";

    /// <summary>What a principal needs on a KMS key to copy a snapshot encrypted with it, as the EBS User Guide lists them
    /// ("Copy an Amazon EBS snapshot", https://docs.aws.amazon.com/ebs/latest/userguide/ebs-copy-snapshot.html, and
    /// "Share a KMS key", https://docs.aws.amazon.com/ebs/latest/userguide/share-kms-key.html).</summary>
    private const string CopyKeyPermissions =
        "kms:DescribeKey, kms:CreateGrant, kms:GenerateDataKey, kms:GenerateDataKeyWithoutPlaintext, kms:ReEncrypt* and kms:Decrypt";

    // ------------------------------------------------------------------ not found

    /// <summary>A snapshot DescribeSnapshots does not list (after the visibility grace). <paramref name="regionParameter"/>:
    /// the parameter that names the region where it was looked for (-SourceRegion for copies, -Region for waits).</summary>
    public static EngineError SnapshotNotFound(string snapshotId, string region, string? awsCode = null, string regionParameter = "-SourceRegion") =>
        NotFound("SnapshotNotFound", "snapshot", snapshotId, region, awsCode,
            regionParameter == "-SourceRegion"
                ? $"Check the snapshot id and {regionParameter}. A snapshot of another account is visible only once that account shares it with " +
                  "this one (createVolumePermission); or copy it with that account's credentials and -DestinationProfileName."
                : $"Check the snapshot id and {regionParameter}, and that the snapshot is owned by or shared with this account.");

    public static EngineError VolumeNotFound(string volumeId, string region, string? awsCode = null) =>
        NotFound("VolumeNotFound", "volume", volumeId, region, awsCode, "Check the volume id and -Region.");

    public static EngineError InstanceNotFound(string instanceId, string region, string? awsCode = null) =>
        NotFound("InstanceNotFound", "instance", instanceId, region, awsCode, "Check the instance id and -Region.");

    private static EngineError NotFound(string errorId, string noun, string id, string region, string? awsCode, string recommendedAction) =>
        new(errorId, EngineErrorCategory.ObjectNotFound, $"The {noun} '{id}' does not exist in {region} or is not visible to this account.", id)
        {
            AwsErrorCode = awsCode,
            RecommendedAction = recommendedAction,
        };

    // ------------------------------------------------------------------ sources and instances

    /// <summary>The account id in a KMS key ARN (arn:aws:kms:REGION:ACCOUNT:key/ID or alias/NAME), or null.</summary>
    public static string? AccountOfKeyArn(string key)
    {
        var parts = key.Split(':');
        return parts.Length >= 6 && parts[0] == "arn" && parts[2] == "kms" && parts[4].Length == 12 ? parts[4] : null;
    }

    /// <summary>A copy of a shared snapshot ended in error because this account may not use the source's KMS key.</summary>
    public static EngineError SourceKeyNotAccessible(string copyId, string region, string sourceId, string sourceRegion, string sourceKeyArn,
        string account, string? destinationKey, string? statusMessage) =>
        new("SourceKeyNotAccessible", EngineErrorCategory.PermissionDenied,
            WithStatus($"The copy '{copyId}' in {region} of '{sourceId}' ({sourceRegion}) ended in the error state", statusMessage).TrimEnd('.') +
            $". The source is encrypted with the KMS key {sourceKeyArn} of account {AccountOfKeyArn(sourceKeyArn)}, which account {account} may not use.", sourceId)
        {
            AwsErrorCode = null,
            RecommendedAction =
                $"In account {AccountOfKeyArn(sourceKeyArn)}, allow account {account} in the key policy of {sourceKeyArn}, and in account {account} allow the " +
                $"principal in IAM, to use {CopyKeyPermissions} on it (both are needed); the copy's own key " +
                $"({destinationKey ?? "the default EBS key of account " + account + " in " + region}) needs the same. Then delete {copyId} " +
                $"(Remove-EC2Snapshot -SnapshotId {copyId} -Region {region}) and copy again.",
        };

    /// <summary>A time-based copy asked for a completion duration EC2 cannot keep: a full copy gets at most 500 MiB/s
    /// (https://docs.aws.amazon.com/ebs/latest/userguide/time-based-copies.html).</summary>
    public static EngineError CompletionDurationTooShort(string sourceId, string region, int sizeGiB, int minutes, int shortest) =>
        new("CompletionDurationTooShort", EngineErrorCategory.InvalidArgument,
            $"A full copy of '{sourceId}' ({sizeGiB:N0} GiB) to {region} cannot complete within {minutes} minutes: EC2 gives one time-based copy at most " +
            $"500 MiB/s, so it needs at least {shortest} minutes.", sourceId)
        {
            RecommendedAction = $"Pass -CompletionDurationMinutes {shortest} or more (in steps of 15), or leave it out for a standard copy.",
        };

    /// <summary>EC2 refused to share a vault copy's source: it is encrypted with the AWS managed key (aws/ebs).</summary>
    public static EngineError SourceKeyNotShareable(string sourceId, string region, string sourceAccount, string destinationAccount, string ec2Message) =>
        new("SourceKeyNotShareable", EngineErrorCategory.InvalidOperation,
            $"'{sourceId}' in {region} cannot be shared with account {destinationAccount}: {ec2Message.TrimEnd('.')}. EC2 shares an encrypted snapshot " +
            "only when it is encrypted with a customer managed key.", sourceId)
        {
            AwsErrorCode = "OperationNotPermitted",
            RecommendedAction =
                $"Copy it first within account {sourceAccount} with a customer managed key that account {destinationAccount} may use " +
                $"(Copy-AvSnapshot -SnapshotId {sourceId} -SourceRegion {region} -DestinationRegion {region} -KmsKeyId <key ARN>), then copy that copy with " +
                "-DestinationProfileName or -DestinationCredential.",
        };

    /// <summary>Sharing a vault copy's source (or taking the permission back) failed.</summary>
    public static EngineError ShareFailed(string sourceId, string region, string destinationAccount, string action, Exception exception) =>
        new("ShareFailed", FailurePolicy.AccountRegionFailureOf(FailurePolicy.CodeOf(exception)) == AccountRegionFailure.AccessDenied ? EngineErrorCategory.PermissionDenied : EngineErrorCategory.InvalidOperation,
            $"{action} on '{sourceId}' in {region} (to share it with account {destinationAccount}) failed: {FailurePolicy.Describe(exception)}.", sourceId)
        {
            AwsErrorCode = (exception as AmazonServiceException)?.ErrorCode,
            RecommendedAction = "Allow the source account's principal ec2:DescribeSnapshotAttribute, ec2:ModifySnapshotAttribute, ec2:CreateTags and " +
                                "ec2:DeleteTags on its snapshots, then run the command again.",
        };

    public static EngineError SourceSnapshotFailed(string snapshotId, string region, string? statusMessage) =>
        new("SourceSnapshotFailed", EngineErrorCategory.InvalidOperation,
            WithStatus($"The source snapshot '{snapshotId}' in {region} is in the error state", statusMessage), snapshotId)
        {
            RecommendedAction = "Create a new snapshot of the volume and copy that one.",
        };

    public static EngineError SourceOnOutpost(string snapshotId, string outpostArn) =>
        new("SourceOnOutpost", EngineErrorCategory.InvalidOperation,
            $"The snapshot '{snapshotId}' is stored on the Outpost {outpostArn}; snapshots on an Outpost cannot be copied.", snapshotId)
        {
            RecommendedAction = "Copy a snapshot that is stored in the region instead.",
        };

    public static EngineError InstanceHasNoVolumes(string instanceId, string region) =>
        new("InstanceHasNoVolumes", EngineErrorCategory.InvalidOperation,
            $"The instance '{instanceId}' in {region} has no EBS volumes to snapshot (with the boot volume excluded, if asked).", instanceId)
        {
            RecommendedAction = "Snapshot the instance without -ExcludeBootVolume, or check its block device mappings.",
        };

    // ------------------------------------------------------------------ snapshots that ended in error or vanished

    public static EngineError SnapshotCopyFailed(string copyId, string region, string? statusMessage) =>
        EndedInError("SnapshotCopyFailed", $"The copy '{copyId}' in {region}", copyId, statusMessage,
            KmsAdvice(statusMessage, "Check that the KMS keys of the source and of the copy exist and grant " + KmsPermissions + ". ", "") +
            $"The failed copy stays in {region}: delete it (Remove-EC2Snapshot -SnapshotId {copyId} -Region {region}), then run the copy again " +
            "(a copy in the error state is never reused).");

    /// <summary>A snapshot the module created ended in the error state (EC2's statusMessage kept).</summary>
    public static EngineError SnapshotCreationFailed(string snapshotId, string volumeId, string region, string? statusMessage) =>
        EndedInError("SnapshotCreationFailed", $"The snapshot '{snapshotId}' of {volumeId} in {region}", snapshotId, statusMessage,
            $"Delete the failed snapshot (it counts against the volume's limit of pending snapshots) and snapshot {volumeId} again.");

    /// <summary>A snapshot waited for (Wait-AvSnapshot) ended in the error state.</summary>
    public static EngineError SnapshotFailed(string snapshotId, string region, string? statusMessage) =>
        EndedInError("SnapshotFailed", $"The snapshot '{snapshotId}' in {region}", snapshotId, statusMessage,
            KmsAdvice(statusMessage, "Check that the KMS key exists and grants " + KmsPermissions + ".",
                "Delete the failed snapshot and create or copy it again."));

    public static EngineError CopyNotVisible(string copyId, string region, TimeSpan grace) =>
        NotVisible("CopyNotVisible", "copy", copyId, region, grace);

    public static EngineError SnapshotNotVisible(string snapshotId, string region, TimeSpan grace) =>
        NotVisible("SnapshotNotVisible", "snapshot", snapshotId, region, grace);

    private static EngineError EndedInError(string errorId, string subject, string snapshotId, string? statusMessage, string recommendedAction) =>
        new(errorId, EngineErrorCategory.InvalidResult, WithStatus(subject + " ended in the error state", statusMessage), snapshotId)
        {
            RecommendedAction = recommendedAction,
        };

    private static EngineError NotVisible(string errorId, string noun, string snapshotId, string region, TimeSpan grace) =>
        new(errorId, EngineErrorCategory.InvalidResult,
            $"EC2 accepted the {noun} '{snapshotId}' in {region} but it was not visible to DescribeSnapshots within {grace.TotalSeconds:0} s.", snapshotId)
        {
            // (The visibility grace is not a parameter: the hint names only what a user can type.)
            RecommendedAction = $"Look the {noun} up later: Get-EC2Snapshot -SnapshotId {snapshotId} -Region {region}; if it is listed, Wait-AvSnapshot -SnapshotId {snapshotId} -Region {region} waits for it.",
        };

    private static string KmsAdvice(string? statusMessage, string kms, string otherwise) =>
        statusMessage is not null && statusMessage.IndexOf("key", StringComparison.OrdinalIgnoreCase) >= 0 ? kms : otherwise;

    private static string WithStatus(string text, string? statusMessage) =>
        text + (string.IsNullOrEmpty(statusMessage) ? "." : $": {statusMessage}");

    // ------------------------------------------------------------------ a source not found in time or gone; outcomes not known; codes not known

    /// <summary>The job's -Timeout ran out while a copy's source had never been listed by DescribeSnapshots (within its
    /// visibility grace): SnapshotNotFound, as after the grace, saying it was not visible in the time given.</summary>
    public static EngineError SnapshotNotFoundWithin(string snapshotId, string region, TimeSpan timeout, TimeSpan grace)
    {
        var notFound = SnapshotNotFound(snapshotId, region);
        return new EngineError(notFound.ErrorId, notFound.Category,
            $"The snapshot '{snapshotId}' was not visible in {region} within the {timeout.TotalSeconds:0} s given (-Timeout): it does not exist there, " +
            "or is not visible to this account.", snapshotId)
        {
            RecommendedAction = notFound.RecommendedAction +
                                $" If it was created or shared moments ago, run the same command again with a -Timeout longer than {grace.TotalSeconds:0} s " +
                                "(EC2 may take a few seconds to list a new snapshot).",
        };
    }

    /// <summary>CopySnapshot answered InvalidSnapshot.NotFound for a source that was listed when it was checked: it was
    /// deleted, or no longer shared with this account, since. Named in its own region (not the destination's).</summary>
    public static EngineError SourceGone(string sourceId, string sourceRegion, string region, string? awsCode) =>
        new("SnapshotNotFound", EngineErrorCategory.ObjectNotFound,
            $"The snapshot '{sourceId}' does not exist in {sourceRegion} or is not visible to this account: it was listed when it was checked, but EC2 " +
            $"refused to copy it to {region} ({awsCode}), so it was deleted, or is no longer shared with this account, since.", sourceId)
        {
            AwsErrorCode = awsCode,
            RecommendedAction = $"Look for it with Get-EC2Snapshot -SnapshotId {sourceId} -Region {sourceRegion}; if it was deleted, copy a newer snapshot of " +
                                "its volume; if it belongs to another account, ask that account to share it again.",
        };

    /// <summary>A snapshot EC2 had started (a copy or a new snapshot) that can no longer be followed, because the job's
    /// credentials or the endpoint failed in its region: it may still complete, so it is not called failed. The cause's
    /// id, category and code are kept (one error per account and region), with what to type to resume.</summary>
    public static EngineError OutcomeNotKnown(EngineError cause, string snapshotId, string sourceId, string region, bool copy) =>
        new(cause.ErrorId, cause.Category,
            (copy ? $"The copy '{snapshotId}' of '{sourceId}'" : $"The snapshot '{snapshotId}' of '{sourceId}'") +
            $" was started in {region} and may still complete, but its outcome is not known: {cause.Message}", snapshotId)
        {
            AwsErrorCode = cause.AwsErrorCode,
            Exception = cause.Exception,
            RecommendedAction = (cause.RecommendedAction is { Length: > 0 } action ? action + " " : "") +
                                (copy
                                    ? "Then run the same command again: it finds the copy by its avtomat: tags and waits for it instead of copying again."
                                    : $"Then wait for it: Wait-AvSnapshot -SnapshotId {snapshotId} -Region {region}."),
        };

    /// <summary>EC2 answered with an error code this module does not know (not in the failure policy's tables): EC2's
    /// code, message and request id, so it can be looked up or given to AWS Support. Client errors (HTTP 4xx) and server
    /// errors (5xx), as "Error codes for the Amazon EC2 API" divides them
    /// (https://docs.aws.amazon.com/AWSEC2/latest/APIReference/errors-overview.html). Null for an exception that is not
    /// EC2's answer, or a code the engine knows.</summary>
    public static EngineError? Ec2RequestFailed(string targetId, string region, string action, Exception exception)
    {
        if (exception is not AmazonServiceException service || FailurePolicy.CodeOf(exception) is not { } code || FailurePolicy.IsKnownCode(code)) return null;
        var status = (int)service.StatusCode;
        var server = status >= 500;
        var category = server ? EngineErrorCategory.ResourceUnavailable
            : code.StartsWith("Invalid", StringComparison.Ordinal) || code.StartsWith("Missing", StringComparison.Ordinal)
              || code.StartsWith("Malformed", StringComparison.Ordinal) || code.StartsWith("Unknown", StringComparison.Ordinal)
                ? EngineErrorCategory.InvalidArgument
                : EngineErrorCategory.InvalidOperation;
        var text = string.IsNullOrWhiteSpace(service.Message) ? "" : ": " + service.Message.Trim().TrimEnd('.');
        var request = string.IsNullOrEmpty(service.RequestId) ? "" : $", request id {service.RequestId}";
        var call = action.StartsWith("ec2:", StringComparison.Ordinal) ? action.Substring(4) : action;
        return new EngineError("Ec2RequestFailed", category,
            $"EC2 answered {call} in {region} for '{targetId}' with {code}{text} (HTTP {status}{request})" +
            (server ? "." : "; this module has no rule for that code."), targetId)
        {
            AwsErrorCode = code,
            Exception = exception,
            RecommendedAction = server
                ? "EC2 failed on its side: run the same command again later (it resumes what was started); if it goes on, give AWS Support the request id."
                : $"Look {code} up in the EC2 API's error codes (https://docs.aws.amazon.com/AWSEC2/latest/APIReference/errors-overview.html), correct " +
                  "what it names, then run the same command again (it resumes what was started).",
        };
    }

    // ------------------------------------------------------------------ timeouts and stops

    public static EngineError CopyTimedOut(string targetId, string? copyId, string region, TimeSpan timeout) =>
        TimedOut("CopyTimedOut", $"The copy of '{targetId}' to {region}", $"The copy '{copyId}' in {region}", targetId, copyId, timeout,
            "Run the copy again with a longer -Timeout.");

    /// <summary>The job's timeout ran out (<paramref name="snapshotId"/> null: before EC2 accepted the snapshot).</summary>
    public static EngineError CreateTimedOut(string targetId, string? snapshotId, string region, TimeSpan timeout) =>
        TimedOut("CreateTimedOut", $"The snapshot of '{targetId}' in {region}", $"The snapshot '{snapshotId}' of '{targetId}' in {region}", targetId,
            snapshotId, timeout, "Run again with a longer -Timeout.");

    /// <summary>The wait ran out. <paramref name="seen"/>: DescribeSnapshots listed it at least once; one never seen may not
    /// exist (or not in this region), so it is not said to keep running.</summary>
    public static EngineError WaitTimedOut(string snapshotId, string region, TimeSpan timeout, bool seen = true) =>
        new("WaitTimedOut", EngineErrorCategory.OperationTimeout,
            seen
                ? $"The snapshot '{snapshotId}' in {region} did not complete within the timeout of {timeout.TotalSeconds:0} s; it keeps running in EC2."
                : $"The snapshot '{snapshotId}' was not seen in {region} within the timeout of {timeout.TotalSeconds:0} s: it may not exist there.",
            snapshotId)
        {
            RecommendedAction = seen ? "Wait again (Wait-AvSnapshot) or raise -Timeout." : "Check the snapshot id and -Region.",
        };

    public static EngineError CopyStopped(string targetId, string? copyId, string region) =>
        Stopped("CopyStopped", $"The copy of '{targetId}' to {region}", $"the copy '{copyId}' in {region}", targetId, copyId);

    public static EngineError CreateStopped(string targetId, string? snapshotId, string region) =>
        Stopped("CreateStopped", $"The snapshot of '{targetId}' in {region}", $"the snapshot '{snapshotId}' of '{targetId}' in {region}", targetId, snapshotId);

    public static EngineError WaitStopped(string snapshotId, string region) =>
        Stopped("WaitStopped", "", $"the snapshot '{snapshotId}' in {region}", snapshotId, snapshotId);

    private static EngineError TimedOut(string errorId, string notStarted, string started, string targetId, string? snapshotId, TimeSpan timeout,
        string runAgain) =>
        new(errorId, EngineErrorCategory.OperationTimeout,
            snapshotId is null
                ? $"{notStarted} was not started within the timeout of {timeout.TotalSeconds:0} s."
                : $"{started} did not complete within the timeout of {timeout.TotalSeconds:0} s; it keeps running in EC2.",
            snapshotId ?? targetId)
        {
            RecommendedAction = snapshotId is null ? runAgain : $"Wait for '{snapshotId}' (e.g. Wait-AvSnapshot) or raise -Timeout.",
        };

    private static EngineError Stopped(string errorId, string notStarted, string started, string targetId, string? snapshotId) =>
        new(errorId, EngineErrorCategory.OperationStopped,
            snapshotId is null
                ? $"{notStarted} was not started: the operation was stopped."
                : $"Stopped waiting for {started}; it keeps running in EC2.",
            snapshotId ?? targetId);

    // ------------------------------------------------------------------ refusals

    public static EngineError AccessDenied(string targetId, string region, string action, bool encrypting, string? awsCode, string detail) =>
        new("AccessDenied", EngineErrorCategory.PermissionDenied,
            $"Not authorized to call {action} in {region} for '{targetId}': {detail}", targetId)
        {
            AwsErrorCode = awsCode,
            RecommendedAction = $"Grant {action}" + (action is "ec2:CopySnapshot" or "ec2:CreateSnapshot" or "ec2:CreateSnapshots" ? " and ec2:CreateTags (for the tags set at creation)" : "") +
                                (encrypting ? ", plus " + KmsPermissions + " on the KMS keys involved" : "") +
                                $" in {region} to the caller.",
        };

    public static EngineError CopyRejected(string targetId, string region, Exception exception, bool encrypting, string? sourceRegion = null) =>
        FailurePolicy.CodeOf(exception) is "InvalidSnapshot.NotFound" && sourceRegion is not null
            ? SourceGone(targetId, sourceRegion, region, "InvalidSnapshot.NotFound")
            : Rejected("SnapshotCopyRejected", $"EC2 refused to copy '{targetId}' to {region}", "ec2:CopySnapshot", targetId, region, exception, encrypting,
            "Check the parameters of the copy (KMS key, Outpost ARN, Availability Zone, tags, description).");

    /// <summary>EC2 refused CreateSnapshot / CreateSnapshots (target: the volume or instance id).</summary>
    public static EngineError CreateRejected(string targetId, string region, string action, Exception exception) =>
        Rejected("SnapshotCreateRejected", $"EC2 refused to snapshot '{targetId}' in {region}", action, targetId, region, exception, false,
            "Check the parameters (Outpost ARN, location, tags, description).");

    /// <summary>A call that creates snapshots was refused: not found, not authorized (for this resource), bad parameters
    /// or a state that does not allow it.</summary>
    private static EngineError Rejected(string errorId, string refused, string action, string targetId, string region, Exception exception,
        bool encrypting, string checkParameters)
    {
        var code = FailurePolicy.CodeOf(exception);
        var detail = FailurePolicy.Describe(exception);
        switch (code)
        {
            case "InvalidSnapshot.NotFound":
                return SnapshotNotFound(targetId, region, code);
            case "InvalidVolume.NotFound":
            case "InvalidVolumeID.NotFound":
                return VolumeNotFound(targetId, region, code);
            case "InvalidInstanceID.NotFound":
            case "InvalidInstanceId.NotFound":
                return InstanceNotFound(targetId, region, code);
        }
        if (FailurePolicy.AccountRegionFailureOf(code) != AccountRegionFailure.None) return AccessDenied(targetId, region, action, encrypting, code, detail);
        if (Ec2RequestFailed(targetId, region, action, exception) is { } unknown) return unknown;
        var category = code is not null && (code.StartsWith("InvalidParameter", StringComparison.Ordinal)
                                            || code.StartsWith("MissingParameter", StringComparison.Ordinal)
                                            || code.StartsWith("InvalidKms", StringComparison.OrdinalIgnoreCase)
                                            || code == "InvalidRequest" || code == "InvalidOutpostArn")
            ? EngineErrorCategory.InvalidArgument
            : code is null && exception is not Amazon.Runtime.AmazonServiceException
                ? EngineErrorCategory.ConnectionError
                : EngineErrorCategory.InvalidOperation;
        return new EngineError(errorId, category, $"{refused}: {detail}", targetId)
        {
            AwsErrorCode = code,
            Exception = exception,
            RecommendedAction = category == EngineErrorCategory.InvalidArgument ? checkParameters : "See the EC2 error code and message.",
        };
    }

    public static EngineError CopyOutcomeUnknown(string targetId, string region, string token, Exception exception) =>
        OutcomeUnknown("CopyOutcomeUnknown", $"CopySnapshot of '{targetId}' to {region}", "copy", "copying", region, token, targetId, exception);

    public static EngineError CreateOutcomeUnknown(string targetId, string region, string action, string token, Exception exception) =>
        OutcomeUnknown("CreateOutcomeUnknown", $"{action} of '{targetId}' in {region}", "snapshot", "trying", region, token, targetId, exception);

    private static EngineError OutcomeUnknown(string errorId, string call, string noun, string again, string region, string token, string targetId,
        Exception exception) =>
        new(errorId, EngineErrorCategory.ConnectionError,
            $"{call} kept failing without a definite answer ({FailurePolicy.Describe(exception)}), and no {noun} tagged {CopyTagNames.RequestToken}={token} was found.",
            targetId)
        {
            Exception = exception,
            RecommendedAction = $"Check connectivity to EC2 in {region}; look for snapshots tagged {CopyTagNames.RequestToken}={token} before {again} again.",
        };

    public static EngineError Throttled(string targetId, string region, string action, Exception exception) =>
        new("RequestLimitExceeded", EngineErrorCategory.LimitsExceeded,
            $"{action} in {region} for '{targetId}' was throttled by EC2 on every retry.", targetId)
        {
            AwsErrorCode = FailurePolicy.CodeOf(exception),
            Exception = exception,
            RecommendedAction = "Run fewer concurrent EC2 calls in the account and region, or run again later.",
        };

    /// <summary>No call to EC2 in <paramref name="region"/> got through: its host name does not resolve
    /// (<paramref name="hostNotFound"/>: certain at once), or no connection could be made for <paramref name="quiet"/>.</summary>
    public static EngineError EndpointUnreachable(string targetId, string region, string endpoint, bool hostNotFound, TimeSpan quiet, Exception exception)
    {
        var parsed = Uri.TryCreate(endpoint, UriKind.Absolute, out var uri);
        var shown = parsed ? uri!.GetLeftPart(UriPartial.Authority) : endpoint; // never user:password@
        // AWS's own endpoint for the region, or one the user gave (-EndpointUrl): a host name that does not resolve is
        // then the URL's, not a mistyped region's.
        var givenUrl = !string.Equals(endpoint.TrimEnd('/'), "https://" + Aws.Ec2ClientSource.EndpointHost(region), StringComparison.OrdinalIgnoreCase);
        var host = parsed ? uri!.Host : endpoint;
        return new EngineError("EndpointUnreachable", EngineErrorCategory.ConnectionError,
            hostNotFound
                ? givenUrl
                    ? $"The host name {host} of the EC2 endpoint given for {region} ({shown}, -EndpointUrl) does not resolve."
                    : $"The EC2 endpoint for {region} ({shown}) does not resolve: the region may be mistyped (e.g. us-east-9) or not enabled for the account."
                : $"No connection could be made to the EC2 endpoint for {region} ({shown}) for {DurationText.Of(quiet)} ({FailurePolicy.Describe(exception)}).",
            targetId)
        {
            Exception = exception,
            RecommendedAction = hostNotFound
                ? givenUrl
                    ? $"Check -EndpointUrl: the host name {host} must resolve from this machine (its spelling, DNS, a VPC endpoint's private DNS); then run the same command again (it resumes)."
                    : "Check the region name (Get-AWSRegion lists them) and that the region is enabled for the account."
                : givenUrl
                    ? "Check -EndpointUrl and the network path to it (proxy, firewall, VPC endpoint); then run the same command again (it resumes)."
                    : "Check the network path to EC2 (proxy, firewall) and the region; then run the same command again (it resumes).",
        };
    }

    /// <summary>A Describe call needed before copying or creating failed for good.</summary>
    public static EngineError DescribeFailed(string targetId, string region, string action, Exception exception)
    {
        var code = FailurePolicy.CodeOf(exception);
        if (FailurePolicy.AccountRegionFailureOf(code) != AccountRegionFailure.None) return AccountRegionFailed(targetId, region, action, exception);
        if (FailurePolicy.IsThrottle(exception)) return Throttled(targetId, region, action, exception);
        if (Ec2RequestFailed(targetId, region, action, exception) is { } unknown) return unknown;
        return new EngineError(action + "Failed", EngineErrorCategory.InvalidOperation,
            $"{action} in {region} failed for '{targetId}': {FailurePolicy.Describe(exception)}", targetId)
        {
            AwsErrorCode = code,
            Exception = exception,
        };
    }

    // ------------------------------------------------------------------ an account and region that failed for good

    /// <summary>Nothing more can succeed in <paramref name="region"/> with these credentials (see the failure policy):
    /// expired or invalid credentials, a Describe call not authorized, or a region not enabled for the account.</summary>
    public static EngineError AccountRegionFailed(string targetId, string region, string action, Exception exception)
    {
        if (FailurePolicy.CredentialSourceError(exception) is { } source) return CredentialSourceFailed(targetId, region, action, exception, source);
        var code = FailurePolicy.CodeOf(exception);
        var detail = FailurePolicy.Describe(exception);
        return FailurePolicy.AccountRegionFailureOf(code) switch
        {
            AccountRegionFailure.CredentialsExpired => new EngineError("CredentialsExpired", EngineErrorCategory.AuthenticationError,
                $"The credentials expired: EC2 refused {action} in {region} ({detail}). Work in {region} was stopped; snapshots EC2 already accepted keep running.", targetId)
            {
                AwsErrorCode = code,
                Exception = exception,
                RecommendedAction = "Use credentials that refresh themselves for long jobs (a profile with role_arn, SSO, an instance or container role) " +
                                    "or a session token that outlives the job; then run the same command again, or Wait-AvSnapshot for the snapshots already started. " +
                                    "If the machine's clock is wrong, correct it.",
            },
            AccountRegionFailure.CredentialsInvalid => new EngineError("CredentialsInvalid", EngineErrorCategory.AuthenticationError,
                $"EC2 did not accept the credentials for {action} in {region} ({detail}).", targetId)
            {
                AwsErrorCode = code,
                Exception = exception,
                RecommendedAction = "Check the access key, secret key and session token (or the profile) in use; a deleted or deactivated key fails like this.",
            },
            AccountRegionFailure.RegionNotEnabled => new EngineError("RegionNotEnabled", EngineErrorCategory.ResourceUnavailable,
                $"The region {region} is not enabled for this account ({detail}).", targetId)
            {
                AwsErrorCode = code,
                Exception = exception,
                RecommendedAction = $"Enable {region} for the account (AWS console: Account, AWS Regions), or choose another region.",
            },
            _ => AccessDenied(targetId, region, "ec2:" + action, false, code, detail),
        };
    }

    /// <summary>Refreshing credentials (an assumed role, web identity, SSO) could not be renewed for <paramref name="action"/>:
    /// STS or SSO refused. The SDK's wording names the role ("Error calling AssumeRole for role arn:…"); no secret is in it.</summary>
    private static EngineError CredentialSourceFailed(string targetId, string region, string action, Exception exception, AmazonServiceException source)
    {
        var code = source.ErrorCode;
        var outer = exception is AmazonServiceException ? "" : AwsContextResolver.FirstLine(exception.Message) + ": ";
        var detail = $"{outer}{FailurePolicy.Describe(source)}";
        var message = $"The credentials could not be renewed for {action} in {region} ({detail}). Work in {region} was stopped; snapshots EC2 already accepted keep running.";
        return FailurePolicy.AccountRegionFailureOf(code) switch
        {
            AccountRegionFailure.CredentialsExpired => new EngineError("CredentialsExpired", EngineErrorCategory.AuthenticationError, message, targetId)
            {
                AwsErrorCode = code,
                Exception = exception,
                RecommendedAction = "The credentials that call STS (the source profile, or the web identity token file) expired: renew them, then run the same command again.",
            },
            AccountRegionFailure.AccessDenied => new EngineError("AccessDenied", EngineErrorCategory.PermissionDenied, message, targetId)
            {
                AwsErrorCode = code,
                Exception = exception,
                RecommendedAction = "Allow the caller to assume the role (the role's trust policy and the caller's sts:AssumeRole permission), then run the same command again.",
            },
            _ => new EngineError("CredentialsInvalid", EngineErrorCategory.AuthenticationError, message, targetId)
            {
                AwsErrorCode = code,
                Exception = exception,
                RecommendedAction = "Check the profile's role_arn, source credentials, web identity token or SSO session, then run the same command again.",
            },
        };
    }

    public static EngineError Unexpected(string targetId, Exception exception) =>
        new("UnexpectedEngineError", EngineErrorCategory.InvalidOperation,
            $"Unexpected error while processing '{targetId}': {exception.GetType().Name}: {exception.Message}", targetId)
        {
            Exception = exception,
        };
}
