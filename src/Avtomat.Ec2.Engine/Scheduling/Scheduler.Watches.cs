using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Amazon.EC2;
using Amazon.EC2.Model;
using Amazon.Runtime;
using Avtomat.Ec2.Engine.Copy;
using Avtomat.Ec2.Engine.Create;
using Avtomat.Ec2.Engine.Internal;

namespace Avtomat.Ec2.Engine.Scheduling;

/// <summary>Someone who follows a snapshot by id until it is final: a source check, a wait, a new snapshot, a volume's
/// pending snapshot started elsewhere.</summary>
internal interface IWatcher
{
    JobLink Link { get; }
    /// <summary>Slot-seconds lost per second its end goes unnoticed (see <see cref="PlanEntry.Weight"/>).</summary>
    double Weight(Scheduler scheduler);
    /// <summary>DescribeSnapshots listed it (pending, completed or error).</summary>
    void Seen(Scheduler scheduler, Watch watch, Snapshot snapshot, DateTimeOffset at);
    /// <summary>DescribeSnapshots did not list it; <paramref name="missingFor"/> since it was last listed (or since the
    /// watch began, when never).</summary>
    void Missing(Scheduler scheduler, Watch watch, TimeSpan missingFor, DateTimeOffset at);
}

/// <summary>A snapshot followed by id (<c>snapshot-id</c> filter; no Owner filter, so snapshots shared with the account
/// are seen too) until it is final, for everyone who follows it in this account and region: one entry in every poll.</summary>
internal sealed class Watch(string snapshotId, DateTimeOffset since)
{
    public string SnapshotId { get; } = snapshotId;
    public List<IWatcher> Watchers { get; } = new();
    public DateTimeOffset Since { get; } = since;
    /// <summary>EC2 accepted it moments ago (no first look needed to know it is pending).</summary>
    public bool Accepted { get; set; }
    public Snapshot? Last { get; set; }
    public DateTimeOffset? LastSeenAt { get; set; }
    /// <summary>The last answer did not list it.</summary>
    public bool Missing { get; set; }
    public DateTimeOffset KnownRunningAt { get; set; } = since;
    /// <summary>When an answer last came (listed or not).</summary>
    public DateTimeOffset? AnsweredAt { get; set; }
    public SnapshotKind Kind { get; set; } = SnapshotKind.Other;

    public DateTimeOffset Start => Last?.StartTime is { } start ? new DateTimeOffset(DateTime.SpecifyKind(start, DateTimeKind.Utc)) : Since;
    public int? SizeGiB => Last?.VolumeSize is > 0 ? Last.VolumeSize : null;
}

internal sealed partial class Scheduler
{
    /// <summary>How long the first look at a new id waits for others to join its call.</summary>
    internal static readonly TimeSpan CollectDelay = TimeSpan.FromMilliseconds(100);

    private readonly Dictionary<string, Watch> _watches = new(StringComparer.Ordinal);
    private readonly Dictionary<string, SourceCheck> _sourceChecks = new(StringComparer.Ordinal);
    private SnapshotsByIdShape? _byId;
    private PollDue? _poll;
    private DateTimeOffset _lastPoll = DateTimeOffset.MinValue;

    internal SnapshotsByIdShape ById => _byId ??= new SnapshotsByIdShape();

    // ------------------------------------------------------------------ watches

    /// <summary>Follows <paramref name="snapshotId"/> for <paramref name="watcher"/> (joining anyone who follows it already).</summary>
    internal Watch AddWatch(string snapshotId, IWatcher watcher, bool accepted = false)
    {
        if (!_watches.TryGetValue(snapshotId, out var watch))
        {
            _watches[snapshotId] = watch = new Watch(snapshotId, Now) { Accepted = accepted };
        }
        watch.Watchers.Add(watcher);
        WatchesChanged = true;
        return watch;
    }

    internal void RemoveWatch(Watch watch, IWatcher watcher)
    {
        watch.Watchers.Remove(watcher);
        if (watch.Watchers.Count == 0 && _watches.TryGetValue(watch.SnapshotId, out var current) && current == watch)
        {
            _watches.Remove(watch.SnapshotId);
            Lookups.Unwant(ById, watch.SnapshotId);
        }
        WatchesChanged = true;
    }

