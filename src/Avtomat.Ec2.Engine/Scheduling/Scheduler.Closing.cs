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
using Avtomat.Ec2.Engine.Waiting;

namespace Avtomat.Ec2.Engine.Scheduling;

internal sealed partial class Scheduler
{
    private static readonly TimeSpan DeleteBaseDelay = TimeSpan.FromMilliseconds(500);
    private static readonly TimeSpan DeleteMaxDelay = TimeSpan.FromSeconds(20);

    private readonly HashSet<Sweep> _closing = new();
    private readonly HashSet<string> _deleting = new(StringComparer.Ordinal);
    private SnapshotsByTokenShape? _byToken;

    internal SnapshotsByTokenShape ByToken => _byToken ??= new SnapshotsByTokenShape();

    // ------------------------------------------------------------------ waits

    private void SubmitWait(WaitItem item)
    {
        var watcher = new WaitWatcher(item);
        item.Op = watcher;
        AddWatch(item.Wait.SnapshotId, watcher);
    }

    /// <summary>Follows one snapshot for Wait-AvSnapshot until it is completed, in error, or not found.</summary>
    private sealed class WaitWatcher(WaitItem item) : ItemWatcher(item), IWatchFailure
    {
        protected override string? SnapshotId => item.Wait.SnapshotId;

        public override double Weight(Scheduler scheduler) => 0.25;

        public override void Seen(Scheduler scheduler, Watch watch, Snapshot snapshot, DateTimeOffset at)
        {
            Watch = watch;
            item.Job.Observe(item, snapshot);
            var job = (WaitJob)item.Job;
            switch (snapshot.State?.Value)
            {
                case "completed":
                    Detach(scheduler);
                    job.Finish(item, SnapshotState.Completed, null, endsAny: true);
                    break;
                case "error":
                    Detach(scheduler);
                    job.Finish(item, SnapshotState.Failed, EngineErrors.SnapshotFailed(watch.SnapshotId, scheduler.Region, snapshot.StateMessage), endsAny: true,
                        snapshot.StateMessage);
                    break;
            }
        }

        public override void Missing(Scheduler scheduler, Watch watch, TimeSpan missingFor, DateTimeOffset at)
        {
            Watch = watch;
            if (missingFor < item.Job.VisibilityGrace) return;
            Detach(scheduler);
            ((WaitJob)item.Job).Finish(item, SnapshotState.Failed, EngineErrors.SnapshotNotFound(watch.SnapshotId, scheduler.Region, regionParameter: "-Region"),
                endsAny: true);
        }

        public void LookupFailed(Scheduler scheduler, Watch watch, Exception error)
        {
            Watch = watch;
            Detach(scheduler);
            ((WaitJob)item.Job).Finish(item, SnapshotState.Failed, EngineErrors.DescribeFailed(watch.SnapshotId, scheduler.Region, "DescribeSnapshots", error), endsAny: false);
        }
    }

    // ------------------------------------------------------------------ the end of a job here

    /// <summary>The job has reported every item: what it still holds here goes (-NoWait copies stop being followed and
    /// their slots go back; -Any's unreported waits go), its answers are forgotten, duplicates are swept, and it is
    /// detached (its answer: <see cref="EngineJob.Closed"/>).</summary>
    internal void CloseJob(EngineJob job)
    {
        if (!_links.TryGetValue(job, out var link))
        {
            job.Closed(this);
            return;
        }
        foreach (var item in link.Items.ToList()) LetGo(item);
        ForgetSourceChecks(job);
        link.Closing = true;
        if (job.SweepsDuplicates && !link.Stopped && link.Failed is null && link.AcceptedTokens.Count > 0)
        {
            // A call sent again after a lookup found nothing may have a twin not visible yet: the sweep waits until it would be.
            var sweep = new Sweep(link, new Dictionary<string, string>(link.AcceptedTokens, StringComparer.Ordinal));
            _closing.Add(sweep);
            var at = job.SweepNotBefore;
            Agenda.At(sweep, at > Now ? at : Now);
            return;
        }
        TryEndClose(link);
    }

