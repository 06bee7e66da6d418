using System;
using System.Management.Automation.Runspaces;
using System.Runtime.CompilerServices;

namespace Avtomat.Ec2.Commands;

/// <summary>Knobs for the engine jobs the cmdlets start, per runspace and for tests only (internal: no cmdlet parameter
/// exposes them, and nothing in production sets them). A runspace without settings keeps the engine's defaults (an
/// adaptive poll between <see cref="Engine.JobOptions.PollInterval"/>, 1 s, and <see cref="Engine.JobOptions.MaxPollInterval"/>,
/// 5 min; a 30 s visibility grace), so a test that measures real call counts is not affected by another test's shortcut.</summary>
internal static class EngineTuning
{
    private static readonly ConditionalWeakTable<Runspace, Settings> ByRunspace = new();

    /// <summary>Sets the poll floor (the least time between two looks; <see cref="Engine.JobOptions.PollInterval"/>) of jobs
    /// started from <paramref name="runspace"/>.</summary>
    public static void SetPollInterval(Runspace runspace, TimeSpan interval)
    {
        if (runspace is null) throw new ArgumentNullException(nameof(runspace));
        ByRunspace.GetValue(runspace, _ => new Settings()).PollInterval = interval;
    }

    /// <summary>Lets a new or missing snapshot stay invisible for at most <paramref name="grace"/> in jobs started from
    /// <paramref name="runspace"/> (the engine's default is 30 s).</summary>
    public static void SetVisibilityGrace(Runspace runspace, TimeSpan grace)
    {
        if (runspace is null) throw new ArgumentNullException(nameof(runspace));
        ByRunspace.GetValue(runspace, _ => new Settings()).VisibilityGrace = grace;
    }

    /// <summary>The poll interval set for the runspace the calling pipeline runs in, or null.</summary>
    public static TimeSpan? PollInterval => Current?.PollInterval;

    /// <summary>The visibility grace set for the runspace the calling pipeline runs in, or null.</summary>
    public static TimeSpan? VisibilityGrace => Current?.VisibilityGrace;

    private static Settings? Current =>
        Runspace.DefaultRunspace is { } runspace && ByRunspace.TryGetValue(runspace, out var settings) ? settings : null;

    private sealed class Settings
    {
        public TimeSpan? PollInterval { get; set; }
        public TimeSpan? VisibilityGrace { get; set; }
    }
}
