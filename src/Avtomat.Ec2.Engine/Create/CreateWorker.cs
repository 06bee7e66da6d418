using System;
using System.Collections.Generic;
using System.Linq;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using Amazon.EC2;
using Amazon.EC2.Model;
using Avtomat.Ec2.Engine.Internal;
using Avtomat.Ec2.Engine.Waiting;

namespace Avtomat.Ec2.Engine.Create;

/// <summary>Takes one request from the volume (or instance) lookup to the final state of its snapshot(s).</summary>
internal sealed class CreateWorker
{
    private static readonly TimeSpan ThrottleBaseDelay = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan LimitBaseDelay = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan MaxDelay = TimeSpan.FromSeconds(60);

    private readonly CreateJob _job;
    private readonly HashSet<string> _refreshed = new(StringComparer.Ordinal);

    public CreateWorker(CreateJob job) => _job = job;

    private CreateJobOptions Options => _job.Options;
    private CancellationToken Stop => _job.StopToken;

    // ------------------------------------------------------------------ one volume (CreateSnapshot)

    public async Task RunVolumeAsync(CreateOperation op, SnapshotCreateRequest request)
    {
        var region = request.Region;
        try
        {
            VolumeInfo? info;
            try { info = await _job.DescribeVolumeAsync(region, request.VolumeId).ConfigureAwait(false); }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                _job.Finish(op, SnapshotCopyState.Failed, EngineErrors.DescribeFailed(request.VolumeId, region, "DescribeVolumes", ex));
                return;
            }
            if (info is null)
            {
                _job.Finish(op, SnapshotCopyState.Failed, EngineErrors.VolumeNotFound(request.VolumeId, region));
                return;
            }
            var gate = Prepare(region, info);
            if (info.IsRoot && info.InstanceRunning) _job.RootVolumeWarning(request.VolumeId, info.InstanceId!, request);

            var tags = new Dictionary<string, string>(StringComparer.Ordinal);
            if (request.CopyVolumeTags) AddVolumeTags(tags, info.Volume.Tags);
            foreach (var pair in request.Tags) tags[pair.Key] = pair.Value ?? "";
            tags[CreateTagNames.SourceVolumeId] = request.VolumeId;
            tags[CreateTagNames.RequestToken] = op.Token;
            var description = ExpandDescription(request.DescriptionTemplate ?? SnapshotCreateRequest.DefaultDescriptionTemplate,
                request.VolumeId, info.Name, info.InstanceId);
            lock (op.Gate)
            {
                op.Result.InstanceId = info.InstanceId;
                op.Result.DeviceName = info.Device;
                op.Result.VolumeSize = info.Volume.Size;
                op.Result.Encrypted = info.Volume.Encrypted == true;
                op.Result.KmsKeyId = info.Volume.KmsKeyId;
                op.Result.Description = description;
                op.Result.OutpostArn = request.OutpostArn;
                op.Result.Tags = new Dictionary<string, string>(tags, StringComparer.Ordinal);
            }
            var call = new CreateSnapshotRequest
            {
                VolumeId = request.VolumeId,
                Description = description,
                TagSpecifications = new List<TagSpecification> { new() { ResourceType = ResourceType.Snapshot, Tags = ToTags(tags) } },
            };
            if (!string.IsNullOrEmpty(request.OutpostArn)) call.OutpostArn = request.OutpostArn;
            if (!string.IsNullOrEmpty(request.Location)) call.Location = new SnapshotLocationEnum(request.Location);

            if (Options.DryRun)
            {
                call.DryRun = true;
                await DryRunAsync(new[] { op }, request.VolumeId, region, "CreateSnapshot",
                    ct => _job.Clients.ForCopy(region).CreateSnapshotAsync(call, ct)).ConfigureAwait(false);
                return;
            }

            var error = await StartAsync(region, request.VolumeId, "CreateSnapshot", new[] { gate }, op.Token, new[] { op },
                async ct =>
                {
                    var response = await _job.Clients.ForCopy(region).CreateSnapshotAsync(call, ct).ConfigureAwait(false);
                    var snapshot = response.Snapshot;
                    if (string.IsNullOrEmpty(snapshot?.SnapshotId)) throw new InvalidOperationException("CreateSnapshot answered without a snapshot id.");
                    return new List<(string, string, DateTime?)> { (request.VolumeId, snapshot!.SnapshotId, snapshot.StartTime) };
                }).ConfigureAwait(false);
            if (error is not null)
            {
                _job.Finish(op, SnapshotCopyState.Failed, error);
                return;
            }
            await WatchAsync(op, gate).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (Stop.IsCancellationRequested)
        {
            _job.FinishStopped(op);
        }
        catch (Exception ex)
        {
            _job.Finish(op, SnapshotCopyState.Failed, EngineErrors.Unexpected(op.TargetId, ex));
        }
    }