    /// <summary>A closing job ends here when its sweep has answered and the duplicates it is deleting are gone (a stopped
    /// or failed one does not wait for them: it is told which may be left).</summary>
    private void TryEndClose(JobLink link)
    {
        if (!link.Closing || !_links.ContainsKey(link.Job) || _closing.Any(s => s.Link == link)) return;
        if (link.Deleting.Count > 0 && !link.Stopped && link.Failed is null) return;
        if (link.Tagging > 0 && !link.Stopped && link.Failed is null) return;
        // Taking back a permission this module added goes on after a stop (nothing new is made by it).
        if (link.Sharing > 0 && link.Failed is null) return;
        EndClose(link);
    }

    /// <summary>A closing job stopped or failed here: its sweep is not waited for (its lookups are forgotten), nor its deletes.</summary>
    private void AbandonClose(JobLink link)
    {
        if (!link.Closing) return;
        _closing.RemoveWhere(s => s.Link == link);
        TryEndClose(link);
    }

    private void LetGo(JobItem item)
    {
        switch (item)
        {
            case CopyItem copy:
                if (!copy.IsFinished) item.Job.FinishStopped(item);
                DetachCopy(copy);
                break;
            case CreateItem create:
                if (!create.IsFinished) item.Job.FinishStopped(item);
                DetachCreate(create);
                break;
            case WaitItem wait:
                (wait.Op as WaitWatcher)?.Detach(this);
                break;
        }
        Forget(item);
    }

    private void EndClose(JobLink link)
    {
        WarnDifferences(link);
        foreach (var group in link.KeptShared.GroupBy(k => k.Grantee))
        {
            var ids = group.Select(k => k.SourceId).ToList();
            var listed = ListText.Of(ids, 10);
            link.Job.Warn($"{ids.Count} source(s) in {Region} stay shared with account {group.Key}, because their copies there were still pending when the " +
                          $"command stopped: {listed}. Run the same command again: it waits for those copies and then removes the permissions it added.");
        }
        foreach (var id in link.Deleting)
            link.Job.Warn($"The duplicate {link.Job.DuplicateNoun} {id} in {Region} may not have been deleted (the command ended first); " +
                          $"look for it with Get-EC2Snapshot -SnapshotId {id} -Region {Region} and delete it yourself.");
        _links.Remove(link.Job);
        Lookups.Forget(link);
        WatchesChanged = true;
        CopiesChanged = true;
        link.Job.Closed(this);
    }

    /// <summary>One last look for snapshots sharing a request token (and volume): the HTTP stack can re-send a call on a
    /// new connection without telling anyone. One batched call per 200 tokens; the reported one is kept.</summary>
    private sealed class Sweep(JobLink link, Dictionary<string, string> tokens) : Due
    {
        public JobLink Link { get; } = link;
        /// <summary>Token → the id reported for it.</summary>
        public Dictionary<string, string> Tokens { get; } = tokens;
        public HashSet<string> Pending { get; } = new(StringComparer.Ordinal);
        public bool Sent { get; set; }

        public override void OnDue(Scheduler scheduler, DateTimeOffset now)
        {
            Sent = true;
            foreach (var token in Tokens.Keys)
            {
                Pending.Add(token);
                scheduler.Lookups.Want(scheduler.ByToken, token, now, now, Link);
            }
        }
    }

    private void SweepAnswered(string token, IReadOnlyList<Snapshot> found)
    {
        foreach (var sweep in _closing.Where(s => s.Sent && s.Pending.Contains(token)).ToList())
        {
            sweep.Pending.Remove(token);
            foreach (var group in found.GroupBy(s => s.VolumeId ?? "", StringComparer.Ordinal).Where(g => g.Count() > 1))
            {
                var list = group.ToList();
                var keep = CopyRules.ChooseKept(list, sweep.Tokens[token]);
                DeleteDuplicates(sweep.Link, keep, list, null);
            }
            TryEndSweep(sweep);
        }
    }

    private void TryEndSweep(Sweep sweep)
    {
        if (!sweep.Sent || sweep.Pending.Count > 0 || !_closing.Remove(sweep)) return;
        TryEndClose(sweep.Link);
    }

    // ------------------------------------------------------------------ deleting duplicates

    /// <summary>Several snapshots carry one request's token (a re-sent call), or another run made the same copy first:
    /// keep <paramref name="keep"/> and delete the others.</summary>
    private void DeleteDuplicates(JobLink link, Snapshot keep, IReadOnlyCollection<Snapshot> found, string? subject)
    {
        var about = CopyRules.TagOf(keep, CopyTagNames.SourceSnapshotId) ?? keep.VolumeId ?? subject ?? "";
        foreach (var extra in found.Select(s => s.SnapshotId).Where(id => id != keep.SnapshotId).Distinct(StringComparer.Ordinal))
        {
            if (!_deleting.Add(extra)) continue;
            link.Deleting.Add(extra);
            Agenda.At(new DeleteOp(link, extra, keep.SnapshotId, about), Now);
        }
    }

