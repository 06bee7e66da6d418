using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Amazon.EC2;
using Amazon.EC2.Model;
using Amazon.Runtime;
using Avtomat.Ec2.Engine.Copy;
using Avtomat.Ec2.Engine.Internal;

namespace Avtomat.Ec2.Engine.Scheduling;

internal sealed partial class Scheduler
{
    /// <summary>How old the last look at a source's copies may be for a copy to be admitted on it without looking again.</summary>
    internal static readonly TimeSpan AdmissionFreshness = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan ThrottleBaseDelay = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan MaxThrottleDelay = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan LimitBaseDelay = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan MaxLimitDelay = TimeSpan.FromSeconds(30);

    /// <summary>Shared copies by identity (see <see cref="CopyRules.KeyOf"/>): one per source and encryption here.</summary>
    private readonly Dictionary<string, CopyOp> _copyOps = new(StringComparer.Ordinal);
    /// <summary>Every copy op here by its source (region|id): where the answers of the copies-of lookups go.</summary>
    private readonly Dictionary<string, List<CopyOp>> _opsBySource = new(StringComparer.Ordinal);
    /// <summary>Every token a copy op here sent CopySnapshot with (ours, as opposed to another run's).</summary>
    private readonly Dictionary<string, CopyOp> _copyOpsByToken = new(StringComparer.Ordinal);
    private readonly SortedSet<CopyOp> _admission = new(CopyOrder.Instance);
    private readonly SortedSet<CopyOp> _dryRunQueue = new(CopyOrder.Instance);
    /// <summary>Copies followed by the polls (running or settling).</summary>
    private readonly HashSet<CopyOp> _runningCopies = new();
    private readonly Dictionary<string, CopiesOfShape> _copiesShapes = new(StringComparer.Ordinal);
    private WakeDue? _admissionWaker;
    private WakeDue? _recovery;
    private DateTimeOffset _orderingUntil = DateTimeOffset.MinValue;
    private long _copySequence;
    /// <summary>Copies made by someone else (an earlier run, another process) were seen here: a copy of ours may have a
    /// twin that was not listed yet when we looked, so completed copies are settled before they are reported.</summary>
    private bool _sawOtherRuns;

    internal CopiesOfShape CopiesOf(string sourceRegion)
    {
        if (!_copiesShapes.TryGetValue(sourceRegion, out var shape)) _copiesShapes[sourceRegion] = shape = new CopiesOfShape(sourceRegion);
        return shape;
    }

    // ------------------------------------------------------------------ a new request

    private void SubmitCopy(CopyItem item)
    {
        var job = item.CopyJob;
        var request = item.Copy;
        var shared = !job.DryRun && !job.CopyAgain;
        var key = shared ? CopyRules.KeyOf(request) : null;
        if (key is not null && _copyOps.TryGetValue(key, out var existing))
        {
            Follow(existing, item);
            return;
        }
        var op = new CopyOp(key, item, ++_copySequence) { State = CopyState.Checking };
        item.Op = op;
        if (key is not null) _copyOps[key] = op;
        var bySource = op.SourceRegion + "|" + op.SourceId;
        if (!_opsBySource.TryGetValue(bySource, out var list)) _opsBySource[bySource] = list = new List<CopyOp>(1);
        list.Add(op);
        op.SubmittedAt = Now;
        if (op.Plan) Lookups.Want(PendingCopies, PendingCopiesShape.Key, Now, Now + CollectDelay, item.Link!);
        AskSource(op);
        if (op.CopyAgain) op.EarlierLooked = true;
        else Lookups.Want(CopiesOf(op.SourceRegion), op.SourceId, Now, Now + CollectDelay, item.Link!);
    }

    /// <summary>Another request for a copy this scheduler already serves (another job in the process, the same source
    /// with the same encryption): it follows that copy instead of making a second one.</summary>
    private void Follow(CopyOp op, CopyItem item)
    {
        item.Op = op;
        var queued = _admission.Remove(op);
        op.Items.Add(item);
        if (item.InputOrder < op.Order) op.Order = item.InputOrder;
        if (queued) _admission.Add(op);
        item.SourceSizeGiB = op.SizeGiB;
        if (op.SnapshotId is { } id && op.State is CopyState.Running or CopyState.Settling)
        {
            lock (item.Gate) item.Result.Reused = true;
            item.Link!.AcceptedTokens[op.Token] = id;
            item.Job.Accept(item, id, op.CopyStart?.UtcDateTime, adopted: false);
            item.Job.Verbose($"{item.Copy.SourceSnapshotId} ({item.Copy.SourceRegion}) → {id} ({Region}): another invocation in this process is copying it; " +
                             "waiting for that copy instead of copying again.", item.Request);
            if (item.Job.NoWait) Linger(item);
        }
    }

    /// <summary>Asks the source's region to check the source for the op's first request's job.</summary>
    private void AskSource(CopyOp op)
    {
        var job = op.Leader.Job;
        op.CheckAskedBy = job;
        var source = job.SourceScheduler(op.SourceRegion);
        source.Post(s => s.CheckSource(op.SourceId, job, result => Post(d => d.SourceChecked(op, job, result)),
            listed => Post(d => d.SourceListed(op, listed))));
    }

    /// <summary>A look at the source before its check answered: whether DescribeSnapshots listed it.</summary>
    private void SourceListed(CopyOp op, bool listed)
    {
        if (op.State == CopyState.Checking && op.Source is null) op.SourceUnlisted = !listed;
    }

    private void SourceChecked(CopyOp op, EngineJob askedBy, SourceCheckResult result)
    {
        if (op.State != CopyState.Checking || op.Source is not null) return;
        if (result.IsRegionFailure)
        {
            // The asking job's credentials failed in the source's region: that job ends its items (a broadcast); the
            // requests of other jobs ask again with theirs.
            if (op.Items.Count > 0 && op.Items.Any(i => i.Job != askedBy)) AskSource(op);
            return;
        }
        if (result.Error is { } error)
        {
            EndCopy(op, item => Finish(item, SnapshotState.Failed, error.For(item.TargetId)));
            return;
        }
        var source = result.Snapshot!;
        var request = op.Leader.Copy;
        op.Source = source;
        op.SizeGiB = source.VolumeSize is > 0 ? source.VolumeSize : null;
        op.VolumeId = CopyLineage.VolumeOf(source);
        op.SourceEncrypted = source.Encrypted == true;
        // Until EC2's copies of the lineage are looked at, the in-process memory decides: re-encrypting with a new key
        // makes a full copy even where the lineage has one.
        var mayBeIncremental = request.KmsKeyId is null && (op.SourceEncrypted || !request.Encrypted);
        op.Incremental = mayBeIncremental && Durations.HasLineage(op.VolumeId);
        op.Expected = Durations.ExpectedCopySeconds(op.VolumeId, op.SizeGiB, mayBeIncremental);
        foreach (var item in op.Items)
        {
            item.SourceSizeGiB = op.SizeGiB;
            lock (item.Gate)
            {
                item.Result.SourceSizeGiB = op.SizeGiB;
                item.Result.SourceVolumeId = op.VolumeId;
            }
        }
        if (request.SourceRegion == Region || op.VolumeId is null)
            ApplyLineage(op, CopyLineage.Decide(request, source, Region, AccountIdOf(Account), Array.Empty<Snapshot>()));
        else
        {
            if (!_opsByVolume.TryGetValue(op.VolumeId, out var list)) _opsByVolume[op.VolumeId] = list = new List<CopyOp>(1);
            list.Add(op);
            Lookups.Want(Lineage, op.VolumeId, Now, Now + CollectDelay, op.Leader.Link!);
        }
        ExpectKey(op);
        Rematch(op);
        Decide(op);
    }

