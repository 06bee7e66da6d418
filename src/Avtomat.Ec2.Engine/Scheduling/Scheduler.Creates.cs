using System;
using System.Collections.Generic;
using System.Linq;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using Amazon.EC2;
using Amazon.EC2.Model;
using Amazon.Runtime;
using Avtomat.Ec2.Engine.Copy;
using Avtomat.Ec2.Engine.Create;
using Avtomat.Ec2.Engine.Internal;

namespace Avtomat.Ec2.Engine.Scheduling;

internal enum CreateState { Describing, Queued, Paced, Sending, LookingUpToken, LimitWait, Running, Done }

/// <summary>One CreateSnapshot (a volume) or CreateSnapshots (an instance's volumes) call's work, from the volume (or
/// instance) lookup to the final state of its snapshots. Owned by the region's scheduler.</summary>
internal sealed class CreateOp(CreateItem first, bool instance, string sourceId, long sequence) : Due
{
    public List<CreateItem> Items { get; } = new() { first };
    public CreateItem First => Items[0];
    public bool Instance { get; } = instance;
    /// <summary>The volume, or the instance.</summary>
    public string SourceId { get; } = sourceId;
    public long Sequence { get; } = sequence;
    public string Action => Instance ? "CreateSnapshots" : "CreateSnapshot";
    /// <summary>The request token (every snapshot of the call carries it); kept when its items are gone.</summary>
    public string Token { get; } = first.Token;
    /// <summary>The job that asked (an op serves one job's request; kept when its items are gone).</summary>
    public EngineJob Job { get; } = first.Job;
    public JobLink Link { get; } = first.Link!;
    /// <summary>What the caller asked for (the messages' request).</summary>
    public object Asked { get; } = first.Request;
    public CreateState State { get; set; }
    public bool DryRun => Job.DryRun;

    /// <summary>Lookups still on their way before it can queue.</summary>
    public int Describing { get; set; }
    public Volume? Volume { get; set; }
    public Instance? InstanceInfo { get; set; }
    /// <summary>The volumes it snapshots, in volume-id order (an instance's, or the one).</summary>
    public List<string> Volumes { get; } = new();
    public Dictionary<string, Volume> VolumeInfo { get; } = new(StringComparer.Ordinal);
    public AmazonWebServiceRequest? Request { get; set; }

    public bool Reserved { get; set; }
    public bool Requeued { get; set; }
    public int Retries { get; set; }
    public int Throttles { get; set; }
    public int CapacityHits { get; set; }
    public bool Uncertain { get; set; }
    public Exception? LastUncertain { get; set; }
    public Call? InFlight { get; set; }

    public override void OnDue(Scheduler scheduler, DateTimeOffset now) => scheduler.CreateDue(this, now);
}

/// <summary>
/// EC2's per-volume rules for one volume, kept by the scheduler so every job in the process respects them together,
/// by queueing instead of failing: at most <see cref="Limit"/> snapshots of the volume pending at once (5; 1 for
/// st1/sc1) — snapshots in <c>error</c> count too (until deleted), and so do snapshots started outside this process,
/// learned from EC2 — and at least the spacing (15 s) between two snapshots of the volume, from when EC2 answered the
/// previous CreateSnapshot; one start on the wire at a time. Plain state owned by the scheduler's loop.
/// </summary>
internal sealed class VolumeRule(string volumeId, int limit)
{
    public string VolumeId { get; } = volumeId;
    public int Limit { get; set; } = limit;
    public Dictionary<string, DateTimeOffset> Ours { get; } = new(StringComparer.Ordinal);
    public HashSet<string> External { get; } = new(StringComparer.Ordinal);
    public HashSet<string> Errored { get; } = new(StringComparer.Ordinal);
    public int Reserved { get; set; }
    public DateTimeOffset? LastStart { get; set; }
    public bool StartInFlight { get; set; }
    public int PeakUsedByUs { get; set; }
    /// <summary>Jobs that read EC2's view of the volume already (once per job).</summary>
    public HashSet<EngineJob> Refreshed { get; } = new();

    public int Used => Reserved + Ours.Count + External.Count + Errored.Count;
}

/// <summary>The create queue's order: ops sent again first (they were started before), then first come first served.
/// Neither key changes while an op is queued.</summary>
internal sealed class CreateOrder : IComparer<CreateOp>
{
    public static readonly CreateOrder Instance = new();

    public int Compare(CreateOp? x, CreateOp? y)
    {
        if (ReferenceEquals(x, y)) return 0;
        var c = y!.Requeued.CompareTo(x!.Requeued);
        return c != 0 ? c : x.Sequence.CompareTo(y.Sequence);
    }
}

internal sealed partial class Scheduler
{
    private static readonly TimeSpan CreateLimitBaseDelay = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan CreateLimitMaxDelay = TimeSpan.FromSeconds(60);

    private readonly HashSet<CreateOp> _createOps = new();
    private readonly Dictionary<string, CreateOp> _createOpsByToken = new(StringComparer.Ordinal);
    private readonly Dictionary<string, List<CreateOp>> _describingVolumes = new(StringComparer.Ordinal);
    private readonly Dictionary<string, List<CreateOp>> _describingInstances = new(StringComparer.Ordinal);
    private readonly Dictionary<string, List<CreateOp>> _refreshingVolumes = new(StringComparer.Ordinal);
    /// <summary>Ops waiting to be sent, in the order they go (sent again first, then first come first served).</summary>
    private readonly SortedSet<CreateOp> _createQueue = new(CreateOrder.Instance);
    /// <summary>Volume → how many queued ops are for it (a watcher's weight: does anything wait for its volume?).</summary>
    private readonly Dictionary<string, int> _queuedPerVolume = new(StringComparer.Ordinal);
    private readonly Dictionary<string, VolumeRule> _volumes = new(StringComparer.Ordinal);
    private WakeDue? _createWaker;
    private long _createSequence;
    private VolumesShape? _volumesShape;
    private InstancesShape? _instancesShape;
    private ActiveSnapshotsShape? _activeShape;

