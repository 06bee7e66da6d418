using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Amazon.EC2;
using Amazon.EC2.Model;
using Avtomat.Ec2.Engine.Internal;
using Avtomat.Ec2.Engine.Waiting;

namespace Avtomat.Ec2.Engine.Copy;

/// <summary>
/// Takes one copy from source check to final state: builds the CopySnapshot call, waits for a slot (job window, then
/// the process-wide window of the account and destination), starts the copy through the tokened start (never a second
/// one), and waits for it to finish.
/// </summary>
internal sealed class CopyWorker
{
    /// <summary>EC2's limit of tags per snapshot.</summary>
    private const int MaxTags = 50;

    private readonly CopyJob _job;
    private readonly TokenedStart _start;

    public CopyWorker(CopyJob job)
    {
        _job = job;
        _start = new TokenedStart(job);
    }


    public async Task RunAsync(CopyItem item)
    {
        var request = item.Copy;
        var destination = request.DestinationRegion;
        var stop = item.Stop;
        CopySlot? jobSlot = null;
        CopyStart? start = null;
        try
        {
            var check = await _job.Sources.CheckAsync(request.SourceRegion, request.SourceSnapshotId).ConfigureAwait(false);
            if (check.Error is not null)
            {
                _job.Finish(item, SnapshotState.Failed, check.Error);
                return;
            }
            var sourceEncrypted = check.Snapshot!.Encrypted == true;
            var lookedUpAt = _job.Time.GetUtcNow();
            var earlier = _job.Force ? null : await _job.Earlier.FindAsync(request, sourceEncrypted).ConfigureAwait(false);
            if (earlier is not null)
            {
                // The earlier run's request may have left a twin EC2 does not list yet: the final sweep looks for it by
                // that request's token.
                item.Token = TokenOf(earlier) ?? item.Token;
                _job.MayHaveHiddenTwins();
            }
            if (earlier?.State?.Value == "completed")
            {
                Reuse(item, earlier);
                return;
            }
            var copyRequest = BuildRequest(item, check.Snapshot!);
            // The windows start the longest expected copies first, so no long copy is left to run alone at the end.
            var durations = _job.Shared(destination).CopyDurations;
            var volumeId = check.Snapshot!.VolumeId;
            var sizeGiB = check.Snapshot.VolumeSize;
            // Re-encrypting with a new key makes a full copy even where the lineage has one.
            var incremental = durations.HasLineage(volumeId) && request.KmsKeyId is null && (sourceEncrypted || !request.Encrypted);
            var expected = durations.ExpectedSeconds(incremental ? volumeId : null, sizeGiB);
            jobSlot = await _job.JobWindow(destination).AcquireAsync(stop, priority: expected, order: item.InputOrder).ConfigureAwait(false);
            start = new CopyStart(_job, item, copyRequest, expected);
            if (_job.DryRun && earlier is not null)
            {
                _job.Finish(item, SnapshotState.DryRun, null, $"An earlier copy {earlier.SnapshotId} is still pending: it would be waited for, not copied again.");
                return;
            }
            if (_job.DryRun)
            {
                copyRequest.DryRun = true;
                var (error, notDryRun) = await _start.DryRunAsync(start, stop).ConfigureAwait(false);
                if (!string.IsNullOrEmpty(notDryRun)) _job.Accept(item, notDryRun!, null, adopted: false);
                if (error is not null) _job.Finish(item, SnapshotState.Failed, error);
                else _job.Finish(item, SnapshotState.DryRun, null, notDryRun is null ? "DryRunOperation: the copy would have succeeded." : null);
                return;
            }

            string copyId;
            if (earlier is not null)
            {
                // Still pending from a run that was stopped, or from another process: wait for that one (it holds a slot
                // of EC2's 20 like any copy in flight).
                await start.AdmitAsync(false, stop).ConfigureAwait(false);
                copyId = earlier.SnapshotId;
                lock (item.Gate)
                {
                    item.Apply(earlier);
                    item.Result.Reused = true;
                }
                _job.Accept(item, copyId, earlier.StartTime, adopted: false);
                _job.Verbose($"{request.SourceSnapshotId} ({request.SourceRegion}) → {copyId} ({destination}): an earlier run's copy is still pending, " +
                             $"started {Age(earlier)} ago; waiting for it instead of copying again (-Force copies anyway).", request);
            }
            else
            {
                var outcome = await _start.StartAsync(start, stop).ConfigureAwait(false);
                if (outcome.Error is not null)
                {
                    _job.Finish(item, SnapshotState.Failed, outcome.Error);
                    return;
                }
                copyId = outcome.Created!;
                _job.Accept(item, copyId, null, outcome.Adopted);
            }

            if (_job.NoWait)
            {
                // Reported now (State Pending); the slots stay held while the copy runs, so the window keeps applying
                // to the rest of this job. When the job ends the watch is cancelled and the slots are released.
                _job.Finish(item, SnapshotState.Pending, null);
                using var watch = CancellationTokenSource.CreateLinkedTokenSource(stop, _job.BackgroundToken);
                try
                {
                    await _job.WaitForFinalStateAsync(destination, copyId, s => _job.Observe(item, s), watch.Token, "copy").ConfigureAwait(false);
                    start.Finished();
                }
                catch (RegionFailedException ex) { _job.FailRegion(ex.Region, ex.Error); }
                catch (Exception) { /* ended, stopped, or not visible: the slot is released as abandoned below */ }
                return;
            }
            var final = await _job.WaitForFinalStateAsync(destination, copyId, s => _job.Observe(item, s), stop, "copy").ConfigureAwait(false);
            // Only where another run has been at work (its copies were found): then a twin of ours may not have been
            // visible when this run looked. Elsewhere results are not held back.
            if (earlier is null && !_job.Force && final.State?.Value == "completed" && _job.Earlier.SawEarlierCopies(destination)
                && await TwinAsync(item, sourceEncrypted, lookedUpAt, final, stop).ConfigureAwait(false) is { } kept)
                final = kept;
            start.Finished(); // refill the window the moment the copy is seen finished
            _job.Observe(item, final);
            if (final.State?.Value == "completed" && earlier is null && final.StartTime is { } began)
                durations.Completed(volumeId, sizeGiB, _job.Time.GetUtcNow().UtcDateTime - DateTime.SpecifyKind(began, DateTimeKind.Utc), incremental);
            if (final.State?.Value == "completed") _job.Finish(item, SnapshotState.Completed, null);
            else _job.Finish(item, SnapshotState.Failed, EngineErrors.SnapshotCopyFailed(copyId, destination, final.StateMessage), final.StateMessage);
        }
        catch (SnapshotNotVisibleException ex)
        {
            _job.Finish(item, SnapshotState.Failed, EngineErrors.CopyNotVisible(ex.SnapshotId, destination, _job.VisibilityGrace));
        }
        catch (RegionFailedException ex)
        {
            _job.FailRegion(ex.Region, ex.Error);
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            _job.FinishStopped(item);
        }
        catch (Exception ex)
        {
            // Never let a worker exception escape: it would take the PowerShell process down.
            _job.Finish(item, SnapshotState.Failed, EngineErrors.Unexpected(request.SourceSnapshotId, ex));
        }
        finally
        {
            start?.Abandon();
            jobSlot?.Release(SlotRelease.Unused);
        }
    }

