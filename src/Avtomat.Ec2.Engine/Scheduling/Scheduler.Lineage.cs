using System;
using System.Collections.Generic;
using System.Linq;
using Amazon.EC2.Model;
using Avtomat.Ec2.Engine.Copy;

namespace Avtomat.Ec2.Engine.Scheduling;

/// <summary>Lineages in EC2: which copies will be full and which incremental, by EC2's rules (<see cref="CopyLineage"/>)
/// applied to the copies of each source volume the destination holds (<see cref="LineageShape"/>, batched through
/// <see cref="Lookups"/> like every Describe), and plans (<see cref="CopyJobOptions.Plan"/>).</summary>
internal sealed partial class Scheduler
{
    /// <summary>A plan's expected seconds per GiB of a full copy where nothing was learned in the destination: about
    /// 68 MiB/s (EC2 documents no typical duration for standard copies; "best effort").</summary>
    internal const double DefaultFullCopySecondsPerGiB = 15;
    /// <summary>And the shortest expected copy.</summary>
    internal const double MinimumCopySeconds = 60;

    /// <summary>Copy ops here by the source volume (the lineage) whose kind the lineage lookup decides.</summary>
    private readonly Dictionary<string, List<CopyOp>> _opsByVolume = new(StringComparer.Ordinal);
    private LineageShape? _lineage;
    private PendingCopiesShape? _pendingCopies;
    /// <summary>Copies pending in this account and region (anyone's), as last looked at (plans).</summary>
    private int _pendingCopiesCount;
    private DateTimeOffset _pendingCopiesAt = DateTimeOffset.MinValue;

    internal LineageShape Lineage => _lineage ??= new LineageShape();
    internal PendingCopiesShape PendingCopies => _pendingCopies ??= new PendingCopiesShape();

    private void LineageAnswered(string volumeId, IReadOnlyList<Snapshot> copies)
    {
        LearnFromLineage(copies);
        if (!_opsByVolume.TryGetValue(volumeId, out var ops)) return;
        foreach (var op in ops.ToList())
        {
            if (op.Source is null || op.State == CopyState.Done) continue;
            ApplyLineage(op, CopyLineage.Decide(op.Leader.Copy, op.Source, Region, AccountIdOf(Account), copies));
            Decide(op);
        }
    }

    /// <summary>Copies of a lineage made before (by any process) teach the duration model from EC2's StartTime and
    /// CompletionTime: the first of a volume here was a full copy (the first copy to a region is), the later ones
    /// incremental. Each copy teaches once.</summary>
    private void LearnFromLineage(IReadOnlyList<Snapshot> copies)
    {
        var first = true;
        foreach (var copy in copies.Where(c => c.StartTime is not null).OrderBy(c => c.StartTime))
        {
            var kind = first ? SnapshotKind.FullCopy : SnapshotKind.IncrementalCopy;
            first = false;
            if (copy.CompletionTime is null || copy.State?.Value != "completed" || !_learnedCopies.Add(copy.SnapshotId)) continue;
            if (DurationOf(copy, null, Now) is { } duration) Durations.Learn(kind, copy.VolumeSize, duration);
        }
        if (_learnedCopies.Count > 65_536) _learnedCopies.Clear();
    }

    /// <summary>Copies the model learned from (bounded: cleared when large).</summary>
    private readonly HashSet<string> _learnedCopies = new(StringComparer.Ordinal);

    private void LineageLookupFailed(IReadOnlyList<string> volumeIds)
    {
        foreach (var volumeId in volumeIds)
        {
            if (!_opsByVolume.TryGetValue(volumeId, out var ops)) continue;
            foreach (var op in ops.ToList())
            {
                // The in-process memory decides (as before lineages were looked up in EC2).
                op.LineageLooked = true;
                Decide(op);
            }
        }
    }

    /// <summary>What EC2 holds decides the op's kind, its expected duration and so its place in the queue.</summary>
    private void ApplyLineage(CopyOp op, LineageDecision decision)
    {
        op.Lineage = decision;
        op.LineageLooked = true;
        var incremental = decision.Kind == CopyKind.Incremental;
        // The destination holds the lineage: remembered, so the model expects an incremental copy.
        if (incremental && !Durations.HasLineage(op.VolumeId)) Durations.Copied(op.VolumeId, null);
        var queued = _admission.Remove(op);
        op.Incremental = incremental;
        op.Expected = Durations.ExpectedCopySeconds(op.VolumeId, op.SizeGiB, incremental);
        if (queued) _admission.Add(op);
        foreach (var item in op.Items)
            lock (item.Gate)
            {
                item.Result.Kind = decision.Kind;
                item.Result.KindReason = decision.Reason;
            }
    }