    // ------------------------------------------------------------------ an instance set (CreateSnapshots)

    public async Task RunInstanceAsync(CreateOperation first, InstanceSnapshotRequest request)
    {
        var region = request.Region;
        var ops = new List<CreateOperation> { first };
        try
        {
            Instance? instance;
            try { instance = await _job.DescribeInstanceAsync(region, request.InstanceId).ConfigureAwait(false); }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                _job.Finish(first, SnapshotCopyState.Failed, EngineErrors.DescribeFailed(request.InstanceId, region, "DescribeInstances", ex));
                return;
            }
            if (instance is null)
            {
                _job.Finish(first, SnapshotCopyState.Failed, EngineErrors.InstanceNotFound(request.InstanceId, region));
                return;
            }
            var mappings = (instance.BlockDeviceMappings ?? new List<InstanceBlockDeviceMapping>())
                .Where(m => !string.IsNullOrEmpty(m.Ebs?.VolumeId))
                .Where(m => !(request.ExcludeBootVolume && m.DeviceName == instance.RootDeviceName))
                .OrderBy(m => m.Ebs.VolumeId, StringComparer.Ordinal).ToList();
            if (mappings.Count == 0)
            {
                _job.Finish(first, SnapshotCopyState.Failed, EngineErrors.InstanceHasNoVolumes(request.InstanceId, region));
                return;
            }
            lock (first.Gate) first.Result.VolumeId = mappings[0].Ebs.VolumeId;
            for (var i = 1; i < mappings.Count; i++) ops.Add(_job.AddSetMember(first, mappings[i].Ebs.VolumeId));

            var infos = new Dictionary<string, VolumeInfo>(StringComparer.Ordinal);
            foreach (var m in mappings)
            {
                try
                {
                    if (await _job.DescribeVolumeAsync(region, m.Ebs.VolumeId).ConfigureAwait(false) is { } info) infos[m.Ebs.VolumeId] = info;
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    _job.Verbose($"DescribeVolumes for {m.Ebs.VolumeId} failed ({Ec2Failure.Describe(ex)}); its volume type and size are unknown.", request);
                }
            }
            var gates = new List<VolumeGate>();
            foreach (var m in mappings)
            {
                gates.Add(infos.TryGetValue(m.Ebs.VolumeId, out var info) ? Prepare(region, info) : _job.Engine.Volume(_job.Clients, region, m.Ebs.VolumeId));
            }

            var tags = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var pair in request.Tags) tags[pair.Key] = pair.Value ?? "";
            tags[CreateTagNames.SourceInstanceId] = request.InstanceId;
            tags[CreateTagNames.RequestToken] = first.Token;
            var description = ExpandDescription(request.DescriptionTemplate ?? InstanceSnapshotRequest.DefaultDescriptionTemplate, "", null, request.InstanceId);
            foreach (var (op, m) in ops.Zip(mappings, (o, m) => (o, m)))
            {
                infos.TryGetValue(m.Ebs.VolumeId, out var info);
                var opTags = new Dictionary<string, string>(StringComparer.Ordinal);
                if (request.CopyVolumeTags && info is not null) AddVolumeTags(opTags, info.Volume.Tags);
                foreach (var t in tags) opTags[t.Key] = t.Value;
                lock (op.Gate)
                {
                    op.Result.DeviceName = m.DeviceName;
                    op.Result.VolumeSize = info?.Volume.Size;
                    op.Result.Encrypted = info?.Volume.Encrypted == true;
                    op.Result.KmsKeyId = info?.Volume.KmsKeyId;
                    op.Result.Description = description;
                    op.Result.OutpostArn = request.OutpostArn;
                    op.Result.Tags = opTags;
                }
            }
            var call = new CreateSnapshotsRequest
            {
                InstanceSpecification = new InstanceSpecification { InstanceId = request.InstanceId, ExcludeBootVolume = request.ExcludeBootVolume },
                Description = description,
                TagSpecifications = new List<TagSpecification> { new() { ResourceType = ResourceType.Snapshot, Tags = ToTags(tags) } },
            };
            if (request.CopyVolumeTags) call.CopyTagsFromSource = CopyTagsFromSource.Volume;
            if (!string.IsNullOrEmpty(request.OutpostArn)) call.OutpostArn = request.OutpostArn;
            if (!string.IsNullOrEmpty(request.Location)) call.Location = new SnapshotLocationEnum(request.Location);