    /// <summary>Once the source is checked and earlier copies were looked for: reuse what exists, or queue.</summary>
    private void Decide(CopyOp op)
    {
        if (op.State != CopyState.Checking || op.Source is null || !op.EarlierLooked || op.Expect is null) return;
        if (op.Plan && (!op.LineageLooked || _pendingCopiesAt < op.SubmittedAt)) return;
        if (op.Earlier is { } earlier && earlier.State?.Value == "completed")
        {
            Reuse(op, earlier);
            return;
        }
        if (op.Earlier is null) SayWhyNotReused(op);
        if (CompletionDurationError(op) is { } tooShort)
        {
            EndCopy(op, item => Finish(item, SnapshotState.Failed, tooShort.For(item.TargetId)));
            return;
        }
        if (op.Plan && op.Earlier is null)
        {
            PlanFinished(op);
            return;
        }
        if (op.DryRun && op.Earlier is { } pending)
        {
            EndCopy(op, item => Finish(item, SnapshotState.DryRun, null,
                $"An earlier copy {pending.SnapshotId} is still pending: it would be waited for, not copied again."));
            return;
        }
        if (op.Leader.Job.SourceClients is not null && !op.Shared)
        {
            ShareSource(op);
            return;
        }
        Enqueue(op, Now);
    }

    // ------------------------------------------------------------------ vault copies: the source is shared first

    /// <summary>A vault copy must be made: the source's account shares the source with this one first (its scheduler
    /// owns the share), unless it already is. A dry run says what would happen: CopySnapshot cannot be checked here
    /// before the source is shared.</summary>
    private void ShareSource(CopyOp op)
    {
        var job = op.Leader.Job;
        var grantee = AccountIdOf(job.Account);
        var markerSeen = CopyRules.TagOf(op.Source!, CopyTagNames.SharedWithPrefix + grantee) is not null;
        if (op.DryRun)
        {
            EndCopy(op, item => Finish(item, SnapshotState.DryRun, null,
                $"{op.SourceId} in {op.SourceRegion} (account {AccountIdOf(job.SourceAccount!)}) would be shared with account {grantee} unless it is already, " +
                $"copied there, and the permission removed again; CopySnapshot in account {grantee} cannot be checked before the source is shared."));
            return;
        }
        op.State = CopyState.Sharing;
        job.SourceScheduler(op.SourceRegion).Post(s => s.AcquireShare(op.SourceId, grantee, markerSeen, job, error => Post(d => d.SourceShared(op, error))));
    }

    private void SourceShared(CopyOp op, EngineError? error)
    {
        if (op.State != CopyState.Sharing) return;
        if (error is not null)
        {
            EndCopy(op, item => Finish(item, SnapshotState.Failed, error.For(item.TargetId)));
            return;
        }
        op.Shared = true;
        Enqueue(op, Now);
    }

    /// <summary>A copy that ended in error for a key EC2 could not use, of a source encrypted with another account's key
    /// (a snapshot shared with this account): that key's ARN. EC2 does not say which key failed; the source's belongs to
    /// another account, so it is the one this account most likely may not use.</summary>
    private string? ForeignSourceKey(CopyOp op, string? statusMessage)
    {
        if (statusMessage is null || statusMessage.IndexOf("not accessible", StringComparison.OrdinalIgnoreCase) < 0) return null;
        var key = op.Source?.KmsKeyId;
        if (op.Source?.Encrypted != true || string.IsNullOrEmpty(key)) return null;
        var owner = EngineErrors.AccountOfKeyArn(key!);
        return owner is not null && owner != AccountIdOf(Account) ? key : null;
    }

    /// <summary>The 12-digit id in an account key (<c>account:123456789012</c>).</summary>
    internal static string AccountIdOf(string account) =>
        account.StartsWith("account:", StringComparison.Ordinal) ? account.Substring("account:".Length) : account;

    private void Enqueue(CopyOp op, DateTimeOffset now)
    {
        op.State = CopyState.Queued;
        var queue = op.DryRun ? _dryRunQueue : _admission;
        // Requests checked together join the queue before free slots are granted, so the longest go first.
        if (!op.Requeued && queue.Count == 0 && _orderingUntil < now && (op.DryRun || Window.HasRoom))
            _orderingUntil = now + Engine.CopyOrderingDelay;
        queue.Add(op);
        CopiesChanged = true;
        WatchesChanged = true; // the poll's weights depend on whether copies wait
    }

    // ------------------------------------------------------------------ admission

    /// <summary>Free slots go to the queue's head: the copy expected to take longest first (its job's ThrottleLimit
    /// allowing). A dry run needs only its job's slot.</summary>
    private void AdmitCopies(DateTimeOffset now)
    {
        if (_admission.Count == 0 && _dryRunQueue.Count == 0) return;
        if (now < _orderingUntil)
        {
            Agenda.NoLaterThan(_admissionWaker ??= new WakeDue(s => s.CopiesChanged = true), _orderingUntil);
            return;
        }
        foreach (var op in _dryRunQueue.ToList())
        {
            var link = op.Leader.Link!;
            if (link.SlotsHeld >= ThrottleLimit(op)) continue;
            _dryRunQueue.Remove(op);
            link.SlotsHeld++;
            op.SlotLink = link;
            op.State = CopyState.Paced;
            Send(op, now);
        }
        while (Window.HasRoom && _admission.Count > 0)
        {
            CopyOp? next = null;
            foreach (var op in _admission)
            {
                if (op.Leader.Link!.SlotsHeld < ThrottleLimit(op) && ThroughputFits(op)) { next = op; break; }
            }
            if (next is null) break;
            _admission.Remove(next);
            TakeThroughput(next);
            Window.Take();
            next.HoldsWindowSlot = true;
            next.SlotLink = next.Leader.Link!;
            next.SlotLink.SlotsHeld++;
            Admit(next, now);
        }
        Publish();
    }

    private static int ThrottleLimit(CopyOp op) => op.Leader.CopyJob.ThrottleLimit;

    // ------------------------------------------------------------------ time-based copies

    /// <summary>The throughput a time-based copy needs (its full size over its duration, at most EC2's 500 MiB/s per
    /// copy), or 0 for a standard copy.</summary>
    private static double ThroughputOf(CopyOp op) =>
        op.Leader.Copy.CompletionDurationMinutes is { } minutes && op.SizeGiB is { } size
            ? CopyThroughput.Held(size, minutes)
            : 0;

