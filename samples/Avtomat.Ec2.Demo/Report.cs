using System.Management.Automation;
using Avtomat.Ec2.Emulator;

namespace Avtomat.Ec2.Demo;

/// <summary>Reads result properties by name (the module's assembly lives in PowerShell's load context).</summary>
internal static class Props
{
    public static T? Get<T>(PSObject o, string name)
    {
        var value = o.Properties[name]?.Value;
        if (value is PSObject wrapped) value = wrapped.BaseObject;
        return value is null ? default : LanguagePrimitives.ConvertTo<T>(value);
    }

    public static IReadOnlyDictionary<string, string> Tags(PSObject o)
    {
        var value = o.Properties["Tags"]?.Value;
        if (value is PSObject wrapped) value = wrapped.BaseObject;
        var tags = new Dictionary<string, string>(StringComparer.Ordinal);
        if (value is System.Collections.IDictionary dictionary)
        {
            foreach (System.Collections.DictionaryEntry entry in dictionary) tags[entry.Key.ToString()!] = entry.Value?.ToString() ?? "";
        }
        return tags;
    }
}

/// <summary>One Avtomat.Ec2.SnapshotCopyResult.</summary>
internal sealed record CopyRow(string? SnapshotId, string Region, string SourceSnapshotId, string State, bool Encrypted,
    DateTime? StartTime, DateTime? CompletionTime, TimeSpan? Duration, string? StatusMessage, IReadOnlyDictionary<string, string> Tags)
{
    public static CopyRow From(PSObject o) =>
        new(Props.Get<string>(o, "SnapshotId"), Props.Get<string>(o, "Region") ?? "", Props.Get<string>(o, "SourceSnapshotId") ?? "",
            Props.Get<string>(o, "State") ?? "", Props.Get<bool>(o, "Encrypted"), Props.Get<DateTime?>(o, "StartTime"),
            Props.Get<DateTime?>(o, "CompletionTime"), Props.Get<TimeSpan?>(o, "Duration"), Props.Get<string>(o, "StatusMessage"),
            Props.Tags(o));
}

/// <summary>One Avtomat.Ec2.SnapshotResult (New-AvSnapshot).</summary>
internal sealed record CreatedRow(string? SnapshotId, string Region, string? VolumeId, string State, DateTime? StartTime,
    DateTime? CompletionTime, TimeSpan? Duration, IReadOnlyDictionary<string, string> Tags)
{
    public static CreatedRow From(PSObject o) =>
        new(Props.Get<string>(o, "SnapshotId"), Props.Get<string>(o, "Region") ?? "", Props.Get<string>(o, "VolumeId"),
            Props.Get<string>(o, "State") ?? "", Props.Get<DateTime?>(o, "StartTime"), Props.Get<DateTime?>(o, "CompletionTime"),
            Props.Get<TimeSpan?>(o, "Duration"), Props.Tags(o));
}

/// <summary>Objects shaped like AWS.Tools output.</summary>
internal static class DemoObjects
{
    /// <summary>An Amazon.EC2.Model.Tag look-alike.</summary>
    public static PSObject Tag(string key, string value)
    {
        var tag = new PSObject();
        tag.Properties.Add(new PSNoteProperty("Key", key));
        tag.Properties.Add(new PSNoteProperty("Value", value));
        return tag;
    }
}

/// <summary>The closing table and figures, rendered by hand: a hosted runspace has no Format-Table host to print to.</summary>
internal static class Report
{
    /// <summary>Calls to one action over every account and region, as the emulator counted them.</summary>
    public static long CallsTo(EmulatorStats stats, string action) =>
        stats.Calls.Values.Sum(perAction => perAction.GetValueOrDefault(action));

    public static int MaxPendingIn(EmulatorStats stats, string region) =>
        stats.MaxPendingCopies.Where(p => p.Key.EndsWith("/" + region, StringComparison.Ordinal))
            .Select(p => p.Value).DefaultIfEmpty(0).Max();

    /// <summary>A stopped or failed pipeline, and error records.</summary>
    public static void PipelineProblems(PipelineOutcome outcome, List<string> problems)
    {
        if (outcome.Failure is PipelineStoppedException) problems.Add("the pipeline was stopped");
        else if (outcome.Failure is not null) problems.Add($"the pipeline ended with {outcome.Failure.GetType().Name}: {outcome.Failure.Message}");
        if (outcome.Errors.Count > 0) problems.Add($"{outcome.Errors.Count} error record(s) were written");
    }

