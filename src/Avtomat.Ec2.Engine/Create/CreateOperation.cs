using System;
using System.Threading;

namespace Avtomat.Ec2.Engine.Create;

/// <summary>One snapshot's life inside a create job (one per volume; an instance set has one per volume of the set).</summary>
internal sealed class CreateOperation
{
    private int _finished;

    public CreateOperation(object request, string region, string? volumeId, string? instanceId, int sequence)
    {
        Request = request;
        Region = region;
        Sequence = sequence;
        Result = new SnapshotResult { Region = region, VolumeId = volumeId, InstanceId = instanceId, State = SnapshotCopyState.Queued };
    }

    public object Request { get; }
    public string Region { get; }
    public int Sequence { get; }
    public object Gate { get; } = new();
    public SnapshotResult Result { get; }

    /// <summary>The request token tagged onto the snapshot (shared by all snapshots of one CreateSnapshots call).</summary>
    public string Token { get; set; } = Guid.NewGuid().ToString("D");

    public string? VolumeId { get { lock (Gate) return Result.VolumeId; } }
    public string? SnapshotId { get { lock (Gate) return Result.SnapshotId; } }
    public string TargetId { get { lock (Gate) return Result.VolumeId ?? Result.InstanceId ?? ""; } }

    public bool IsFinished => Volatile.Read(ref _finished) == 1;
    public bool TryMarkFinished() => Interlocked.Exchange(ref _finished, 1) == 0;

    public SnapshotResult CloneResult()
    {
        lock (Gate) return Result.Clone();
    }
}