    /// <summary>A time-based copy is admitted only when its throughput fits what the region pair's quota has left (else
    /// EC2 would accept it and finish it late, or refuse it): it waits in the queue, and standard copies behind it go.</summary>
    private bool ThroughputFits(CopyOp op) =>
        ThroughputOf(op) is var need && (need <= 0 || Throughput.Fits(op.SourceRegion, need, op.Leader.CopyJob.TimeBasedThroughputQuota));

    private void TakeThroughput(CopyOp op)
    {
        var need = ThroughputOf(op);
        if (need <= 0) return;
        Throughput.Take(op.SourceRegion, need);
        op.ThroughputHeld = need;
    }

    /// <summary>The source's region gave this time-based copy its turn: it goes on with its admission.</summary>
    private void SeriesTurnGiven(CopyOp op)
    {
        if (op.State != CopyState.Admitting || op.HoldsSeriesTurn)
        {
            // Ended meanwhile: the turn goes to the next one.
            op.Leader.Job.SourceScheduler(op.SourceRegion).Post(s => s.EndSeriesTurn(op.SourceId, op));
            return;
        }
        op.HoldsSeriesTurn = true;
        Admit(op, Now);
    }

    /// <summary>Checked once the source's size is known: a duration EC2 cannot keep at 500 MiB/s for a full copy is the
    /// caller's error, before any call (EC2 would accept it and finish late).</summary>
    private EngineError? CompletionDurationError(CopyOp op)
    {
        if (op.Leader.Copy.CompletionDurationMinutes is not { } minutes || op.SizeGiB is not { } size || op.Incremental) return null;
        var shortest = CopyThroughput.ShortestMinutes(size);
        return minutes >= shortest ? null : EngineErrors.CompletionDurationTooShort(op.SourceId, Region, size, minutes, shortest);
    }

    /// <summary>A slot is held: look once more for a copy of the source (an earlier run's, a concurrent run's), unless the
    /// last look is fresh (a poll that just saw a copy end looked at the queue's next sources too), then copy.</summary>
    private void Admit(CopyOp op, DateTimeOffset now)
    {
        op.State = CopyState.Admitting;
        op.AdmittedAt = now;
        if (op.ThroughputHeld > 0 && !op.HoldsSeriesTurn)
        {
            // Time-based copies of one snapshot run one after the other (EC2 starts the second's duration only when the
            // first completes): the source's region hands out the turns.
            var job = op.Leader.Job;
            job.SourceScheduler(op.SourceRegion).Post(s => s.TakeSeriesTurn(op.SourceId, op, () => Post(d => d.SeriesTurnGiven(op))));
            return;
        }
        if (op.CopyAgain)
        {
            op.State = CopyState.Paced;
            Send(op, now);
            return;
        }
        // Another run copies here too (its copies were seen): it admits from the same queue order, so a look even 2 s
        // old may miss the copy it sent since. Each admission then looks afresh, just before its CopySnapshot.
        if (!_sawOtherRuns && op.KnownAt is { } known && known >= now - AdmissionFreshness)
        {
            Admitted(op, known, now);
            return;
        }
        Lookups.Want(CopiesOf(op.SourceRegion), op.SourceId, now, now, op.Leader.Link!);
    }

    /// <summary>The admission look (sent at <paramref name="lookedAt"/>) is in: take over what exists, or copy.</summary>
    private void Admitted(CopyOp op, DateTimeOffset lookedAt, DateTimeOffset now)
    {
        op.LookedUpAt = lookedAt;
        if (op.Earlier is { } earlier)
        {
            if (earlier.State?.Value == "completed")
            {
                ReleaseSlot(op, SlotRelease.Unused);
                Reuse(op, earlier);
            }
            else
            {
                TakeOver(op, earlier, now);
            }
            return;
        }
        op.State = CopyState.Paced;
        Send(op, now);
    }

    internal void CopyDue(CopyOp op, DateTimeOffset now)
    {
        switch (op.State)
        {
            case CopyState.Paced:
                Send(op, now);
                break;
            case CopyState.LimitWait:
                op.Requeued = true;
                Enqueue(op, now);
                break;
        }
    }

    // ------------------------------------------------------------------ CopySnapshot

    private void Send(CopyOp op, DateTimeOffset now)
    {
        if (op.State != CopyState.Paced) return;
        if (!Pace("CopySnapshot", now, op)) return;
        var item = op.Leader;
        var request = item.Copy;
        var call = CopyRules.Build(request, op.Source!, op.Token, out var description, out var tags, out var dropped);
        if (dropped.Count > 0 && op.Retries == 0 && op.Throttles == 0 && op.CapacityHits == 0)
            item.Job.Warn($"{request.SourceSnapshotId} has more tags than fit on its copy in {Region} (EC2 allows {CopyRules.MaxTags} per snapshot, and the copy " +
                          $"needs {CopyTagNames.All.Length} of its own plus -Tag): {dropped.Count} of the source's tags were not copied: {string.Join(", ", dropped)}.", request);
        var encrypt = request.Encrypted || request.KmsKeyId is not null;
        if (op.SourceEncrypted && !encrypt && op.Retries == 0 && op.Throttles == 0 && op.CapacityHits == 0)
            item.Job.Verbose($"Source snapshot {request.SourceSnapshotId} is encrypted, so its copy in {Region} will be encrypted too.", request);
        foreach (var each in op.Items)
        {
            lock (each.Gate)
            {
                each.Result.Description = description;
                each.Result.Tags = new Dictionary<string, string>(tags, StringComparer.Ordinal);
                // Also when EBS encryption by default is on here (the expectation knows it).
                each.Result.Encrypted = encrypt || op.SourceEncrypted || request.DestinationOutpostArn is not null || op.Expect is { AcceptsUnencrypted: false } ? true : null;
            }
        }
        if (op.DryRun) call.DryRun = true;
        else _copyOpsByToken[op.Token] = op;
        op.State = CopyState.Sending;
        var copyCall = new CopyCall(op, call);
        op.InFlight = copyCall;
        Launch(copyCall, op.SlotLink ?? item.Link!);
    }

