using System;
using System.Threading;
using Amazon.EC2.Model;

namespace Avtomat.Ec2.Engine;

/// <summary>One snapshot's life inside a job (a copy, a creation, a wait): its result (guarded by <see cref="Gate"/>),
/// its request token, its own stop and whether its single finished event went out.</summary>
internal abstract class JobItem
{
    private readonly CancellationTokenSource _stop;
    private int _finished;

    protected JobItem(object request, string region, int sequence, CancellationToken jobStop)
    {
        Request = request;
        Region = region;
        Sequence = sequence;
        _stop = CancellationTokenSource.CreateLinkedTokenSource(jobStop);
    }

    /// <summary>What the caller asked for (the event's Request).</summary>
    public object Request { get; }
    /// <summary>Where the snapshot is made or lives (a copy's destination).</summary>
    public string Region { get; }
    /// <summary>Where its source is read: a copy's source region, otherwise <see cref="Region"/>.</summary>
    public virtual string SourceRegion => Region;
    /// <summary>Order of arrival in the job.</summary>
    public int Sequence { get; }
    public object Gate { get; } = new();

    /// <summary>Tagged onto the snapshot at creation; the same on every retry, so a lost response can be found again
    /// (shared by all snapshots of one CreateSnapshots call).</summary>
    public string Token { get; set; } = Guid.NewGuid().ToString("D");

    /// <summary>The result being built (read and written under <see cref="Gate"/>).</summary>
    public abstract ISnapshotOutcome Outcome { get; }

    /// <summary>A copy of the result for an event.</summary>
    public abstract object CloneResult();

    /// <summary>What it is made from, for errors before a snapshot exists and for progress: the source snapshot of a
    /// copy, the volume (or instance) of a creation, the snapshot waited for.</summary>
    public abstract string SourceId { get; }

    /// <summary>Takes what DescribeSnapshots (or CreateSnapshot) said about the snapshot (progress, key, encryption…).</summary>
    public abstract void Apply(Snapshot snapshot);

    public string? SnapshotId { get { lock (Gate) return Outcome.SnapshotId; } }

    /// <summary>The snapshot once it exists, else what it is made from: what an error is about.</summary>
    public string TargetId { get { lock (Gate) return Outcome.SnapshotId ?? SourceId; } }

    /// <summary>The job's stop, or this item's own end (its account and region failed, or -Any answered).</summary>
    public CancellationToken Stop => _stop.Token;

    public bool Touches(string region) => Region == region || SourceRegion == region;

    public void Cancel()
    {
        try { _stop.Cancel(); }
        catch (ObjectDisposedException) { }
        catch (AggregateException) { }
    }

    public bool IsFinished => Volatile.Read(ref _finished) == 1;

    /// <summary>True exactly once: the caller then sends the finished event.</summary>
    public bool TryMarkFinished() => Interlocked.Exchange(ref _finished, 1) == 0;
}
