using System;
using System.Collections.Generic;

namespace Avtomat.Ec2.Engine.Scheduling;

/// <summary>One watched snapshot as the planner sees it (times in seconds on one axis).</summary>
internal readonly struct PlanEntry(double start, double knownRunningAt, Expectation? expectation, double weight, bool inTail)
{
    /// <summary>EC2's StartTime.</summary>
    public double Start { get; } = start;
    /// <summary>The last time it was known to be still running (seen pending, or accepted).</summary>
    public double KnownRunningAt { get; } = knownRunningAt;
    /// <summary>Its duration's distribution; null while nothing of its kind was learned (cold).</summary>
    public Expectation? Expectation { get; } = expectation;
    /// <summary>What a second of its end going unnoticed costs, in slot-seconds: 1 while work waits for what it holds (a
    /// copy window slot, a volume slot, a source copies wait for), less when nothing waits.</summary>
    public double Weight { get; } = weight;
    /// <summary>Counts in the all-done term: nothing is queued, so the end of the last one is the end of the work.</summary>
    public bool InTail { get; } = inTail;
}

/// <summary>
/// When to look next: the look is worth making once the expected cost of not looking since the last look reaches the
/// cost of a look. The cost of not looking is the time things that already ended go unnoticed: Σ weight × P(ended by
/// then | still running when last seen), integrated since the last look; when nothing is queued, plus the whole
/// window's worth once everything has probably ended (the end of the work is noticed late). Each duration is the duration
/// model's log-normal for the snapshot's kind and size, so a look comes soon after the earliest likely ends while copies
/// wait in the queue, and lazily in the tail. A snapshot of a kind nothing was learned about yet is looked at after a
/// tenth of its age (the error is then at most a tenth of its duration); so is one that has outlasted what was learned
/// (seen running past the model's 99th percentile: the model is wrong about it, and trusting it would look ever faster
/// at a snapshot that is simply slow). Every look stays between the floor and the ceiling (the jobs' poll intervals).
/// </summary>
internal static class PollPlanner
{
    /// <summary>A look costs this many slot-seconds of unnoticed ends (one DescribeSnapshots: its request, EC2's bucket, a
    /// few milliseconds of the SDK). Tuned with the benchmark: ~2.5 looks per copy while copies queue.</summary>
    public const double LookCost = 4;
    /// <summary>With nothing learned, look after this share of the age.</summary>
    public const double ColdStep = 0.1;
    /// <summary>Seen running past this quantile of its duration's distribution, a snapshot is treated as cold.</summary>
    public const double Outlasted = 0.99;

    /// <summary>The distribution the plan uses for <paramref name="e"/>: none while cold or once it outlasted it.</summary>
    public static Expectation? ModelOf(in PlanEntry e) =>
        e.Expectation is { } x && Cdf(x, e.KnownRunningAt - e.Start) < Outlasted ? x : null;

    /// <summary>The time of the next look, in the planner's seconds.</summary>
    /// <param name="entries">The watched snapshots.</param>
    /// <param name="lastLook">When the last look was sent.</param>
    /// <param name="now">Now (never earlier than the answer).</param>
    /// <param name="floor">The least time between two looks.</param>
    /// <param name="ceiling">The most time between two looks.</param>
    /// <param name="tailWeight">The all-done term's weight (the window's size) when nothing is queued; 0 otherwise.</param>
    /// <param name="lookCost">What a look costs, in slot-seconds.</param>
    public static double Next(IReadOnlyList<PlanEntry> entries, double lastLook, double now, double floor, double ceiling, double tailWeight,
        double lookCost = LookCost)
    {
        var earliest = Math.Max(now, lastLook + floor);
        var latest = Math.Max(earliest, lastLook + ceiling);
        var anyWarm = false;
        foreach (var e in entries)
        {
            if (ModelOf(e) is null)
            {
                var age = Math.Max(0, now - e.Start);
                latest = Math.Min(latest, Math.Max(earliest, lastLook + Math.Max(floor, ColdStep * age)));
            }
            else if (e.Weight > 0 || (e.InTail && tailWeight > 0))
            {
                anyWarm = true;
            }
        }
        if (!anyWarm || latest <= earliest) return latest;
        if (Cost(entries, lastLook, latest, tailWeight) < lookCost) return latest;
        // Bisection: the cost grows with the time of the look.
        double lo = earliest, hi = latest;
        for (var i = 0; i < 48 && hi - lo > 0.01; i++)
        {
            var mid = (lo + hi) / 2;
            if (Cost(entries, lastLook, mid, tailWeight) >= lookCost) hi = mid;
            else lo = mid;
        }
        return hi;
    }

