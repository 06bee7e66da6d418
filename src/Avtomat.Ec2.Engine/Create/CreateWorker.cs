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

/// <summary>Takes one request from the volume (or instance) lookup to the final state of its snapshot(s): describes it,
/// prepares the process-wide per-volume rule keepers, starts the snapshot(s) through the tokened start and watches
/// them on the shared poller.</summary>
internal sealed class CreateWorker
{
    private readonly CreateJob _job;
    private readonly TokenedStart _start;
    private readonly HashSet<string> _refreshed = new(StringComparer.Ordinal);

    public CreateWorker(CreateJob job)
    {
        _job = job;
        _start = new TokenedStart(job);
    }

    private CancellationToken Stop => _job.StopToken;

    // ------------------------------------------------------------------ one volume (CreateSnapshot)

    public async Task RunVolumeAsync(CreateItem op, SnapshotCreateRequest request)
    {
        var region = request.Region;
        try
        {
            var info = await DescribeAsync(op, region, request.VolumeId, "DescribeVolumes", () => _job.DescribeVolumeAsync(region, request.VolumeId),
                () => EngineErrors.VolumeNotFound(request.VolumeId, region)).ConfigureAwait(false);
            if (info is null) return;
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

            var start = new CreateStart(this, "CreateSnapshot", region, request.VolumeId, op.Token, new[] { gate }, new[] { op }, _job.DryRun,
                async ct =>
                {
                    var response = await _job.Clients.ForCopy(region).CreateSnapshotAsync(call, ct).ConfigureAwait(false);
                    var snapshot = response.Snapshot;
                    if (string.IsNullOrEmpty(snapshot?.SnapshotId))
                    {
                        if (call.DryRun == true) return new List<CreatedSnapshot>();
                        throw new InvalidOperationException("CreateSnapshot answered without a snapshot id.");
                    }
                    return new List<CreatedSnapshot> { new(request.VolumeId, snapshot!.SnapshotId, snapshot.StartTime) };
                });
            if (await StartAsync(start, () => call.DryRun = true).ConfigureAwait(false)) await WatchAsync(op, gate).ConfigureAwait(false);
        }
        catch (RegionFailedException ex)
        {
            _job.FailRegion(ex.Region, ex.Error);
        }
        catch (OperationCanceledException) when (op.Stop.IsCancellationRequested)
        {
            _job.FinishStopped(op);
        }
        catch (Exception ex)
        {
            _job.Finish(op, SnapshotState.Failed, EngineErrors.Unexpected(op.TargetId, ex));
        }
    }

    // ------------------------------------------------------------------ an instance set (CreateSnapshots)

    public async Task RunInstanceAsync(CreateItem first, InstanceSnapshotRequest request)
    {
        var region = request.Region;
        var ops = new List<CreateItem> { first };
        try
        {
            var instance = await DescribeAsync(first, region, request.InstanceId, "DescribeInstances", () => _job.DescribeInstanceAsync(region, request.InstanceId),
                () => EngineErrors.InstanceNotFound(request.InstanceId, region)).ConfigureAwait(false);
            if (instance is null) return;
            var mappings = (instance.BlockDeviceMappings ?? new List<InstanceBlockDeviceMapping>())
                .Where(m => !string.IsNullOrEmpty(m.Ebs?.VolumeId))
                .Where(m => !(request.ExcludeBootVolume && m.DeviceName == instance.RootDeviceName))
                .OrderBy(m => m.Ebs.VolumeId, StringComparer.Ordinal).ToList();
            if (mappings.Count == 0)
            {
                _job.Finish(first, SnapshotState.Failed, EngineErrors.InstanceHasNoVolumes(request.InstanceId, region));
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
                    _job.Verbose($"DescribeVolumes for {m.Ebs.VolumeId} failed ({FailurePolicy.Describe(ex)}); its volume type and size are unknown.", request);
                }
            }
            var gates = new List<VolumeGate>();
            foreach (var m in mappings)
            {
                gates.Add(infos.TryGetValue(m.Ebs.VolumeId, out var info) ? Prepare(region, info) : _job.Shared(region).Volume(m.Ebs.VolumeId));
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

            var sorted = gates.Distinct().OrderBy(g => g.VolumeId, StringComparer.Ordinal).ToList();
            var start = new CreateStart(this, "CreateSnapshots", region, request.InstanceId, first.Token, sorted, ops, _job.DryRun,
                async ct =>
                {
                    var response = await _job.Clients.ForCopy(region).CreateSnapshotsAsync(call, ct).ConfigureAwait(false);
                    return (response.Snapshots ?? new List<SnapshotInfo>()).Select(s => new CreatedSnapshot(s.VolumeId, s.SnapshotId, s.StartTime)).ToList();
                });
            if (!await StartAsync(start, () => call.DryRun = true).ConfigureAwait(false)) return;
            var watches = ops.Where(o => !o.IsFinished).Select(o =>
                WatchAsync(o, gates.First(g => g.VolumeId == o.VolumeId))).ToList();
            await Task.WhenAll(watches).ConfigureAwait(false);
        }
        catch (RegionFailedException ex)
        {
            _job.FailRegion(ex.Region, ex.Error);
        }
        catch (OperationCanceledException) when (first.Stop.IsCancellationRequested)
        {
            foreach (var op in ops) _job.FinishStopped(op);
        }
        catch (Exception ex)
        {
            foreach (var op in ops) _job.Finish(op, SnapshotState.Failed, EngineErrors.Unexpected(op.TargetId, ex));
        }
    }

