using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Amazon.EC2;
using Amazon.EC2.Model;
using Avtomat.Ec2.Engine.Copy;
using Avtomat.Ec2.Engine.Internal;

namespace Avtomat.Ec2.Engine.Scheduling;

/// <summary>Where a source's share with a vault account stands (in the source account's scheduler).</summary>
internal enum ShareState
{
    /// <summary>Nothing asked for yet: the copies of the source are checked, or reuse what the vault holds.</summary>
    Idle,
    /// <summary>DescribeSnapshotAttribute: is the vault account already allowed?</summary>
    Describing,
    /// <summary>CreateTags: the marker goes on the source before the permission (write-ahead).</summary>
    Marking,
    /// <summary>ModifySnapshotAttribute add.</summary>
    Adding,
    /// <summary>The vault account may copy the source (our permission, or one that was there before).</summary>
    Shared,
    /// <summary>ModifySnapshotAttribute remove (only a permission this module added).</summary>
    Removing,
    /// <summary>DeleteTags: the marker goes after the permission.</summary>
    Unmarking,
    /// <summary>Sharing was refused (the AWS managed key, a denial): the copies of the source fail with why.</summary>
    Failed,
}

/// <summary>
/// A vault copy (Copy-AvSnapshot -DestinationProfileName/-DestinationCredential): the source belongs to this
/// scheduler's account, the copies are made in another account (the grantee), which may copy it only while the source
/// is shared with it (createVolumePermission,
/// https://docs.aws.amazon.com/ebs/latest/userguide/ebs-modifying-snapshot-permissions.html). One op per source and
/// grantee, owned here. The copy jobs' items of the source engage it when they are submitted and let go when they are
/// final; a copy that must be made acquires the share first. When the last item let go, a permission this module added
/// is removed, and never one that was there before.
/// </summary>
/// <remarks>
/// What this module added is recorded on the source itself, as the tag <c>avtomat:shared-with:&lt;account&gt;</c>,
/// written before the permission and deleted after it is removed: a run that dies between the two leaves a marker without
/// a permission (harmless), never a permission nobody knows it added; the next run over the source finds the marker
/// (its source check reads the source's tags with the source account's credentials) and removes what is left. A
/// permission found without the marker was there before and is never touched. A copy still pending in EC2 when the job
/// stopped keeps the share (whether EC2 lets a pending copy finish once the share is removed is not documented); the job
/// warns, and the next run removes it once that copy is final.
/// </remarks>
internal sealed class ShareOp(string sourceId, string grantee) : Due
{
    public string SourceId { get; } = sourceId;
    /// <summary>The vault account's 12-digit id.</summary>
    public string Grantee { get; } = grantee;
    public string MarkerKey => CopyTagNames.SharedWithPrefix + Grantee;
    public ShareState State { get; set; } = ShareState.Idle;
    /// <summary>The items (of any job here) whose copies may still need the share.</summary>
    public HashSet<JobItem> Users { get; } = new();
    /// <summary>This module added the permission (now, or an earlier run: the marker was seen).</summary>
    public bool Ours { get; set; }
    /// <summary>The permission was there before and without the marker: never removed.</summary>
    public bool PreExisting { get; set; }
    /// <summary>A copy that needs the share is still pending in EC2 (its job stopped): the share stays.</summary>
    public bool KeepForPending { get; set; }
    /// <summary>Copies waiting for the share.</summary>
    public List<Action<EngineError?>> Waiters { get; } = new();
    /// <summary>Whose credentials (the source account's) the calls go with: the last job that used it.</summary>
    public JobLink? Link { get; set; }
    public EngineError? Error { get; set; }
    public int Attempts { get; set; }

    public override void OnDue(Scheduler scheduler, DateTimeOffset now) => scheduler.ShareDue(this, now);
}

internal sealed partial class Scheduler
{
    private static readonly TimeSpan ShareBaseDelay = TimeSpan.FromMilliseconds(500);
    private static readonly TimeSpan ShareMaxDelay = TimeSpan.FromSeconds(20);

    /// <summary>Shares of sources here with vault accounts: sourceId|grantee.</summary>
    private readonly Dictionary<string, ShareOp> _shares = new(StringComparer.Ordinal);

