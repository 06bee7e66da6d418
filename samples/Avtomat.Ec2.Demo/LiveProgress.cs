using System.Diagnostics;
using System.Management.Automation;
using System.Text;

namespace Avtomat.Ec2.Demo;

/// <summary>
/// Turns the cmdlets' progress records into something a person can watch. Keeps the latest record per activity and,
/// on a terminal, redraws a small frame in place (each parent bar with counts and ETA followed by a few of its child
/// bars, the latest verbose messages) at most ~7 times a second with ANSI cursor movement. When output is redirected
/// (CI, `| tee`) it prints one plain line per parent every few seconds instead. An activity is keyed by the id of the
/// command that wrote it and its ActivityId, as a console host does: in `New-AvSnapshot | Copy-AvSnapshot` both
/// cmdlets number their activities from 1. Records arrive on the pipeline thread; drawing happens on a timer thread;
/// both take the same lock.
/// </summary>
internal sealed class LiveProgress
{
    private static readonly TimeSpan LiveInterval = TimeSpan.FromMilliseconds(150);
    private static readonly TimeSpan PlainInterval = TimeSpan.FromSeconds(5);
    private const int MaxChildren = 10;
    private const int VerboseLines = 3;
    private const string Esc = "\u001b[";

    private readonly bool live;
    private readonly bool silent;
    private readonly bool printVerbose;
    private readonly object gate = new();
    private readonly Dictionary<(long Source, int Activity), ProgressRecord> latest = new();
    private readonly List<(long Source, int Activity)> order = new();
    private readonly HashSet<(long Source, int Activity)> finishedParents = new();
    private readonly Queue<string> recentVerbose = new();
    private readonly Stopwatch clock = new();
    private Timer? timer;
    private bool dirty;
    private int linesDrawn;
    private int results;
    private TimeSpan lastPlain;
    private int drawnSecond;

    public LiveProgress(bool live, bool silent, bool printVerbose)
    {
        this.live = live;
        this.silent = silent;
        this.printVerbose = printVerbose;
    }

    public int VerboseCount { get; private set; }
    public int ProgressCount { get; private set; }

    public void Start()
    {
        clock.Start();
        if (silent) return;
        if (live) Console.Write(Esc + "?25l"); // hide the cursor while redrawing
        var interval = live ? LiveInterval : TimeSpan.FromSeconds(1);
        timer = new Timer(_ => Tick(), null, interval, interval);
    }

    /// <param name="sourceId">The id of the command that wrote the record (PSHostUserInterface.WriteProgress).</param>
    public void Progress(long sourceId, ProgressRecord record)
    {
        lock (gate)
        {
            ProgressCount++;
            var key = (sourceId, record.ActivityId);
            var isParent = record.ParentActivityId < 0;
            if (record.RecordType == ProgressRecordType.Completed)
            {
                if (isParent)
                {
                    // Keep a finished parent on screen with its final counts.
                    if (!latest.ContainsKey(key)) order.Add(key);
                    latest[key] = record;
                    finishedParents.Add(key);
                }
                else Forget(key);
            }
            else
            {
                if (!latest.ContainsKey(key)) order.Add(key);
                latest[key] = record;
                finishedParents.Remove(key);
            }
            dirty = true;
        }
    }

    public void Verbose(string message)
    {
        lock (gate)
        {
            VerboseCount++;
            if (printVerbose) { WriteAbove("VERBOSE: " + message); return; }
            recentVerbose.Enqueue(message);
            while (recentVerbose.Count > VerboseLines) recentVerbose.Dequeue();
            dirty = true;
        }
    }

    /// <summary>Warnings, errors and the like: always printed, above the live frame.</summary>
    public void Message(string message)
    {
        lock (gate) WriteAbove(message);
    }

    public void ResultWritten()
    {
        lock (gate) { results++; dirty = true; }
    }

    /// <summary>Stops redrawing and leaves the final state on screen.</summary>
    public void Finish()
    {
        timer?.Dispose();
        timer = null;
        lock (gate)
        {
            if (silent) return;
            if (live)
            {
                Draw();
                Console.Write(Esc + "?25h");
                linesDrawn = 0; // the last frame stays as part of the output
            }
            else
            {
                PrintPlain();
                if (!printVerbose && recentVerbose.Count > 0)
                    Console.WriteLine($"VERBOSE (last of {VerboseCount}): {recentVerbose.Last()}");
            }
        }
    }

    private void Tick()
    {
        lock (gate)
        {
            if (timer is null) return;
            if (live)
            {
                // Redraw when something changed, and once a second anyway so the elapsed time moves.
                if (dirty || (int)clock.Elapsed.TotalSeconds != drawnSecond) Draw();
            }
            else if (clock.Elapsed - lastPlain >= PlainInterval)
            {
                PrintPlain();
            }
        }
    }