    /// <summary>An earlier run (or another process) already copied the source here with the same encryption: report that
    /// copy (Completed, Reused) instead of copying again. A dry run says it would be reused.</summary>
    private void Reuse(CopyItem item, Snapshot copy)
    {
        var request = item.Copy;
        lock (item.Gate)
        {
            item.Apply(copy);
            item.Result.SnapshotId = copy.SnapshotId;
            item.Result.Reused = true;
            item.Result.Description = copy.Description;
            if (copy.StartTime is { } started) item.Result.StartTime = DateTime.SpecifyKind(started, DateTimeKind.Utc);
            item.Result.Tags = (copy.Tags ?? new List<Tag>()).Where(t => t.Key is not null).ToDictionary(t => t.Key, t => t.Value ?? "", StringComparer.Ordinal);
        }
        var text = $"{request.SourceSnapshotId} ({request.SourceRegion}) → {copy.SnapshotId} ({request.DestinationRegion}): reused, copied {Age(copy)} ago " +
                   "by an earlier run (-Force copies again).";
        if (_job.DryRun)
        {
            _job.Finish(item, SnapshotState.DryRun, null, $"Already copied to {copy.SnapshotId}: it would be reused, not copied again.");
            return;
        }
        _job.Verbose(text, request);
        _job.Finish(item, SnapshotState.Completed, null, endSeen: false);
    }

