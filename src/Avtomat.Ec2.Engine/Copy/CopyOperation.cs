using System;
using System.Threading;

namespace Avtomat.Ec2.Engine.Copy;

/// <summary>One request's life inside a job: its result (guarded by <see cref="Gate"/>), its provenance token and
/// whether its single CopyFinishedEvent went out.</summary>
internal sealed class CopyOperation
{
    private int _finished;

    public CopyOperation(SnapshotCopyRequest request, int sequence)
    {
        Request = request;
        Sequence = sequence;
        Result = new SnapshotCopyResult
        {
            Region = request.DestinationRegion,
            SourceSnapshotId = request.SourceSnapshotId,
            SourceRegion = request.SourceRegion,
            State = SnapshotCopyState.Queued,
            Encrypted = request.Encrypted || request.KmsKeyId is not null || request.DestinationOutpostArn is not null,
            KmsKeyId = request.KmsKeyId,
            DestinationOutpostArn = request.DestinationOutpostArn,
        };
    }

    public SnapshotCopyRequest Request { get; }
    public int Sequence { get; }
    public object Gate { get; } = new();
    public SnapshotCopyResult Result { get; }

    /// <summary>Tagged onto the copy at creation; the same on every retry, so a lost response can be found again.</summary>
    public string Token { get; } = Guid.NewGuid().ToString("D");

    /// <summary>The copy's id once EC2 accepted it (or it was adopted after a lost response).</summary>
    public string? CopyId { get { lock (Gate) return Result.SnapshotId; } }

    /// <summary>CopySnapshot had an uncertain outcome at least once (duplicates possible).</summary>
    public bool HadUncertainOutcome { get; set; }

    public int? SourceSizeGiB { get; set; }

    public bool IsFinished => Volatile.Read(ref _finished) == 1;

    /// <summary>True exactly once: the caller then sends the CopyFinishedEvent.</summary>
    public bool TryMarkFinished() => Interlocked.Exchange(ref _finished, 1) == 0;

    public SnapshotCopyResult CloneResult()
    {
        lock (Gate) return Result.Clone();
    }
}
