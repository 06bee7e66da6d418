using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Amazon.EC2;
using Amazon.EC2.Model;
using Avtomat.Ec2.Engine.Internal;
using Avtomat.Ec2.Engine.Waiting;

namespace Avtomat.Ec2.Engine.Copy;

/// <summary>
/// Takes one request from source check to final state: builds the CopySnapshot call, waits for a slot (job window,
/// then the process-wide window), starts the copy without ever creating a second one, and waits for it to finish.
/// </summary>
internal sealed class CopyWorker
{
    private static readonly TimeSpan ThrottleBaseDelay = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan LimitBaseDelay = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan MaxDelay = TimeSpan.FromSeconds(30);

    private readonly CopyJob _job;

    public CopyWorker(CopyJob job) => _job = job;

    private CopyJobOptions Options => _job.Options;
    private CancellationToken Stop => _job.StopToken;

    public async Task RunAsync(CopyOperation op)
    {
        var request = op.Request;
        var destination = request.DestinationRegion;
        CopySlot? jobSlot = null;
        CopySlot? slot = null;
        try
        {
            var check = await _job.Sources.CheckAsync(request.SourceRegion, request.SourceSnapshotId).ConfigureAwait(false);
            if (check.Error is not null)
            {
                _job.Finish(op, SnapshotCopyState.Failed, check.Error);
                return;
            }
            var copyRequest = BuildRequest(op, check.Snapshot!);

            jobSlot = await _job.JobWindow(destination).AcquireAsync(Stop).ConfigureAwait(false);
            if (Options.DryRun)
            {
                await DryRunAsync(op, copyRequest).ConfigureAwait(false);
                return;
            }

            var window = _job.Engine.GetWindow(_job.Clients.EndpointKey(destination), destination);
            var limitHits = 0;
            var requeued = false;
            while (true)
            {
                slot = await window.AcquireAsync(Stop, atFront: requeued).ConfigureAwait(false);
                var outcome = await StartCopyAsync(op, copyRequest).ConfigureAwait(false);
                if (outcome.Accepted) break;
                if (outcome.Error is not null)
                {
                    slot.Release(SlotRelease.Unused);
                    slot = null;
                    _job.Finish(op, SnapshotCopyState.Failed, outcome.Error);
                    return;
                }
                // ResourceLimitExceeded: copies started elsewhere use part of EC2's limit. Shrink, re-queue, never drop.
                slot.Release(SlotRelease.LimitExceeded);
                slot = null;
                _job.Counters.LimitExceeded();
                var delay = Backoff.Delay(limitHits++, LimitBaseDelay, MaxDelay);
                _job.Verbose($"EC2's limit of pending copies in {destination} was reached (copies started outside this process count too); " +
                             $"copy window there is now {window.Window}; {request.SourceSnapshotId} is re-queued and tried again in {delay.TotalSeconds:0.0} s.", request);
                await _job.Time.Delay(delay, Stop).ConfigureAwait(false);
                requeued = true;
            }

            var copyId = op.CopyId!;
            if (Options.NoWait)
            {
                // Reported now (State Pending); the slots stay held while the copy runs, so the window keeps applying
                // to the rest of this job. When the job ends the watch is cancelled and the slots are released.
                _job.Finish(op, SnapshotCopyState.Pending, null);
                using var watch = CancellationTokenSource.CreateLinkedTokenSource(Stop, _job.BackgroundToken);
                try
                {
                    await _job.WaitForFinalStateAsync(destination, copyId, s => _job.Observe(op, s), watch.Token).ConfigureAwait(false);
                    slot.Release(SlotRelease.CopyFinished);
                    slot = null;
                }
                catch (Exception) { /* ended, stopped, or not visible: the slot is released as abandoned below */ }
                return;
            }
            var final = await _job.WaitForFinalStateAsync(destination, copyId, s => _job.Observe(op, s), Stop).ConfigureAwait(false);
            slot.Release(SlotRelease.CopyFinished); // refill the window the moment the copy is seen finished
            slot = null;
            _job.Observe(op, final);
            if (final.State?.Value == "completed")
            {
                _job.Finish(op, SnapshotCopyState.Completed, null);
            }
            else
            {
                _job.Finish(op, SnapshotCopyState.Failed, EngineErrors.SnapshotCopyFailed(copyId, destination, final.StateMessage),
                    final.StateMessage);
            }
        }
        catch (SnapshotNotVisibleException ex)
        {
            _job.Finish(op, SnapshotCopyState.Failed, EngineErrors.CopyNotVisible(ex.SnapshotId, destination, Options.VisibilityGrace));
        }
        catch (OperationCanceledException) when (Stop.IsCancellationRequested)
        {
            _job.FinishStopped(op);
        }
        catch (Exception ex)
        {
            // Never let a worker exception escape: it would take the PowerShell process down.
            _job.Finish(op, SnapshotCopyState.Failed, EngineErrors.Unexpected(request.SourceSnapshotId, ex));
        }
        finally
        {
            slot?.Release(SlotRelease.Abandoned);
            jobSlot?.Release(SlotRelease.Unused);
        }
    }