    /// <summary>What a by-id call listed for <paramref name="snapshotId"/> (an empty list: nothing).</summary>
    private void SnapshotAnswered(string snapshotId, IReadOnlyList<Snapshot> items, DateTimeOffset at)
    {
        if (!_watches.TryGetValue(snapshotId, out var watch)) return;
        var snapshot = items.FirstOrDefault(s => s.SnapshotId == snapshotId);
        watch.AnsweredAt = at;
        WatchesChanged = true;
        if (snapshot is null)
        {
            watch.Missing = true;
            var missingFor = at - (watch.LastSeenAt ?? watch.Since);
            foreach (var watcher in watch.Watchers.ToList()) watcher.Missing(this, watch, missingFor, at);
            return;
        }
        var state = snapshot.State?.Value;
        if (state == "pending" || state is "recoverable" or "recovering") watch.KnownRunningAt = at;
        else if (state == "completed") Learn(watch, snapshot, at);
        watch.Missing = false;
        watch.Last = snapshot;
        watch.LastSeenAt = at;
        watch.Kind = KindOf(snapshot);
        foreach (var watcher in watch.Watchers.ToList()) watcher.Seen(this, watch, snapshot, at);
    }

    /// <summary>A snapshot seen completed teaches the model how long its kind takes: from EC2's StartTime and
    /// CompletionTime, or, where EC2 gave no CompletionTime, the middle between the last look that saw it running and
    /// this one (only if a look here saw it running: an old snapshot's age is not a duration).</summary>
    private void Learn(Watch watch, Snapshot snapshot, DateTimeOffset at)
    {
        var seenRunning = watch.LastSeenAt is { } seen && watch.Last?.State?.Value != "completed" ? seen : (DateTimeOffset?)null;
        var kind = KindOf(snapshot);
        // A snapshot the module did not make, never seen running here, says nothing about what is waited for now (an old
        // one's duration is not what a new one takes).
        if (kind == SnapshotKind.Other && seenRunning is null && !watch.Accepted) return;
        if (DurationOf(snapshot, seenRunning, at) is { } duration) Durations.Learn(kind, snapshot.VolumeSize, duration);
    }

    /// <summary>How long <paramref name="snapshot"/> (completed) took: EC2's CompletionTime − StartTime, else the middle
    /// of [<paramref name="lastSeenRunning"/>, <paramref name="seenCompleted"/>] − StartTime; null when unknown.</summary>
    internal static TimeSpan? DurationOf(Snapshot snapshot, DateTimeOffset? lastSeenRunning, DateTimeOffset seenCompleted)
    {
        if (snapshot.StartTime is not { } started) return null;
        var start = new DateTimeOffset(DateTime.SpecifyKind(started, DateTimeKind.Utc));
        if (snapshot.CompletionTime is { } completed)
            return new DateTimeOffset(DateTime.SpecifyKind(completed, DateTimeKind.Utc)) - start;
        if (lastSeenRunning is not { } before) return null;
        return before + TimeSpan.FromTicks((seenCompleted - before).Ticks / 2) - start;
    }

    /// <summary>What a snapshot is, by the tags the module sets (a copy's source, a new snapshot's volume).</summary>
    internal SnapshotKind KindOf(Snapshot snapshot)
    {
        if (CopyRules.TagOf(snapshot, CopyTagNames.SourceSnapshotId) is not null) return SnapshotKind.FullCopy;
        if (CopyRules.TagOf(snapshot, CreateTagNames.SourceVolumeId) is not null || CopyRules.TagOf(snapshot, CreateTagNames.SourceInstanceId) is not null)
            return SnapshotKind.Snapshot;
        return SnapshotKind.Other;
    }

    private void SnapshotLookupFailed(IReadOnlyList<string> ids, Exception error)
    {
        foreach (var id in ids)
        {
            if (!_watches.TryGetValue(id, out var watch)) continue;
            foreach (var watcher in watch.Watchers.ToList())
            {
                if (watcher is IWatchFailure failing) failing.LookupFailed(this, watch, error);
            }
        }
        WatchesChanged = true;
    }

    private void StopWatches(JobLink link)
    {
        foreach (var watch in _watches.Values.ToList())
            foreach (var watcher in watch.Watchers.Where(w => w.Link == link).ToList())
                if (watcher is IStoppable stoppable) stoppable.Stop(this, watch);
    }