    private void CopySent(CopyOp op, CopyCall call, CopySnapshotResponse? response, Exception? error)
    {
        op.InFlight = null;
        var now = Now;
        var link = call.Client!;
        var job = link.Job;
        if (op.State == CopyState.Done)
        {
            // Nobody waits for it any more (their regions failed): a copy it made keeps running in EC2.
            if (response?.SnapshotId is { } orphan)
                job.Warn($"CopySnapshot of {op.SourceId} to {Region} answered after its requests had ended: {orphan} keeps running in EC2.");
            return;
        }
        if (error is null)
        {
            var id = response?.SnapshotId;
            if (op.DryRun)
            {
                // EC2 always answers a dry run with DryRunOperation; a real answer means something was made.
                job.Warn($"EC2 did not treat CopySnapshot of {op.SourceId} as a dry run.", op.Leader.Request);
                ReleaseSlot(op, SlotRelease.Unused);
                EndCopy(op, item =>
                {
                    if (!string.IsNullOrEmpty(id)) item.Job.Accept(item, id!, null, adopted: false);
                    Finish(item, SnapshotState.DryRun, null);
                });
                return;
            }
            if (string.IsNullOrEmpty(id))
            {
                ReleaseSlot(op, SlotRelease.Unused);
                var missing = new InvalidOperationException("CopySnapshot answered without a snapshot id.");
                EndCopy(op, item => Finish(item, SnapshotState.Failed, EngineErrors.Unexpected(item.SourceId, missing)));
                return;
            }
            Accepted(op, id!, now, null, adopted: false, madeBy: link);
            return;
        }

        if (error is OperationCanceledException && call.Client!.Job.SentCallToken.IsCancellationRequested)
        {
            // The call itself was cut off after a stop (its grace ran out): its outcome is unknown. Say how to find it.
            job.Warn($"Stopped while CopySnapshot of {op.SourceId} in {Region} was in flight; a snapshot may exist: " +
                     $"look for the tag {CopyTagNames.RequestToken}={op.Token}.", op.Leader.Request);
            ReleaseSlot(op, SlotRelease.Unused);
            EndCopy(op, item => item.Job.FinishStopped(item));
            return;
        }

        var action = FailurePolicy.Decide(error, "CopySnapshot");
        if (op.DryRun && action == FailureAction.LookUpToken) action = op.Retries < job.MaxRetries ? FailureAction.Retry : FailureAction.FailItem;
        switch (action)
        {
            case FailureAction.DryRunSucceeded:
                job.Verbose($"Dry run: CopySnapshot of {op.SourceId} in {Region} would succeed.", op.Leader.Request);
                ReleaseSlot(op, SlotRelease.Unused);
                EndCopy(op, item => Finish(item, SnapshotState.DryRun, null, "DryRunOperation: the copy would have succeeded."));
                return;
            case FailureAction.Retry:
                // Throttled, or no connection made: nothing happened. Retried for as long as the job runs (the action's rate
                // slows down; an endpoint that stays unreachable ends the region instead).
                if (FailurePolicy.IsThrottle(error)) job.Counters.Throttled();
                else if (op.DryRun) op.Retries++;
                job.Counters.Retry();
                var delay = Backoff.Delay(Math.Min(op.Throttles++, 5), ThrottleBaseDelay, MaxThrottleDelay);
                job.Verbose($"CopySnapshot of {op.SourceId} in {Region} did not reach EC2 ({FailurePolicy.Describe(error)}); retrying in {delay.TotalSeconds:0.0} s.", op.Leader.Request);
                FinishStopPending(op);
                if (op.Items.Count == 0) { AbandonCopy(op); return; }
                op.State = CopyState.Paced;
                Agenda.At(op, now + delay);
                return;
            case FailureAction.LookUpToken:
                job.Counters.Uncertain();
                op.Uncertain = true;
                op.LastUncertain = error;
                job.Verbose($"CopySnapshot of {op.SourceId} in {Region} got no definite answer ({FailurePolicy.Describe(error)}); " +
                            $"looking for snapshots tagged {CopyTagNames.RequestToken}={op.Token} before trying again.", op.Leader.Request);
                op.State = CopyState.LookingUpToken;
                Lookups.Want(ByToken, op.Token, now, now + CollectDelay, link);
                return;
            case FailureAction.WaitForCapacity:
                // ResourceLimitExceeded: copies started elsewhere use part of EC2's limit. Shrink, re-queue, never drop.
                job.Counters.LimitExceeded();
                ReleaseSlot(op, SlotRelease.LimitExceeded);
                var wait = Backoff.Delay(op.CapacityHits++, LimitBaseDelay, MaxLimitDelay);
                job.Verbose($"EC2's limit of pending copies in {Region} was reached (copies started outside this process count too); " +
                            $"copy window there is now {Window.Current}; {op.SourceId} is re-queued and tried again in {wait.TotalSeconds:0.0} s.", op.Leader.Request);
                FinishStopPending(op);
                if (op.Items.Count == 0) { AbandonCopy(op); return; }
                op.State = CopyState.LimitWait;
                Agenda.At(op, now + wait);
                return;
            case FailureAction.FailAccountRegion:
                ReleaseSlot(op, SlotRelease.Unused);
                FinishStopPending(op);
                AccountRegionFailed(link, FailurePolicy.RegionError(error, op.SourceId, Region, "CopySnapshot"));
                if (op.Items.Count > 0 && op.State != CopyState.Done)
                {
                    // Requests of other jobs (their own credentials) go on.
                    op.State = CopyState.Paced;
                    Agenda.At(op, now);
                    HandOver(op);
                }
                return;
            default:
                ReleaseSlot(op, SlotRelease.Unused);
                var encrypting = op.Leader.Copy.Encrypted || op.Leader.Copy.KmsKeyId is not null;
                EndCopy(op, item => Finish(item, SnapshotState.Failed, EngineErrors.CopyRejected(item.SourceId, Region, error, encrypting, op.SourceRegion)));
                return;
        }
    }

    /// <summary>EC2 made the copy (or it was found by its token after a lost response): report its id at once; the polls
    /// follow it from now on.</summary>
    /// <param name="op">The copy.</param>
    /// <param name="snapshotId">The copy's id in EC2.</param>
    /// <param name="now">When the answer came.</param>
    /// <param name="started">EC2's StartTime when known (found by its token); else the answer's time stands for it.</param>
    /// <param name="adopted">Found by its token after a call without a definite answer.</param>
    /// <param name="madeBy">The job whose call made it: the others' requests report it as reused (they made no copy).</param>
    private void Accepted(CopyOp op, string snapshotId, DateTimeOffset now, DateTimeOffset? started, bool adopted, JobLink madeBy)
    {
        op.SnapshotId = snapshotId;
        op.AcceptedAt = now;
        op.CopyStart = started ?? now;
        op.KnownRunningAt = now;
        op.State = CopyState.Running;
        if (op.Uncertain)
        {
            // An earlier attempt may have made one too, not visible yet when it was looked for: settle the copy once a
            // twin would be listed (the polls delete twins of the same token).
            op.SettleAt = now + (op.Leader.Job.VisibilityGrace < EngineJob.TwinVisibility ? op.Leader.Job.VisibilityGrace : EngineJob.TwinVisibility);
        }
        _runningCopies.Add(op);
        WatchesChanged = true;
        foreach (var item in op.Items.ToList())
        {
            item.Link!.AcceptedTokens[op.Token] = snapshotId;
            var follower = item.Link != madeBy;
            if (follower) lock (item.Gate) item.Result.Reused = true;
            item.Job.Accept(item, snapshotId, started?.UtcDateTime, adopted && !follower);
            if (follower)
                item.Job.Verbose($"{item.Copy.SourceSnapshotId} ({item.Copy.SourceRegion}) → {snapshotId} ({Region}): another invocation in this process is " +
                                 "copying it; waiting for that copy instead of copying again.", item.Request);
            if (item.StopPending) StopCopyItem(item, op);
            else if (item.Job.NoWait) Linger(item);
        }
        if (op.Items.Count == 0) AbandonCopy(op);
    }