    /// <summary>Prints OK or FAILED (with the first errors) and says whether the scene succeeded.</summary>
    public static bool Verdict(IReadOnlyList<string> problems, PipelineOutcome outcome, string success)
    {
        if (problems.Count == 0)
        {
            Console.WriteLine("OK: " + success);
            return true;
        }
        Console.WriteLine("FAILED: " + string.Join("; ", problems) + ".");
        foreach (var error in outcome.Errors.Take(5))
            Console.WriteLine($"  {error.FullyQualifiedErrorId}: {error}");
        return false;
    }

    public static void Table(IReadOnlyList<CopyRow> rows, IReadOnlyDictionary<string, int> sizeOf, int maxRows)
    {
        string[] header = ["SourceSnapshotId", "GiB", "SnapshotId", "Region", "State", "Encrypted", "Duration", "StatusMessage"];
        var shown = rows.Take(maxRows).Select(r => new[]
        {
            r.SourceSnapshotId, sizeOf.TryGetValue(r.SourceSnapshotId, out var size) ? size.ToString() : "?",
            r.SnapshotId ?? "", r.Region, r.State, r.Encrypted ? "True" : "False",
            r.Duration is { } d ? $"{d.TotalSeconds:0.0} s" : "", r.StatusMessage ?? "",
        }).ToList();
        var widths = header.Select((h, i) => shown.Select(row => row[i].Length).Append(h.Length).Max()).ToArray();
        string Line(string[] cells) => string.Join("  ", cells.Select((c, i) =>
            i is 1 or 6 ? c.PadLeft(widths[i]) : c.PadRight(widths[i]))).TrimEnd();
        Console.WriteLine($"Results in completion order (first {shown.Count} of {rows.Count}):");
        Console.WriteLine(Line(header));
        Console.WriteLine(Line(widths.Select(w => new string('-', w)).ToArray()));
        foreach (var row in shown) Console.WriteLine(Line(row));
        if (rows.Count > shown.Count) Console.WriteLine($"… {rows.Count - shown.Count} more");
        Console.WriteLine();
        Console.WriteLine("By state: " + (rows.Count == 0 ? "no results" :
            string.Join(", ", rows.GroupBy(r => r.State).OrderByDescending(g => g.Count()).Select(g => $"{g.Key} {g.Count()}"))));
    }

    public static void Makespan(IReadOnlyList<CopyRow> rows, int window)
    {
        var timed = rows.Where(r => r.StartTime is not null && r.CompletionTime is not null).ToList();
        if (timed.Count == 0)
        {
            Console.WriteLine("Makespan: no result has a start and completion time.");
            return;
        }
        var makespan = timed.Max(r => r.CompletionTime!.Value) - timed.Min(r => r.StartTime!.Value);
        var durations = timed.Select(r => (r.CompletionTime!.Value - r.StartTime!.Value).TotalSeconds).ToList();
        // Lower bound on the makespan of any schedule: EC2 runs at most `window` (20) copies to a region at once, so the
        // copies' total duration divided by 20 cannot be beaten, and neither can the single longest copy. Both use the
        // durations observed here (accepted → seen completed), so the ratio measures how well the window was kept full.
        var longest = durations.Max();
        var perWindow = durations.Sum() / window;
        var lowerBound = Math.Max(longest, perWindow);
        Console.WriteLine($"Makespan: {makespan.TotalSeconds:0.0} s against a lower bound of {lowerBound:0.0} s "
            + $"(×{makespan.TotalSeconds / lowerBound:0.00}; lower bound = max(longest copy {longest:0.0} s, "
            + $"sum of copies {durations.Sum():0} s / {window} = {perWindow:0.0} s))");

        // How full the window was: when it first held `window` copies, when the last copy was accepted (after that
        // only the tail of the last copies runs), and the average number in flight over the makespan.
        var start = timed.Min(r => r.StartTime!.Value);
        var events = timed.SelectMany(r => new[] { (At: r.StartTime!.Value, Delta: 1), (At: r.CompletionTime!.Value, Delta: -1) })
            .OrderBy(e => e.At).ThenBy(e => e.Delta).ToList();
        var inFlight = 0;
        DateTime? full = null;
        foreach (var (at, delta) in events)
        {
            inFlight += delta;
            if (inFlight >= window && full is null) full = at;
        }
        var lastAccepted = timed.Max(r => r.StartTime!.Value);
        Console.WriteLine("Window: " + (full is { } f ? $"full ({window} in flight) from {(f - start).TotalSeconds:0.0} s; " : "")
            + $"last copy accepted at {(lastAccepted - start).TotalSeconds:0.0} s, then {(makespan - (lastAccepted - start)).TotalSeconds:0.0} s "
            + $"for the last copies to finish; {durations.Sum() / makespan.TotalSeconds:0.0} copies in flight on average");
    }
}
