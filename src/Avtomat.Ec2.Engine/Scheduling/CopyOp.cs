using System;
using System.Collections.Generic;
using System.Linq;
using Amazon.EC2.Model;
using Avtomat.Ec2.Engine.Copy;

namespace Avtomat.Ec2.Engine.Scheduling;

/// <summary>Where a copy stands in its scheduler. Every state has a due time or a call in flight (or waits for an
/// answer that has one), so no copy can wait for ever.</summary>
internal enum CopyState
{
    /// <summary>Its source is checked (in the source's region) and earlier copies looked for (here).</summary>
    Checking,
    /// <summary>A vault copy: the source is being shared with this account (in the source account's scheduler).</summary>
    Sharing,
    /// <summary>In the admission queue, longest expected first.</summary>
    Queued,
    /// <summary>Holds a slot; a fresh look for an existing copy (this run's, an earlier run's, a concurrent run's) is on
    /// its way, just before CopySnapshot.</summary>
    Admitting,
    /// <summary>Holds a slot; waits for a CopySnapshot token of the request bucket, or backs off after a throttle.</summary>
    Paced,
    /// <summary>CopySnapshot is on the wire.</summary>
    Sending,
    /// <summary>CopySnapshot got no definite answer: its request token is looked up before anything is sent again.</summary>
    LookingUpToken,
    /// <summary>EC2's limit of pending copies was reached: the slot went back; queued again at the front when due.</summary>
    LimitWait,
    /// <summary>EC2 accepted it (or an earlier copy was taken over): followed by the polls until it is final.</summary>
    Running,
    /// <summary>Completed; one more look, once a copy another run made meanwhile would be listed, before it is reported.</summary>
    Settling,
    Done,
}

/// <summary>
/// One copy of one source in this destination with one encryption, as EC2 sees it: the requests of every job in the
/// process that ask for it are served by it (the first one's settings make the CopySnapshot call). Owned by the
/// destination's scheduler.
/// </summary>
internal sealed class CopyOp : Due
{
    public CopyOp(string? key, CopyItem first, long sequence)
    {
        Key = key;
        Sequence = sequence;
        SourceRegion = first.Copy.SourceRegion;
        SourceId = first.Copy.SourceSnapshotId;
        DryRun = first.Job.DryRun;
        CopyAgain = first.CopyJob.CopyAgain;
        Plan = first.CopyJob.Plan;
        Token = first.Token;
        Order = first.InputOrder;
        Items.Add(first);
    }

    /// <summary>The copy's identity (see <see cref="CopyRules.KeyOf"/>); null for a dry run or -CopyAgain (never shared).</summary>
    public string? Key { get; }
    public long Sequence { get; }
    public string SourceRegion { get; }
    public string SourceId { get; }
    public bool DryRun { get; }
    /// <summary>-CopyAgain: no resume, no reuse, no twin check; copy even when an earlier copy exists.</summary>
    public bool CopyAgain { get; }
    /// <summary>Plan only (Measure-AvSnapshotCopy): ends once its kind is known, never sends CopySnapshot.</summary>
    public bool Plan { get; }
    /// <summary>What EC2 holds of the lineage decided the kind (null until the lineage lookup answered, or when it
    /// could not be looked up: the in-process lineage memory decides then).</summary>
    public Engine.Copy.LineageDecision? Lineage { get; set; }
    public bool LineageLooked { get; set; }
    /// <summary>When a plan op was submitted (the pending copies it counts are looked at after).</summary>
    public DateTimeOffset SubmittedAt { get; set; }
    public string Token { get; set; }
    /// <summary>The requests it serves (the first one's settings make the call).</summary>
    public List<CopyItem> Items { get; } = new();
    public CopyItem Leader => Items[0];
    /// <summary>The longest visibility grace of the jobs it serves (how long a copy may stay unlisted for any of them).</summary>
    public TimeSpan VisibilityGrace => Items.Count > 0 ? Items.Max(i => i.Job.VisibilityGrace) : TimeSpan.Zero;
    public CopyState State { get; set; }