    /// <summary>-NoWait: the copy is reported (Pending) now and stays followed, its slot held, while the job lasts.</summary>
    private void Linger(JobItem item)
    {
        item.Lingering = true;
        item.Job.Finish(item, SnapshotState.Pending, null);
    }

    private void TokenAnswered(string token, IReadOnlyList<Snapshot> found, DateTimeOffset at)
    {
        if (_copyOpsByToken.TryGetValue(token, out var op) && op.State == CopyState.LookingUpToken) CopyTokenAnswered(op, found, at);
        if (_createOpsByToken.TryGetValue(token, out var create)) CreateTokenAnswered(create, found, at);
        SweepAnswered(token, found);
    }

    private void CopyTokenAnswered(CopyOp op, IReadOnlyList<Snapshot> found, DateTimeOffset at)
    {
        var now = Now;
        var job = op.Leader.Job;
        var made = found.Where(s => s.State?.Value is "pending" or "completed").ToList();
        if (made.Count > 0)
        {
            var kept = CopyRules.ChooseKept(made, null);
            DeleteDuplicates(op.Leader.Link!, kept, made, op.SourceId);
            Accepted(op, kept.SnapshotId, now, kept.StartTime is { } s ? new DateTimeOffset(DateTime.SpecifyKind(s, DateTimeKind.Utc)) : null, adopted: true,
                madeBy: op.SlotLink ?? op.Leader.Link!);
            return;
        }
        FinishStopPending(op);
        if (op.Items.Count == 0) { AbandonCopy(op); return; }
        if (op.Retries >= job.MaxRetries)
        {
            ReleaseSlot(op, SlotRelease.Unused);
            var uncertain = op.LastUncertain ?? new TimeoutException("No definite answer.");
            EndCopy(op, item => Finish(item, SnapshotState.Failed, EngineErrors.CopyOutcomeUnknown(item.SourceId, Region, op.Token, uncertain)));
            return;
        }
        op.Retries++;
        job.Counters.Retry();
        job.MayHaveHiddenTwins();
        job.Verbose($"Nothing was made for {op.SourceId} in {Region}; sending CopySnapshot again with the same request token.", op.Leader.Request);
        op.State = CopyState.Paced;
        Send(op, now);
    }

    // ------------------------------------------------------------------ what the copies-of lookups say

    /// <summary>Every copy of a source in this destination (made by this account, tagged with the source): earlier
    /// copies to reuse, concurrent runs' copies to take over, the state of ours, twins and duplicates.</summary>
    private void CopiesAnswered(string sourceRegion, string sourceId, IReadOnlyList<Snapshot> copies, DateTimeOffset at)
    {
        if (!_opsBySource.TryGetValue(sourceRegion + "|" + sourceId, out var ops)) return;
        // Only another run's copy started within the visibility grace before this look can stand for a run whose copies
        // may still be invisible (a twin of one of ours): copies older than that were listed to every look since, so the
        // twin check (the settling look after a copy completes, the fresh look before each admission) is not needed for them.
        var grace = ops.Count > 0 ? ops.Max(o => o.VisibilityGrace) : TimeSpan.Zero;
        foreach (var copy in copies)
        {
            var token = CopyRules.TokenOf(copy);
            if ((token is null || !_copyOpsByToken.ContainsKey(token)) && StartedWithin(copy, at - grace)) _sawOtherRuns = true;
        }
        var now = Now;
        foreach (var op in ops.ToList())
        {
            if (op.State == CopyState.Done) continue;
            if (op.KnownAt is null || at > op.KnownAt) op.KnownAt = at;
            var live = copies.Where(c => c.State?.Value is "pending" or "completed").ToList();
            var matching = Judge(op, live);
            switch (op.State)
            {
                case CopyState.Checking:
                    op.EarlierLooked = true;
                    // Kept to be judged again once the expectation is known (Rematch), when it is not yet.
                    op.Seen = live;
                    if (op.Expect is not null) DeleteTwinsOf(op, op.Earlier, matching);
                    Decide(op);
                    break;
                case CopyState.Queued:
                    if (op.Earlier is { } done && done.State?.Value == "completed" && !op.DryRun)
                    {
                        _admission.Remove(op);
                        CopiesChanged = true;
                        Reuse(op, done);
                    }
                    break;
                case CopyState.Admitting:
                    if (at >= op.AdmittedAt - AdmissionFreshness) Admitted(op, at, now);
                    break;
                case CopyState.Running:
                case CopyState.Settling:
                    RunningAnswered(op, copies, matching, at);
                    break;
            }
        }
    }

    private void RunningAnswered(CopyOp op, IReadOnlyList<Snapshot> copies, List<Snapshot> matching, DateTimeOffset at)
    {
        // A re-sent call nobody saw left a second copy with our token: ours (the reported one) stays.
        var sameToken = copies.Where(c => CopyRules.TokenOf(c) == op.Token && c.SnapshotId != op.SnapshotId && c.State?.Value != "error").ToList();
        if (sameToken.Count > 0 && !op.Reused)
        {
            var mine = copies.FirstOrDefault(c => c.SnapshotId == op.SnapshotId);
            if (mine is not null) DeleteDuplicates(op.Leader.Link!, mine, sameToken.Append(mine).ToList(), op.SourceId);
        }
        var snapshot = copies.FirstOrDefault(c => c.SnapshotId == op.SnapshotId);
        if (snapshot is null)
        {
            op.Missing = true;
            var since = op.LastSeen ?? op.AcceptedAt ?? at;
            if (at - since >= op.VisibilityGrace)
            {
                _runningCopies.Remove(op);
                ReleaseSlot(op, SlotRelease.Abandoned);
                var id = op.SnapshotId!;
                // EC2 accepted it and never said it failed: its outcome is not known (Pending), not Failed.
                EndCopy(op, item => Finish(item, SnapshotState.Pending, EngineErrors.CopyNotVisible(id, Region, item.Job.VisibilityGrace), endSeen: false));
            }
            WatchesChanged = true;
            return;
        }
        op.Missing = false;
        var seenRunningBefore = op.LastSeen is not null && op.Completed is null ? op.KnownRunningAt : (DateTimeOffset?)null;
        op.LastSeen = at;
        foreach (var item in op.Items) item.Job.Observe(item, snapshot);
        WatchesChanged = true;
        switch (snapshot.State?.Value)
        {
            case "completed":
                if (op.Completed is null)
                {
                    op.Completed = snapshot;
                    if (DurationOf(snapshot, seenRunningBefore, at) is { } duration)
                        Durations.Learn(op.Kind, op.SizeGiB, duration);
                    Durations.Copied(op.VolumeId, op.Incremental ? DurationOf(snapshot, seenRunningBefore, at)?.TotalSeconds : null);
                    // The slot is free the moment the copy is seen finished.
                    ReleaseSlot(op, SlotRelease.CopyFinished);
                    if (!op.Reused && !op.CopyAgain && (_sawOtherRuns || op.SettleAt is not null))
                    {
                        var settle = op.LookedUpAt + TwinWindow(op);
                        if (op.SettleAt is null || settle > op.SettleAt) op.SettleAt = settle;
                    }
                }
                if (op.SettleAt is { } settleAt && at < settleAt)
                {
                    op.State = CopyState.Settling;
                    return;
                }
                if (!op.Reused && !op.CopyAgain && FindTwin(op, matching) is { } twin)
                {
                    ResolveTwin(op, twin, copies, at);
                    return;
                }
                _runningCopies.Remove(op);
                EndCopy(op, item => Finish(item, SnapshotState.Completed, null));
                return;
            case "error":
                _runningCopies.Remove(op);
                ReleaseSlot(op, SlotRelease.CopyFinished);
                var failedId = op.SnapshotId!;
                var failure = ForeignSourceKey(op, snapshot.StateMessage) is { } sourceKey
                    ? EngineErrors.SourceKeyNotAccessible(failedId, Region, op.SourceId, op.SourceRegion, sourceKey, AccountIdOf(Account), op.Leader.Copy.KmsKeyId,
                        snapshot.StateMessage)
                    : EngineErrors.SnapshotCopyFailed(failedId, Region, snapshot.StateMessage);
                EndCopy(op, item => Finish(item, SnapshotState.Failed, failure, snapshot.StateMessage));
                return;
            default:
                op.KnownRunningAt = at;
                return;
        }
    }