    private VolumesShape VolumesById => _volumesShape ??= new VolumesShape();
    private InstancesShape InstancesById => _instancesShape ??= new InstancesShape();
    private ActiveSnapshotsShape ActiveOfVolumes => _activeShape ??= new ActiveSnapshotsShape();

    internal VolumeRule Volume(string volumeId)
    {
        if (!_volumes.TryGetValue(volumeId, out var rule)) _volumes[volumeId] = rule = new VolumeRule(volumeId, Engine.MaxPendingPerVolume);
        return rule;
    }

    /// <summary>The volume's rule as this scheduler keeps it (tests and diagnostics; read on the loop only).</summary>
    internal IReadOnlyDictionary<string, VolumeRule> VolumeRules => _volumes;

    // ------------------------------------------------------------------ a new request: describe first

    private void SubmitCreate(CreateItem item)
    {
        var request = item.Request;
        var instance = request is InstanceSnapshotRequest;
        var sourceId = request is InstanceSnapshotRequest i ? i.InstanceId : ((SnapshotCreateRequest)request).VolumeId;
        var op = new CreateOp(item, instance, sourceId, ++_createSequence) { State = CreateState.Describing };
        item.Op = op;
        _createOps.Add(op);
        if (instance) DescribeInstance(op, sourceId);
        else DescribeVolume(op, sourceId);
    }

    private void DescribeVolume(CreateOp op, string volumeId)
    {
        op.Describing++;
        if (!_describingVolumes.TryGetValue(volumeId, out var list)) _describingVolumes[volumeId] = list = new List<CreateOp>();
        list.Add(op);
        Lookups.Want(VolumesById, volumeId, Now, Now + CollectDelay, op.Link);
    }

    private void DescribeInstance(CreateOp op, string instanceId)
    {
        op.Describing++;
        if (!_describingInstances.TryGetValue(instanceId, out var list)) _describingInstances[instanceId] = list = new List<CreateOp>();
        list.Add(op);
        Lookups.Want(InstancesById, instanceId, Now, Now + CollectDelay, op.Link);
    }

    /// <summary>The volume's pending and errored snapshots (they count against its limit), once per job.</summary>
    private void RefreshVolume(CreateOp op, string volumeId)
    {
        op.Describing++;
        if (!_refreshingVolumes.TryGetValue(volumeId, out var list)) _refreshingVolumes[volumeId] = list = new List<CreateOp>();
        list.Add(op);
        if (list.Count == 1) Lookups.Want(ActiveOfVolumes, volumeId, Now, Now + CollectDelay, op.Link);
    }

    private void VolumeAnswered(string volumeId, Volume? volume)
    {
        if (!_describingVolumes.TryGetValue(volumeId, out var ops)) return;
        _describingVolumes.Remove(volumeId);
        foreach (var op in ops)
        {
            if (op.State == CreateState.Done) continue;
            op.Describing--;
            if (volume is null)
            {
                if (op.Instance)
                {
                    // Its type and size are unknown: EC2's rules still apply through the errors it answers.
                    Described(op);
                    continue;
                }
                EndCreate(op, item => Finish(item, SnapshotState.Failed, EngineErrors.VolumeNotFound(volumeId, Region)));
                continue;
            }
            op.VolumeInfo[volumeId] = volume;
            if (!op.Instance)
            {
                op.Volume = volume;
                var attachment = volume.Attachments?.FirstOrDefault(a => a.State?.Value is "attached" or "attaching" || a.State is null);
                if (attachment?.InstanceId is { Length: > 0 } instanceId) DescribeInstance(op, instanceId);
            }
            Volume(volumeId).Limit = volume.VolumeType?.Value is "st1" or "sc1" ? Engine.MaxPendingPerThroughputVolume : Engine.MaxPendingPerVolume;
            // EC2's view of the volume's pending and errored snapshots is read once per job; a request of the job that
            // comes while that read is on its way waits for it too.
            if (!op.DryRun && (Volume(volumeId).Refreshed.Add(op.Job) || _refreshingVolumes.ContainsKey(volumeId))) RefreshVolume(op, volumeId);
            Described(op);
        }
    }

    private void InstanceAnswered(string instanceId, Instance? instance, Exception? failure)
    {
        if (!_describingInstances.TryGetValue(instanceId, out var ops)) return;
        _describingInstances.Remove(instanceId);
        foreach (var op in ops)
        {
            if (op.State == CreateState.Done) continue;
            op.Describing--;
            if (!op.Instance)
            {
                // Only the root-volume warning depends on it: go on without.
                if (failure is not null)
                    op.Job.Verbose($"DescribeInstances in {Region} failed ({FailurePolicy.Describe(failure)}); root volumes of running instances cannot be recognized.");
                op.InstanceInfo = instance;
                Described(op);
                continue;
            }
            if (failure is not null)
            {
                EndCreate(op, item => Finish(item, SnapshotState.Failed, EngineErrors.DescribeFailed(instanceId, Region, "DescribeInstances", failure)));
                continue;
            }
            if (instance is null)
            {
                EndCreate(op, item => Finish(item, SnapshotState.Failed, EngineErrors.InstanceNotFound(instanceId, Region)));
                continue;
            }
            var request = (InstanceSnapshotRequest)op.Asked;
            op.InstanceInfo = instance;
            var mappings = (instance.BlockDeviceMappings ?? new List<InstanceBlockDeviceMapping>())
                .Where(m => !string.IsNullOrEmpty(m.Ebs?.VolumeId))
                .Where(m => !(request.ExcludeBootVolume && m.DeviceName == instance.RootDeviceName))
                .OrderBy(m => m.Ebs.VolumeId, StringComparer.Ordinal).ToList();
            if (mappings.Count == 0)
            {
                EndCreate(op, item => Finish(item, SnapshotState.Failed, EngineErrors.InstanceHasNoVolumes(instanceId, Region)));
                continue;
            }
            lock (op.First.Gate) op.First.Result.VolumeId = mappings[0].Ebs.VolumeId;
            for (var i = 1; i < mappings.Count; i++) op.Items.Add(AddSetMember(op, mappings[i].Ebs.VolumeId));
            foreach (var (item, mapping) in op.Items.Zip(mappings, (o, m) => (o, m)))
                lock (item.Gate) item.Result.DeviceName = mapping.DeviceName;
            foreach (var mapping in mappings)
            {
                op.Volumes.Add(mapping.Ebs.VolumeId);
                DescribeVolume(op, mapping.Ebs.VolumeId);
            }
            Described(op);
        }
    }