    /// <summary>The job whose source check is on its way (it answers to this job).</summary>
    public EngineJob? CheckAskedBy { get; set; }
    public Snapshot? Source { get; set; }
    /// <summary>The source check's latest look did not list the source (within its visibility grace).</summary>
    public bool SourceUnlisted { get; set; }
    public bool EarlierLooked { get; set; }
    /// <summary>A time-based copy: the throughput it holds under the region pair's quota (0 when none).</summary>
    public double ThroughputHeld { get; set; }
    /// <summary>A time-based copy: its source's region gave it the turn among the time-based copies of that snapshot.</summary>
    public bool HoldsSeriesTurn { get; set; }
    /// <summary>A vault copy: the source is shared with this account (it may be copied here).</summary>
    public bool Shared { get; set; }
    /// <summary>How EC2 encrypts this request's copy (the key resolved): earlier copies are judged by it; null until known.</summary>
    public KeyExpectation? Expect { get; set; }
    /// <summary>The pending and completed copies of the source here at the first look (judged once <see cref="Expect"/> is known).</summary>
    public IReadOnlyList<Snapshot>? Seen { get; set; }
    /// <summary>A copy found in the destination that the request may use (made by someone else), from the latest look.</summary>
    public Snapshot? Earlier { get; set; }
    /// <summary>When the latest look at the source's copies here was sent.</summary>
    public DateTimeOffset? KnownAt { get; set; }

    public int? SizeGiB { get; set; }
    public string? VolumeId { get; set; }
    public bool SourceEncrypted { get; set; }
    public bool Incremental { get; set; }
    /// <summary>Expected seconds: the admission order (longest first).</summary>
    public double Expected { get; set; }
    /// <summary>Input order (ties).</summary>
    public long Order { get; set; }
    /// <summary>Put back at the front of the queue (ResourceLimitExceeded).</summary>
    public bool Requeued { get; set; }

    public bool HoldsWindowSlot { get; set; }
    /// <summary>The job whose ThrottleLimit the held slot counts against.</summary>
    public JobLink? SlotLink { get; set; }
    public DateTimeOffset AdmittedAt { get; set; }
    /// <summary>When the look that found no copy to use (the one CopySnapshot relied on) was sent: copies another run
    /// started since then, or shortly before, may have been invisible to it.</summary>
    public DateTimeOffset LookedUpAt { get; set; }

    public Call? InFlight { get; set; }
    public int Retries { get; set; }
    public int Throttles { get; set; }
    public int CapacityHits { get; set; }
    public bool Uncertain { get; set; }
    public Exception? LastUncertain { get; set; }

    public string? SnapshotId { get; set; }
    /// <summary>The copy was made by someone else (an earlier run, another run) and taken over.</summary>
    public bool Reused { get; set; }
    public DateTimeOffset? AcceptedAt { get; set; }
    /// <summary>EC2's StartTime of the copy.</summary>
    public DateTimeOffset? CopyStart { get; set; }
    public DateTimeOffset KnownRunningAt { get; set; }
    public DateTimeOffset? LastSeen { get; set; }
    public bool Missing { get; set; }

    /// <summary>Seen completed (waiting to be settled).</summary>
    public Snapshot? Completed { get; set; }
    /// <summary>The completed copy is reported only after a look sent at or after this time.</summary>
    public DateTimeOffset? SettleAt { get; set; }

    public SnapshotKind Kind => Incremental ? SnapshotKind.IncrementalCopy : SnapshotKind.FullCopy;

    public Expectation? Predict(Scheduler scheduler) => scheduler.Durations.Predict(Kind, SizeGiB);

    public override void OnDue(Scheduler scheduler, DateTimeOffset now) => scheduler.CopyDue(this, now);

    public override string ToString() => $"{SourceRegion}/{SourceId} ({State}{(SnapshotId is null ? "" : " " + SnapshotId)})";
}

/// <summary>The admission order: put back at the front first, then the longest expected, then input order.</summary>
internal sealed class CopyOrder : IComparer<CopyOp>
{
    public static readonly CopyOrder Instance = new();

    public int Compare(CopyOp? x, CopyOp? y)
    {
        if (ReferenceEquals(x, y)) return 0;
        var c = y!.Requeued.CompareTo(x!.Requeued);
        if (c != 0) return c;
        c = y.Expected.CompareTo(x.Expected);
        if (c != 0) return c;
        c = x.Order.CompareTo(y.Order);
        return c != 0 ? c : x.Sequence.CompareTo(y.Sequence);
    }
}