    private CopySnapshotRequest BuildRequest(CopyOperation op, Snapshot source)
    {
        var r = op.Request;
        var description = DescriptionTemplate.Expand(r.DescriptionTemplate, r.SourceSnapshotId, r.SourceRegion, source.Description);
        var tags = new Dictionary<string, string>(StringComparer.Ordinal);
        if (r.CopyTags && source.Tags is not null)
        {
            foreach (var tag in source.Tags)
                if (tag.Key is not null && !tag.Key.StartsWith("aws:", StringComparison.OrdinalIgnoreCase)) tags[tag.Key] = tag.Value ?? "";
        }
        foreach (var pair in r.Tags) tags[pair.Key] = pair.Value ?? "";
        tags[CopyTagNames.SourceSnapshotId] = r.SourceSnapshotId;
        tags[CopyTagNames.SourceRegion] = r.SourceRegion;
        tags[CopyTagNames.RequestToken] = op.Token;

        var encrypt = r.Encrypted || r.KmsKeyId is not null;
        var sourceEncrypted = source.Encrypted == true;
        if (sourceEncrypted && !encrypt)
            _job.Verbose($"Source snapshot {r.SourceSnapshotId} is encrypted, so its copy in {r.DestinationRegion} will be encrypted too.", r);
        lock (op.Gate)
        {
            op.Result.Description = description;
            op.Result.Tags = new Dictionary<string, string>(tags, StringComparer.Ordinal);
            op.Result.Encrypted = encrypt || sourceEncrypted || r.DestinationOutpostArn is not null;
            op.SourceSizeGiB = source.VolumeSize;
        }

        var request = new CopySnapshotRequest
        {
            SourceRegion = r.SourceRegion,
            SourceSnapshotId = r.SourceSnapshotId,
            Description = description,
            TagSpecifications = new List<TagSpecification>
            {
                new()
                {
                    ResourceType = ResourceType.Snapshot,
                    Tags = tags.Select(t => new Tag { Key = t.Key, Value = t.Value }).ToList(),
                },
            },
        };
        if (encrypt)
        {
            request.Encrypted = true;
            request.KmsKeyId = r.KmsKeyId;
        }
        if (!string.IsNullOrEmpty(r.DestinationOutpostArn)) request.DestinationOutpostArn = r.DestinationOutpostArn;
        if (!string.IsNullOrEmpty(r.DestinationAvailabilityZone)) request.DestinationAvailabilityZone = r.DestinationAvailabilityZone;
        if (r.CompletionDurationMinutes is { } minutes) request.CompletionDurationMinutes = minutes;
        return request;
    }

    private bool Encrypting(CopyOperation op) => op.Request.Encrypted || op.Request.KmsKeyId is not null;