            if (Options.DryRun)
            {
                call.DryRun = true;
                await DryRunAsync(ops, request.InstanceId, region, "CreateSnapshots",
                    ct => _job.Clients.ForCopy(region).CreateSnapshotsAsync(call, ct)).ConfigureAwait(false);
                return;
            }

            var sorted = gates.Distinct().OrderBy(g => g.VolumeId, StringComparer.Ordinal).ToList();
            var error = await StartAsync(region, request.InstanceId, "CreateSnapshots", sorted, first.Token, ops,
                async ct =>
                {
                    var response = await _job.Clients.ForCopy(region).CreateSnapshotsAsync(call, ct).ConfigureAwait(false);
                    return (response.Snapshots ?? new List<SnapshotInfo>())
                        .Select(s => (s.VolumeId, s.SnapshotId, s.StartTime)).ToList();
                }).ConfigureAwait(false);
            if (error is not null)
            {
                foreach (var op in ops) _job.Finish(op, SnapshotCopyState.Failed, error);
                return;
            }
            var watches = ops.Where(o => !o.IsFinished).Select(o =>
                WatchAsync(o, gates.First(g => g.VolumeId == o.VolumeId))).ToList();
            await Task.WhenAll(watches).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (Stop.IsCancellationRequested)
        {
            foreach (var op in ops) _job.FinishStopped(op);
        }
        catch (Exception ex)
        {
            foreach (var op in ops) _job.Finish(op, SnapshotCopyState.Failed, EngineErrors.Unexpected(op.TargetId, ex));
        }
    }

    // ------------------------------------------------------------------ shared steps

    /// <summary>The volume's process-wide gate: its limit from the volume type, and (once per job) what EC2 says about
    /// its pending and errored snapshots. Pending snapshots started elsewhere are watched so their slots free up.</summary>
    private VolumeGate Prepare(string region, VolumeInfo info)
    {
        var volumeId = info.Volume.VolumeId;
        var gate = _job.Engine.Volume(_job.Clients, region, volumeId);
        gate.SetLimit(info.IsThroughputOptimized ? _job.Engine.MaxPendingPerThroughputVolume : _job.Engine.MaxPendingPerVolume);
        bool first;
        lock (_refreshed) first = _refreshed.Add(region + "|" + volumeId);
        if (first && !Options.DryRun) ApplyRefresh(region, gate, info.ActiveSnapshots);
        return gate;
    }

    private void ApplyRefresh(string region, VolumeGate gate, List<Snapshot> active)
    {
        var external = gate.Refresh(active, Options.VisibilityGrace);
        foreach (var id in external)
        {
            _job.Verbose($"Volume {gate.VolumeId} in {region} already has a pending snapshot {id} started elsewhere; it counts against the volume's limit of {gate.Limit}.");
            _ = WatchExternalAsync(region, gate, id);
        }
        if (gate.Errored > 0 && gate.Errored >= gate.Limit)
            _job.Warn($"Volume {gate.VolumeId} in {region} has {gate.Errored} snapshot(s) in the error state; EC2 counts them against its limit of " +
                      $"{gate.Limit} pending snapshots per volume, so no new snapshot can start until they are deleted. Waiting (delete them to go on).");
    }

    private async Task WatchExternalAsync(string region, VolumeGate gate, string snapshotId)
    {
        try
        {
            using var watch = CancellationTokenSource.CreateLinkedTokenSource(Stop, _job.BackgroundToken);
            var final = await _job.WaitForFinalStateAsync(region, snapshotId, null, watch.Token).ConfigureAwait(false);
            gate.Finished(snapshotId, final.State?.Value == "error");
        }
        catch (SnapshotNotVisibleException) { gate.Finished(snapshotId, false); }
        catch (Exception) { /* the job ended: a later refresh corrects the gate */ }
    }

    /// <summary>Queues on every gate (volume-id order, so sets never deadlock), waits out the per-volume spacing and the
    /// pace of the token bucket, then calls. Throttling: drain the bucket and retry. Uncertain: look the token up, adopt
    /// what was created, else call again. ConcurrentSnapshotLimitExceeded (snapshots started elsewhere): re-read the
    /// volume's snapshots and re-queue at the front after a delay, never drop. SnapshotCreationPerVolumeRateExceeded:
    /// wait the spacing again. Returns null once accepted (ops accepted), or the error.</summary>
    private async Task<EngineError?> StartAsync(string region, string targetId, string action, IReadOnlyList<VolumeGate> gates, string token,
        IReadOnlyList<CreateOperation> ops, Func<CancellationToken, Task<List<(string VolumeId, string SnapshotId, DateTime? StartTime)>>> call)
    {
        var pacer = _job.Engine.Pacer(_job.Clients, region, action);
        var tickets = new VolumeTicket?[gates.Count];
        var retries = 0;
        var limitHits = 0;
        var requeued = false;
        var request = ops[0].Request;
        try
        {
            while (true)
            {
                Stop.ThrowIfCancellationRequested();
                for (var i = 0; i < gates.Count; i++) tickets[i] ??= await gates[i].AcquireAsync(Stop, requeued).ConfigureAwait(false);
                var locked = 0;
                try
                {
                    for (; locked < gates.Count; locked++) await gates[locked].StartLock.WaitAsync(Stop).ConfigureAwait(false);
                    while (gates.Max(g => g.SpacingWait()) is var wait && wait > TimeSpan.Zero)
                        await _job.Time.Delay(wait, Stop).ConfigureAwait(false);
                    await pacer.WaitAsync(Stop).ConfigureAwait(false);
                    Stop.ThrowIfCancellationRequested();
                    List<(string VolumeId, string SnapshotId, DateTime? StartTime)> created;
                    try
                    {
                        // Never cancelled once sent: its snapshot id must not be lost (the client has its own HTTP timeout).
                        created = await _job.Calls.OnceAsync(action, region, _ => call(CancellationToken.None), CancellationToken.None).ConfigureAwait(false);
                    }
                    catch (Exception ex)
                    {
                        var code = Ec2Failure.CodeOf(ex);
                        switch (Ec2Failure.Classify(ex))
                        {
                            case FailureKind.Throttled:
                                pacer.Drain();
                                _job.Counters.Throttled();
                                if (retries >= Options.MaxRetries) return EngineErrors.Throttled(targetId, region, action, ex);
                                var delay = Backoff.Delay(retries++, ThrottleBaseDelay, MaxDelay);
                                _job.Counters.Retry();
                                _job.Verbose($"{action} of {targetId} in {region} was throttled ({code}); retrying in {delay.TotalSeconds:0.0} s.", request);
                                await _job.Time.Delay(delay, Stop).ConfigureAwait(false);
                                continue;
                            case FailureKind.Uncertain:
                                _job.Counters.Uncertain();
                                _job.Verbose($"{action} of {targetId} in {region} got no definite answer ({Ec2Failure.Describe(ex)}); " +
                                             $"looking for snapshots tagged {CreateTagNames.RequestToken}={token} before trying again.", request);
                                var adopted = await FindCreatedAsync(region, token).ConfigureAwait(false);
                                if (adopted.Count > 0)
                                {
                                    Accept(gates, tickets, ops, adopted, adoptedAfterLoss: true);
                                    return null;
                                }
                                if (retries >= Options.MaxRetries) return EngineErrors.CreateOutcomeUnknown(targetId, region, action, token, ex);
                                retries++;
                                _job.Counters.Retry();
                                continue;
                        }
                        if (code == "ConcurrentSnapshotLimitExceeded")
                        {
                            _job.Counters.LimitExceeded();
                            for (var i = 0; i < gates.Count; i++) { if (tickets[i] is { } t) gates[i].Release(t); tickets[i] = null; }
                            var delay = Backoff.Delay(limitHits++, LimitBaseDelay, MaxDelay);
                            _job.Verbose($"EC2's limit of pending snapshots per volume was reached for {targetId} in {region} (snapshots started elsewhere count too); " +
                                         $"re-queued, trying again in {delay.TotalSeconds:0.0} s.", request);
                            await _job.Time.Delay(delay, Stop).ConfigureAwait(false);
                            await RefreshFromEc2Async(region, gates).ConfigureAwait(false);
                            requeued = true;
                            continue;
                        }
                        if (code == "SnapshotCreationPerVolumeRateExceeded")
                        {
                            _job.Counters.LimitExceeded();
                            foreach (var g in gates) g.NoteStartedElsewhere();
                            _job.Verbose($"EC2 said a snapshot of {targetId} in {region} was started less than 15 s ago elsewhere; waiting before trying again.", request);
                            continue;
                        }
                        return EngineErrors.CreateRejected(targetId, region, "ec2:" + action, ex);
                    }
                    Accept(gates, tickets, ops, created, adoptedAfterLoss: false);
                    return null;
                }
                finally
                {
                    for (var i = 0; i < locked; i++) gates[i].StartLock.Release();
                }
            }
        }
        finally
        {
            for (var i = 0; i < gates.Count; i++) if (tickets[i] is { } t) gates[i].Release(t);
        }
    }

    private void Accept(IReadOnlyList<VolumeGate> gates, VolumeTicket?[] tickets, IReadOnlyList<CreateOperation> ops,
        List<(string VolumeId, string SnapshotId, DateTime? StartTime)> created, bool adoptedAfterLoss)
    {
        var first = ops[0];
        var byVolume = ops.Where(o => o.VolumeId is not null).ToDictionary(o => o.VolumeId!, StringComparer.Ordinal);
        foreach (var (volumeId, snapshotId, startTime) in created)
        {
            var index = -1;
            for (var i = 0; i < gates.Count; i++) if (gates[i].VolumeId == volumeId) index = i;
            if (index >= 0 && tickets[index] is { } ticket)
            {
                gates[index].Accepted(ticket, snapshotId);
                tickets[index] = null;
            }
            else if (index >= 0) gates[index].Accepted(new VolumeTicket(), snapshotId);
            if (!byVolume.TryGetValue(volumeId, out var op))
            {
                // EC2 snapshotted a volume the set did not know about (attached meanwhile): report it too.
                op = _job.AddSetMember(first, volumeId);
                byVolume[volumeId] = op;
                _ = WatchAsync(op, _job.Engine.Volume(_job.Clients, op.Region, volumeId));
            }
            _job.Accept(op, snapshotId, startTime, adoptedAfterLoss);
        }
        foreach (var op in byVolume.Values.Where(o => o.SnapshotId is null))
            _job.Finish(op, SnapshotCopyState.Failed, new EngineError("SnapshotNotInSet", EngineErrorCategory.InvalidResult,
                $"EC2 did not snapshot the volume '{op.VolumeId}' in the set of '{op.Result.InstanceId}' (detached meanwhile?).", op.VolumeId ?? op.TargetId));
    }

    /// <summary>After an uncertain outcome: the snapshots tagged with the token, within the visibility grace; one per
    /// volume (duplicates deleted).</summary>
    private async Task<List<(string VolumeId, string SnapshotId, DateTime? StartTime)>> FindCreatedAsync(string region, string token)
    {
        var deadline = _job.Time.GetUtcNow() + Options.VisibilityGrace;
        while (true)
        {
            var found = await _job.FindByTokenAsync(region, new[] { token }, CancellationToken.None).ConfigureAwait(false);
            if (found is { Count: > 0 })
            {
                var kept = new List<(string, string, DateTime?)>();
                foreach (var group in found.GroupBy(s => s.VolumeId ?? "", StringComparer.Ordinal))
                {
                    var keep = await _job.KeepOneAsync(region, null, group.ToList()).ConfigureAwait(false);
                    kept.Add((keep.VolumeId, keep.SnapshotId, keep.StartTime));
                }
                return kept;
            }
            var left = deadline - _job.Time.GetUtcNow();
            if (left <= TimeSpan.Zero) return new List<(string, string, DateTime?)>();
            await _job.Time.Delay(left < Options.PollInterval ? left : Options.PollInterval, Stop).ConfigureAwait(false);
        }
    }

    /// <summary>Re-reads the volumes' pending and errored snapshots (after ConcurrentSnapshotLimitExceeded).</summary>
    private async Task RefreshFromEc2Async(string region, IReadOnlyList<VolumeGate> gates)
    {
        try
        {
            var request = new DescribeSnapshotsRequest
            {
                OwnerIds = new List<string> { "self" },
                Filters = new List<Filter>
                {
                    new() { Name = "volume-id", Values = gates.Select(g => g.VolumeId).ToList() },
                    new() { Name = "status", Values = new List<string> { "pending", "error" } },
                },
            };
            var response = await _job.Calls.WithRetriesAsync("DescribeSnapshots", region,
                ct => _job.Clients.For(region).DescribeSnapshotsAsync(request, ct), Stop).ConfigureAwait(false);
            var snapshots = response.Snapshots ?? new List<Snapshot>();
            foreach (var gate in gates) ApplyRefresh(region, gate, snapshots.Where(s => s.VolumeId == gate.VolumeId).ToList());
        }
        catch (Exception ex) when (!Stop.IsCancellationRequested)
        {
            _job.Verbose($"Re-reading the pending snapshots of {string.Join(", ", gates.Select(g => g.VolumeId))} in {region} failed ({Ec2Failure.Describe(ex)}).");
        }
    }

    /// <summary>Waits for the snapshot on the shared poller and frees its volume slot when it is seen final. With
    /// NoWait the snapshot is reported (Pending) at once and watched in the background while the job lasts.</summary>
    private async Task WatchAsync(CreateOperation op, VolumeGate gate)
    {
        var id = op.SnapshotId!;
        if (Options.NoWait)
        {
            _job.Finish(op, SnapshotCopyState.Pending, null);
            try
            {
                using var watch = CancellationTokenSource.CreateLinkedTokenSource(Stop, _job.BackgroundToken);
                var final = await _job.WaitForFinalStateAsync(op.Region, id, s => _job.Observe(op, s), watch.Token).ConfigureAwait(false);
                gate.Finished(id, final.State?.Value == "error");
            }
            catch (SnapshotNotVisibleException) { gate.Finished(id, false); }
            catch (Exception) { /* the job ended; a later refresh from EC2 corrects the gate */ }
            return;
        }
        try
        {
            var final = await _job.WaitForFinalStateAsync(op.Region, id, s => _job.Observe(op, s), Stop).ConfigureAwait(false);
            var errored = final.State?.Value == "error";
            gate.Finished(id, errored);
            _job.Observe(op, final);
            if (!errored) _job.Finish(op, SnapshotCopyState.Completed, null);
            else _job.Finish(op, SnapshotCopyState.Failed, EngineErrors.SnapshotCreationFailed(id, op.VolumeId ?? "", op.Region, final.StateMessage), final.StateMessage);
        }
        catch (SnapshotNotVisibleException)
        {
            gate.Finished(id, false);
            _job.Finish(op, SnapshotCopyState.Failed, EngineErrors.SnapshotNotVisible(id, op.Region, Options.VisibilityGrace));
        }
        catch (OperationCanceledException) when (Stop.IsCancellationRequested)
        {
            _job.FinishStopped(op);
        }
    }

    private async Task DryRunAsync<T>(IReadOnlyList<CreateOperation> ops, string targetId, string region, string action, Func<CancellationToken, Task<T>> call)
    {
        var pacer = _job.Engine.Pacer(_job.Clients, region, action);
        for (var retries = 0; ; retries++)
        {
            Stop.ThrowIfCancellationRequested();
            await pacer.WaitAsync(Stop).ConfigureAwait(false);
            try
            {
                await _job.Calls.OnceAsync(action, region, call, Stop).ConfigureAwait(false);
                _job.Warn($"EC2 did not treat {action} of {targetId} as a dry run.", ops[0].Request);
                foreach (var op in ops) _job.Finish(op, SnapshotCopyState.DryRun, null);
                return;
            }
            catch (Exception ex) when (!Stop.IsCancellationRequested)
            {
                var kind = Ec2Failure.Classify(ex);
                if (kind == FailureKind.DryRunSucceeded)
                {
                    _job.Verbose($"Dry run: {action} of {targetId} in {region} would succeed.", ops[0].Request);
                    foreach (var op in ops) _job.Finish(op, SnapshotCopyState.DryRun, null, "DryRunOperation: the snapshot would have been created.");
                    return;
                }
                if ((kind == FailureKind.Throttled || kind == FailureKind.Uncertain) && retries < Options.MaxRetries)
                {
                    if (kind == FailureKind.Throttled) { _job.Counters.Throttled(); pacer.Drain(); }
                    _job.Counters.Retry();
                    await _job.Time.Delay(Backoff.Delay(retries, ThrottleBaseDelay, MaxDelay), Stop).ConfigureAwait(false);
                    continue;
                }
                var error = kind == FailureKind.Throttled
                    ? EngineErrors.Throttled(targetId, region, action, ex)
                    : EngineErrors.CreateRejected(targetId, region, "ec2:" + action, ex);
                foreach (var op in ops) _job.Finish(op, SnapshotCopyState.Failed, error);
                return;
            }
        }
    }

    private static void AddVolumeTags(Dictionary<string, string> tags, List<Tag>? volumeTags)
    {
        if (volumeTags is null) return;
        foreach (var tag in volumeTags)
            if (tag.Key is not null && !tag.Key.StartsWith("aws:", StringComparison.OrdinalIgnoreCase)) tags[tag.Key] = tag.Value ?? "";
    }

    private static List<Tag> ToTags(Dictionary<string, string> tags) => tags.Select(t => new Tag { Key = t.Key, Value = t.Value }).ToList();

    /// <summary>{VolumeId}, {VolumeName} (Name tag), {InstanceId}; an empty "()" left by a missing value is removed.</summary>
    internal static string ExpandDescription(string template, string volumeId, string? volumeName, string? instanceId)
    {
        var text = new StringBuilder(template)
            .Replace("{VolumeId}", volumeId)
            .Replace("{VolumeName}", volumeName ?? "")
            .Replace("{InstanceId}", instanceId ?? "")
            .ToString()
            .Replace(" ()", "").Replace("()", "").Trim();
        return text.Length <= Copy.DescriptionTemplate.MaxLength ? text : text.Substring(0, Copy.DescriptionTemplate.MaxLength);
    }
}
