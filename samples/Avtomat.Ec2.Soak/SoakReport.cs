using System.Globalization;
using System.Text;
using Avtomat.Ec2.Emulator;
using Avtomat.Ec2.Engine;

namespace Avtomat.Ec2.Soak;

/// <summary>The soak's figures and its verdict. <see cref="Table"/> is plain text, at most 100 columns wide.</summary>
public sealed class SoakReport
{
    public SoakOptions Options { get; set; } = new();
    public RunOutcome? Run1 { get; set; }
    public RunOutcome Run2 { get; set; } = new();
    public RunOutcome? Baseline { get; set; }
    public long BaselineEc2Calls { get; set; }
    public Dictionary<string, long> BaselineCopyErrors { get; set; } = new();
    public Ec2Copies Ec2 { get; set; } = new();
    public List<(string Destination, string Source)> Inputs { get; set; } = new();
    public TimeSpan TotalElapsed { get; set; }

    /// <summary>EC2 calls per action during run 1 + run 2 (emulator counters; STS excluded; setup and audit excluded).</summary>
    public Dictionary<string, long> Calls { get; private set; } = new();
    public Dictionary<string, long> ThrottledCalls { get; private set; } = new();
    public Dictionary<string, long> Faults { get; private set; } = new();
    public Dictionary<string, long> CopyErrors { get; private set; } = new();
    public Dictionary<string, int> MaxPendingCopies { get; private set; } = new();
    /// <summary>Emulator: copies ever created per "REGION/snap-…" source per destination (deleted ones included).</summary>
    public Dictionary<string, Dictionary<string, int>> CopiesCreated { get; private set; } = new();

    internal void SetEmulatorFigures(EmulatorStats before, EmulatorStats after)
    {
        Calls = Ec2Calls(before, after);
        ThrottledCalls = Diff(before.Throttled, after.Throttled);
        Faults = after.Faults.ToDictionary(p => p.Key, p => p.Value - before.Faults.GetValueOrDefault(p.Key));
        CopyErrors = CopySnapshotErrors(before, after);
        CopiesCreated = after.CopiesPerSource;
        MaxPendingCopies = after.MaxPendingCopies.ToDictionary(p => p.Key[(p.Key.IndexOf('/') + 1)..], p => p.Value);
    }

    public static Dictionary<string, long> Ec2Calls(EmulatorStats before, EmulatorStats after) => Diff(before.Calls, after.Calls);

    /// <summary>Error codes CopySnapshot returned between two snapshots of the counters.</summary>
    public static Dictionary<string, long> CopySnapshotErrors(EmulatorStats before, EmulatorStats after) =>
        after.Errors.TryGetValue("CopySnapshot", out var e)
            ? e.ToDictionary(p => p.Key, p => p.Value - (before.Errors.TryGetValue("CopySnapshot", out var b) ? b.GetValueOrDefault(p.Key) : 0))
            : new();

