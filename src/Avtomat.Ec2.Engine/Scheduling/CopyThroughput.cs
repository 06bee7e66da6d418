using System;
using System.Collections.Generic;

namespace Avtomat.Ec2.Engine.Scheduling;

/// <summary>
/// EC2's throughput quotas for time-based copies (CopySnapshot with CompletionDurationMinutes) into one account and
/// destination region, as the destination's scheduler keeps them
/// (https://docs.aws.amazon.com/ebs/latest/userguide/time-based-copies.html): each copy needs its data ÷ its completion
/// duration and gets at most <see cref="MaxPerCopyMiBps"/> (500 MiB/s, not adjustable); all time-based copies from one
/// source region share the cumulative quota (2,000 MiB/s by default, adjustable, quota code L-E137849C). A copy asking
/// for more than is left is accepted and finishes late; one that finds none left fails. So a time-based copy is admitted
/// only when its throughput fits what is left, and holds it from its CopySnapshot until it is seen finished (with its
/// window slot). Plain state owned by the scheduler's loop.
/// </summary>
internal sealed class CopyThroughput
{
    /// <summary>EC2's "snapshot copy operation throughput quota": one time-based copy's most.</summary>
    public const double MaxPerCopyMiBps = 500;
    /// <summary>EC2's default "cumulative snapshot copy throughput quota" per source and destination region.</summary>
    public const double DefaultQuotaMiBps = Copy.CopyJobOptions.DefaultTimeBasedThroughputQuota;

    private readonly Dictionary<string, double> _used = new(StringComparer.Ordinal);

    /// <summary>The throughput a copy of <paramref name="sizeGiB"/> needs to complete within <paramref name="minutes"/>
    /// (the full size: what an incremental copy transfers is not known before it ends, so this errs on the safe side).</summary>
    public static double Required(int sizeGiB, int minutes) => sizeGiB * 1024.0 / (minutes * 60.0);

    /// <summary>What a time-based copy of <paramref name="sizeGiB"/> in <paramref name="minutes"/> holds of the quota:
    /// <see cref="Required"/>, at most <see cref="MaxPerCopyMiBps"/> (the copy job's admission and the plan alike).</summary>
    public static double Held(int sizeGiB, int minutes) => Math.Min(Required(sizeGiB, minutes), MaxPerCopyMiBps);

    /// <summary>The shortest completion duration EC2 can keep for <paramref name="sizeGiB"/> at 500 MiB/s, in its steps of
    /// 15 minutes (at least 15).</summary>
    public static int ShortestMinutes(int sizeGiB)
    {
        var minutes = sizeGiB * 1024.0 / MaxPerCopyMiBps / 60.0;
        return Math.Max(15, (int)Math.Ceiling(minutes / 15.0 - 1e-9) * 15);
    }

    /// <summary>What time-based copies from <paramref name="sourceRegion"/> hold now.</summary>
    public double Used(string sourceRegion) => _used.TryGetValue(sourceRegion, out var used) ? used : 0;

    /// <summary>True when <paramref name="mibps"/> more fits under <paramref name="quota"/> (a copy alone always fits:
    /// one larger than the quota can only go alone, and finishes late).</summary>
    public bool Fits(string sourceRegion, double mibps, double quota)
    {
        var used = Used(sourceRegion);
        return used <= 0 || used + mibps <= quota + 1e-9;
    }

    public void Take(string sourceRegion, double mibps) => _used[sourceRegion] = Used(sourceRegion) + mibps;

    public void Release(string sourceRegion, double mibps)
    {
        var left = Used(sourceRegion) - mibps;
        if (left <= 1e-9) _used.Remove(sourceRegion);
        else _used[sourceRegion] = left;
    }
}