    private void SendDelete(DeleteOp op, DateTimeOffset now)
    {
        if (!op.Link.Usable && op.Link.Job.Ended)
        {
            DeleteEnded(op);
            return;
        }
        if (!Pace("DeleteSnapshot", now, op)) return;
        Launch(new DeleteCall(op), op.Link);
    }

    private void DeleteSent(DeleteOp op, Exception? error)
    {
        var job = op.Link.Job;
        if (error is null)
        {
            job.Counters.DuplicateRemoved();
            job.Verbose($"Deleted duplicate {job.DuplicateNoun} {op.SnapshotId} of {op.Subject} in {Region} ({job.DuplicateCause}; kept {op.Keep}).");
        }
        else if (FailurePolicy.CodeOf(error) == "InvalidSnapshot.NotFound")
        {
            // Already gone.
        }
        else if (FailurePolicy.Decide(error, "DeleteSnapshot") == FailureAction.Retry && (FailurePolicy.IsThrottle(error) || op.Attempts < job.MaxRetries))
        {
            if (FailurePolicy.IsThrottle(error)) job.Counters.Throttled();
            job.Counters.Retry();
            Agenda.At(op, Now + Backoff.Delay(Math.Min(op.Attempts++, 6), DeleteBaseDelay, DeleteMaxDelay));
            return;
        }
        else
        {
            job.Warn($"Could not delete the duplicate {job.DuplicateNoun} {op.SnapshotId} of {op.Subject} in {Region} ({FailurePolicy.Describe(error)}); " +
                     $"delete it yourself (kept {op.Keep}).");
        }
        DeleteEnded(op);
    }

    private void DeleteEnded(DeleteOp op)
    {
        _deleting.Remove(op.SnapshotId);
        if (op.Link.Deleting.Remove(op.SnapshotId)) TryEndClose(op.Link);
    }

    private sealed class DeleteOp(JobLink link, string snapshotId, string keep, string subject) : Due
    {
        public JobLink Link { get; } = link;
        public string SnapshotId { get; } = snapshotId;
        public string Keep { get; } = keep;
        public string Subject { get; } = subject;
        public int Attempts { get; set; }

        public override void OnDue(Scheduler scheduler, DateTimeOffset now) => scheduler.SendDelete(this, now);
    }

    private sealed class DeleteCall(DeleteOp op) : Call
    {
        private readonly DeleteSnapshotRequest _request = new() { SnapshotId = op.SnapshotId };

        public override string Action => "DeleteSnapshot";
        public override object Request => _request;

        public override async Task<object?> SendAsync(IAmazonEC2 client, CancellationToken cancellationToken) =>
            await client.DeleteSnapshotAsync(_request, cancellationToken).ConfigureAwait(false);

        public override void Done(Scheduler scheduler, object? response, Exception? error) => scheduler.DeleteSent(op, error);
    }

    /// <summary>Snapshots made by this account here and tagged with any of the request tokens (Owner self, the token tag
    /// filter): what a call with no definite answer made, and what the final sweep looks for.</summary>
    internal sealed class SnapshotsByTokenShape() : SnapshotsShape("tag:" + CopyTagNames.RequestToken, ownOnly: true)
    {
        public override string Id => "request-token";

        protected override string? KeyOf(Snapshot snapshot) => CopyRules.TokenOf(snapshot);

        protected override void Answered(Scheduler scheduler, string key, IReadOnlyList<Snapshot> snapshots, DateTimeOffset at) =>
            scheduler.TokenAnswered(key, snapshots, at);

        // A lookup that failed for good says nothing was found (retried failures never get here).
        public override void Failed(Scheduler scheduler, IReadOnlyList<string> keys, Exception error)
        {
            foreach (var key in keys) scheduler.TokenAnswered(key, Array.Empty<Snapshot>(), scheduler.Now);
        }
    }

    /// <summary>A scheduler nobody uses is forgotten by the registry: its timer goes.</summary>
    internal void Retire() => _timer.Dispose();
}