    // ------------------------------------------------------------------ shared steps

    /// <summary>Looks <paramref name="id"/> up in its batch. Null when the item ended: not found, or the lookup failed
    /// for good (the failure policy decides whether that ends the item or its whole account and region).</summary>
    private async Task<T?> DescribeAsync<T>(CreateItem item, string region, string id, string action, Func<Task<T?>> lookup, Func<EngineError> notFound)
        where T : class
    {
        T? found;
        try
        {
            found = await lookup().ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            if (!_job.TryFailRegion(ex, region, action, item)) _job.Finish(item, SnapshotState.Failed, EngineErrors.DescribeFailed(id, region, action, ex));
            return null;
        }
        if (found is null) _job.Finish(item, SnapshotState.Failed, notFound());
        return found;
    }

    /// <summary>The volume's process-wide gate: its limit from the volume type, and (once per job) what EC2 says about
    /// its pending and errored snapshots. Pending snapshots started elsewhere are watched so their slots free up.</summary>
    private VolumeGate Prepare(string region, VolumeInfo info)
    {
        var volumeId = info.Volume.VolumeId;
        var gate = _job.Shared(region).Volume(volumeId);
        gate.SetLimit(info.IsThroughputOptimized ? _job.Engine.MaxPendingPerThroughputVolume : _job.Engine.MaxPendingPerVolume);
        bool first;
        lock (_refreshed) first = _refreshed.Add(region + "|" + volumeId);
        if (first && !_job.DryRun) ApplyRefresh(region, gate, info.ActiveSnapshots);
        return gate;
    }

