using System;

namespace Avtomat.Ec2.Engine.Scheduling;

/// <summary>How a copy window slot is given back.</summary>
internal enum SlotRelease
{
    /// <summary>The call did not create a copy (failed, or a dry run).</summary>
    Unused,
    /// <summary>The copy was seen completed or failed: capacity is really free (and the window may grow).</summary>
    CopyFinished,
    /// <summary>EC2 said ResourceLimitExceeded: shrink the window.</summary>
    LimitExceeded,
    /// <summary>We stopped watching a copy that may still run (timeout, cancellation).</summary>
    Abandoned,
}

/// <summary>
/// EC2's pending-copy limit in one account and destination region as the scheduler keeps it: <see cref="Limit"/> slots
/// (20), of which <see cref="Current"/> may be used now and <see cref="InUse"/> are. A slot is held from just before
/// CopySnapshot until the copy is seen finished. ResourceLimitExceeded means copies started elsewhere in the account use
/// part of EC2's limit: the window shrinks to the copies held here (at least 1). It grows back by one per finished copy
/// and, while it is short, by one per recovery interval (copies started elsewhere end without telling anyone: a probe,
/// and another ResourceLimitExceeded shrinks it again). When nothing uses it and nothing waits for it, it is back at
/// <see cref="Limit"/>. Plain state owned by the scheduler's loop; the scheduler decides who gets a free slot (the
/// copy expected to take longest first).
/// </summary>
internal sealed class CopyWindow
{
    public CopyWindow(int limit)
    {
        if (limit < 1) throw new ArgumentOutOfRangeException(nameof(limit), limit, "The window needs at least one slot.");
        Limit = limit;
        Current = limit;
    }

    public int Limit { get; }
    /// <summary>Slots allowed now (≤ <see cref="Limit"/>; fewer after ResourceLimitExceeded).</summary>
    public int Current { get; private set; }
    public int InUse { get; private set; }
    public int PeakInUse { get; private set; }

    public bool HasRoom => InUse < Current;
    public bool IsShort => Current < Limit;

    public void Take()
    {
        InUse++;
        if (InUse > PeakInUse) PeakInUse = InUse;
    }

    /// <summary>A slot comes back.</summary>
    /// <param name="how">Why it comes back (see <see cref="SlotRelease"/>).</param>
    /// <param name="waiting">Copies wait for a slot (a window nobody waits for and nobody uses is reset).</param>
    public void Release(SlotRelease how, bool waiting)
    {
        InUse--;
        switch (how)
        {
            case SlotRelease.CopyFinished:
                if (Current < Limit) Current++; // grow back one per finished copy
                break;
            case SlotRelease.LimitExceeded:
                Current = Math.Max(1, Math.Min(Current, InUse));
                break;
        }
        // Nobody holds or waits for a slot: whatever pushed back is not ours to remember.
        if (InUse == 0 && !waiting) Current = Limit;
    }

    /// <summary>One more slot after a quiet interval (copies started elsewhere finish without telling us).</summary>
    public void GrowOne()
    {
        if (Current < Limit) Current++;
    }

    public override string ToString() => $"{InUse}/{Current} (limit {Limit})";
}