    /// <summary>The expected cost of the ends nobody noticed between <paramref name="from"/> and <paramref name="to"/>.</summary>
    public static double Cost(IReadOnlyList<PlanEntry> entries, double from, double to, double tailWeight)
    {
        if (to <= from) return 0;
        var total = 0.0;
        var anyTail = false;
        foreach (var e in entries)
        {
            if (ModelOf(e) is not { } x) continue;
            if (e.InTail) anyTail = true;
            if (e.Weight <= 0) continue;
            total += e.Weight * EndedIntegral(x, e.Start, e.KnownRunningAt, Math.Max(from, e.KnownRunningAt), to);
        }
        if (anyTail && tailWeight > 0) total += tailWeight * AllEndedIntegral(entries, from, to);
        return total;
    }

    /// <summary>∫ P(ended by u | running at <paramref name="knownRunningAt"/>) du over [a, b].</summary>
    public static double EndedIntegral(Expectation x, double start, double knownRunningAt, double a, double b)
    {
        if (b <= a) return 0;
        var c = Math.Max(0, knownRunningAt - start);
        var aa = Math.Max(0, a - start);
        var bb = b - start;
        var fc = Cdf(x, c);
        var survive = 1 - fc;
        if (survive < 1e-12) return b - a; // long overdue: ended, as far as anyone can tell
        var value = (H(x, bb) - H(x, aa) - fc * (bb - aa)) / survive;
        return Math.Max(0, Math.Min(b - a, value));
    }

    /// <summary>P(ended by <paramref name="at"/> | running at <paramref name="knownRunningAt"/>).</summary>
    public static double Ended(Expectation x, double start, double knownRunningAt, double at)
    {
        var c = Math.Max(0, knownRunningAt - start);
        var fc = Cdf(x, c);
        var survive = 1 - fc;
        if (at - start <= c) return 0;
        if (survive < 1e-12) return 1;
        return Math.Max(0, (Cdf(x, at - start) - fc) / survive);
    }

    private static double AllEndedIntegral(IReadOnlyList<PlanEntry> entries, double from, double to)
    {
        // Simpson's rule over the product of the tail entries' P(ended); smooth enough for 32 intervals.
        const int n = 32;
        var h = (to - from) / n;
        var sum = 0.0;
        for (var i = 0; i <= n; i++)
        {
            var t = from + i * h;
            var all = 1.0;
            foreach (var e in entries)
            {
                if (!e.InTail) continue;
                // One the model cannot speak for keeps "all ended" unknown: its own (cold) rule decides when to look.
                if (ModelOf(e) is not { } x) return 0;
                all *= Ended(x, e.Start, e.KnownRunningAt, t);
                if (all == 0) break;
            }
            sum += all * (i == 0 || i == n ? 1 : i % 2 == 1 ? 4 : 2);
        }
        return sum * h / 3;
    }

    /// <summary>∫₀ˣ F(u) du = x F(x) − E[X; X ≤ x] for a log-normal X.</summary>
    private static double H(Expectation x, double age)
    {
        if (age <= 0) return 0;
        var partial = Math.Exp(x.Mu + x.Sigma * x.Sigma / 2) * Phi((Math.Log(age) - x.Mu - x.Sigma * x.Sigma) / x.Sigma);
        return age * Cdf(x, age) - partial;
    }

    public static double Cdf(Expectation x, double age) => age <= 0 ? 0 : Phi((Math.Log(age) - x.Mu) / x.Sigma);

    /// <summary>The standard normal CDF (erfc by Abramowitz and Stegun 7.1.26, error below 1.5e-7).</summary>
    public static double Phi(double z)
    {
        var t = 1 / (1 + 0.3275911 * Math.Abs(z) / Math.Sqrt(2));
        var y = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
        var erfc = y * Math.Exp(-z * z / 2);
        return z >= 0 ? 1 - erfc / 2 : erfc / 2;
    }
}