    private static TimeSpan TwinWindow(CopyOp op)
    {
        var grace = op.Leader.Job.VisibilityGrace;
        return grace < EngineJob.TwinVisibility ? grace : EngineJob.TwinVisibility;
    }

    /// <summary>A copy of the same source and encryption that another run started when this run could not see it — at
    /// most the visibility grace before this run looked, or after — and earlier than ours: the one to keep, ours being
    /// the duplicate. Every run applies the same rule (the earliest start wins, then the lowest id), so two runs never
    /// both delete.</summary>
    private static Snapshot? FindTwin(CopyOp op, List<Snapshot> matching)
    {
        var unseenSince = op.LookedUpAt - op.Leader.Job.VisibilityGrace;
        var ourStart = op.Completed?.StartTime is { } s ? DateTime.SpecifyKind(s, DateTimeKind.Utc) : op.CopyStart?.UtcDateTime ?? DateTime.MaxValue;
        var ourId = op.SnapshotId ?? "";
        return matching
            .Where(c => c.SnapshotId != op.SnapshotId && CopyRules.TokenOf(c) != op.Token && c.StartTime is { } started
                        && new DateTimeOffset(DateTime.SpecifyKind(started, DateTimeKind.Utc)) >= unseenSince)
            .Where(c => (DateTime.SpecifyKind(c.StartTime!.Value, DateTimeKind.Utc), c.SnapshotId).CompareTo((ourStart, ourId)) < 0)
            .OrderBy(c => c.StartTime).ThenBy(c => c.SnapshotId, StringComparer.Ordinal)
            .FirstOrDefault();
    }

    private void ResolveTwin(CopyOp op, Snapshot twin, IReadOnlyList<Snapshot> copies, DateTimeOffset at)
    {
        var request = op.Leader.Copy;
        var ours = op.SnapshotId!;
        op.Leader.Job.Verbose($"{request.SourceSnapshotId} ({request.SourceRegion}) → {twin.SnapshotId} ({Region}): another run copied it moments " +
                              $"before this one (not visible yet when this run looked); this run's copy {ours} is deleted and {twin.SnapshotId} kept.", request);
        // Every copy this request made goes, and the kept one's own twins of its token.
        var twinToken = CopyRules.TokenOf(twin);
        var gone = copies.Where(c => c.SnapshotId != twin.SnapshotId && (c.SnapshotId == ours || CopyRules.TokenOf(c) == op.Token
                                                                          || (twinToken is not null && CopyRules.TokenOf(c) == twinToken))).ToList();
        DeleteDuplicates(op.Leader.Link!, twin, gone.Append(twin).ToList(), op.SourceId);
        _copyOpsByToken.Remove(op.Token);
        op.Token = twinToken ?? op.Token;
        op.SnapshotId = twin.SnapshotId;
        op.Reused = true;
        op.Completed = null;
        op.SettleAt = null;
        op.CopyStart = twin.StartTime is { } s ? new DateTimeOffset(DateTime.SpecifyKind(s, DateTimeKind.Utc)) : op.CopyStart;
        foreach (var item in op.Items)
        {
            item.Token = op.Token;
            lock (item.Gate)
            {
                item.Result.SnapshotId = twin.SnapshotId;
                item.Result.Reused = true;
                if (twin.StartTime is { } started) item.Result.StartTime = DateTime.SpecifyKind(started, DateTimeKind.Utc);
            }
            item.Job.Observe(item, twin);
        }
        if (twin.State?.Value == "completed")
        {
            _runningCopies.Remove(op);
            EndCopy(op, item => Finish(item, SnapshotState.Completed, null));
            return;
        }
        // Still pending: follow the twin (its slot is the other run's).
        op.State = CopyState.Running;
        op.KnownRunningAt = at;
        op.LastSeen = at;
        WatchesChanged = true;
    }

    /// <summary>An earlier run (or another process) already copied the source here with the same encryption: report that
    /// copy (Completed, Reused) instead of copying again. A dry run says it would be reused.</summary>
    private void Reuse(CopyOp op, Snapshot copy)
    {
        var now = Now;
        // What EC2 says of a copy made before this process started teaches the model too.
        if (copy.CompletionTime is not null && DurationOf(copy, null, now) is { } duration)
            Durations.Learn(Durations.HasLineage(op.VolumeId) ? SnapshotKind.IncrementalCopy : SnapshotKind.FullCopy, copy.VolumeSize, duration);
        Durations.Copied(op.VolumeId, null);
        var token = CopyRules.TokenOf(copy);
        var age = Age(copy, now);
        // A copy that started moments ago may have a twin EC2 does not list yet: the final sweep waits for it.
        if (copy.StartTime is { } started && now - new DateTimeOffset(DateTime.SpecifyKind(started, DateTimeKind.Utc)) < op.Leader.Job.VisibilityGrace)
            foreach (var job in op.Items.Select(i => i.Job).Distinct()) job.MayHaveHiddenTwins();
        EndCopy(op, item =>
        {
            var request = item.Copy;
            if (token is not null) item.Token = token;
            lock (item.Gate)
            {
                item.Apply(copy);
                item.Result.SnapshotId = copy.SnapshotId;
                item.Result.Reused = true;
                item.Result.Description = copy.Description;
                if (copy.StartTime is { } start) item.Result.StartTime = DateTime.SpecifyKind(start, DateTimeKind.Utc);
                item.Result.Tags = (copy.Tags ?? new List<Tag>()).Where(t => t.Key is not null).ToDictionary(t => t.Key, t => t.Value ?? "", StringComparer.Ordinal);
            }
            NoteDifferences(item, op, copy);
            if (item.Job.DryRun)
            {
                Finish(item, SnapshotState.DryRun, null, $"Already copied to {copy.SnapshotId}: it would be reused, not copied again.");
                return;
            }
            item.Job.Verbose($"{request.SourceSnapshotId} ({request.SourceRegion}) → {copy.SnapshotId} ({Region}): reused, copied {age} ago " +
                             "by an earlier run (-CopyAgain copies again).", request);
            Finish(item, SnapshotState.Completed, null, endSeen: false);
        });
    }