    /// <summary>An instance set turned out to have more volumes: each owes its own finished event.</summary>
    private CreateItem AddSetMember(CreateOp op, string volumeId)
    {
        var first = op.First;
        var item = new CreateItem(first.CreateJob, first.Request, Region, volumeId, first.Result.InstanceId, first.Job.NextSequence) { Token = first.Token };
        first.Job.AddLate(item);
        item.Link = first.Link;
        item.Op = op;
        first.Link!.Items.Add(item);
        return item;
    }

    private void ActiveAnswered(string volumeId, IReadOnlyList<Snapshot> active)
    {
        if (_refreshingVolumes.TryGetValue(volumeId, out var ops)) _refreshingVolumes.Remove(volumeId);
        var rule = Volume(volumeId);
        ApplyRefresh(rule, active, ops?.FirstOrDefault()?.Job);
        if (ops is null) return;
        foreach (var op in ops)
        {
            if (op.State == CreateState.Done) continue;
            op.Describing--;
            if (op.State == CreateState.Describing) Described(op);
        }
        CreatesChanged = true;
    }

    /// <summary>What EC2 says now of the volume's snapshots that are pending or in error (owned by the account). Ours
    /// that EC2 no longer lists as such, and that are older than the visibility grace (a new one may not be listed yet),
    /// are done. Pending ones started elsewhere count against the limit and are followed until they end.</summary>
    private void ApplyRefresh(VolumeRule rule, IReadOnlyList<Snapshot> active, EngineJob? job)
    {
        var now = Now;
        var grace = job?.VisibilityGrace ?? TimeSpan.FromSeconds(30);
        var listed = active.Where(s => s.SnapshotId is not null && s.VolumeId == rule.VolumeId).ToList();
        var ids = new HashSet<string>(listed.Select(s => s.SnapshotId), StringComparer.Ordinal);
        foreach (var stale in rule.Ours.Where(p => !ids.Contains(p.Key) && now - p.Value > grace).Select(p => p.Key).ToList()) rule.Ours.Remove(stale);
        rule.Errored.Clear();
        foreach (var s in listed)
        {
            if (s.State?.Value == "error") { rule.Ours.Remove(s.SnapshotId); rule.Errored.Add(s.SnapshotId); continue; }
            if (rule.Ours.ContainsKey(s.SnapshotId)) continue;
            if (s.StartTime is { } started)
            {
                var at = new DateTimeOffset(DateTime.SpecifyKind(started, DateTimeKind.Utc));
                if (rule.LastStart is null || rule.LastStart < at) rule.LastStart = at;
            }
            if (!rule.External.Add(s.SnapshotId)) continue;
            job?.Verbose($"Volume {rule.VolumeId} in {Region} already has a pending snapshot {s.SnapshotId} started elsewhere; it counts against the volume's limit of {rule.Limit}.");
            if (job is not null && TryLink(job, out var link)) AddWatch(s.SnapshotId, new ExternalWatcher(rule, link));
        }
        if (rule.Errored.Count > 0 && rule.Errored.Count >= rule.Limit)
            job?.Warn($"Volume {rule.VolumeId} in {Region} has {rule.Errored.Count} snapshot(s) in the error state; EC2 counts them against its limit of " +
                      $"{rule.Limit} pending snapshots per volume, so no new snapshot can start until they are deleted. Waiting (delete them to go on).");
        CreatesChanged = true;
    }

    /// <summary>Every lookup of the op is in: build its call and queue it on its volumes' rules.</summary>
    private void Described(CreateOp op)
    {
        if (op.Describing > 0 || op.State != CreateState.Describing) return;
        var job = ((CreateJob)op.Job);
        if (op.Instance) BuildSet(op);
        else BuildVolume(op, job);
        if (op.State == CreateState.Done) return;
        op.State = CreateState.Queued;
        QueueCreate(op);
    }