    private static Dictionary<string, long> Diff(Dictionary<string, Dictionary<string, long>> before, Dictionary<string, Dictionary<string, long>> after)
    {
        var result = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var (region, actions) in after)
            foreach (var (action, count) in actions)
            {
                if (action.StartsWith("sts:", StringComparison.Ordinal)) continue;
                var earlier = before.TryGetValue(region, out var b) ? b.GetValueOrDefault(action) : 0;
                result[action] = result.GetValueOrDefault(action) + count - earlier;
            }
        return result.Where(p => p.Value > 0).ToDictionary(p => p.Key, p => p.Value, StringComparer.Ordinal);
    }

    // ------------------------------------------------------------------ per input

    public enum Outcome { Completed, Reused, Failed, Stopped, NotReported }

    public sealed record InputResult(string Destination, string Source, int Reports, Outcome Outcome, string? ErrorId, string? CopyId,
        int LiveCopies, int ErrorCopies, bool ReportedCopyLive, DateTime? FirstCopyStart)
    {
        /// <summary>Exactly one report in run 2: completed, reused, or failed with a reason.</summary>
        public bool AccountedOnce => Reports == 1 && (Outcome is Outcome.Completed or Outcome.Reused || Outcome == Outcome.Failed && ErrorId is not null);
        public bool Duplicate => LiveCopies > 1;
        /// <summary>No copy (pending or completed) in EC2 and no failure reported in run 2.</summary>
        public bool Lost => LiveCopies == 0 && Outcome != Outcome.Failed;
    }

    private List<InputResult>? _results;

    public IReadOnlyList<InputResult> Results => _results ??= Compute();

    private List<InputResult> Compute()
    {
        var reports = Run2.Finished.GroupBy(f => (f.Request.DestinationRegion, f.Request.SourceSnapshotId)).ToDictionary(g => g.Key, g => g.ToList());
        var list = new List<InputResult>(Inputs.Count);
        foreach (var key in Inputs)
        {
            var mine = reports.GetValueOrDefault(key) ?? [];
            var copies = Ec2.BySource.GetValueOrDefault(key) ?? [];
            var live = copies.Where(s => s.State?.Value is "pending" or "completed").ToList();
            var last = mine.LastOrDefault();
            var outcome = last is null ? Outcome.NotReported : last.Result.State switch
            {
                SnapshotState.Completed => last.Result.Reused ? Outcome.Reused : Outcome.Completed,
                SnapshotState.Failed or SnapshotState.TimedOut => Outcome.Failed,
                _ => Outcome.Stopped,
            };
            var copyId = last?.Result.SnapshotId;
            list.Add(new InputResult(key.Destination, key.Source, mine.Count, outcome, last?.Error?.ErrorId, copyId,
                live.Count, copies.Count(s => s.State?.Value == "error"),
                copyId is not null && live.Any(s => s.SnapshotId == copyId),
                live.Select(s => s.StartTime).Where(t => t is not null).Select(t => ToUtc(t!.Value)).DefaultIfEmpty().Min() is var m && m != default
                    ? m : null));
        }
        return list;
    }

    private static DateTime ToUtc(DateTime t) => t.Kind == DateTimeKind.Local ? t.ToUniversalTime() : DateTime.SpecifyKind(t, DateTimeKind.Utc);

    public int Duplicates => Results.Count(r => r.Duplicate);
    public int Lost => Results.Count(r => r.Lost);
    public int AccountedOnce => Results.Count(r => r.AccountedOnce);
    public bool Incomplete => Run2.HitLimit || Run2.Abandoned || Run1?.Abandoned == true;

    /// <summary>Every input accounted for exactly once in run 2, no duplicates in EC2, nothing lost.</summary>
    public bool Passed => Inputs.Count > 0 && AccountedOnce == Inputs.Count && Duplicates == 0 && Lost == 0 && !Incomplete;
    public int ExitCode => Passed ? 0 : 1;

    public IEnumerable<string> FailureReasons()
    {
        if (AccountedOnce != Inputs.Count) yield return $"{Inputs.Count - AccountedOnce} inputs not accounted for exactly once";
        if (Duplicates > 0) yield return $"{Duplicates} sources with duplicate copies in EC2";
        if (Lost > 0) yield return $"{Lost} lost";
        if (Incomplete) yield return "a run did not finish (safety limit)";
    }

    // ------------------------------------------------------------------ the table

    public string Table => _table ??= Format();
    private string? _table;

    private string Format()
    {
        var o = Options;
        var sb = new StringBuilder();
        var rule = new string('-', 98);
        void Line(string s = "") => sb.AppendLine(s);
        string Pct(double rate) => (rate * 100).ToString("0.#", CultureInfo.InvariantCulture) + " %";
        string S(TimeSpan t) => t.TotalSeconds.ToString("0.0", CultureInfo.InvariantCulture) + " s";
        var n2 = Inputs.Count;

        Line("Avtomat.Ec2 soak: the copy engine under faults, EC2 emulator on 127.0.0.1");
        Line($"inputs:  {o.Count} snapshots in {o.SourceRegion} -> {string.Join(", ", o.Destinations)} = {n2} copies; seed {o.Seed}");
        Line($"copies:  fixed {o.CopySeconds:0.##} s, cross-region x1; PollInterval {o.PollInterval.TotalSeconds:0.##} s, " +
             $"VisibilityGrace {o.VisibilityGrace.TotalSeconds:0.##} s");
        Line($"faults:  throttle {Pct(o.ThrottleRate)}, 5xx {Pct(o.InternalErrorRate + o.UnavailableRate)} (InternalError " +
             $"{Pct(o.InternalErrorRate)}, Unavailable {Pct(o.UnavailableRate)}),");
        Line($"         dropped before action {Pct(o.DropBeforeRate)}, after {Pct(o.DropAfterRate)}, copy error {Pct(o.CopyErrorRate)}, " +
             $"invisible {Pct(o.InvisibleRate)} for {o.InvisibleSeconds:0.#} s,");
        Line($"         {o.OutsideCopies} of 20 slots per destination held by outside copies");
        Line(o.NoStop
            ? "runs:    one run to the end (--no-stop)"
            : $"runs:    run 1 stopped at {Pct(o.StopAt)} finished; run 2 {o.RerunDelay.TotalSeconds:0.#} s later: same requests, " +
              "new engine + clients");
        Line(rule);

        var dests = o.Destinations.Count <= 4 ? o.Destinations : [];
        const int labelWidth = 46;
        const int colWidth = 11;
        string Header() => "".PadRight(labelWidth) + "total".PadLeft(colWidth) + string.Concat(dests.Select(d => d.PadLeft(colWidth)));
        void Row(string label, Func<InputResult, bool> match)
        {
            var cells = new[] { Results.Count(match).ToString(CultureInfo.InvariantCulture) }
                .Concat(dests.Select(d => Results.Count(r => r.Destination == d && match(r)).ToString(CultureInfo.InvariantCulture)));
            Line(label.PadRight(labelWidth) + string.Concat(cells.Select(c => c.PadLeft(colWidth))));
        }
        void RowOf(string label, IEnumerable<FinishedItem> items, Func<FinishedItem, bool> match)
        {
            var all = items.ToList();
            var cells = new[] { all.Count(match).ToString(CultureInfo.InvariantCulture) }
                .Concat(dests.Select(d => all.Count(f => f.Request.DestinationRegion == d && match(f)).ToString(CultureInfo.InvariantCulture)));
            Line(label.PadRight(labelWidth) + string.Concat(cells.Select(c => c.PadLeft(colWidth))));
        }

        Line(Header());
        Row("inputs", _ => true);
        if (Run1 is { } r1)
        {
            Line($"run 1 ({S(r1.Elapsed)}; stop asked at {r1.StoppedAtFinished?.ToString(CultureInfo.InvariantCulture) ?? "-"} finished)");
            RowOf("  completed", r1.Finished, f => f.Result.State == SnapshotState.Completed && !f.Result.Reused);
            RowOf("  reused", r1.Finished, f => f.Result.State == SnapshotState.Completed && f.Result.Reused);
            RowOf("  failed", r1.Finished, f => f.Result.State is SnapshotState.Failed or SnapshotState.TimedOut);
            RowOf("  stopped before EC2 accepted it (Queued)", r1.Finished, f => f.Result.State == SnapshotState.Queued);
            RowOf("  stopped while pending in EC2 (Pending)", r1.Finished, f => f.Result.State == SnapshotState.Pending);
        }
        Line($"{(Run1 is null ? "run" : "run 2")} ({S(Run2.Elapsed)}): what it reported per input");
        Row("  completed (new copy)", r => r.Outcome == Outcome.Completed);
        Row("  reused (earlier run's copy)", r => r.Outcome == Outcome.Reused);
        Row("  failed with a reason", r => r.Outcome == Outcome.Failed);
        foreach (var id in Results.Where(r => r.Outcome == Outcome.Failed).Select(r => r.ErrorId ?? "(no ErrorId)").Distinct().Order())
            Row("    " + id, r => r.Outcome == Outcome.Failed && (r.ErrorId ?? "(no ErrorId)") == id);
        Row("  stopped / not reported", r => r.Outcome is Outcome.Stopped or Outcome.NotReported);
        Row("  reported more than once", r => r.Reports > 1);
        Row("  accounted for exactly once", r => r.AccountedOnce);
        Line("EC2 after run 2 (DescribeSnapshots, owner self, tag " + Engine.Copy.CopyTagNames.SourceSnapshotId + ")");
        Row("  sources with >1 pending/completed copy (dup)", r => r.Duplicate);
        Line("  extra copies (beyond one)".PadRight(labelWidth) +
             string.Concat(new[] { Results.Sum(r => Math.Max(0, r.LiveCopies - 1)) }
                 .Concat(dests.Select(d => Results.Where(r => r.Destination == d).Sum(r => Math.Max(0, r.LiveCopies - 1))))
                 .Select(c => c.ToString(CultureInfo.InvariantCulture).PadLeft(colWidth))));
        if (Run1 is not null && Duplicates > 0)
        {
            // Where the duplicates come from: what run 1 said about the input, and whether its copy was still inside the
            // eventual-consistency window (InvisibleSeconds) when run 2 started (so run 2 could not see it yet).
            var run1 = Run1.Finished.GroupBy(f => (f.Request.DestinationRegion, f.Request.SourceSnapshotId))
                .ToDictionary(g => g.Key, g => g.Last().Result.State);
            SnapshotState? Said(InputResult r) => run1.TryGetValue((r.Destination, r.Source), out var st) ? st : null;
            Row("    run 1 reported it Completed", r => r.Duplicate && Said(r) == SnapshotState.Completed);
            Row("    run 1 stopped it Pending", r => r.Duplicate && Said(r) == SnapshotState.Pending);
            Row("    run 1 stopped it Queued", r => r.Duplicate && Said(r) == SnapshotState.Queued);
            Row("    run 1 other / none", r => r.Duplicate && Said(r) is not (SnapshotState.Completed or SnapshotState.Pending or SnapshotState.Queued));
            var fresh = TimeSpan.FromSeconds(Options.InvisibleSeconds);
            Row($"    first copy started < {Options.InvisibleSeconds:0.#} s before run 2", r => r.Duplicate && r.FirstCopyStart is { } t
                && Run2.StartedUtc - t < fresh);
        }
        Row("  sources with a copy in error", r => r.ErrorCopies > 0);
        Row("  lost (no copy, no failure reported)", r => r.Lost);
        Row("  reported copy id not pending/completed", r => r.Outcome is Outcome.Completed or Outcome.Reused && !r.ReportedCopyLive);
        if (MaxPendingCopies.Count > 0)
            Line("  max pending copies at once (incl. outside)".PadRight(labelWidth) +
                 MaxPendingCopies.Values.Max().ToString(CultureInfo.InvariantCulture).PadLeft(colWidth) +
                 string.Concat(dests.Select(d => MaxPendingCopies.GetValueOrDefault(d).ToString(CultureInfo.InvariantCulture).PadLeft(colWidth))));
        if (Ec2.OutsideStillPending.Count > 0)
            Line("  outside copies still pending at the end".PadRight(labelWidth) +
                 Ec2.OutsideStillPending.Values.Sum().ToString(CultureInfo.InvariantCulture).PadLeft(colWidth) +
                 string.Concat(dests.Select(d => Ec2.OutsideStillPending.GetValueOrDefault(d).ToString(CultureInfo.InvariantCulture).PadLeft(colWidth))));
        if (Duplicates > 0) FormatDuplicates(Line);
        if (Lost > 0) FormatLost(Line);
        Line(rule);

        // calls
        var totalCalls = Calls.Values.Sum();
        string PerCopy(long calls) => n2 == 0 ? "-" : (calls / (double)n2).ToString("0.00", CultureInfo.InvariantCulture);
        Line("EC2 calls, runs 1+2 (emulator counters)".PadRight(labelWidth) + "calls".PadLeft(colWidth) + "per copy".PadLeft(colWidth) +
             "throttled".PadLeft(colWidth));
        Line("  all EC2 actions".PadRight(labelWidth) + totalCalls.ToString(CultureInfo.InvariantCulture).PadLeft(colWidth) +
             PerCopy(totalCalls).PadLeft(colWidth) + ThrottledCalls.Values.Sum().ToString(CultureInfo.InvariantCulture).PadLeft(colWidth));
        foreach (var (action, calls) in Calls.OrderByDescending(p => p.Value))
            Line(("    " + action).PadRight(labelWidth) + calls.ToString(CultureInfo.InvariantCulture).PadLeft(colWidth) +
                 PerCopy(calls).PadLeft(colWidth) + ThrottledCalls.GetValueOrDefault(action).ToString(CultureInfo.InvariantCulture).PadLeft(colWidth));
        if (Baseline is not null)
            Line("  fault-free run, all EC2 actions".PadRight(labelWidth) + BaselineEc2Calls.ToString(CultureInfo.InvariantCulture).PadLeft(colWidth) +
                 PerCopy(BaselineEc2Calls).PadLeft(colWidth));
        var faults = Faults.Where(p => p.Value > 0).OrderByDescending(p => p.Value).Select(p => $"{p.Key} {p.Value}").ToList();
        Wrap(sb, "faults injected: ", faults.Count == 0 ? ["none"] : faults);
        var limit = CopyErrors.Where(p => p.Value > 0).Select(p => $"{p.Key} {p.Value}").ToList();
        if (limit.Count > 0) Wrap(sb, "CopySnapshot errors returned: ", limit);
        var baselineErrors = BaselineCopyErrors.Where(p => p.Value > 0).Select(p => $"{p.Key} {p.Value}").ToList();
        if (Baseline is not null && baselineErrors.Count > 0) Wrap(sb, "fault-free run, CopySnapshot errors: ", baselineErrors);
        string Stats(RunOutcome r) => $"throttled {r.Statistics.Throttled}, retries {r.Statistics.Retries}, limit exceeded " +
            $"{r.Statistics.LimitExceeded}, uncertain {r.Statistics.UncertainOutcomes}, dup removed {r.Statistics.DuplicatesRemoved}, " +
            $"warnings {r.Messages.GetValueOrDefault(MessageLevel.Warning)}";
        if (Run1 is not null) Wrap(sb, "engine run 1: ", Stats(Run1).Split(", "));
        Wrap(sb, Run1 is null ? "engine: " : "engine run 2: ", Stats(Run2).Split(", "));
        if (Baseline is not null) Wrap(sb, "engine fault-free: ", Stats(Baseline).Split(", "));
        Line(rule);

        var soak = (Run1?.Elapsed ?? TimeSpan.Zero) + Run2.Elapsed;
        var wall = Run1 is null ? $"wall time: {S(soak)}" : $"wall time: run 1 {S(Run1.Elapsed)} + run 2 {S(Run2.Elapsed)} = {S(soak)}";
        if (Baseline is not null)
            wall += $"; fault-free {S(Baseline.Elapsed)}; ratio {(soak / Baseline.Elapsed).ToString("0.00", CultureInfo.InvariantCulture)}";
        Line(wall);
        Line($"soak total (setup, audit, fault-free run): {S(TotalElapsed)}");
        Line(Passed
            ? $"RESULT: PASS - {n2} inputs accounted for exactly once, 0 duplicates, 0 lost"
            : $"RESULT: FAIL - {string.Join("; ", FailureReasons())}");
        return sb.ToString();
    }

    /// <summary>The first duplicates in detail: each copy in EC2 with its state, its start relative to the start of run 2,
    /// and which run reported it (and how).</summary>
    private void FormatDuplicates(Action<string> line)
    {
        const int shown = 5;
        // The unexpected ones first: not "run 1 stopped it Pending just before run 2 started".
        var run1 = (Run1?.Finished ?? []).GroupBy(f => (f.Request.DestinationRegion, f.Request.SourceSnapshotId))
            .ToDictionary(g => g.Key, g => g.Last().Result.State);
        var fresh = TimeSpan.FromSeconds(Options.InvisibleSeconds);
        bool Expected(InputResult r) => run1.GetValueOrDefault((r.Destination, r.Source)) == SnapshotState.Pending
            && r.FirstCopyStart is { } t && Run2.StartedUtc - t < fresh;
        var dups = Results.Where(r => r.Duplicate).OrderBy(Expected).ToList();
        line($"  first {Math.Min(shown, dups.Count)} duplicates (copy: state in EC2, start relative to run 2's start, who reported it)");
        foreach (var d in dups.Take(shown))
        {
            line($"    {d.Source} -> {d.Destination}");
            foreach (var c in (Ec2.BySource.GetValueOrDefault((d.Destination, d.Source)) ?? []).OrderBy(c => c.StartTime))
            {
                var at = c.StartTime is { } t ? Math.Round((ToUtc(t) - Run2.StartedUtc).TotalSeconds, 1).ToString("+0.0;-0.0;0.0", CultureInfo.InvariantCulture) + " s" : "?";
                var who = new List<string>();
                if (Run1?.CopyIds.TryGetValue(c.SnapshotId, out var r1) == true) who.Add("run 1 " + r1);
                if (Run2.CopyIds.TryGetValue(c.SnapshotId, out var r2)) who.Add((Run1 is null ? "run " : "run 2 ") + r2);
                line($"      {c.SnapshotId}  {c.State?.Value,-9} {at,9}  {(who.Count == 0 ? "not reported by either run" : string.Join(", ", who))}");
            }
        }
    }

    /// <summary>The first lost inputs in detail: what each run reported, how many copies EC2 ever made, what is left.</summary>
    private void FormatLost(Action<string> line)
    {
        const int shown = 5;
        var lost = Results.Where(r => r.Lost).ToList();
        line($"  first {Math.Min(shown, lost.Count)} lost (what the runs reported; copies EC2 made (incl. deleted) / left)");
        foreach (var r in lost.Take(shown))
        {
            string Said(RunOutcome? run) => run?.Finished.LastOrDefault(f => f.Request.DestinationRegion == r.Destination
                && f.Request.SourceSnapshotId == r.Source) is { } f
                ? $"{(f.Result.Reused ? "Reused" : f.Result.State.ToString())} {f.Result.SnapshotId ?? "-"}"
                : "nothing";
            var made = CopiesCreated.GetValueOrDefault(Options.SourceRegion + "/" + r.Source)?.GetValueOrDefault(r.Destination) ?? 0;
            var left = Ec2.BySource.GetValueOrDefault((r.Destination, r.Source))?.Count ?? 0;
            line($"    {r.Source} -> {r.Destination}: made {made}, left {left} (none pending/completed)");
            if (Run1 is not null) line($"      run 1: {Said(Run1)}");
            line($"      {(Run1 is null ? "run" : "run 2")}: {Said(Run2)}");
        }
    }

    private static void Wrap(StringBuilder sb, string head, IEnumerable<string> parts)
    {
        var line = new StringBuilder(head);
        var first = true;
        foreach (var part in parts)
        {
            var add = (first ? "" : ", ") + part;
            if (line.Length + add.Length > 98)
            {
                sb.AppendLine(line.ToString().TrimEnd() + (first ? "" : ","));
                line.Clear().Append(new string(' ', Math.Min(head.Length, 4))).Append(part);
            }
            else line.Append(add);
            first = false;
        }
        sb.AppendLine(line.ToString());
    }
}