    /// <summary>Still pending from a run that was stopped, or from another process: follow that one (it holds a slot of
    /// EC2's 20 like any copy in flight).</summary>
    private void TakeOver(CopyOp op, Snapshot copy, DateTimeOffset now)
    {
        op.SnapshotId = copy.SnapshotId;
        op.Reused = true;
        op.Token = CopyRules.TokenOf(copy) ?? op.Token;
        op.CopyStart = copy.StartTime is { } s ? new DateTimeOffset(DateTime.SpecifyKind(s, DateTimeKind.Utc)) : now;
        op.AcceptedAt = now;
        op.KnownRunningAt = now;
        op.LastSeen = now;
        op.State = CopyState.Running;
        _runningCopies.Add(op);
        WatchesChanged = true;
        var age = Age(copy, now);
        foreach (var item in op.Items.ToList())
        {
            item.Token = op.Token;
            lock (item.Gate)
            {
                item.Apply(copy);
                item.Result.Reused = true;
            }
            item.Link!.AcceptedTokens[op.Token] = copy.SnapshotId;
            NoteDifferences(item, op, copy);
            item.Job.MayHaveHiddenTwins();
            item.Job.Accept(item, copy.SnapshotId, copy.StartTime, adopted: false);
            item.Job.Verbose($"{item.Copy.SourceSnapshotId} ({item.Copy.SourceRegion}) → {copy.SnapshotId} ({Region}): an earlier run's copy is still pending, " +
                             $"started {age} ago; waiting for it instead of copying again (-CopyAgain copies anyway).", item.Request);
            if (item.StopPending) StopCopyItem(item, op);
            else if (item.Job.NoWait) Linger(item);
        }
        if (op.Items.Count == 0) AbandonCopy(op);
    }

    /// <summary>A run that was stopped before its final sweep may have left a twin of one request (a call sent again
    /// after a lost answer): same token, so certainly a duplicate of the copy chosen for reuse. Keep it, delete the rest.</summary>
    private void DeleteTwinsOf(CopyOp op, Snapshot? chosen, List<Snapshot> matching)
    {
        if (chosen is null || CopyRules.TokenOf(chosen) is not { } token) return;
        var twins = matching.Where(s => CopyRules.TokenOf(s) == token).ToList();
        if (twins.Count > 1) DeleteDuplicates(op.Leader.Link!, chosen, twins, op.SourceId);
    }

    /// <summary>Started at or after <paramref name="since"/> (a copy without a StartTime counts as recent).</summary>
    private static bool StartedWithin(Snapshot copy, DateTimeOffset since) =>
        copy.StartTime is not { } started || new DateTimeOffset(DateTime.SpecifyKind(started, DateTimeKind.Utc)) >= since;

    private static string Age(Snapshot copy, DateTimeOffset now) =>
        copy.StartTime is { } started ? DurationText.Of(now - new DateTimeOffset(DateTime.SpecifyKind(started, DateTimeKind.Utc))) : "some time";

    // ------------------------------------------------------------------ slots, ends, stops

    private void ReleaseSlot(CopyOp op, SlotRelease how)
    {
        if (op.HoldsSeriesTurn)
        {
            op.HoldsSeriesTurn = false;
            op.Leader.Job.SourceScheduler(op.SourceRegion).Post(s => s.EndSeriesTurn(op.SourceId, op));
        }
        if (op.ThroughputHeld > 0)
        {
            Throughput.Release(op.SourceRegion, op.ThroughputHeld);
            op.ThroughputHeld = 0;
            CopiesChanged = true;
        }
        if (op.SlotLink is { } link)
        {
            link.SlotsHeld--;
            op.SlotLink = null;
            CopiesChanged = true;
        }
        if (!op.HoldsWindowSlot) return;
        op.HoldsWindowSlot = false;
        Window.Release(how, _admission.Count > 0);
        if (Window.IsShort) Agenda.NoLaterThan(_recovery ??= new WakeDue(s => s.Recover()), Now + Engine.CopyWindowRecovery);
        else if (_recovery is not null) Agenda.Cancel(_recovery);
        CopiesChanged = true;
        WatchesChanged = true;
    }

    /// <summary>One more slot while the window is short (copies started elsewhere finish without telling us).</summary>
    private void Recover()
    {
        Window.GrowOne();
        if (Window.IsShort && (Window.InUse > 0 || _admission.Count > 0)) Agenda.At(_recovery!, Now + Engine.CopyWindowRecovery);
        else if (Window.InUse == 0 && _admission.Count == 0) while (Window.IsShort) Window.GrowOne();
        CopiesChanged = true;
    }

    /// <summary>Ends the op: every request it serves is finished by <paramref name="finish"/> (a lingering -NoWait request
    /// only lets go), and the op is forgotten.</summary>
    private void EndCopy(CopyOp op, Action<CopyItem> finish)
    {
        EndItems(op.Items, finish);
        AbandonCopy(op);
    }

    /// <summary>The op has nobody left to serve: what it holds goes back. A call on the wire is left to return (its
    /// outcome is reported as a warning then).</summary>
    private void AbandonCopy(CopyOp op)
    {
        if (op.State == CopyState.Done) return;
        var state = op.State;
        op.State = CopyState.Done;
        _admission.Remove(op);
        _dryRunQueue.Remove(op);
        _runningCopies.Remove(op);
        Agenda.Cancel(op);
        ReleaseSlot(op, state is CopyState.Running or CopyState.Settling ? SlotRelease.Abandoned : SlotRelease.Unused);
        if (op.Key is not null && _copyOps.TryGetValue(op.Key, out var current) && current == op) _copyOps.Remove(op.Key);
        if (_opsBySource.TryGetValue(op.SourceRegion + "|" + op.SourceId, out var list))
        {
            list.Remove(op);
            if (list.Count == 0) _opsBySource.Remove(op.SourceRegion + "|" + op.SourceId);
        }
        if (_copyOpsByToken.TryGetValue(op.Token, out var byToken) && byToken == op) _copyOpsByToken.Remove(op.Token);
        if (op.VolumeId is not null && _opsByVolume.TryGetValue(op.VolumeId, out var ofVolume))
        {
            ofVolume.Remove(op);
            if (ofVolume.Count == 0) _opsByVolume.Remove(op.VolumeId);
        }
        CopiesChanged = true;
        WatchesChanged = true;
    }

