using System;
using System.Collections.Generic;

namespace Avtomat.Ec2.Engine.Scheduling;

/// <summary>Something the scheduler does at a time: an op's next step, a lookup batch, the next poll.</summary>
internal abstract class Due
{
    /// <summary>When it is due next, or null when nothing is due (it waits for a call or an event).</summary>
    public DateTimeOffset? DueTime { get; set; }
    /// <summary>Changed at every (re)scheduling, so entries for an earlier due time are recognized as stale.</summary>
    public int DueVersion { get; set; }

    public abstract void OnDue(Scheduler scheduler, DateTimeOffset now);
}

/// <summary>
/// The scheduler's due times: a binary min-heap of (time, sequence) with lazy removal (rescheduling bumps the entry's
/// version; older heap entries are skipped when they surface). Each turn pops what is due and arms one timer for the
/// next; so a turn costs what is due, not what is waiting. Owned by the scheduler's loop.
/// </summary>
internal sealed class Agenda
{
    private readonly List<Entry> _heap = new();
    private long _sequence;

    public int Count => _heap.Count;

    /// <summary>Schedules <paramref name="item"/> at <paramref name="at"/> (replacing any earlier schedule of it).</summary>
    public void At(Due item, DateTimeOffset at)
    {
        if (item.DueTime == at) return;
        item.DueVersion++;
        item.DueTime = at;
        Push(new Entry(at.UtcTicks, _sequence++, item, item.DueVersion));
    }

    /// <summary>Schedules <paramref name="item"/> at <paramref name="at"/> unless it is due earlier already.</summary>
    public void NoLaterThan(Due item, DateTimeOffset at)
    {
        if (item.DueTime is { } due && due <= at) return;
        At(item, at);
    }

    public void Cancel(Due item)
    {
        if (item.DueTime is null) return;
        item.DueVersion++;
        item.DueTime = null;
    }

    /// <summary>The earliest live due time, or null.</summary>
    public DateTimeOffset? Next
    {
        get
        {
            DropStale();
            return _heap.Count == 0 ? null : new DateTimeOffset(_heap[0].Ticks, TimeSpan.Zero);
        }
    }

    /// <summary>Takes the next item due at or before <paramref name="now"/> (its schedule is cleared).</summary>
    public bool TryPopDue(DateTimeOffset now, out Due item)
    {
        DropStale();
        if (_heap.Count == 0 || _heap[0].Ticks > now.UtcTicks)
        {
            item = null!;
            return false;
        }
        item = Pop().Item;
        item.DueVersion++;
        item.DueTime = null;
        return true;
    }

    private void DropStale()
    {
        while (_heap.Count > 0 && _heap[0].Version != _heap[0].Item.DueVersion) Pop();
    }

    private void Push(Entry entry)
    {
        _heap.Add(entry);
        var i = _heap.Count - 1;
        while (i > 0)
        {
            var parent = (i - 1) / 2;
            if (!Less(_heap[i], _heap[parent])) break;
            (_heap[i], _heap[parent]) = (_heap[parent], _heap[i]);
            i = parent;
        }
    }

    private Entry Pop()
    {
        var top = _heap[0];
        var last = _heap[_heap.Count - 1];
        _heap.RemoveAt(_heap.Count - 1);
        if (_heap.Count == 0) return top;
        _heap[0] = last;
        var i = 0;
        while (true)
        {
            var left = 2 * i + 1;
            if (left >= _heap.Count) break;
            var smallest = left + 1 < _heap.Count && Less(_heap[left + 1], _heap[left]) ? left + 1 : left;
            if (!Less(_heap[smallest], _heap[i])) break;
            (_heap[i], _heap[smallest]) = (_heap[smallest], _heap[i]);
            i = smallest;
        }
        return top;
    }

    private static bool Less(Entry a, Entry b) => a.Ticks < b.Ticks || (a.Ticks == b.Ticks && a.Sequence < b.Sequence);

    private readonly struct Entry(long ticks, long sequence, Due item, int version)
    {
        public long Ticks { get; } = ticks;
        public long Sequence { get; } = sequence;
        public Due Item { get; } = item;
        public int Version { get; } = version;
    }
}