    private void FailWatches(JobLink link, string region, EngineError error)
    {
        foreach (var watch in _watches.Values.ToList())
            foreach (var watcher in watch.Watchers.Where(w => w.Link == link).ToList())
                if (watcher is IStoppable stoppable) stoppable.Fail(this, watch, region, error);
    }

    // ------------------------------------------------------------------ the poll

    /// <summary>Decides when the next poll looks at everything followed here (by id, and the copies by their source):
    /// <see cref="PollPlanner"/> for what can be predicted, hard due times for the rest (a first look at a new id, a
    /// missing snapshot's grace, a copy waiting to be settled, the ceiling).</summary>
    private void PlanPoll(DateTimeOffset now)
    {
        _poll ??= new PollDue();
        if (_watches.Count == 0 && _runningCopies.Count == 0)
        {
            Agenda.Cancel(_poll);
            return;
        }
        var floor = TimeSpan.MaxValue;
        var ceiling = TimeSpan.MaxValue;
        foreach (var link in _links.Values)
        {
            if (link.Stopped || link.Open == 0) continue;
            if (link.Job.PollInterval < floor) floor = link.Job.PollInterval;
            if (link.Job.MaxPollInterval < ceiling) ceiling = link.Job.MaxPollInterval;
        }
        if (floor == TimeSpan.MaxValue) floor = TimeSpan.FromSeconds(1);
        if (ceiling == TimeSpan.MaxValue || ceiling < floor) ceiling = floor > JobOptions.DefaultMaxPollInterval ? floor : JobOptions.DefaultMaxPollInterval;
        // The last look, or when nothing was looked at yet, when the first of them began: a look is due from there (a
        // baseline that moved with every new arrival would put the first look off for as long as arrivals go on).
        var last = _lastPoll;
        if (last == DateTimeOffset.MinValue)
        {
            last = now;
            foreach (var watch in _watches.Values) if (watch.Since < last) last = watch.Since;
            foreach (var op in _runningCopies) if (op.AcceptedAt is { } accepted && accepted < last) last = accepted;
        }
        var hard = DateTimeOffset.MaxValue;
        var queued = _admission.Count > 0 || _createQueue.Count > 0;
        var entries = new List<PlanEntry>(_watches.Count + _runningCopies.Count);
        var epoch = last;
        double Seconds(DateTimeOffset t) => (t - epoch).TotalSeconds;

        foreach (var watch in _watches.Values)
        {
            // Asked for and not answered yet: its answer decides what comes next.
            if (Lookups.IsWanted(ById, watch.SnapshotId)) continue;
            if (watch.LastSeenAt is null && !watch.Accepted && watch.AnsweredAt is null)
            {
                // A first look soon: whether it exists at all, and in which state.
                hard = Min(hard, watch.Since + CollectDelay);
                continue;
            }
            if (watch.Missing || watch.LastSeenAt is null)
            {
                // Not listed (yet): looked at again at growing intervals until its grace is over.
                var graces = watch.Watchers.Select(w => w.Link.Job.VisibilityGrace);
                hard = Min(hard, Max(Max(now, last + floor), NextUnlistedLook(watch.LastSeenAt ?? watch.Since, watch.AnsweredAt, floor, graces)));
                continue;
            }
            var weight = 0.0;
            foreach (var watcher in watch.Watchers) weight = Math.Max(weight, watcher.Weight(this));
            entries.Add(new PlanEntry(Seconds(watch.Start), Seconds(watch.KnownRunningAt), Durations.Predict(watch.Kind, watch.SizeGiB),
                weight, !queued));
        }
        foreach (var op in _runningCopies)
        {
            if (Lookups.IsWanted(CopiesOf(op.SourceRegion), op.SourceId)) continue;
            if (op.SettleAt is { } settle) hard = Min(hard, Max(settle, last + floor));
            if (op.Missing)
            {
                var graces = op.Items.Select(i => i.Job.VisibilityGrace);
                hard = Min(hard, Max(Max(now, last + floor), NextUnlistedLook(op.LastSeen ?? op.AcceptedAt ?? now, op.KnownAt, floor, graces)));
                continue;
            }
            entries.Add(new PlanEntry(Seconds(op.CopyStart ?? op.AcceptedAt ?? now), Seconds(op.KnownRunningAt), op.Predict(this),
                _admission.Count > 0 ? 1 : TailShare, _admission.Count == 0));
        }
        var next = PollPlanner.Next(entries, 0, Seconds(now), floor.TotalSeconds, ceiling.TotalSeconds, queued ? 0 : Window.Limit);
        var at = epoch + TimeSpan.FromSeconds(next);
        if (hard < at) at = hard;
        if (at < now) at = now;
        Agenda.At(_poll, at);
    }