    private void BuildVolume(CreateOp op, CreateJob job)
    {
        var item = op.First;
        var request = (SnapshotCreateRequest)item.Request;
        var volume = op.Volume!;
        var attachment = volume.Attachments?.FirstOrDefault(a => a.State?.Value is "attached" or "attaching" || a.State is null);
        var instanceId = attachment?.InstanceId;
        var isRoot = op.InstanceInfo is { } instance && !string.IsNullOrEmpty(instance.RootDeviceName) && attachment?.Device == instance.RootDeviceName;
        if (isRoot && op.InstanceInfo!.State?.Name?.Value == "running") job.RootVolumeWarning(request.VolumeId, instanceId!, request);
        op.Volumes.Add(request.VolumeId);
        var tags = new Dictionary<string, string>(StringComparer.Ordinal);
        if (request.CopyVolumeTags) AddVolumeTags(tags, volume.Tags);
        foreach (var pair in request.Tags) tags[pair.Key] = pair.Value ?? "";
        tags[CreateTagNames.SourceVolumeId] = request.VolumeId;
        tags[CreateTagNames.RequestToken] = op.Token;
        var name = volume.Tags?.FirstOrDefault(t => t.Key == "Name")?.Value;
        var description = ExpandDescription(request.DescriptionTemplate ?? SnapshotCreateRequest.DefaultDescriptionTemplate, request.VolumeId, name, instanceId);
        lock (item.Gate)
        {
            item.Result.InstanceId = instanceId;
            item.Result.DeviceName = attachment?.Device;
            item.Result.VolumeSize = volume.Size;
            item.Result.Encrypted = volume.Encrypted == true;
            item.Result.KmsKeyId = volume.KmsKeyId;
            item.Result.Description = description;
            item.Result.OutpostArn = request.OutpostArn;
            item.Result.Tags = new Dictionary<string, string>(tags, StringComparer.Ordinal);
        }
        var call = new CreateSnapshotRequest
        {
            VolumeId = request.VolumeId,
            Description = description,
            TagSpecifications = new List<TagSpecification> { new() { ResourceType = ResourceType.Snapshot, Tags = ToTags(tags) } },
        };
        if (!string.IsNullOrEmpty(request.OutpostArn)) call.OutpostArn = request.OutpostArn;
        if (!string.IsNullOrEmpty(request.Location)) call.Location = new SnapshotLocationEnum(request.Location);
        if (op.DryRun) call.DryRun = true;
        op.Request = call;
    }