    private ShareOp ShareOf(string sourceId, string grantee)
    {
        var key = sourceId + "|" + grantee;
        if (!_shares.TryGetValue(key, out var op)) _shares[key] = op = new ShareOp(sourceId, grantee);
        return op;
    }

    /// <summary>A vault copy's item of a source here was submitted: the share stays while it may need it.</summary>
    internal void EngageShare(JobItem item, string grantee)
    {
        var op = ShareOf(item.SourceId, grantee);
        op.Users.Add(item);
        op.Link = Link(item.Job);
    }

    /// <summary>A copy must be made in the vault: the share is acquired (unless it is there), then <paramref name="reply"/>
    /// says go (null) or why not. <paramref name="markerSeen"/>: the source check saw this module's marker.</summary>
    internal void AcquireShare(string sourceId, string grantee, bool markerSeen, EngineJob job, Action<EngineError?> reply)
    {
        var op = ShareOf(sourceId, grantee);
        var link = Link(job);
        if (link.Stopped || link.Failed is not null)
        {
            reply(link.Failed?.For(sourceId) ?? EngineErrors.CopyStopped(sourceId, null, Region));
            return;
        }
        op.Link = link;
        if (markerSeen) op.Ours = true;
        switch (op.State)
        {
            case ShareState.Shared:
                reply(null);
                return;
            case ShareState.Failed:
                reply(op.Error);
                return;
        }
        op.Waiters.Add(reply);
        if (op.State is ShareState.Idle)
        {
            op.State = ShareState.Describing;
            op.Attempts = 0;
            Agenda.At(op, Now);
        }
        // Describing/Marking/Adding: the answer comes; Removing/Unmarking: it is shared again once they are done.
    }

    /// <summary>An item of a vault copy is final (or stopped): when no item needs the share any more, a permission this
    /// module added goes.</summary>
    internal void DisengageShare(JobItem item, string grantee, bool markerSeen, bool copyPending)
    {
        if (!_shares.TryGetValue(item.SourceId + "|" + grantee, out var op)) return;
        op.Users.Remove(item);
        if (markerSeen) op.Ours = true;
        if (copyPending) op.KeepForPending = true;
        if (_links.TryGetValue(item.Job, out var link)) op.Link = link;
        ReleaseIfUnused(op);
    }

    private void ReleaseIfUnused(ShareOp op)
    {
        if (op.Users.Count > 0 || op.State is ShareState.Removing or ShareState.Unmarking or ShareState.Describing or ShareState.Marking or ShareState.Adding) return;
        if (op.State == ShareState.Failed)
        {
            _shares.Remove(op.SourceId + "|" + op.Grantee);
            return;
        }
        if (op.KeepForPending && op.Ours && op.State != ShareState.Failed)
        {
            // Said once per job and region when the job ends here (KeptShared).
            op.Link?.KeptShared.Add((op.SourceId, op.Grantee));
            _shares.Remove(op.SourceId + "|" + op.Grantee);
            return;
        }
        if (!op.Ours || op.PreExisting || op.Link is null || !op.Link.Usable)
        {
            if (op.Ours && !op.PreExisting && op.Link is { } gone) WarnStillShared(gone, op, "the command could not remove the permission it added");
            _shares.Remove(op.SourceId + "|" + op.Grantee);
            return;
        }
        op.State = ShareState.Removing;
        op.Attempts = 0;
        op.Link.Sharing++;
        Agenda.At(op, Now);
    }

