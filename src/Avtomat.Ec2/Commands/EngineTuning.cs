using System;
using System.Management.Automation.Runspaces;
using System.Runtime.CompilerServices;

namespace Avtomat.Ec2.Commands;

/// <summary>Knobs for the engine jobs the cmdlets start, per runspace and for tests only (internal: no cmdlet parameter
/// exposes them, and nothing in production sets them). A runspace without settings keeps the engine's defaults (a 2 s
/// poll interval), so a test that measures real call counts is not affected by another test's shortcut.</summary>
internal static class EngineTuning
{
    private static readonly ConditionalWeakTable<Runspace, Settings> ByRunspace = new();

    /// <summary>Polls every <paramref name="interval"/> in jobs started from <paramref name="runspace"/>.</summary>
    public static void SetPollInterval(Runspace runspace, TimeSpan interval)
    {
        if (runspace is null) throw new ArgumentNullException(nameof(runspace));
        ByRunspace.GetValue(runspace, _ => new Settings()).PollInterval = interval;
    }

    /// <summary>The poll interval set for the runspace the calling pipeline runs in, or null.</summary>
    public static TimeSpan? PollInterval =>
        Runspace.DefaultRunspace is { } runspace && ByRunspace.TryGetValue(runspace, out var settings) ? settings.PollInterval : null;

    private sealed class Settings
    {
        public TimeSpan? PollInterval { get; set; }
    }
}
