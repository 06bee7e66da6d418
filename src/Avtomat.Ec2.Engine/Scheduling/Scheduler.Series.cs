using System;
using System.Collections.Generic;

namespace Avtomat.Ec2.Engine.Scheduling;

internal sealed partial class Scheduler
{
    /// <summary>Time-based copies of a source here, one at a time: the holder and who waits, by source snapshot id.</summary>
    private readonly Dictionary<string, SeriesTurns> _series = new(StringComparer.Ordinal);

    /// <summary>A time-based copy of <paramref name="sourceId"/> (a source in this scheduler's region) wants to start:
    /// EC2 runs time-based copies of one snapshot one after the other, the second's completion duration starting only
    /// when the first completes (https://docs.aws.amazon.com/ebs/latest/userguide/time-based-copies.html), so a second
    /// one started at once would miss its duration. <paramref name="grant"/> runs when it is its turn.</summary>
    internal void TakeSeriesTurn(string sourceId, object holder, Action grant)
    {
        if (!_series.TryGetValue(sourceId, out var turns))
        {
            _series[sourceId] = new SeriesTurns(holder);
            grant();
            return;
        }
        turns.Waiting.Enqueue((holder, grant));
    }

    /// <summary>The copy holding the turn is final (or gave up): the next one waiting gets it.</summary>
    internal void EndSeriesTurn(string sourceId, object holder)
    {
        if (!_series.TryGetValue(sourceId, out var turns)) return;
        if (!ReferenceEquals(turns.Holder, holder))
        {
            // It gave up while waiting.
            var left = new Queue<(object, Action)>();
            foreach (var waiting in turns.Waiting) if (!ReferenceEquals(waiting.Holder, holder)) left.Enqueue(waiting);
            turns.Waiting.Clear();
            foreach (var waiting in left) turns.Waiting.Enqueue(waiting);
            return;
        }
        if (turns.Waiting.Count == 0)
        {
            _series.Remove(sourceId);
            return;
        }
        var (next, grant) = turns.Waiting.Dequeue();
        turns.Holder = next;
        grant();
    }

    private sealed class SeriesTurns(object holder)
    {
        public object Holder { get; set; } = holder;
        public Queue<(object Holder, Action Grant)> Waiting { get; } = new();
    }
}
