using System;
using System.Collections.Generic;
using Avtomat.Ec2.Engine.Internal;

namespace Avtomat.Ec2.Engine.Waiting;

/// <summary>
/// When a region's shared poller should look next: when the earliest watched snapshot is expected to be finished.
/// <para>A snapshot's expected duration comes from what EC2 reported of it (its progress over the time it has run) and
/// from what finished before it here (seconds per GiB of its kind: copies and new snapshots are learned apart), the
/// progress weighing more the further it got. The first look is at the expected end; a snapshot still running then is
/// looked at again after 1 % of its expected duration, doubling each time it is still running, up to 10 %. Until
/// something has finished here, the expectation rests on progress alone, which EBS reports unevenly (0 % for a while,
/// then jumps), so it can only bring a look forward: the poller looks halfway to that end, and never later than 10 % of
/// each snapshot's age, so the first to finish in a run is seen within a tenth of its duration.</para>
/// Every look stays between the floor (the jobs' <see cref="JobOptions.PollInterval"/>) and the ceiling
/// (<see cref="JobOptions.MaxPollInterval"/>), which also refreshes the progress estimates of long runs.
/// </summary>
internal sealed class PollSchedule
{
    /// <summary>Re-look at a snapshot past its expected end after this share of its expected duration (doubling).</summary>
    internal const double OverdueStep = 0.01;
    internal const double MaxOverdueStep = 0.1;
    /// <summary>With nothing learned, look at this share of a snapshot's age.</summary>
    internal const double ColdStep = 0.1;
    /// <summary>Progress below this (percent) says too little about the rest.</summary>
    private const double MinProgress = 5;

    private readonly object _gate = new();
    private readonly Dictionary<string, RecentValues> _secondsPerGiB = new(StringComparer.Ordinal);
    private readonly Dictionary<string, RecentValues> _seconds = new(StringComparer.Ordinal);

    /// <summary>A snapshot of <paramref name="kind"/> finished after <paramref name="duration"/>.</summary>
    public void Finished(string kind, int? sizeGiB, TimeSpan duration)
    {
        if (duration <= TimeSpan.Zero) return;
        lock (_gate)
        {
            Add(_seconds, kind, duration.TotalSeconds);
            if (sizeGiB is > 0) Add(_secondsPerGiB, kind, duration.TotalSeconds / sizeGiB.Value);
        }
    }

    /// <summary>The expected total duration of a snapshot, or null with nothing to go on; <c>Firm</c> is false while it
    /// rests on progress alone (nothing of its kind finished here yet).</summary>
    public (TimeSpan? Duration, bool Firm) ExpectedDuration(string kind, int? sizeGiB, double? progress, TimeSpan? ranFor)
    {
        double? learned;
        lock (_gate)
        {
            learned = sizeGiB is > 0 && Median(_secondsPerGiB, kind) is { } perGiB ? perGiB * sizeGiB.Value : Median(_seconds, kind);
        }
        // EC2 shows whole percents: the true share lies within the next one, so take the middle.
        double? fromProgress = progress is { } p && p >= MinProgress && p < 100 && ranFor is { } ran && ran > TimeSpan.Zero
            ? ran.TotalSeconds * 100 / Math.Min(100, p + 0.5)
            : null;
        double? seconds = (fromProgress, learned) switch
        {
            ({ } a, { } b) => a * (progress!.Value / 100) + b * (1 - progress.Value / 100),
            ({ } a, null) => a,
            (null, { } b) => b,
            _ => null,
        };
        var firm = learned is not null;
        return (seconds is { } s ? TimeSpan.FromSeconds(Math.Max(0, s)) : null, firm);
    }

    /// <summary>When to look at one snapshot next, given when the poller last looked and how many looks found it still
    /// running past its expected end.</summary>
    public static DateTimeOffset Due(DateTimeOffset started, (TimeSpan? Duration, bool Firm) expected, int overdueLooks,
        DateTimeOffset lastPoll, DateTimeOffset now, TimeSpan floor)
    {
        var age = now - started;
        var cold = lastPoll + Max(floor, TimeSpan.FromTicks((long)(Math.Max(0, age.Ticks) * ColdStep)));
        if (expected.Duration is not { } total) return cold;
        var end = started + total;
        DateTimeOffset due;
        if (end > lastPoll) due = expected.Firm ? end : lastPoll + Max(floor, TimeSpan.FromTicks((end - lastPoll).Ticks / 2));
        else
        {
            var share = Math.Min(MaxOverdueStep, OverdueStep * Math.Pow(2, Math.Min(overdueLooks, 10)));
            due = lastPoll + Max(floor, TimeSpan.FromTicks((long)(total.Ticks * share)));
        }
        // Progress alone can be far off (a copy that sat at 0 % and jumped to 55 % at 60 s "needs" 108 s, and ended at
        // 71 s): it may bring a look forward, never push it past the cold step.
        return expected.Firm || due < cold ? due : cold;
    }

    private static TimeSpan Max(TimeSpan a, TimeSpan b) => a > b ? a : b;

    private static void Add(Dictionary<string, RecentValues> map, string kind, double value)
    {
        if (!map.TryGetValue(kind, out var values)) map[kind] = values = new RecentValues();
        values.Add(value);
    }

    private static double? Median(Dictionary<string, RecentValues> map, string kind) =>
        map.TryGetValue(kind, out var values) ? values.Median() : null;
}