    /// <summary>When to look again at a snapshot DescribeSnapshots does not list (yet), unlisted since
    /// <paramref name="unlistedSince"/> (when it was last listed, or first asked for) and last looked at at
    /// <paramref name="lastLook"/>. EC2's API is eventually consistent: a snapshot just created, copied or shared may be
    /// briefly invisible, and AWS advises looking again at growing intervals ("Eventual consistency in the Amazon EC2
    /// API", https://docs.aws.amazon.com/ec2/latest/devguide/eventual-consistency.html: run the Describe command
    /// repeatedly, starting with a couple of seconds of wait time, and increasing gradually). So the next look waits as
    /// long as it has been unlisted (at least <paramref name="floor"/>): 1, 2, 4, 8, 16 s…, plus one look as each of the
    /// <paramref name="graces"/> runs out, where it is called missing. It goes in the region's next poll with everything
    /// else looked at then (one batched call), so 20 missing sources cost what one does.</summary>
    internal static DateTimeOffset NextUnlistedLook(DateTimeOffset unlistedSince, DateTimeOffset? lastLook, TimeSpan floor, IEnumerable<TimeSpan> graces)
    {
        var looked = lastLook is { } l && l > unlistedSince ? l : unlistedSince;
        var interval = looked - unlistedSince;
        if (interval < floor) interval = floor;
        var next = looked + interval;
        foreach (var grace in graces)
        {
            var end = unlistedSince + grace;
            if (end > looked && end < next) next = end;
        }
        return next;
    }

    /// <summary>Weight of an end nobody waits for (results streaming to the caller still have some value).</summary>
    internal const double TailShare = 0.05;

    private void Poll(DateTimeOffset now)
    {
        _lastPoll = now;
        foreach (var watch in _watches.Values)
        {
            var link = watch.Watchers.Select(w => w.Link).FirstOrDefault(l => l.Usable);
            if (link is null) continue;
            Lookups.Want(ById, watch.SnapshotId, now, now, link);
        }
        foreach (var op in _runningCopies)
        {
            if (op.Items.Select(i => i.Link!).FirstOrDefault(l => l.Usable) is not { } link) continue;
            Lookups.Want(CopiesOf(op.SourceRegion), op.SourceId, now, now, link);
        }
        WatchesChanged = true;
    }

    private static DateTimeOffset Min(DateTimeOffset a, DateTimeOffset b) => a < b ? a : b;
    private static DateTimeOffset Max(DateTimeOffset a, DateTimeOffset b) => a > b ? a : b;

    private sealed class PollDue : Due
    {
        public override void OnDue(Scheduler scheduler, DateTimeOffset now) => scheduler.Poll(now);
    }

    // ------------------------------------------------------------------ source checks (this scheduler is the source's region)

    /// <summary>Checks <paramref name="snapshotId"/> here for <paramref name="job"/> and answers once it is usable
    /// (completed), or why not: not found (after the visibility grace), in error, on an Outpost. A pending source is
    /// followed until it completes. One check per id serves every copy of it; answers are kept for the job.
    /// <paramref name="listed"/> hears, at every look before the answer, whether DescribeSnapshots listed it (a job that
    /// times out meanwhile reports a source never listed as not found, not as a copy that timed out).</summary>
    internal void CheckSource(string snapshotId, EngineJob job, Action<SourceCheckResult> reply, Action<bool>? listed = null)
    {
        var link = Link(job);
        if (link.Failed is { } failed)
        {
            reply(SourceCheckResult.RegionFailed(failed.For(snapshotId)));
            return;
        }
        if (!_sourceChecks.TryGetValue(snapshotId, out var check)) _sourceChecks[snapshotId] = check = new SourceCheck(snapshotId);
        if (check.Answers.TryGetValue(job, out var known))
        {
            reply(known);
            return;
        }
        var waiter = new SourceWaiter(check, link, reply, listed);
        check.Waiters.Add(waiter);
        check.Watch = AddWatch(snapshotId, waiter);
    }