    private void Forget((long, int) key)
    {
        latest.Remove(key);
        order.Remove(key);
    }

    private void WriteAbove(string message)
    {
        if (!live || silent)
        {
            Console.WriteLine(message);
            return;
        }
        var frame = new StringBuilder();
        Erase(frame);
        frame.Append(message).Append('\n');
        linesDrawn = 0;
        Console.Write(frame.ToString());
        dirty = true;
    }

    private void Erase(StringBuilder frame)
    {
        if (linesDrawn > 0) frame.Append(Esc).Append(linesDrawn).Append('F');
        frame.Append(Esc).Append('J');
    }

    private void Draw()
    {
        dirty = false;
        drawnSecond = (int)clock.Elapsed.TotalSeconds;
        var width = Math.Max(40, Safe(() => Console.WindowWidth, 100)) - 1;
        var height = Math.Max(10, Safe(() => Console.WindowHeight, 40));
        var lines = new List<string>();
        var parents = order.Where(key => latest[key].ParentActivityId < 0).ToList();
        lines.Add($"Elapsed {Clock(clock.Elapsed)}   results written: {results}");
        // Children are drawn under their parent; the room for them is shared by the parents still running.
        var running = Math.Max(1, parents.Count(key => !finishedParents.Contains(key)));
        var room = Math.Max(0, Math.Min(MaxChildren, height - 3 * parents.Count - VerboseLines - 4));
        var perParent = parents.Count <= 1 ? room : Math.Max(2, room / running);
        foreach (var key in parents)
        {
            var parent = latest[key];
            var done = finishedParents.Contains(key);
            lines.Add(parent.Activity + (done ? "  (done)" : ""));
            var eta = parent.SecondsRemaining >= 0 && !done ? $"  ETA {Clock(TimeSpan.FromSeconds(parent.SecondsRemaining))}" : "";
            lines.Add($"  {Bar(parent.PercentComplete, 30)} {Percent(parent.PercentComplete)}  {parent.StatusDescription}{eta}");
            if (!string.IsNullOrEmpty(parent.CurrentOperation)) lines.Add("  " + parent.CurrentOperation);
            var children = order.Where(k => k.Source == key.Source && latest[k].ParentActivityId == key.Activity)
                .Select(k => latest[k]).ToList();
            foreach (var child in children.Take(perParent))
            {
                var text = string.IsNullOrEmpty(child.StatusDescription) ? child.Activity : $"{child.Activity}: {child.StatusDescription}";
                lines.Add($"    {Bar(child.PercentComplete, 12)} {Percent(child.PercentComplete)}  {text}");
            }
            if (children.Count > perParent) lines.Add($"    … and {children.Count - perParent} more in flight");
        }
        foreach (var message in recentVerbose) lines.Add("VERBOSE: " + message);

        var frame = new StringBuilder();
        Erase(frame);
        foreach (var line in lines) frame.Append(line.Length > width ? line[..(width - 1)] + "…" : line).Append('\n');
        linesDrawn = lines.Count;
        Console.Write(frame.ToString());
    }

    private void PrintPlain()
    {
        lastPlain = clock.Elapsed;
        var parents = order.Select(key => latest[key]).Where(r => r.ParentActivityId < 0).ToList();
        if (parents.Count == 0)
        {
            Console.WriteLine($"[{Clock(clock.Elapsed)}] waiting for progress… results written: {results}");
            return;
        }
        foreach (var parent in parents)
        {
            var eta = parent.SecondsRemaining >= 0 ? $", ETA {Clock(TimeSpan.FromSeconds(parent.SecondsRemaining))}" : "";
            Console.WriteLine($"[{Clock(clock.Elapsed)}] {parent.Activity}: {Percent(parent.PercentComplete).Trim()} "
                + $"{parent.StatusDescription}{eta}");
        }
    }

    private static string Bar(int percent, int width)
    {
        var filled = percent < 0 ? 0 : Math.Min(width, (int)Math.Round(percent * width / 100.0));
        return "▕" + new string('█', filled) + new string('░', width - filled) + "▏";
    }

    private static string Percent(int percent) => percent < 0 ? "  ?%" : $"{percent,3}%";

    private static string Clock(TimeSpan t) =>
        t.TotalHours >= 1 ? t.ToString(@"h\:mm\:ss") : t.ToString(@"m\:ss");

    private static int Safe(Func<int> read, int fallback)
    {
        try { var value = read(); return value > 0 ? value : fallback; }
        catch (IOException) { return fallback; }
        catch (PlatformNotSupportedException) { return fallback; }
    }
}