    /// <summary>A request leaves its op (stopped, failed, its job closed); the op goes on for the others.</summary>
    private void DetachCopy(CopyItem item)
    {
        if (item.Op is not CopyOp op) return;
        Forget(item);
        op.Items.Remove(item);
        if (op.State == CopyState.Done) return;
        if (op.Items.Count == 0)
        {
            if (op.State == CopyState.Sending) return; // its outcome comes back and is reported then
            AbandonCopy(op);
            return;
        }
        HandOver(op);
    }

    /// <summary>The op's first request changed: a source check asked for another job is asked again for this one's, and
    /// a held slot counts against the new first request's job.</summary>
    private void HandOver(CopyOp op)
    {
        if (op.State == CopyState.Checking && op.Source is null && op.CheckAskedBy is { } asked && op.Items.All(i => i.Job != asked))
            AskSource(op);
        if (op.SlotLink is { } held && op.Items.All(i => i.Link != held))
        {
            held.SlotsHeld--;
            op.SlotLink = op.Leader.Link;
            op.SlotLink!.SlotsHeld++;
            CopiesChanged = true;
        }
    }

    private void StopCopyItem(CopyItem item, CopyOp op)
    {
        item.StopPending = false;
        if (item.Job.TimedOut && item.Job.Timeout is { } timeout && op.State == CopyState.Checking && op.Source is null && op.SourceUnlisted)
        {
            // The timeout ran out within the visibility grace of a source EC2 never listed: it was not found (in the time
            // given), which is what the user must act on, not a copy that was slow to start.
            Finish(item, SnapshotState.Failed, EngineErrors.SnapshotNotFoundWithin(op.SourceId, op.SourceRegion, timeout, item.Job.VisibilityGrace));
            DetachCopy(item);
            return;
        }
        if (op.State == CopyState.LookingUpToken)
            item.Job.Warn($"Stopped while looking for the copy of {op.SourceId} made by a CopySnapshot that got no definite answer; a snapshot may exist " +
                          $"in {Region}: look for the tag {CopyTagNames.RequestToken}={op.Token}.", item.Request);
        item.Job.FinishStopped(item);
        DetachCopy(item);
    }

    /// <summary>Requests stopped while their op's call was on the wire: the call has returned.</summary>
    private void FinishStopPending(CopyOp op)
    {
        foreach (var item in op.Items.Where(i => i.StopPending).ToList()) StopCopyItem(item, op);
    }

    private void StopCopies(JobLink link)
    {
        foreach (var item in link.Items.OfType<CopyItem>().ToList())
        {
            if (item.Op is not CopyOp op) { Finish(item, SnapshotState.Queued, null); continue; }
            if (item.IsFinished) { DetachCopy(item); continue; }
            // A call that may create the copy is on the wire: the request waits for its answer (the job's grace).
            if (op.State == CopyState.Sending && !op.DryRun) item.StopPending = true;
            else StopCopyItem(item, op);
        }
    }

    private void FailCopies(JobLink link, string region, EngineError error)
    {
        foreach (var item in link.Items.OfType<CopyItem>().Where(i => i.Touches(region)).ToList())
        {
            EndUnfollowable(item, error);
            DetachCopy(item);
        }
    }

    // ------------------------------------------------------------------ calls and shapes

    private sealed class CopyCall(CopyOp op, CopySnapshotRequest request) : Call
    {
        public override string Action => "CopySnapshot";
        public override object Request => request;
        public override IEnumerable<JobItem> Items => op.Items;

        public override async Task<object?> SendAsync(IAmazonEC2 client, CancellationToken cancellationToken) =>
            await client.CopySnapshotAsync(request, cancellationToken).ConfigureAwait(false);

        public override void Done(Scheduler scheduler, object? response, Exception? error) =>
            scheduler.CopySent(op, this, response as CopySnapshotResponse, error);
    }

    /// <summary>The copies this account made in this region of sources in <c>SourceRegion</c>: Owner self, the source tag
    /// filter with up to 200 source ids, the source-region tag. One shape serves the earlier-copy lookups, the look just
    /// before a copy is admitted, the polls of running copies, twins and duplicates: a poll also looks at the next queued
    /// sources (<see cref="Fill"/>), so the copy admitted when it sees a copy end needs no call of its own.</summary>
    internal sealed class CopiesOfShape(string sourceRegion) : SnapshotsShape("tag:" + CopyTagNames.SourceSnapshotId, ownOnly: true)
    {
        public string SourceRegion { get; } = sourceRegion;
        public override string Id => "copies-of:" + SourceRegion;

        protected override IEnumerable<Filter> FixedFilters =>
            new[] { new Filter { Name = "tag:" + CopyTagNames.SourceRegion, Values = new List<string> { SourceRegion } } };

        protected override string? KeyOf(Snapshot snapshot) => CopyRules.TagOf(snapshot, CopyTagNames.SourceSnapshotId);

        protected override void Answered(Scheduler scheduler, string key, IReadOnlyList<Snapshot> snapshots, DateTimeOffset at) =>
            scheduler.CopiesAnswered(SourceRegion, key, snapshots, at);

        public override void Failed(Scheduler scheduler, IReadOnlyList<string> keys, Exception error) => scheduler.CopiesLookupFailed(SourceRegion, keys, error);

        /// <summary>The next queued sources (longest expected first) whose last look is not fresh: as many as a window's
        /// worth, the most that can be admitted on what this call sees.</summary>
        public override IEnumerable<(string Key, JobLink Link)> Fill(Scheduler scheduler, DateTimeOffset now)
        {
            var room = scheduler.Window.Limit;
            foreach (var op in scheduler._admission)
            {
                if (room == 0) yield break;
                if (op.SourceRegion != SourceRegion || op.CopyAgain) continue;
                if (op.KnownAt is { } known && known >= now - AdmissionFreshness) continue;
                room--;
                yield return (op.SourceId, op.Leader.Link!);
            }
        }
    }

    /// <summary>A copies-of lookup failed for good for these sources (not a retry): the requests that waited for it end.</summary>
    private void CopiesLookupFailed(string sourceRegion, IReadOnlyList<string> sourceIds, Exception error)
    {
        foreach (var id in sourceIds)
        {
            if (!_opsBySource.TryGetValue(sourceRegion + "|" + id, out var ops)) continue;
            foreach (var op in ops.ToList())
            {
                if (op.State is not (CopyState.Checking or CopyState.Admitting)) continue;
                ReleaseSlot(op, SlotRelease.Unused);
                EndCopy(op, item => Finish(item, SnapshotState.Failed, EngineErrors.DescribeFailed(item.SourceId, Region, "DescribeSnapshots", error)));
            }
        }
    }

    /// <summary>Something due that only has to make the loop look again (the ordering delay, the window's recovery).</summary>
    private sealed class WakeDue(Action<Scheduler> wake) : Due
    {
        public override void OnDue(Scheduler scheduler, DateTimeOffset now) => wake(scheduler);
    }
}