    internal void ShareDue(ShareOp op, DateTimeOffset now)
    {
        var link = op.Link;
        if (link is null || !link.Usable)
        {
            ShareEnded(op, link?.Failed ?? EngineErrors.CopyStopped(op.SourceId, null, Region));
            return;
        }
        ShareCall call = op.State switch
        {
            ShareState.Describing => new ShareCall(op, "DescribeSnapshotAttribute", new DescribeSnapshotAttributeRequest
            {
                SnapshotId = op.SourceId, Attribute = SnapshotAttributeName.CreateVolumePermission,
            }),
            ShareState.Marking => new ShareCall(op, "CreateTags", new CreateTagsRequest
            {
                Resources = [op.SourceId],
                Tags = [new Tag(op.MarkerKey, now.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ssZ", System.Globalization.CultureInfo.InvariantCulture))],
            }),
            ShareState.Adding or ShareState.Removing => new ShareCall(op, "ModifySnapshotAttribute", new ModifySnapshotAttributeRequest
            {
                SnapshotId = op.SourceId, Attribute = SnapshotAttributeName.CreateVolumePermission,
                OperationType = op.State == ShareState.Adding ? OperationType.Add : OperationType.Remove,
                UserIds = [op.Grantee],
            }),
            ShareState.Unmarking => new ShareCall(op, "DeleteTags", new DeleteTagsRequest
            {
                Resources = [op.SourceId], Tags = [new Tag { Key = op.MarkerKey }],
            }),
            _ => null!,
        };
        if (call is null) return;
        if (!Pace(Ec2Buckets.NameOf(call.Action, call.Request), now, op)) return;
        Launch(call, link);
    }

    private void ShareAnswered(ShareOp op, ShareCall call, object? response, Exception? error)
    {
        var job = call.Client!.Job;
        if (error is not null)
        {
            if (op.State == ShareState.Adding && FailurePolicy.CodeOf(error) == "OperationNotPermitted")
            {
                // EC2 does not share a snapshot encrypted with the AWS managed key: nothing was changed. The marker goes.
                ShareFailed(op, EngineErrors.SourceKeyNotShareable(op.SourceId, Region, SourceAccountId, op.Grantee, error.Message));
                return;
            }
            if (op.State == ShareState.Removing && FailurePolicy.CodeOf(error) is "InvalidSnapshot.NotFound")
            {
                ShareEnded(op, null); // the source is gone, and its permissions with it
                return;
            }
            var action = FailurePolicy.Decide(error, call.Action);
            if (action == FailureAction.Retry && (FailurePolicy.IsThrottle(error) || op.Attempts < job.MaxRetries))
            {
                if (FailurePolicy.IsThrottle(error)) job.Counters.Throttled();
                job.Counters.Retry();
                Agenda.At(op, Now + Backoff.Delay(Math.Min(op.Attempts++, 6), ShareBaseDelay, ShareMaxDelay));
                return;
            }
            if (action == FailureAction.FailAccountRegion)
            {
                // The source account's credentials failed here (expired, invalid, denied for every snapshot): the job
                // learns it, and the copies waiting for the share end with it.
                var regionError = FailurePolicy.RegionError(error, op.SourceId, Region, call.Action);
                AccountRegionFailed(call.Client!, regionError);
                if (op.State is ShareState.Describing or ShareState.Marking or ShareState.Adding) ShareFailed(op, regionError);
                else ShareEnded(op, regionError);
                return;
            }
            var failure = EngineErrors.ShareFailed(op.SourceId, Region, op.Grantee, call.Action, error);
            if (op.State is ShareState.Describing or ShareState.Marking or ShareState.Adding) ShareFailed(op, failure);
            else
            {
                job.Warn(failure.Message + " " + failure.RecommendedAction);
                ShareEnded(op, null);
            }
            return;
        }
        op.Attempts = 0;
        switch (op.State)
        {
            case ShareState.Describing:
                var permissions = (response as DescribeSnapshotAttributeResponse)?.CreateVolumePermissions ?? new List<CreateVolumePermission>();
                if (permissions.Any(p => p.UserId == op.Grantee || p.Group == PermissionGroup.All))
                {
                    // Already shared: ours when the marker says so (an earlier run), else it was there before.
                    op.PreExisting = !op.Ours;
                    if (op.PreExisting)
                        job.Verbose($"{op.SourceId} in {Region} is already shared with account {op.Grantee}; that permission was not added by this module and stays.");
                    Shared(op);
                    return;
                }
                op.State = ShareState.Marking;
                break;
            case ShareState.Marking:
                op.Ours = true;
                op.State = ShareState.Adding;
                break;
            case ShareState.Adding:
                job.Verbose($"Shared {op.SourceId} in {Region} with account {op.Grantee} (createVolumePermission), to copy it there; " +
                            "the permission is removed once its copies are final.");
                Shared(op);
                return;
            case ShareState.Removing:
                job.Verbose($"Removed the permission of account {op.Grantee} on {op.SourceId} in {Region}, added to copy it.");
                op.State = ShareState.Unmarking;
                break;
            case ShareState.Unmarking:
                ShareEnded(op, null);
                return;
        }
        Agenda.At(op, Now);
    }

    private void Shared(ShareOp op)
    {
        op.State = ShareState.Shared;
        var waiters = op.Waiters.ToList();
        op.Waiters.Clear();
        foreach (var reply in waiters) reply(null);
        ReleaseIfUnused(op);
    }

    /// <summary>Sharing failed: the copies waiting for it fail with why; a marker written for it is deleted.</summary>
    private void ShareFailed(ShareOp op, EngineError error)
    {
        var marked = op.State is ShareState.Adding; // the marker was written just before
        op.State = ShareState.Failed;
        op.Error = error;
        var waiters = op.Waiters.ToList();
        op.Waiters.Clear();
        foreach (var reply in waiters) reply(error);
        if (marked && op.Link is { Usable: true } link)
        {
            op.State = ShareState.Unmarking;
            op.Ours = false;
            link.Sharing++;
            Agenda.At(op, Now);
            return;
        }
        ReleaseIfUnused(op);
    }

    /// <summary>Removing (or giving up on) the share is over.</summary>
    private void ShareEnded(ShareOp op, EngineError? error)
    {
        var link = op.Link;
        var releasing = op.State is ShareState.Removing or ShareState.Unmarking;
        if (error is not null && op.State is ShareState.Describing or ShareState.Marking or ShareState.Adding)
        {
            var waiters = op.Waiters.ToList();
            op.Waiters.Clear();
            foreach (var reply in waiters) reply(error);
        }
        else if (error is not null && op.State == ShareState.Removing && op.Ours && link is not null)
        {
            WarnStillShared(link, op, "the command ended before it removed the permission it added");
        }
        _shares.Remove(op.SourceId + "|" + op.Grantee);
        if (op.Users.Count > 0 || op.Waiters.Count > 0)
        {
            // Someone engaged it again meanwhile: start over with a fresh op.
            var again = ShareOf(op.SourceId, op.Grantee);
            foreach (var user in op.Users) again.Users.Add(user);
            again.Link = link;
            again.Waiters.AddRange(op.Waiters);
            if (again.Waiters.Count > 0)
            {
                again.State = ShareState.Describing;
                Agenda.At(again, Now);
            }
        }
        if (releasing && link is not null)
        {
            link.Sharing--;
            TryEndClose(link);
        }
    }

    /// <summary>A permission this module added may be left on the source: the job says so, and how to remove it.</summary>
    private void WarnStillShared(JobLink link, ShareOp op, string why) =>
        link.Job.Warn($"{op.SourceId} in {Region} may still be shared with account {op.Grantee} ({why}). " +
                      $"Remove it with Edit-EC2SnapshotAttribute -SnapshotId {op.SourceId} -Region {Region} -Attribute createVolumePermission -OperationType remove -UserId {op.Grantee}.");

    /// <summary>The 12-digit id of this scheduler's account (the source's owner in a vault copy), or the key as it is.</summary>
    private string SourceAccountId => Account.StartsWith("account:", StringComparison.Ordinal) ? Account.Substring("account:".Length) : Account;

    private sealed class ShareCall(ShareOp op, string action, AmazonEC2Request request) : Call
    {
        public override string Action { get; } = action;
        public override object Request { get; } = request;

        public override async Task<object?> SendAsync(IAmazonEC2 client, CancellationToken cancellationToken) => Request switch
        {
            DescribeSnapshotAttributeRequest r => await client.DescribeSnapshotAttributeAsync(r, cancellationToken).ConfigureAwait(false),
            CreateTagsRequest r => await client.CreateTagsAsync(r, cancellationToken).ConfigureAwait(false),
            ModifySnapshotAttributeRequest r => await client.ModifySnapshotAttributeAsync(r, cancellationToken).ConfigureAwait(false),
            DeleteTagsRequest r => await client.DeleteTagsAsync(r, cancellationToken).ConfigureAwait(false),
            _ => throw new InvalidOperationException(Action),
        };

        public override void Done(Scheduler scheduler, object? response, Exception? error) => scheduler.ShareAnswered(op, this, response, error);
    }
}