    private void StepSourceCheckAnswered(SourceWaiter waiter, SourceCheckResult result)
    {
        var check = waiter.Check;
        check.Waiters.Remove(waiter);
        if (check.Watch is { } watch) RemoveWatch(watch, waiter);
        if (!result.IsRegionFailure) check.Answers[waiter.Link.Job] = result;
        waiter.Reply(result);
        if (check.Waiters.Count == 0) check.Watch = null;
    }

    private void StopSourceChecks(JobLink link)
    {
        foreach (var check in _sourceChecks.Values)
        {
            foreach (var waiter in check.Waiters.Where(w => w.Link == link).ToList())
            {
                check.Waiters.Remove(waiter);
                if (check.Watch is { } watch) RemoveWatch(watch, waiter);
            }
            if (check.Waiters.Count == 0) check.Watch = null;
        }
    }

    private void FailSourceChecks(JobLink link, string region, EngineError error)
    {
        if (region != Region) return;
        foreach (var check in _sourceChecks.Values)
            foreach (var waiter in check.Waiters.Where(w => w.Link == link).ToList())
                StepSourceCheckAnswered(waiter, SourceCheckResult.RegionFailed(error.For(check.SnapshotId)));
    }

    /// <summary>The job is done here: its answers are forgotten (a check nobody waits for goes).</summary>
    private void ForgetSourceChecks(EngineJob job)
    {
        foreach (var id in _sourceChecks.Keys.ToList())
        {
            var check = _sourceChecks[id];
            check.Answers.Remove(job);
            if (check.Answers.Count == 0 && check.Waiters.Count == 0) _sourceChecks.Remove(id);
        }
    }

    internal sealed class SourceCheck(string snapshotId)
    {
        public string SnapshotId { get; } = snapshotId;
        public List<SourceWaiter> Waiters { get; } = new();
        public Watch? Watch { get; set; }
        public Dictionary<EngineJob, SourceCheckResult> Answers { get; } = new();
        public bool ToldPending { get; set; }
    }

    internal sealed class SourceWaiter(SourceCheck check, JobLink link, Action<SourceCheckResult> reply, Action<bool>? listed) : IWatcher, IWatchFailure, IStoppable
    {
        public SourceCheck Check { get; } = check;
        public JobLink Link { get; } = link;
        public Action<SourceCheckResult> Reply { get; } = reply;

        // Copies wait for it: its end unnoticed idles what they would use.
        public double Weight(Scheduler scheduler) => 1;

        public void Seen(Scheduler scheduler, Watch watch, Snapshot snapshot, DateTimeOffset at)
        {
            var id = Check.SnapshotId;
            listed?.Invoke(true);
            if (!string.IsNullOrEmpty(snapshot.OutpostArn))
            {
                scheduler.StepSourceCheckAnswered(this, SourceCheckResult.Failed(EngineErrors.SourceOnOutpost(id, snapshot.OutpostArn)));
                return;
            }
            switch (snapshot.State?.Value)
            {
                case "completed":
                    scheduler.StepSourceCheckAnswered(this, SourceCheckResult.Usable(snapshot));
                    break;
                case "error":
                    scheduler.StepSourceCheckAnswered(this, SourceCheckResult.Failed(EngineErrors.SourceSnapshotFailed(id, scheduler.Region, snapshot.StateMessage)));
                    break;
                default: // pending, recoverable, recovering: wait until it can be copied
                    if (!Check.ToldPending)
                    {
                        Check.ToldPending = true;
                        foreach (var job in Check.Waiters.Select(w => w.Link.Job).Distinct())
                            job.Verbose($"Source snapshot {id} in {scheduler.Region} is {snapshot.State?.Value} ({snapshot.Progress}); waiting for it to complete before copying.");
                    }
                    break;
            }
        }

        public void Missing(Scheduler scheduler, Watch watch, TimeSpan missingFor, DateTimeOffset at)
        {
            // A snapshot EC2 has only just accepted (New-AvSnapshot -NoWait | Copy-AvSnapshot) may not be listed yet: it
            // is called missing only once the visibility grace has passed.
            if (missingFor >= Link.Job.VisibilityGrace)
                scheduler.StepSourceCheckAnswered(this, SourceCheckResult.Failed(EngineErrors.SnapshotNotFound(Check.SnapshotId, scheduler.Region)));
            else listed?.Invoke(false);
        }