    /// <summary>One CopySnapshot until a definite answer. Throttling is retried (certainly not performed); an uncertain
    /// outcome (5xx, timeout, I/O) is resolved by looking the request token up before sending again.</summary>
    private async Task<StartOutcome> StartCopyAsync(CopyOperation op, CopySnapshotRequest copyRequest)
    {
        var destination = op.Request.DestinationRegion;
        var retries = 0;
        while (true)
        {
            Stop.ThrowIfCancellationRequested(); // never start a copy after a stop
            // A call already sent may finish after a stop (bounded) so that its copy id is reported, not lost.
            var callToken = _job.CopyCallToken;
            try
            {
                var response = await _job.Calls.OnceAsync("CopySnapshot", destination,
                    ct => _job.Clients.ForCopy(destination).CopySnapshotAsync(copyRequest, ct), callToken).ConfigureAwait(false);
                if (string.IsNullOrEmpty(response.SnapshotId))
                    throw new InvalidOperationException("CopySnapshot answered without a snapshot id.");
                _job.Accept(op, response.SnapshotId, adopted: false);
                if (op.HadUncertainOutcome)
                    await RemoveDuplicatesAsync(op, waitForStragglers: false).ConfigureAwait(false);
                return StartOutcome.Started;
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !callToken.IsCancellationRequested)
            {
                switch (Ec2Failure.Classify(ex))
                {
                    case FailureKind.CopyLimitExceeded:
                        return StartOutcome.LimitExceeded;
                    case FailureKind.Throttled:
                        _job.Counters.Throttled();
                        if (retries >= Options.MaxRetries)
                            return StartOutcome.Failed(EngineErrors.Throttled(op.Request.SourceSnapshotId, destination, "CopySnapshot", ex));
                        var delay = Backoff.Delay(retries++, ThrottleBaseDelay, MaxDelay);
                        _job.Counters.Retry();
                        _job.Verbose($"CopySnapshot of {op.Request.SourceSnapshotId} to {destination} was throttled ({Ec2Failure.CodeOf(ex)}); retrying in {delay.TotalSeconds:0.0} s.", op.Request);
                        await _job.Time.Delay(delay, Stop).ConfigureAwait(false);
                        continue;
                    case FailureKind.Uncertain:
                        _job.Counters.Uncertain();
                        op.HadUncertainOutcome = true;
                        _job.Verbose($"CopySnapshot of {op.Request.SourceSnapshotId} to {destination} got no definite answer ({Ec2Failure.Describe(ex)}); " +
                                     $"looking for a copy tagged {CopyTagNames.RequestToken}={op.Token} before trying again.", op.Request);
                        var adopted = await FindByTokenAsync(op, waitForVisibility: true).ConfigureAwait(false);
                        if (adopted is not null)
                        {
                            _job.Accept(op, adopted, adopted: true);
                            return StartOutcome.Started;
                        }
                        if (retries >= Options.MaxRetries)
                            return StartOutcome.Failed(EngineErrors.CopyOutcomeUnknown(op.Request.SourceSnapshotId, destination, op.Token, ex));
                        retries++;
                        _job.Counters.Retry();
                        _job.Verbose($"No copy of {op.Request.SourceSnapshotId} was created in {destination}; sending CopySnapshot again with the same request token.", op.Request);
                        continue;
                    default:
                        return StartOutcome.Failed(EngineErrors.CopyRejected(op.Request.SourceSnapshotId, destination, ex, Encrypting(op)));
                }
            }
            catch (OperationCanceledException)
            {
                // The call itself was cut off after a stop: its outcome is unknown. Say how to find the copy.
                _job.Warn($"Stopped while CopySnapshot of {op.Request.SourceSnapshotId} to {destination} was in flight; a copy may exist: " +
                          $"look for the tag {CopyTagNames.RequestToken}={op.Token}.", op.Request);
                throw;
            }
        }
    }

