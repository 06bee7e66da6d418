using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.Linq;
using System.Management.Automation;
using Avtomat.Ec2.Engine.Copy;

namespace Avtomat.Ec2.Progress;

/// <summary>Renders a job's progress as PowerShell progress records: one parent per destination region and one child
/// per in-flight copy. Children take their activity ids from a slot pool per parent no larger than the throttle limit
/// (a slot is reused once its copy finishes), so a long run never creates more records than the window can hold.
/// Call it on the pipeline thread only; <see cref="IsDue"/> rate-limits refreshes so the caller can coalesce to the
/// latest <see cref="CopyJob.GetProgress"/>.</summary>
internal sealed class CopyProgressWriter
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
    /// <param name="throttleLimit">Concurrent copies per destination: the size of each parent's slot pool.</param>
    /// <param name="interval">Minimum time between refreshes (250–500 ms).</param>
    public CopyProgressWriter(Action<ProgressRecord> write, int throttleLimit, TimeSpan interval)
    {
        _write = write ?? throw new ArgumentNullException(nameof(write));
        _slots = Math.Max(1, throttleLimit);
        _interval = interval;
    }

    /// <summary>True when a refresh may be written now (the first one always may).</summary>
    public bool IsDue => _lastWrite is not { } last || _clock.Elapsed - last >= _interval;

    /// <summary>Writes one record per destination and per in-flight copy, and Completed records for copies that
    /// left the window since the last refresh.</summary>
    public void Write(IReadOnlyList<RegionProgress> progress)
    {
        _lastWrite = _clock.Elapsed;
        foreach (var region in progress)
        {
            var parent = ParentFor(region.DestinationRegion);
            parent.Last = region;
            _write(ParentRecord(parent, region, ProgressRecordType.Processing));
            UpdateChildren(parent, region.InFlight);
        }
    }

    /// <summary>Completed records for every child still shown and then for every parent (with the final counts).</summary>
    public void Complete(IReadOnlyList<RegionProgress>? finalProgress)
    {
        if (finalProgress is not null)
        {
            foreach (var region in finalProgress)
            {
                ParentFor(region.DestinationRegion).Last = region;
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

    private Parent ParentFor(string destination)
    {
        if (!_parents.TryGetValue(destination, out var parent))
        {
            parent = new Parent(destination, BaseActivityId + _parents.Count * (_slots + 1), _slots);
            _parents.Add(destination, parent);
        }
        return parent;
    }

    private void UpdateChildren(Parent parent, IReadOnlyList<InFlightCopy> inFlight)
    {
        var current = new Dictionary<string, InFlightCopy>(StringComparer.Ordinal);
        foreach (var copy in inFlight)
        {
            current[KeyOf(copy)] = copy;
        }
        // Copies that left the window: mark their records Completed and free their slots first, so a copy that took
        // the freed place in the same refresh can reuse the slot.
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
                    continue; // more in flight than the pool holds (another job's window): the parent's counts still show them
                }
                var slot = parent.FreeSlots.Min;
                parent.FreeSlots.Remove(slot);
                child = new Child(slot);
                parent.Children.Add(pair.Key, child);
            }
            child.Copy = pair.Value;
            _write(ChildRecord(parent, child, ProgressRecordType.Processing));
        }
    }

    private static string KeyOf(InFlightCopy copy) =>
        string.IsNullOrEmpty(copy.SnapshotId) ? "source:" + copy.SourceSnapshotId : copy.SnapshotId;

    private static ProgressRecord ParentRecord(Parent parent, RegionProgress region, ProgressRecordType type)
    {
        var sources = region.SourceRegions.Count == 0 ? "?" : string.Join(", ", region.SourceRegions);
        var noun = region.Total == 1 ? "snapshot" : "snapshots";
        var activity = string.Format(CultureInfo.InvariantCulture, "Copying {0} {1} {2} → {3}", region.Total, noun, sources, region.DestinationRegion);
        var status = string.Format(CultureInfo.InvariantCulture, "{0} completed, {1} copying, {2} queued, {3} failed",
            region.Completed, region.Copying, region.Queued, region.Failed);
        var record = new ProgressRecord(parent.ActivityId, activity, status)
        {
            RecordType = type,
            PercentComplete = type == ProgressRecordType.Completed ? 100 : Percent(region.PercentComplete),
        };
        if (type == ProgressRecordType.Processing && region.EstimatedRemaining is { } remaining && remaining >= TimeSpan.Zero)
        {
            record.SecondsRemaining = (int)Math.Min(int.MaxValue, Math.Ceiling(remaining.TotalSeconds));
        }
        return record;
    }

    private static ProgressRecord ChildRecord(Parent parent, Child child, ProgressRecordType type)
    {
        var copy = child.Copy;
        var activity = copy is null
            ? "Copying a snapshot"
            : string.IsNullOrEmpty(copy.SnapshotId)
                ? $"{copy.SourceSnapshotId} → {parent.Destination}"
                : $"{copy.SourceSnapshotId} → {copy.SnapshotId}";
        var progress = Math.Max(0, Math.Min(100, copy?.Progress ?? 0));
        var status = type == ProgressRecordType.Completed ? "Done" : string.Format(CultureInfo.InvariantCulture, "{0}%", progress);
        return new ProgressRecord(parent.ActivityId + 1 + child.Slot, activity, status)
        {
            ParentActivityId = parent.ActivityId,
            RecordType = type,
            PercentComplete = type == ProgressRecordType.Completed ? 100 : progress,
        };
    }

    private static int Percent(double value) =>
        double.IsNaN(value) ? 0 : (int)Math.Max(0, Math.Min(100, Math.Floor(value)));

    private sealed class Parent
    {
        public Parent(string destination, int activityId, int slots)
        {
            Destination = destination;
            ActivityId = activityId;
            for (var i = 0; i < slots; i++)
            {
                FreeSlots.Add(i);
            }
        }

        public string Destination { get; }
        public int ActivityId { get; }
        public RegionProgress? Last { get; set; }
        public Dictionary<string, Child> Children { get; } = new(StringComparer.Ordinal);
        public SortedSet<int> FreeSlots { get; } = new();
    }

    private sealed class Child(int slot)
    {
        public int Slot { get; } = slot;
        public InFlightCopy? Copy { get; set; }
    }
}
