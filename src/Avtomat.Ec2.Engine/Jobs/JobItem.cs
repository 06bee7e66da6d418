using System;
using System.Threading;
using Amazon.EC2.Model;

namespace Avtomat.Ec2.Engine;

/// <summary>One snapshot's life inside a job (a copy, a creation, a wait): what the caller asked for, its result
/// (guarded by <see cref="Gate"/>: the scheduler writes it, the pipeline thread reads it for progress), its request
/// token and whether its single finished event went out. The scheduler that owns the item keeps its own state of it in
/// the fields at the end; only that scheduler's loop touches them.</summary>
internal abstract class JobItem
{
    private int _finished;

    protected JobItem(EngineJob job, object request, string region, int sequence)
    {
        Job = job;
        Request = request;
        Region = region;
        Sequence = sequence;
    }

    public EngineJob Job { get; }
    /// <summary>What the caller asked for (the event's Request).</summary>
    public object Request { get; }
    /// <summary>Where the snapshot is made or lives (a copy's destination): the scheduler that owns the item.</summary>
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

    public bool Touches(string region) => Region == region || SourceRegion == region;

    public bool IsFinished => Volatile.Read(ref _finished) == 1;

    /// <summary>True exactly once: the caller then sends the finished event.</summary>
    public bool TryMarkFinished() => Interlocked.Exchange(ref _finished, 1) == 0;

    // ------------------------------------------------------------------ the owning scheduler's own state of the item

    /// <summary>The job as the owning scheduler knows it.</summary>
    internal Scheduling.JobLink? Link { get; set; }
    /// <summary>What the scheduler does for it (a copy, a creation, a watch).</summary>
    internal object? Op { get; set; }
    /// <summary>Stopped while a call that may create its snapshot was on the wire: it ends when the call returns.</summary>
    internal bool StopPending { get; set; }
    /// <summary>Reported (finished, Pending) but still attached: -NoWait keeps the copy watched, and its slot held,
    /// while the job lasts.</summary>
    internal bool Lingering { get; set; }
}