    private async Task DryRunAsync(CopyOperation op, CopySnapshotRequest copyRequest)
    {
        var destination = op.Request.DestinationRegion;
        copyRequest.DryRun = true;
        for (var retries = 0; ; retries++)
        {
            Stop.ThrowIfCancellationRequested();
            try
            {
                var response = await _job.Calls.OnceAsync("CopySnapshot", destination,
                    ct => _job.Clients.ForCopy(destination).CopySnapshotAsync(copyRequest, ct), Stop).ConfigureAwait(false);
                // EC2 always answers a dry run with DryRunOperation; a real answer would mean a copy was made.
                if (!string.IsNullOrEmpty(response.SnapshotId)) _job.Accept(op, response.SnapshotId, adopted: false);
                _job.Warn($"EC2 did not treat the CopySnapshot of {op.Request.SourceSnapshotId} as a dry run.", op.Request);
                _job.Finish(op, SnapshotCopyState.DryRun, null);
                return;
            }
            catch (Exception ex) when (!Stop.IsCancellationRequested)
            {
                var kind = Ec2Failure.Classify(ex);
                if (kind == FailureKind.DryRunSucceeded)
                {
                    _job.Verbose($"Dry run: copying {op.Request.SourceSnapshotId} from {op.Request.SourceRegion} to {destination} would succeed.", op.Request);
                    _job.Finish(op, SnapshotCopyState.DryRun, null, "DryRunOperation: the copy would have succeeded.");
                    return;
                }
                if ((kind == FailureKind.Throttled || kind == FailureKind.Uncertain) && retries < Options.MaxRetries)
                {
                    if (kind == FailureKind.Throttled) _job.Counters.Throttled();
                    _job.Counters.Retry();
                    await _job.Time.Delay(Backoff.Delay(retries, ThrottleBaseDelay, MaxDelay), Stop).ConfigureAwait(false);
                    continue;
                }
                var error = kind == FailureKind.Throttled
                    ? EngineErrors.Throttled(op.Request.SourceSnapshotId, destination, "CopySnapshot", ex)
                    : EngineErrors.CopyRejected(op.Request.SourceSnapshotId, destination, ex, Encrypting(op));
                _job.Finish(op, SnapshotCopyState.Failed, error);
                return;
            }
        }
    }

    /// <summary>Looks the request token up in the destination, within the visibility grace (a new copy can be invisible
    /// for a while). Keeps one copy when several share the token and deletes the others. Null when none was found.</summary>
    private async Task<string?> FindByTokenAsync(CopyOperation op, bool waitForVisibility)
    {
        var deadline = _job.Time.GetUtcNow() + (waitForVisibility ? Options.VisibilityGrace : TimeSpan.Zero);
        var interval = Options.PollInterval > TimeSpan.Zero ? Options.PollInterval : TimeSpan.FromSeconds(1);
        while (true)
        {
            var found = await _job.FindCopiesByTokenAsync(op.Request.DestinationRegion, new[] { op.Token }).ConfigureAwait(false);
            if (found is { Count: > 0 }) return await _job.KeepOneAsync(op, found).ConfigureAwait(false);
            var left = deadline - _job.Time.GetUtcNow();
            if (left <= TimeSpan.Zero) return null;
            await _job.Time.Delay(left < interval ? left : interval, Stop).ConfigureAwait(false);
        }
    }

    /// <summary>After an uncertain outcome followed by a successful retry, an earlier attempt may have created a copy too.</summary>
    private async Task RemoveDuplicatesAsync(CopyOperation op, bool waitForStragglers)
    {
        try
        {
            var found = await _job.FindCopiesByTokenAsync(op.Request.DestinationRegion, new[] { op.Token }).ConfigureAwait(false);
            if (found is { Count: > 1 }) await _job.KeepOneAsync(op, found).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            _job.Verbose($"Could not check for duplicate copies of {op.Request.SourceSnapshotId}: {Ec2Failure.Describe(ex)}; the final sweep checks again.", op.Request);
        }
    }

    private sealed class StartOutcome
    {
        public static readonly StartOutcome Started = new() { Accepted = true };
        public static readonly StartOutcome LimitExceeded = new();
        public static StartOutcome Failed(EngineError error) => new() { Error = error };
        public bool Accepted { get; private set; }
        public EngineError? Error { get; private set; }
    }
}