    /// <summary>Another run (stopped just before this one, or running beside it) may have copied the same source moments
    /// before this run looked, when its copy was not visible yet. Once the visibility grace since the lookup is over, look
    /// again: if such a twin started first, ours is the duplicate: delete it and report the twin (Reused). Returns the
    /// twin's final state, or null when ours stays.</summary>
    private async Task<Snapshot?> TwinAsync(CopyItem item, bool sourceEncrypted, DateTimeOffset lookedUpAt, Snapshot ours, CancellationToken stop)
    {
        var request = item.Copy;
        // New snapshots show up within seconds: look no earlier than that after the lookup (at most the grace).
        var wait = lookedUpAt + (_job.VisibilityGrace < CopyJob.TwinVisibility ? _job.VisibilityGrace : CopyJob.TwinVisibility) - _job.Time.GetUtcNow();
        if (wait > TimeSpan.Zero) await _job.Time.Delay(wait, stop).ConfigureAwait(false);
        var ourStart = ours.StartTime is { } s ? DateTime.SpecifyKind(s, DateTimeKind.Utc) : _job.Time.GetUtcNow().UtcDateTime;
        Snapshot? twin;
        List<Snapshot> made;
        try
        {
            (twin, made) = await _job.Earlier.EarlierTwinAsync(request, sourceEncrypted, ours.SnapshotId, item.Token, ourStart, lookedUpAt.UtcDateTime)
                .ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException && ex is not RegionFailedException)
        {
            _job.Verbose($"Could not look for another run's copy of {request.SourceSnapshotId} in {request.DestinationRegion} ({FailurePolicy.Describe(ex)}).", request);
            return null;
        }
        if (twin is null) return null;
        // Every copy this request made goes (KeepOne deletes all but the twin, and says so); the twin is reported.
        _job.Verbose($"{request.SourceSnapshotId} ({request.SourceRegion}) → {twin.SnapshotId} ({request.DestinationRegion}): another run copied it moments " +
                     $"before this one (not visible yet when this run looked); this run's copy {ours.SnapshotId} is deleted and {twin.SnapshotId} kept.", request);
        await _job.KeepOneAsync(request.DestinationRegion, twin.SnapshotId, made.Append(twin).ToList()).ConfigureAwait(false);
        item.Token = TokenOf(twin) ?? item.Token;
        lock (item.Gate)
        {
            item.Result.SnapshotId = twin.SnapshotId;
            item.Result.Reused = true;
            if (twin.StartTime is { } started) item.Result.StartTime = DateTime.SpecifyKind(started, DateTimeKind.Utc);
        }
        return twin.State?.Value == "completed"
            ? twin
            : await _job.WaitForFinalStateAsync(request.DestinationRegion, twin.SnapshotId, s => _job.Observe(item, s), stop, "copy").ConfigureAwait(false);
    }

    private static string? TokenOf(Snapshot snapshot) => snapshot.Tags?.FirstOrDefault(t => t.Key == CopyTagNames.RequestToken)?.Value;

    private string Age(Snapshot copy) =>
        copy.StartTime is { } started ? DurationText.Of(_job.Time.GetUtcNow().UtcDateTime - DateTime.SpecifyKind(started, DateTimeKind.Utc)) : "some time";

