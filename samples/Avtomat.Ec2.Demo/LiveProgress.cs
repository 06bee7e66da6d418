using System.Diagnostics;
using System.Management.Automation;
using System.Text;

namespace Avtomat.Ec2.Demo;

/// <summary>
/// Turns the cmdlet's progress records into something a person can watch. Keeps the latest record per ActivityId and,
/// on a terminal, redraws a small frame in place (parent bars with counts and ETA, a few child bars, the latest verbose
/// messages) at most ~7 times a second with ANSI cursor movement. When output is redirected (CI, `| tee`) it prints one
/// plain line per destination every few seconds instead. Records arrive on the pipeline thread; drawing happens on a
/// timer thread; both take the same lock.
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
    private readonly Dictionary<int, ProgressRecord> latest = new();
    private readonly List<int> order = new();
    private readonly HashSet<int> finishedParents = new();
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

    public void Progress(ProgressRecord record)
    {
        lock (gate)
        {
            ProgressCount++;
            var isParent = record.ParentActivityId < 0;
            if (record.RecordType == ProgressRecordType.Completed)
            {
                if (isParent)
                {
                    // Keep a finished destination on screen with its final counts.
                    if (!latest.ContainsKey(record.ActivityId)) order.Add(record.ActivityId);
                    latest[record.ActivityId] = record;
                    finishedParents.Add(record.ActivityId);
                }
                else Forget(record.ActivityId);
            }
            else
            {
                if (!latest.ContainsKey(record.ActivityId)) order.Add(record.ActivityId);
                latest[record.ActivityId] = record;
                finishedParents.Remove(record.ActivityId);
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

    private void Forget(int activityId)
    {
        latest.Remove(activityId);
        order.Remove(activityId);
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
        var parents = order.Where(id => latest[id].ParentActivityId < 0).ToList();
        lines.Add($"Elapsed {Clock(clock.Elapsed)}   results written: {results}");
        foreach (var id in parents)
        {
            var parent = latest[id];
            var done = finishedParents.Contains(id);
            lines.Add(parent.Activity + (done ? "  (done)" : ""));
            var eta = parent.SecondsRemaining >= 0 && !done ? $"  ETA {Clock(TimeSpan.FromSeconds(parent.SecondsRemaining))}" : "";
            lines.Add($"  {Bar(parent.PercentComplete, 30)} {Percent(parent.PercentComplete)}  {parent.StatusDescription}{eta}");
            if (!string.IsNullOrEmpty(parent.CurrentOperation)) lines.Add("  " + parent.CurrentOperation);
        }
        var children = order.Select(id => latest[id]).Where(r => r.ParentActivityId >= 0).ToList();
        var room = Math.Min(MaxChildren, height - lines.Count - VerboseLines - 3);
        foreach (var child in children.Take(Math.Max(0, room)))
        {
            var text = string.IsNullOrEmpty(child.StatusDescription) ? child.Activity : $"{child.Activity}: {child.StatusDescription}";
            lines.Add($"    {Bar(child.PercentComplete, 12)} {Percent(child.PercentComplete)}  {text}");
        }
        if (children.Count > Math.Max(0, room)) lines.Add($"    … and {children.Count - Math.Max(0, room)} more copies in flight");
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
        var parents = order.Select(id => latest[id]).Where(r => r.ParentActivityId < 0).ToList();
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
