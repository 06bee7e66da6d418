using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using System.Management.Automation;

namespace Avtomat.Ec2.Progress;

/// <summary>One parent progress record (e.g. a region) and the items in flight under it.</summary>
internal sealed class ProgressNode
{
    /// <summary>Identifies the parent across refreshes (e.g. the region name).</summary>
    public string Key { get; set; } = "";
    public string Activity { get; set; } = "";
    public string Status { get; set; } = "";
    /// <summary>0..100 (NaN and out-of-range values are clamped).</summary>
    public double PercentComplete { get; set; }
    public TimeSpan? EstimatedRemaining { get; set; }
    public IReadOnlyList<ProgressLeaf> Children { get; set; } = Array.Empty<ProgressLeaf>();
}

/// <summary>One item in flight (a copy, a snapshot being created or waited for).</summary>
internal sealed class ProgressLeaf
{
    /// <summary>Identifies the item across refreshes (e.g. the snapshot id, or the source id before it has one).</summary>
    public string Key { get; set; } = "";
    public string Activity { get; set; } = "";
    /// <summary>0..100.</summary>
    public int Percent { get; set; }
}

/// <summary>Renders progress as PowerShell progress records: one parent per <see cref="ProgressNode"/> and one child per
/// item in flight. Children take their activity ids from a slot pool per parent of a fixed size (a slot is reused once
/// its item finishes), so a long run never creates more records than the pool holds (the console host keeps at most
/// 128). Call it on the pipeline thread only; <see cref="IsDue"/> rate-limits refreshes so the caller can coalesce to
/// the latest state. Shared by every cmdlet that shows engine progress.</summary>
internal sealed class ProgressTreeWriter
{
    /// <summary>First activity id. Parents are spaced by (slots + 1); their children use the ids in between.</summary>
    public const int BaseActivityId = 1;

    private readonly Action<ProgressRecord> _write;
    private readonly int _slots;
    private readonly TimeSpan _interval;
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly Dictionary<string, Parent> _parents = new(StringComparer.Ordinal);
    private TimeSpan? _lastWrite;

    /// <param name="write">Where records go (the cmdlet's WriteProgress).</param>
    /// <param name="slots">Children per parent at most (e.g. the throttle limit).</param>
    /// <param name="interval">Minimum time between refreshes (250–500 ms).</param>
    public ProgressTreeWriter(Action<ProgressRecord> write, int slots, TimeSpan interval)
    {
        _write = write ?? throw new ArgumentNullException(nameof(write));
        _slots = Math.Max(1, slots);
        _interval = interval;
    }

    /// <summary>True when a refresh may be written now (the first one always may).</summary>
    public bool IsDue => _lastWrite is not { } last || _clock.Elapsed - last >= _interval;

    /// <summary>Writes one record per parent and per item in flight, and Completed records for items that left since
    /// the last refresh.</summary>
    public void Write(IReadOnlyList<ProgressNode> nodes)
    {
        _lastWrite = _clock.Elapsed;
        foreach (var node in nodes)
        {
            var parent = ParentFor(node.Key);
            parent.Last = node;
            _write(ParentRecord(parent, node, ProgressRecordType.Processing));
            UpdateChildren(parent, node.Children);
        }
    }

    /// <summary>Completed records for every child still shown and then for every parent (with the final status).</summary>
    public void Complete(IReadOnlyList<ProgressNode>? finalNodes)
    {
        if (finalNodes is not null)
        {
            foreach (var node in finalNodes)
            {
                ParentFor(node.Key).Last = node;
            }
        }
        foreach (var parent in _parents.Values.OrderBy(p => p.ActivityId))
        {
            foreach (var child in parent.Children.Values.OrderBy(c => c.Slot).ToList())
            {
                _write(ChildRecord(parent, child, ProgressRecordType.Completed));
            }
            parent.Children.Clear();
            if (parent.Last is { } last)
            {
                _write(ParentRecord(parent, last, ProgressRecordType.Completed));
            }
        }
        _lastWrite = _clock.Elapsed;
    }

    private Parent ParentFor(string key)
    {
        if (!_parents.TryGetValue(key, out var parent))
        {
            parent = new Parent(BaseActivityId + _parents.Count * (_slots + 1), _slots);
            _parents.Add(key, parent);
        }
        return parent;
    }

    private void UpdateChildren(Parent parent, IReadOnlyList<ProgressLeaf> leaves)
    {
        var current = new Dictionary<string, ProgressLeaf>(StringComparer.Ordinal);
        foreach (var leaf in leaves)
        {
            current[leaf.Key] = leaf;
        }
        // Items that left: mark their records Completed and free their slots first, so an item that took the freed
        // place in the same refresh can reuse the slot.
        foreach (var gone in parent.Children.Where(c => !current.ContainsKey(c.Key)).ToList())
        {
            _write(ChildRecord(parent, gone.Value, ProgressRecordType.Completed));
            parent.Children.Remove(gone.Key);
            parent.FreeSlots.Add(gone.Value.Slot);
        }
        foreach (var pair in current)
        {
            if (!parent.Children.TryGetValue(pair.Key, out var child))
            {
                if (parent.FreeSlots.Count == 0)
                {
                    continue; // more in flight than the pool holds (e.g. another job's window): the parent's counts still show them
                }
                var slot = parent.FreeSlots.Min;
                parent.FreeSlots.Remove(slot);
                child = new Child(slot);
                parent.Children.Add(pair.Key, child);
            }
            child.Leaf = pair.Value;
            _write(ChildRecord(parent, child, ProgressRecordType.Processing));
        }
    }

    private static ProgressRecord ParentRecord(Parent parent, ProgressNode node, ProgressRecordType type)
    {
        var record = new ProgressRecord(parent.ActivityId, node.Activity, node.Status)
        {
            RecordType = type,
            PercentComplete = type == ProgressRecordType.Completed ? 100 : Percent(node.PercentComplete),
        };
        if (type == ProgressRecordType.Processing && node.EstimatedRemaining is { } remaining && remaining >= TimeSpan.Zero)
        {
            record.SecondsRemaining = (int)Math.Min(int.MaxValue, Math.Ceiling(remaining.TotalSeconds));
        }
        return record;
    }

    private static ProgressRecord ChildRecord(Parent parent, Child child, ProgressRecordType type)
    {
        var leaf = child.Leaf;
        var percent = Math.Max(0, Math.Min(100, leaf?.Percent ?? 0));
        var status = type == ProgressRecordType.Completed ? "Done" : percent.ToString(System.Globalization.CultureInfo.InvariantCulture) + "%";
        return new ProgressRecord(parent.ActivityId + 1 + child.Slot, leaf?.Activity is { Length: > 0 } activity ? activity : "Working", status)
        {
            ParentActivityId = parent.ActivityId,
            RecordType = type,
            PercentComplete = type == ProgressRecordType.Completed ? 100 : percent,
        };
    }

    private static int Percent(double value) =>
        double.IsNaN(value) ? 0 : (int)Math.Max(0, Math.Min(100, Math.Floor(value)));

    private sealed class Parent
    {
        public Parent(int activityId, int slots)
        {
            ActivityId = activityId;
            for (var i = 0; i < slots; i++)
            {
                FreeSlots.Add(i);
            }
        }

        public int ActivityId { get; }
        public ProgressNode? Last { get; set; }
        public Dictionary<string, Child> Children { get; } = new(StringComparer.Ordinal);
        public SortedSet<int> FreeSlots { get; } = new();
    }

    private sealed class Child(int slot)
    {
        public int Slot { get; } = slot;
        public ProgressLeaf? Leaf { get; set; }
    }
}