    private void ApplyRefresh(string region, VolumeGate gate, List<Snapshot> active)
    {
        var external = gate.Refresh(active, _job.VisibilityGrace);
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

    /// <summary>Re-reads the volumes' pending and errored snapshots (after ConcurrentSnapshotLimitExceeded).</summary>
    internal async Task RefreshFromEc2Async(string region, IReadOnlyList<VolumeGate> gates)
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
                ct => _job.Clients.For(region).DescribeSnapshotsAsync(request, ct), Stop, request).ConfigureAwait(false);
            var snapshots = response.Snapshots ?? new List<Snapshot>();
            foreach (var gate in gates) ApplyRefresh(region, gate, snapshots.Where(s => s.VolumeId == gate.VolumeId).ToList());
        }
        catch (Exception ex) when (!Stop.IsCancellationRequested)
        {
            _job.Verbose($"Re-reading the pending snapshots of {string.Join(", ", gates.Select(g => g.VolumeId))} in {region} failed ({FailurePolicy.Describe(ex)}).");
        }
    }

    /// <summary>Waits for the snapshot on the shared poller and frees its volume slot when it is seen final. With
    /// NoWait the snapshot is reported (Pending) at once and watched in the background while the job lasts.</summary>
    private async Task WatchAsync(CreateItem op, VolumeGate gate)
    {
        var id = op.SnapshotId!;
        if (_job.NoWait)
        {
            _job.Finish(op, SnapshotState.Pending, null);
            try
            {
                using var watch = CancellationTokenSource.CreateLinkedTokenSource(op.Stop, _job.BackgroundToken);
                var final = await _job.WaitForFinalStateAsync(op.Region, id, s => _job.Observe(op, s), watch.Token).ConfigureAwait(false);
                gate.Finished(id, final.State?.Value == "error");
            }
            catch (SnapshotNotVisibleException) { gate.Finished(id, false); }
            catch (RegionFailedException ex) { _job.FailRegion(ex.Region, ex.Error); }
            catch (Exception) { /* the job ended; a later refresh from EC2 corrects the gate */ }
            return;
        }
        try
        {
            var final = await _job.WaitForFinalStateAsync(op.Region, id, s => _job.Observe(op, s), op.Stop).ConfigureAwait(false);
            var errored = final.State?.Value == "error";
            gate.Finished(id, errored);
            _job.Observe(op, final);
            if (!errored) _job.Finish(op, SnapshotState.Completed, null);
            else _job.Finish(op, SnapshotState.Failed, EngineErrors.SnapshotCreationFailed(id, op.VolumeId ?? "", op.Region, final.StateMessage), final.StateMessage);
        }
        catch (SnapshotNotVisibleException)
        {
            gate.Finished(id, false);
            _job.Finish(op, SnapshotState.Failed, EngineErrors.SnapshotNotVisible(id, op.Region, _job.VisibilityGrace));
        }
        catch (RegionFailedException ex)
        {
            _job.FailRegion(ex.Region, ex.Error);
        }
        catch (OperationCanceledException) when (op.Stop.IsCancellationRequested)
        {
            _job.FinishStopped(op);
        }
    }

    /// <summary>Starts through the tokened start (or dry-runs) and takes what EC2 made: each snapshot is accepted (its
    /// volume slot becomes a pending snapshot) and volumes EC2 snapshotted that the set did not know about are reported
    /// too. True when there are snapshots to watch; false when every item finished (refused, or a dry run).</summary>
    private async Task<bool> StartAsync(CreateStart start, Action markDryRun)
    {
        try
        {
            if (!_job.DryRun) return await AcceptAsync(start).ConfigureAwait(false);
            markDryRun();
            await DryRunAsync(start).ConfigureAwait(false);
            return false;
        }
        finally
        {
            start.Release(); // whatever the start did not use
        }
    }

    private async Task<bool> AcceptAsync(CreateStart start)
    {
        var outcome = await _start.StartAsync(start, start.Items[0].Stop).ConfigureAwait(false);
        if (outcome.Error is not null)
        {
            foreach (var item in start.Items) _job.Finish(item, SnapshotState.Failed, outcome.Error);
            return false;
        }
        var byVolume = start.Items.Where(o => o.VolumeId is not null).ToDictionary(o => o.VolumeId!, StringComparer.Ordinal);
        foreach (var created in outcome.Created!)
        {
            start.Accepted(created);
            if (!byVolume.TryGetValue(created.VolumeId, out var item))
            {
                // EC2 snapshotted a volume the set did not know about (attached meanwhile): report it too.
                item = _job.AddSetMember(start.Items[0], created.VolumeId);
                byVolume[created.VolumeId] = item;
                _job.Run(() => WatchAsync(item, _job.Shared(item.Region).Volume(created.VolumeId)));
            }
            _job.Accept(item, created.SnapshotId, created.StartTime, outcome.Adopted);
        }
        foreach (var item in byVolume.Values.Where(o => o.SnapshotId is null))
            _job.Finish(item, SnapshotState.Failed, new EngineError("SnapshotNotInSet", EngineErrorCategory.InvalidResult,
                $"EC2 did not snapshot the volume '{item.VolumeId}' in the set of '{item.Result.InstanceId}' (detached meanwhile?).", item.VolumeId ?? item.SourceId));
        return true;
    }

    private async Task DryRunAsync(CreateStart start)
    {
        var (error, _) = await _start.DryRunAsync(start, start.Items[0].Stop).ConfigureAwait(false);
        foreach (var item in start.Items)
        {
            if (error is not null) _job.Finish(item, SnapshotState.Failed, error);
            else _job.Finish(item, SnapshotState.DryRun, null, "DryRunOperation: the snapshot would have been created.");
        }
    }

    /// <summary>One snapshot EC2 made (or that was found by its token).</summary>
    private sealed class CreatedSnapshot
    {
        public CreatedSnapshot(string volumeId, string snapshotId, DateTime? startTime)
        {
            VolumeId = volumeId;
            SnapshotId = snapshotId;
            StartTime = startTime;
        }

        public string VolumeId { get; }
        public string SnapshotId { get; }
        public DateTime? StartTime { get; }
    }

    /// <summary>
    /// CreateSnapshot or CreateSnapshots as the tokened start sees it. Admission queues on every volume's gate (volume-id
    /// order, so sets never deadlock), holds their start locks and waits out the per-volume spacing; the token bucket is
    /// then waited for in <see cref="Ec2Calls.OnceAsync{T}"/>, as for every call (and drained there after a throttle, so
    /// every caller slows down). ConcurrentSnapshotLimitExceeded (snapshots
    /// started elsewhere): the volume slots go back, the volumes' snapshots are re-read and the request re-queued at the
    /// front after a delay. SnapshotCreationPerVolumeRateExceeded: the spacing starts again.
    /// </summary>
    private sealed class CreateStart : ISnapshotStart<List<CreatedSnapshot>>
    {
        private static readonly TimeSpan LimitBaseDelay = TimeSpan.FromSeconds(5);
        private static readonly TimeSpan MaxLimitDelay = TimeSpan.FromSeconds(60);

        private readonly CreateJob _job;
        private readonly CreateWorker _worker;
        private readonly IReadOnlyList<VolumeGate> _gates;
        private readonly VolumeTicket?[] _tickets;
        private readonly bool _dryRun;
        private readonly Func<CancellationToken, Task<List<CreatedSnapshot>>> _call;
        private int _locked;

        public CreateStart(CreateWorker worker, string action, string region, string sourceId, string token, IReadOnlyList<VolumeGate> gates,
            IReadOnlyList<CreateItem> items, bool dryRun, Func<CancellationToken, Task<List<CreatedSnapshot>>> call)
        {
            _worker = worker;
            _job = worker._job;
            Action = action;
            Region = region;
            SourceId = sourceId;
            Token = token;
            _gates = gates;
            _tickets = new VolumeTicket?[gates.Count];
            Items = items;
            _dryRun = dryRun;
            _call = call;
        }

        public string Action { get; }
        public string Region { get; }
        public string SourceId { get; }
        public string Token { get; }
        public object Request => Items[0].Request;
        public IReadOnlyList<CreateItem> Items { get; }

        public async Task AdmitAsync(bool requeued, CancellationToken stop)
        {
            if (_dryRun) return;
            for (var i = 0; i < _gates.Count; i++) _tickets[i] ??= await _gates[i].AcquireAsync(stop, requeued).ConfigureAwait(false);
            for (; _locked < _gates.Count; _locked++) await _gates[_locked].StartLock.WaitAsync(stop).ConfigureAwait(false);
            while (_gates.Max(g => g.SpacingWait()) is var wait && wait > TimeSpan.Zero)
                await _job.Time.Delay(wait, stop).ConfigureAwait(false);
        }

        public void EndAttempt()
        {
            for (; _locked > 0; _locked--) _gates[_locked - 1].StartLock.Release();
        }

        public void Release()
        {
            for (var i = 0; i < _gates.Count; i++)
                if (Interlocked.Exchange(ref _tickets[i], null) is { } ticket) _gates[i].Release(ticket);
        }

        /// <summary>EC2 made a snapshot of one of the volumes: its slot now counts it as pending.</summary>
        public void Accepted(CreatedSnapshot created)
        {
            for (var i = 0; i < _gates.Count; i++)
            {
                if (_gates[i].VolumeId != created.VolumeId) continue;
                _gates[i].Accepted(Interlocked.Exchange(ref _tickets[i], null) ?? new VolumeTicket(), created.SnapshotId);
            }
        }

        public Task<List<CreatedSnapshot>> CallAsync(CancellationToken cancellationToken) => _call(cancellationToken);

        public async Task WaitForCapacityAsync(string? code, int hits, CancellationToken stop)
        {
            if (code == "SnapshotCreationPerVolumeRateExceeded")
            {
                foreach (var gate in _gates) gate.NoteStartedElsewhere();
                _job.Verbose($"EC2 said a snapshot of {SourceId} in {Region} was started less than 15 s ago elsewhere; waiting before trying again.", Request);
                return;
            }
            Release();
            var delay = Backoff.Delay(hits, LimitBaseDelay, MaxLimitDelay);
            _job.Verbose($"EC2's limit of pending snapshots per volume was reached for {SourceId} in {Region} (snapshots started elsewhere count too); " +
                         $"re-queued, trying again in {delay.TotalSeconds:0.0} s.", Request);
            await _job.Time.Delay(delay, stop).ConfigureAwait(false);
            await _worker.RefreshFromEc2Async(Region, _gates).ConfigureAwait(false);
        }

        public List<CreatedSnapshot> Adopted(IReadOnlyList<Snapshot> kept) =>
            kept.Select(s => new CreatedSnapshot(s.VolumeId, s.SnapshotId, s.StartTime)).ToList();

        public IEnumerable<string> SnapshotIds(List<CreatedSnapshot> created) => created.Select(c => c.SnapshotId);

        public EngineError Rejected(Exception exception) => EngineErrors.CreateRejected(SourceId, Region, "ec2:" + Action, exception);


        public EngineError OutcomeUnknown(Exception exception) => EngineErrors.CreateOutcomeUnknown(SourceId, Region, Action, Token, exception);
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
