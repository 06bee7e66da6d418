using Amazon.EC2.Model;
using Avtomat.Ec2.Engine.Internal;

namespace Avtomat.Ec2.Engine.Copy;

/// <summary>One copy in a copy job.</summary>
internal sealed class CopyItem : JobItem
{
    public CopyItem(CopyJob job, SnapshotCopyRequest request, int sequence) : base(job, request, request.DestinationRegion, sequence)
    {
        Copy = request;
        Result = new SnapshotCopyResult
        {
            Region = request.DestinationRegion,
            SourceSnapshotId = request.SourceSnapshotId,
            SourceRegion = request.SourceRegion,
            State = SnapshotState.Queued,
            // Certain only when EC2's rules make it so; the key is the one EC2 reports, once seen.
            Encrypted = request.Encrypted || request.KmsKeyId is not null || request.DestinationOutpostArn is not null ? true : null,
            DestinationOutpostArn = request.DestinationOutpostArn,
        };
    }

    public CopyJob CopyJob => (CopyJob)Job;
    public SnapshotCopyRequest Copy { get; }
    /// <summary>Where the request came in among every job's (ties in the copy windows go by it).</summary>
    public long InputOrder { get; set; }
    public SnapshotCopyResult Result { get; }
    public override ISnapshotOutcome Outcome => Result;
    public override string SourceRegion => Copy.SourceRegion;
    public override string SourceId => Copy.SourceSnapshotId;
    /// <summary>The source's size once checked (progress estimates).</summary>
    public int? SourceSizeGiB { get; set; }

    public override object CloneResult()
    {
        lock (Gate) return Result.Clone();
    }

    public override void Apply(Snapshot snapshot) => SnapshotResults.ApplyProgress(Result, snapshot);
}