    /// <summary>The expected duration of <paramref name="op"/>'s copy: learned here, else the stated default.</summary>
    private (TimeSpan Duration, bool Learned) ExpectedDuration(CopyOp op)
    {
        if (op.Predict(this) is { } learned) return (TimeSpan.FromSeconds(learned.MedianSeconds), true);
        // An incremental copy where only full ones were learned here: the model's share of a full one.
        if (op.Incremental && Durations.Predict(SnapshotKind.FullCopy, op.SizeGiB) is { } fullCopy)
            return (TimeSpan.FromSeconds(fullCopy.MedianSeconds * DurationModel.IncrementalShare), true);
        var size = Math.Max(1, op.SizeGiB ?? 1);
        var full = size * DefaultFullCopySecondsPerGiB;
        var seconds = op.Incremental ? full * DurationModel.IncrementalShare : full;
        return (TimeSpan.FromSeconds(Math.Max(MinimumCopySeconds, seconds)), false);
    }

    /// <summary>A plan's copy is known: it ends here, never sent.</summary>
    private void PlanFinished(CopyOp op)
    {
        var (expected, learned) = ExpectedDuration(op);
        var pending = _pendingCopiesCount;
        var decision = op.Lineage;
        EndCopy(op, item =>
        {
            lock (item.Gate)
            {
                item.Result.ExpectedDuration = expected;
                item.Result.ExpectedDurationLearned = learned;
                item.Result.PendingInDestination = pending;
                item.Result.Kind ??= op.Incremental ? CopyKind.Incremental : CopyKind.Full;
                item.Result.KindReason ??= op.Incremental ? "this process copied the volume here before" : "no copy of the volume known here";
            }
            Finish(item, SnapshotState.DryRun, null, $"Plan: {(decision?.Kind ?? (op.Incremental ? CopyKind.Incremental : CopyKind.Full))} copy ({item.Result.KindReason}).");
        });
    }

    private void PendingCopiesAnswered(IReadOnlyList<Snapshot> pending, DateTimeOffset at)
    {
        _pendingCopiesCount = pending.Count(s => s.VolumeId == CopyLineage.CopyVolumeId);
        _pendingCopiesAt = at;
        foreach (var op in _copyOpsAll().Where(o => o.Plan && o.State == CopyState.Checking).ToList()) Decide(op);
    }

    private IEnumerable<CopyOp> _copyOpsAll() => _opsBySource.Values.SelectMany(l => l);

    /// <summary>The copies this account holds here of source volumes (Owner self, the lineage tag filter with up to 200
    /// volume ids): what EC2's rules for incremental copies look at.</summary>
    internal sealed class LineageShape() : SnapshotsShape("tag:" + CopyTagNames.SourceVolumeId, ownOnly: true)
    {
        public override string Id => "lineage";

        protected override string? KeyOf(Snapshot snapshot) => CopyRules.TagOf(snapshot, CopyTagNames.SourceVolumeId);

        protected override void Answered(Scheduler scheduler, string key, IReadOnlyList<Snapshot> snapshots, DateTimeOffset at) =>
            scheduler.LineageAnswered(key, snapshots);

        public override void Failed(Scheduler scheduler, IReadOnlyList<string> keys, Exception error) => scheduler.LineageLookupFailed(keys);
    }

    /// <summary>The snapshots pending in this account and region (Owner self, status pending; copies are those whose
    /// volume is EC2's arbitrary vol-ffffffff): what a plan's window has left.</summary>
    internal sealed class PendingCopiesShape() : SnapshotsShape("status", ownOnly: true)
    {
        public const string Key = "pending";
        public override string Id => "pending-copies";

        protected override string? KeyOf(Snapshot snapshot) => snapshot.State?.Value;

        protected override void Answered(Scheduler scheduler, string key, IReadOnlyList<Snapshot> snapshots, DateTimeOffset at) =>
            scheduler.PendingCopiesAnswered(snapshots, at);

        public override void Failed(Scheduler scheduler, IReadOnlyList<string> keys, Exception error) =>
            scheduler.PendingCopiesAnswered(Array.Empty<Snapshot>(), scheduler.Now);
    }
}