    private void BuildSet(CreateOp op)
    {
        var request = (InstanceSnapshotRequest)op.Asked;
        var tags = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var pair in request.Tags) tags[pair.Key] = pair.Value ?? "";
        tags[CreateTagNames.SourceInstanceId] = request.InstanceId;
        tags[CreateTagNames.RequestToken] = op.Token;
        var description = ExpandDescription(request.DescriptionTemplate ?? InstanceSnapshotRequest.DefaultDescriptionTemplate, "", null, request.InstanceId);
        foreach (var item in op.Items)
        {
            var volumeId = item.VolumeId;
            op.VolumeInfo.TryGetValue(volumeId ?? "", out var volume);
            var itemTags = new Dictionary<string, string>(StringComparer.Ordinal);
            if (request.CopyVolumeTags && volume is not null) AddVolumeTags(itemTags, volume.Tags);
            foreach (var t in tags) itemTags[t.Key] = t.Value;
            lock (item.Gate)
            {
                item.Result.VolumeSize = volume?.Size;
                item.Result.Encrypted = volume?.Encrypted == true;
                item.Result.KmsKeyId = volume?.KmsKeyId;
                item.Result.Description = description;
                item.Result.OutpostArn = request.OutpostArn;
                item.Result.Tags = itemTags;
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
        if (op.DryRun) call.DryRun = true;
        op.Request = call;
        op.Volumes.Sort(StringComparer.Ordinal);
    }

    // ------------------------------------------------------------------ admission under the volume rules

    private void QueueCreate(CreateOp op)
    {
        CreatesChanged = true;
        if (!_createQueue.Add(op)) return;
        foreach (var volumeId in op.Volumes) _queuedPerVolume[volumeId] = _queuedPerVolume.TryGetValue(volumeId, out var n) ? n + 1 : 1;
    }

    private void DequeueCreate(CreateOp op)
    {
        if (!_createQueue.Remove(op)) return;
        foreach (var volumeId in op.Volumes)
        {
            if (!_queuedPerVolume.TryGetValue(volumeId, out var n)) continue;
            if (n <= 1) _queuedPerVolume.Remove(volumeId);
            else _queuedPerVolume[volumeId] = n - 1;
        }
    }

    /// <summary>Starts what the volume rules allow, first come first served per volume (a set waits for all of its
    /// volumes): a free slot on each, no start of the volume on the wire, the spacing since the last start over. A dry
    /// run needs none of that, only the request bucket.</summary>
    private void AdmitCreates(DateTimeOffset now)
    {
        if (_createQueue.Count == 0) return;
        var blocked = new HashSet<string>(StringComparer.Ordinal);
        var spacing = Engine.VolumeSnapshotSpacing;
        var sent = new List<CreateOp>();
        foreach (var op in _createQueue)
        {
            if (!op.DryRun)
            {
                if (op.Volumes.Any(blocked.Contains)) { blocked.UnionWith(op.Volumes); continue; }
                var ready = true;
                foreach (var volumeId in op.Volumes)
                {
                    var rule = Volume(volumeId);
                    if (rule.StartInFlight || (!op.Reserved && rule.Used >= rule.Limit)) { ready = false; continue; }
                    if (rule.LastStart is { } last && last + spacing > now)
                    {
                        ready = false;
                        Agenda.NoLaterThan(_createWaker ??= new WakeDue(s => s.CreatesChanged = true), last + spacing);
                    }
                }
                if (!ready) { blocked.UnionWith(op.Volumes); continue; }
            }
            if (!Pace(Ec2Buckets.NameOf(op.Action, op.Request), now, _createWaker ??= new WakeDue(s => s.CreatesChanged = true))) break;
            sent.Add(op);
            if (!op.DryRun)
            {
                foreach (var volumeId in op.Volumes)
                {
                    var rule = Volume(volumeId);
                    if (!op.Reserved) rule.Reserved++;
                    rule.StartInFlight = true;
                    var ours = rule.Reserved + rule.Ours.Count;
                    if (ours > rule.PeakUsedByUs) rule.PeakUsedByUs = ours;
                }
                op.Reserved = true;
            }
            op.State = CreateState.Sending;
            var call = new CreateCall(op);
            op.InFlight = call;
            _createOpsByToken[op.Token] = op;
            Launch(call, op.Link);
        }
        foreach (var op in sent) DequeueCreate(op);
    }

    internal void CreateDue(CreateOp op, DateTimeOffset now)
    {
        switch (op.State)
        {
            case CreateState.Paced:
            case CreateState.LimitWait:
                op.State = CreateState.Queued;
                QueueCreate(op);
                break;
        }
    }

    /// <summary>The volumes' start is over, whatever its outcome (the next start of a volume may go).</summary>
    private void EndAttempt(CreateOp op)
    {
        foreach (var volumeId in op.Volumes) Volume(volumeId).StartInFlight = false;
        CreatesChanged = true;
    }

    /// <summary>The call made nothing for good: the volumes' reserved slots go back.</summary>
    private void ReleaseVolumes(CreateOp op)
    {
        if (!op.Reserved) return;
        op.Reserved = false;
        foreach (var volumeId in op.Volumes) Volume(volumeId).Reserved--;
        CreatesChanged = true;
    }

    private void CreateSent(CreateOp op, CreateCall call, object? response, Exception? error)
    {
        op.InFlight = null;
        EndAttempt(op);
        var now = Now;
        var link = call.Client!;
        var job = link.Job;
        if (op.State == CreateState.Done)
        {
            if (CreatedOf(op, response) is { Count: > 0 } orphans)
                job.Warn($"{op.Action} of {op.SourceId} in {Region} answered after its requests had ended: {string.Join(", ", orphans.Select(o => o.SnapshotId))} keep running in EC2.");
            return;
        }
        if (error is null)
        {
            if (op.DryRun)
            {
                job.Warn($"EC2 did not treat {op.Action} of {op.SourceId} as a dry run.", op.Asked);
                EndCreate(op, item => Finish(item, SnapshotState.DryRun, null));
                return;
            }
            var created = CreatedOf(op, response)!;
            if (created.Count == 0 && !op.Instance)
            {
                ReleaseVolumes(op);
                var missing = new InvalidOperationException($"{op.Action} answered without a snapshot id.");
                EndCreate(op, item => Finish(item, SnapshotState.Failed, EngineErrors.Unexpected(item.TargetId, missing)));
                return;
            }
            CreateAccepted(op, created, adopted: false);
            return;
        }
        if (error is OperationCanceledException && job.SentCallToken.IsCancellationRequested)
        {
            job.Warn($"Stopped while {op.Action} of {op.SourceId} in {Region} was in flight; a snapshot may exist: " +
                     $"look for the tag {CopyTagNames.RequestToken}={op.Token}.", op.Asked);
            ReleaseVolumes(op);
            EndCreate(op, item => item.Job.FinishStopped(item));
            return;
        }
        var action = FailurePolicy.Decide(error, op.Action);
        if (op.DryRun && action == FailureAction.LookUpToken) action = op.Retries++ < job.MaxRetries ? FailureAction.Retry : FailureAction.FailItem;
        switch (action)
        {
            case FailureAction.DryRunSucceeded:
                job.Verbose($"Dry run: {op.Action} of {op.SourceId} in {Region} would succeed.", op.Asked);
                EndCreate(op, item => Finish(item, SnapshotState.DryRun, null, "DryRunOperation: the snapshot would have been created."));
                return;
            case FailureAction.Retry:
                if (FailurePolicy.IsThrottle(error)) job.Counters.Throttled();
                job.Counters.Retry();
                var delay = Backoff.Delay(Math.Min(op.Throttles++, 5), ThrottleBaseDelay, MaxThrottleDelay);
                job.Verbose($"{op.Action} of {op.SourceId} in {Region} did not reach EC2 ({FailurePolicy.Describe(error)}); retrying in {delay.TotalSeconds:0.0} s.", op.Asked);
                if (FinishCreateStopPending(op)) return;
                op.State = CreateState.Paced;
                Agenda.At(op, now + delay);
                return;
            case FailureAction.LookUpToken:
                job.Counters.Uncertain();
                op.Uncertain = true;
                op.LastUncertain = error;
                job.Verbose($"{op.Action} of {op.SourceId} in {Region} got no definite answer ({FailurePolicy.Describe(error)}); " +
                            $"looking for snapshots tagged {CopyTagNames.RequestToken}={op.Token} before trying again.", op.Asked);
                op.State = CreateState.LookingUpToken;
                Lookups.Want(ByToken, op.Token, now, now + CollectDelay, link);
                return;
            case FailureAction.WaitForCapacity:
                job.Counters.LimitExceeded();
                if (FinishCreateStopPending(op)) { ReleaseVolumes(op); return; }
                if (FailurePolicy.CodeOf(error) == "SnapshotCreationPerVolumeRateExceeded")
                {
                    foreach (var volumeId in op.Volumes) Volume(volumeId).LastStart = now;
                    job.Verbose($"EC2 said a snapshot of {op.SourceId} in {Region} was started less than 15 s ago elsewhere; waiting before trying again.", op.Asked);
                    op.Requeued = true;
                    op.State = CreateState.Queued;
                    QueueCreate(op);
                    return;
                }
                ReleaseVolumes(op);
                var wait = Backoff.Delay(op.CapacityHits++, CreateLimitBaseDelay, CreateLimitMaxDelay);
                job.Verbose($"EC2's limit of pending snapshots per volume was reached for {op.SourceId} in {Region} (snapshots started elsewhere count too); " +
                            $"re-queued, trying again in {wait.TotalSeconds:0.0} s.", op.Asked);
                foreach (var volumeId in op.Volumes) Lookups.Want(ActiveOfVolumes, volumeId, now + wait, now + wait, link);
                op.Requeued = true;
                op.State = CreateState.LimitWait;
                Agenda.At(op, now + wait);
                return;
            case FailureAction.FailAccountRegion:
                ReleaseVolumes(op);
                FinishCreateStopPending(op);
                AccountRegionFailed(link, FailurePolicy.RegionError(error, op.SourceId, Region, op.Action));
                return;
            default:
                ReleaseVolumes(op);
                EndCreate(op, item => Finish(item, SnapshotState.Failed, EngineErrors.CreateRejected(op.SourceId, Region, "ec2:" + op.Action, error)));
                return;
        }
    }

    private static List<(string VolumeId, string SnapshotId, DateTime? StartTime)>? CreatedOf(CreateOp op, object? response) => response switch
    {
        CreateSnapshotResponse r when !string.IsNullOrEmpty(r.Snapshot?.SnapshotId) =>
            new() { (((CreateSnapshotRequest)op.Request!).VolumeId, r.Snapshot!.SnapshotId, r.Snapshot.StartTime) },
        CreateSnapshotResponse => new(),
        CreateSnapshotsResponse r => (r.Snapshots ?? new List<SnapshotInfo>()).Select(s => (s.VolumeId, s.SnapshotId, s.StartTime)).ToList(),
        _ => null,
    };

    /// <summary>What EC2 made: each snapshot is accepted (its volume slot becomes a pending snapshot, the spacing starts)
    /// and followed; volumes EC2 snapshotted that the set did not know about are reported too.</summary>
    private void CreateAccepted(CreateOp op, List<(string VolumeId, string SnapshotId, DateTime? StartTime)> created, bool adopted)
    {
        var now = Now;
        op.State = CreateState.Running;
        op.Reserved = false;
        foreach (var volumeId in op.Volumes) Volume(volumeId).Reserved--;
        var byVolume = op.Items.Where(i => i.VolumeId is not null).GroupBy(i => i.VolumeId!, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.First(), StringComparer.Ordinal);
        foreach (var (volumeId, snapshotId, started) in created)
        {
            var rule = Volume(volumeId);
            rule.Ours[snapshotId] = now;
            if (rule.LastStart is null || rule.LastStart < now) rule.LastStart = now;
            if (!byVolume.TryGetValue(volumeId, out var item))
            {
                // EC2 snapshotted a volume the set did not know about (attached meanwhile): report it too.
                item = AddSetMember(op, volumeId);
                op.Items.Add(item);
                byVolume[volumeId] = item;
            }
            item.Link!.AcceptedTokens[op.Token] = snapshotId;
            item.Job.Accept(item, snapshotId, started, adopted);
            var watcher = new CreateWatcher(item, rule);
            AddWatch(snapshotId, watcher, accepted: true);
            item.Op = watcher;
            if (item.StopPending)
            {
                item.StopPending = false;
                item.Job.FinishStopped(item);
                DetachCreate(item);
            }
            else if (item.Job.NoWait) Linger(item);
        }
        foreach (var item in byVolume.Values.Where(o => o.SnapshotId is null).ToList())
        {
            Finish(item, SnapshotState.Failed, new EngineError("SnapshotNotInSet", EngineErrorCategory.InvalidResult,
                $"EC2 did not snapshot the volume '{item.VolumeId}' in the set of '{item.Result.InstanceId}' (detached meanwhile?).", item.VolumeId ?? item.SourceId)
            {
                RecommendedAction = $"If the volume still exists, snapshot it alone: New-AvSnapshot -VolumeId {item.VolumeId} -Region {Region}.",
            });
            Forget(item);
            op.Items.Remove(item);
        }
        _createOps.Remove(op);
        CreatesChanged = true;
    }

    private void CreateTokenAnswered(CreateOp op, IReadOnlyList<Snapshot> found, DateTimeOffset at)
    {
        if (op.State != CreateState.LookingUpToken) return;
        var now = Now;
        var job = op.Job;
        var made = found.Where(s => s.State?.Value is "pending" or "completed" or "error").ToList();
        if (made.Count > 0)
        {
            // One kept per volume of those the token found; the others deleted.
            var kept = new List<Snapshot>();
            foreach (var group in made.GroupBy(s => s.VolumeId ?? "", StringComparer.Ordinal))
            {
                var keep = CopyRules.ChooseKept(group.ToList(), null);
                kept.Add(keep);
                DeleteDuplicates(op.Link, keep, group.ToList(), keep.VolumeId);
            }
            CreateAccepted(op, kept.Select(s => (s.VolumeId, s.SnapshotId, s.StartTime)).ToList(), adopted: true);
            return;
        }
        if (FinishCreateStopPending(op)) { ReleaseVolumes(op); return; }
        if (op.Retries >= job.MaxRetries)
        {
            ReleaseVolumes(op);
            var uncertain = op.LastUncertain ?? new TimeoutException("No definite answer.");
            EndCreate(op, item => Finish(item, SnapshotState.Failed, EngineErrors.CreateOutcomeUnknown(op.SourceId, Region, op.Action, op.Token, uncertain)));
            return;
        }
        op.Retries++;
        job.Counters.Retry();
        job.MayHaveHiddenTwins();
        job.Verbose($"Nothing was made for {op.SourceId} in {Region}; sending {op.Action} again with the same request token.", op.Asked);
        op.State = CreateState.Queued;
        op.Requeued = true;
        QueueCreate(op);
    }

    // ------------------------------------------------------------------ ends and stops

    private void EndCreate(CreateOp op, Action<CreateItem> finish)
    {
        EndItems(op.Items, finish);
        AbandonCreate(op);
    }

    private void AbandonCreate(CreateOp op)
    {
        if (op.State == CreateState.Done) return;
        op.State = CreateState.Done;
        _createOps.Remove(op);
        DequeueCreate(op);
        Agenda.Cancel(op);
        ReleaseVolumes(op);
        if (_createOpsByToken.TryGetValue(op.Token, out var current) && current == op) _createOpsByToken.Remove(op.Token);
        CreatesChanged = true;
    }

    /// <summary>Items stopped while the op's call was on the wire: true when none is left to serve.</summary>
    private bool FinishCreateStopPending(CreateOp op)
    {
        foreach (var item in op.Items.Where(i => i.StopPending).ToList())
        {
            item.StopPending = false;
            item.Job.FinishStopped(item);
            Forget(item);
            op.Items.Remove(item);
        }
        if (op.Items.Count > 0) return false;
        AbandonCreate(op);
        return true;
    }

    private void DetachCreate(CreateItem item)
    {
        Forget(item);
        switch (item.Op)
        {
            case CreateWatcher watcher:
                watcher.Detach(this);
                break;
            case CreateOp op:
                op.Items.Remove(item);
                if (op.Items.Count == 0 && op.State != CreateState.Sending) AbandonCreate(op);
                break;
        }
    }

    private void StopCreates(JobLink link)
    {
        foreach (var item in link.Items.OfType<CreateItem>().ToList())
        {
            if (item.IsFinished) { DetachCreate(item); continue; }
            if (item.Op is CreateOp { State: CreateState.Sending, DryRun: false }) { item.StopPending = true; continue; }
            item.Job.FinishStopped(item);
            DetachCreate(item);
        }
    }

    private void FailCreates(JobLink link, string region, EngineError error)
    {
        if (region != Region) return;
        foreach (var item in link.Items.OfType<CreateItem>().ToList())
        {
            EndUnfollowable(item, error);
            DetachCreate(item);
        }
    }

    // ------------------------------------------------------------------ following new snapshots

    /// <summary>Follows one new snapshot until it is final; frees its volume slot then (one in error keeps counting).</summary>
    private sealed class CreateWatcher(CreateItem item, VolumeRule rule) : ItemWatcher(item)
    {
        private bool _released;

        protected override string? SnapshotId => item.SnapshotId;

        // New snapshots often feed a copy downstream; their volume's queue waits on them.
        public override double Weight(Scheduler scheduler) => scheduler._queuedPerVolume.ContainsKey(rule.VolumeId) ? 1 : 0.25;

        public override void Seen(Scheduler scheduler, Watch watch, Snapshot snapshot, DateTimeOffset at)
        {
            Watch = watch;
            item.Job.Observe(item, snapshot);
            switch (snapshot.State?.Value)
            {
                case "completed":
                    Free(scheduler, errored: false);
                    Done(scheduler, watch);
                    if (!item.IsFinished) Finish(item, SnapshotState.Completed, null);
                    break;
                case "error":
                    Free(scheduler, errored: true);
                    Done(scheduler, watch);
                    if (!item.IsFinished)
                        Finish(item, SnapshotState.Failed, EngineErrors.SnapshotCreationFailed(snapshot.SnapshotId, item.VolumeId ?? "", scheduler.Region, snapshot.StateMessage),
                            snapshot.StateMessage);
                    break;
            }
        }

        public override void Missing(Scheduler scheduler, Watch watch, TimeSpan missingFor, DateTimeOffset at)
        {
            Watch = watch;
            if (missingFor < item.Job.VisibilityGrace) return;
            Free(scheduler, errored: false);
            Done(scheduler, watch);
            // EC2 accepted it and never said it failed: its outcome is not known (Pending), not Failed.
            if (!item.IsFinished)
                Finish(item, SnapshotState.Pending, EngineErrors.SnapshotNotVisible(watch.SnapshotId, scheduler.Region, item.Job.VisibilityGrace), endSeen: false);
        }

        // Stopped, the snapshot goes on in EC2; a later refresh from EC2 corrects the volume's count.

        private void Done(Scheduler scheduler, Watch watch)
        {
            Forget(item);
            scheduler.RemoveWatch(watch, this);
        }

        private void Free(Scheduler scheduler, bool errored)
        {
            if (_released) return;
            _released = true;
            var id = item.SnapshotId!;
            if (rule.Ours.Remove(id) && errored) rule.Errored.Add(id);
            scheduler.CreatesChanged = true;
        }
    }

    /// <summary>A volume's pending snapshot started elsewhere: it counts against the volume's limit until it ends.</summary>
    private sealed class ExternalWatcher(VolumeRule rule, JobLink link) : IWatcher, IStoppable
    {
        public JobLink Link { get; } = link;

        public double Weight(Scheduler scheduler) => scheduler._queuedPerVolume.ContainsKey(rule.VolumeId) ? 1 : 0;

        public void Seen(Scheduler scheduler, Watch watch, Snapshot snapshot, DateTimeOffset at)
        {
            var state = snapshot.State?.Value;
            if (state is not ("completed" or "error")) return;
            if (rule.External.Remove(watch.SnapshotId) && state == "error") rule.Errored.Add(watch.SnapshotId);
            scheduler.CreatesChanged = true;
            scheduler.RemoveWatch(watch, this);
        }

        public void Missing(Scheduler scheduler, Watch watch, TimeSpan missingFor, DateTimeOffset at)
        {
            if (missingFor < Link.Job.VisibilityGrace) return;
            rule.External.Remove(watch.SnapshotId);
            scheduler.CreatesChanged = true;
            scheduler.RemoveWatch(watch, this);
        }

        // The job ended: a later refresh from EC2 corrects the volume's count.
        public void Stop(Scheduler scheduler, Watch watch) => scheduler.RemoveWatch(watch, this);

        public void Fail(Scheduler scheduler, Watch watch, string region, EngineError error) => scheduler.RemoveWatch(watch, this);
    }

    // ------------------------------------------------------------------ calls and shapes

    private sealed class CreateCall(CreateOp op) : Call
    {
        public override string Action => op.Action;
        public override object Request => op.Request!;
        public override IEnumerable<JobItem> Items => op.Items;

        public override async Task<object?> SendAsync(IAmazonEC2 client, CancellationToken cancellationToken) => op.Request switch
        {
            CreateSnapshotRequest r => await client.CreateSnapshotAsync(r, cancellationToken).ConfigureAwait(false),
            CreateSnapshotsRequest r => await client.CreateSnapshotsAsync(r, cancellationToken).ConfigureAwait(false),
            _ => throw new InvalidOperationException("No request."),
        };

        public override void Done(Scheduler scheduler, object? response, Exception? error) => scheduler.CreateSent(op, this, response, error);
    }

    /// <summary>DescribeVolumes with the volume-id filter (a missing id is simply not listed).</summary>
    private sealed class VolumesShape : LookupShape
    {
        public override string Id => "volume-id";
        public override string Action => "DescribeVolumes";

        public override AmazonWebServiceRequest Build(IReadOnlyList<string> keys, string? nextToken) => new DescribeVolumesRequest
        {
            Filters = new List<Filter> { new() { Name = "volume-id", Values = keys.ToList() } },
            NextToken = nextToken,
        };

        public override async Task<(IReadOnlyList<object> Items, string? NextToken)> SendAsync(IAmazonEC2 client, AmazonWebServiceRequest request,
            CancellationToken cancellationToken)
        {
            var response = await client.DescribeVolumesAsync((DescribeVolumesRequest)request, cancellationToken).ConfigureAwait(false);
            return ((IReadOnlyList<object>?)response.Volumes ?? Array.Empty<object>(), response.NextToken);
        }

        public override IEnumerable<string> KeysOf(object item) => new[] { ((Volume)item).VolumeId };

        public override void Answered(Scheduler scheduler, string key, IReadOnlyList<object> items, DateTimeOffset at) =>
            scheduler.VolumeAnswered(key, items.Cast<Volume>().FirstOrDefault());

        public override void Failed(Scheduler scheduler, IReadOnlyList<string> keys, Exception error)
        {
            foreach (var key in keys)
            {
                if (!scheduler._describingVolumes.TryGetValue(key, out var ops)) continue;
                scheduler._describingVolumes.Remove(key);
                foreach (var op in ops)
                {
                    op.Describing--;
                    if (op.Instance)
                    {
                        op.Job.Verbose($"DescribeVolumes for {key} failed ({FailurePolicy.Describe(error)}); its volume type and size are unknown.");
                        scheduler.Described(op);
                    }
                    else scheduler.EndCreate(op, item => Finish(item, SnapshotState.Failed, EngineErrors.DescribeFailed(key, scheduler.Region, "DescribeVolumes", error)));
                }
            }
        }
    }

    /// <summary>DescribeInstances with the instance-id filter (a missing id is simply not listed).</summary>
    private sealed class InstancesShape : LookupShape
    {
        public override string Id => "instance-id";
        public override string Action => "DescribeInstances";

        public override AmazonWebServiceRequest Build(IReadOnlyList<string> keys, string? nextToken) => new DescribeInstancesRequest
        {
            Filters = new List<Filter> { new() { Name = "instance-id", Values = keys.ToList() } },
            NextToken = nextToken,
        };

        public override async Task<(IReadOnlyList<object> Items, string? NextToken)> SendAsync(IAmazonEC2 client, AmazonWebServiceRequest request,
            CancellationToken cancellationToken)
        {
            var response = await client.DescribeInstancesAsync((DescribeInstancesRequest)request, cancellationToken).ConfigureAwait(false);
            var instances = (response.Reservations ?? new List<Reservation>()).SelectMany(r => r.Instances ?? new List<Instance>()).Cast<object>().ToList();
            return (instances, response.NextToken);
        }

        public override IEnumerable<string> KeysOf(object item) => new[] { ((Instance)item).InstanceId };

        public override void Answered(Scheduler scheduler, string key, IReadOnlyList<object> items, DateTimeOffset at) =>
            scheduler.InstanceAnswered(key, items.Cast<Instance>().FirstOrDefault(), null);

        public override void Failed(Scheduler scheduler, IReadOnlyList<string> keys, Exception error)
        {
            foreach (var key in keys) scheduler.InstanceAnswered(key, null, error);
        }
    }

    /// <summary>A volume's snapshots that are pending or in error (Owner self; the volume-id and status filters).</summary>
    private sealed class ActiveSnapshotsShape() : SnapshotsShape("volume-id", ownOnly: true)
    {
        public override string Id => "active-of-volume";

        protected override IEnumerable<Filter> FixedFilters =>
            new[] { new Filter { Name = "status", Values = new List<string> { "pending", "error" } } };

        protected override string? KeyOf(Snapshot snapshot) => snapshot.VolumeId;

        protected override void Answered(Scheduler scheduler, string key, IReadOnlyList<Snapshot> snapshots, DateTimeOffset at) =>
            scheduler.ActiveAnswered(key, snapshots);

        public override void Failed(Scheduler scheduler, IReadOnlyList<string> keys, Exception error)
        {
            foreach (var key in keys)
            {
                if (scheduler._refreshingVolumes.TryGetValue(key, out var ops) && ops.Count > 0)
                    ops[0].Job.Verbose($"Re-reading the pending snapshots of {key} in {scheduler.Region} failed ({FailurePolicy.Describe(error)}).");
                scheduler.ActiveAnswered(key, Array.Empty<Snapshot>());
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
    internal static string ExpandDescription(string template, string volumeId, string? volumeName, string? instanceId) =>
        DescriptionTemplate.Truncate(DescriptionTemplate.FillForSnapshot(template, volumeId, volumeName, instanceId));
}