    private CopySnapshotRequest BuildRequest(CopyItem item, Snapshot source)
    {
        var r = item.Copy;
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
        tags[CopyTagNames.RequestToken] = item.Token;
        tags[CopyTagNames.Encryption] = EarlierCopies.EncryptionTag(r);
        if (tags.Count > MaxTags)
        {
            // EC2 allows 50 tags per snapshot. Ours and -Tag are needed (resume, duplicate removal, the user's own):
            // the source's copied tags give way, in key order, and the user is told which.
            var copied = tags.Keys.Where(k => !r.Tags.ContainsKey(k) && Array.IndexOf(CopyTagNames.All, k) < 0)
                .OrderBy(k => k, StringComparer.Ordinal).ToList();
            var dropped = copied.Skip(MaxTags - (tags.Count - copied.Count)).ToList();
            foreach (var key in dropped) tags.Remove(key);
            _job.Warn($"{r.SourceSnapshotId} has more tags than fit on its copy in {r.DestinationRegion} (EC2 allows {MaxTags} per snapshot, and the copy " +
                      $"needs {CopyTagNames.All.Length} of its own plus -Tag): {dropped.Count} of the source's tags were not copied: {string.Join(", ", dropped)}.", r);
        }

        var encrypt = r.Encrypted || r.KmsKeyId is not null;
        var sourceEncrypted = source.Encrypted == true;
        if (sourceEncrypted && !encrypt)
            _job.Verbose($"Source snapshot {r.SourceSnapshotId} is encrypted, so its copy in {r.DestinationRegion} will be encrypted too.", r);
        lock (item.Gate)
        {
            item.Result.Description = description;
            item.Result.Tags = new Dictionary<string, string>(tags, StringComparer.Ordinal);
            item.Result.Encrypted = encrypt || sourceEncrypted || r.DestinationOutpostArn is not null ? true : null;
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

    /// <summary>CopySnapshot as the tokened start sees it: admitted by a slot of the process-wide window of the account
    /// and destination, held from before the call until the copy is seen finished.</summary>
    private sealed class CopyStart : ISnapshotStart<string>
    {
        private static readonly TimeSpan LimitBaseDelay = TimeSpan.FromSeconds(2);
        private static readonly TimeSpan MaxLimitDelay = TimeSpan.FromSeconds(30);

        private readonly CopyJob _job;
        private readonly CopyItem _item;
        private readonly CopySnapshotRequest _request;
        private readonly CopyWindow _window;
        private readonly double _expectedSeconds;
        private CopySlot? _slot;

        public CopyStart(CopyJob job, CopyItem item, CopySnapshotRequest request, double expectedSeconds)
        {
            _job = job;
            _item = item;
            _request = request;
            _window = job.Shared(item.Region).CopyWindow;
            _expectedSeconds = expectedSeconds;
        }

        public string Action => "CopySnapshot";
        public string Region => _item.Region;
        public string SourceId => _item.Copy.SourceSnapshotId;
        public string Token => _item.Token;
        public object Request => _item.Copy;

        private bool Encrypting => _item.Copy.Encrypted || _item.Copy.KmsKeyId is not null;

        public async Task AdmitAsync(bool requeued, CancellationToken stop)
        {
            // A dry run makes nothing: only the job's own window applies to it.
            if (_slot is null && _request.DryRun != true) _slot = await _window.AcquireAsync(stop, atFront: requeued, priority: _expectedSeconds, order: _item.InputOrder).ConfigureAwait(false);
        }

        public void EndAttempt()
        {
        }

        public void Release() => ReleaseSlot(SlotRelease.Unused);

        /// <summary>The copy was seen finished: the slot is really free (and the window may grow).</summary>
        public void Finished() => ReleaseSlot(SlotRelease.CopyFinished);

        /// <summary>We stopped watching a copy that may still run.</summary>
        public void Abandon() => ReleaseSlot(SlotRelease.Abandoned);

        public async Task<string> CallAsync(CancellationToken cancellationToken)
        {
            var response = await _job.Clients.ForCopy(Region).CopySnapshotAsync(_request, cancellationToken).ConfigureAwait(false);
            // A dry run that EC2 did not treat as one may answer without an id; a real copy never does.
            if (string.IsNullOrEmpty(response.SnapshotId) && _request.DryRun != true)
                throw new InvalidOperationException("CopySnapshot answered without a snapshot id.");
            return response.SnapshotId!;
        }

        /// <summary>ResourceLimitExceeded: copies started elsewhere use part of EC2's limit. Shrink, re-queue, never drop.</summary>
        public async Task WaitForCapacityAsync(string? code, int hits, CancellationToken stop)
        {
            ReleaseSlot(SlotRelease.LimitExceeded);
            var delay = Backoff.Delay(hits, LimitBaseDelay, MaxLimitDelay);
            _job.Verbose($"EC2's limit of pending copies in {Region} was reached (copies started outside this process count too); " +
                         $"copy window there is now {_window.Window}; {SourceId} is re-queued and tried again in {delay.TotalSeconds:0.0} s.", Request);
            await _job.Time.Delay(delay, stop).ConfigureAwait(false);
        }

        public string Adopted(IReadOnlyList<Snapshot> kept) => kept[0].SnapshotId;

        public IEnumerable<string> SnapshotIds(string created) => new[] { created };

        public EngineError Rejected(Exception exception) => EngineErrors.CopyRejected(SourceId, Region, exception, Encrypting);


        public EngineError OutcomeUnknown(Exception exception) => EngineErrors.CopyOutcomeUnknown(SourceId, Region, Token, exception);

        private void ReleaseSlot(SlotRelease how) => Interlocked.Exchange(ref _slot, null)?.Release(how);
    }
}