        public void LookupFailed(Scheduler scheduler, Watch watch, Exception error) =>
            scheduler.StepSourceCheckAnswered(this, SourceCheckResult.Failed(EngineErrors.DescribeFailed(Check.SnapshotId, scheduler.Region, "DescribeSnapshots", error)));

        public void Stop(Scheduler scheduler, Watch watch)
        {
            // The copies that wait for it are stopped by their own scheduler.
        }

        public void Fail(Scheduler scheduler, Watch watch, string region, EngineError error) =>
            scheduler.StepSourceCheckAnswered(this, SourceCheckResult.RegionFailed(error.For(Check.SnapshotId)));
    }

    /// <summary>A watcher that reports one job item: a stop or a failed region ends the item, and the snapshot is no longer
    /// followed for it.</summary>
    private abstract class ItemWatcher(JobItem item) : IWatcher, IStoppable
    {
        /// <summary>Its watch, once known (a watcher is told it with every call).</summary>
        protected Watch? Watch { get; set; }

        public JobLink Link => item.Link!;

        /// <summary>The snapshot it follows (null before EC2 named one).</summary>
        protected abstract string? SnapshotId { get; }

        public abstract double Weight(Scheduler scheduler);
        public abstract void Seen(Scheduler scheduler, Watch watch, Snapshot snapshot, DateTimeOffset at);
        public abstract void Missing(Scheduler scheduler, Watch watch, TimeSpan missingFor, DateTimeOffset at);

        public void Stop(Scheduler scheduler, Watch watch)
        {
            Watch = watch;
            if (!item.IsFinished) item.Job.FinishStopped(item);
            Detach(scheduler);
        }

        public void Fail(Scheduler scheduler, Watch watch, string region, EngineError error)
        {
            Watch = watch;
            EndUnfollowable(item, error);
            Detach(scheduler);
        }

        /// <summary>The item lets go (its job closed or stopped): the snapshot is no longer followed for it.</summary>
        public void Detach(Scheduler scheduler)
        {
            Forget(item);
            if (Watch is null && SnapshotId is { } id && scheduler._watches.TryGetValue(id, out var watch)) Watch = watch;
            if (Watch is not null) scheduler.RemoveWatch(Watch, this);
        }
    }

    // ------------------------------------------------------------------ the by-id shape

    /// <summary>Snapshots by id. No Owner filter: snapshots shared with this account (copy sources) are listed too.</summary>
    internal sealed class SnapshotsByIdShape() : SnapshotsShape("snapshot-id", ownOnly: false)
    {
        public override string Id => "snapshot-id";

        protected override string? KeyOf(Snapshot snapshot) => snapshot.SnapshotId;

        protected override void Answered(Scheduler scheduler, string key, IReadOnlyList<Snapshot> snapshots, DateTimeOffset at) =>
            scheduler.SnapshotAnswered(key, snapshots, at);

        public override void Failed(Scheduler scheduler, IReadOnlyList<string> keys, Exception error) => scheduler.SnapshotLookupFailed(keys, error);
    }
}

/// <summary>A watcher that ends when the lookup itself fails for good (not a retry).</summary>
internal interface IWatchFailure
{
    void LookupFailed(Scheduler scheduler, Watch watch, Exception error);
}

/// <summary>A watcher that belongs to a job: it ends when the job stops or its region fails.</summary>
internal interface IStoppable
{
    void Stop(Scheduler scheduler, Watch watch);
    void Fail(Scheduler scheduler, Watch watch, string region, EngineError error);
}

/// <summary>The answer of a source check: usable (completed), or the error of the copies that wait for it.</summary>
internal sealed class SourceCheckResult
{
    private SourceCheckResult(Snapshot? snapshot, EngineError? error, bool regionFailure)
    {
        Snapshot = snapshot;
        Error = error;
        IsRegionFailure = regionFailure;
    }

    public Snapshot? Snapshot { get; }
    public EngineError? Error { get; }
    /// <summary>The job's credentials failed in the source's region (the job ends every item that touches it).</summary>
    public bool IsRegionFailure { get; }

    public static SourceCheckResult Usable(Snapshot snapshot) => new(snapshot, null, false);
    public static SourceCheckResult Failed(EngineError error) => new(null, error, false);
    public static SourceCheckResult RegionFailed(EngineError error) => new(null, error, true);
}
