using System;
using System.Collections.Generic;
using System.Threading;
using Amazon.EC2.Model;
using Avtomat.Ec2.Engine.Internal;

namespace Avtomat.Ec2.Engine.Waiting;

/// <summary>Waits for snapshots (any snapshot, not only the module's): each goes to the scheduler of its region, which
/// follows it with everything else followed there (one batched DescribeSnapshots per look). One finished event per
/// snapshot when it is completed (State Completed), in error (Failed, SnapshotFailed with EC2's statusMessage), not
/// found (Failed, SnapshotNotFound) or when the timeout runs out (TimedOut, WaitTimedOut). With
/// <see cref="WaitJobOptions.Any"/> the job ends at the first completed or failed snapshot; the others are not reported.</summary>
public sealed class WaitJob : SnapshotJob<object, SnapshotResult>
{
    private int _anyDone;

    internal WaitJob(SnapshotEngine engine, IEc2ClientSource clients, WaitJobOptions options, CancellationToken cancellationToken)
        : base(engine, clients, options, cancellationToken)
    {
        Any = options.Any;
    }

    /// <summary>End at the first snapshot that completes or fails.</summary>
    internal bool Any { get; }

    /// <summary>Waits for <paramref name="snapshotId"/> in <paramref name="region"/>; never blocks.</summary>
    public void Add(string snapshotId, string region) => Add(new SnapshotWaitRequest { SnapshotId = snapshotId, Region = region });

    /// <summary>Waits for one snapshot; never blocks. Ignored after an -Any job already finished.</summary>
    public void Add(SnapshotWaitRequest request)
    {
        if (request is null) throw new ArgumentNullException(nameof(request));
        if (Volatile.Read(ref _anyDone) == 1) return;
        Submit(new WaitItem(this, request, NextSequence));
    }

    /// <summary>An item's end: <paramref name="endsAny"/> when EC2's answer (completed, error, not found) ends a -Any wait.</summary>
    internal void Finish(WaitItem item, SnapshotState state, EngineError? error, bool endsAny, string? statusMessage = null)
    {
        item.EndsAny = endsAny;
        Finish(item, state, error, statusMessage);
    }

    // ------------------------------------------------------------------ what a wait job reports

    /// <summary>-Any: only the first snapshot that ends the wait is reported (and other non-triggering results before it).</summary>
    private protected override bool ShouldReport(JobItem item)
    {
        if (!Any) return true;
        if (Volatile.Read(ref _anyDone) == 1) return false;
        return !((WaitItem)item).EndsAny || Interlocked.Exchange(ref _anyDone, 1) == 0;
    }

    private protected override void Reported(JobItem item)
    {
        if (Any && ((WaitItem)item).EndsAny) FinishEarly();
    }

    private protected override EngineError StoppedError(JobItem item) => EngineErrors.WaitStopped(item.SourceId, item.Region);

    private protected override EngineError TimedOutError(JobItem item) =>
        EngineErrors.WaitTimedOut(item.SourceId, item.Region, Timeout!.Value, ((WaitItem)item).Seen);

    private protected override string Summary(string region, IReadOnlyList<JobItem> items) =>
        $"{region}: waited for {items.Count} snapshot(s): {Count(items, SnapshotState.Completed)} completed, " +
        $"{Count(items, SnapshotState.Failed)} failed, {Count(items, SnapshotState.TimedOut)} timed out in {DurationText.Of(Time.GetUtcNow() - StartedAt)}; " +
        "API calls: " + CallsText(region) + ".";
}

/// <summary>One snapshot waited for.</summary>
internal sealed class WaitItem : JobItem
{
    public WaitItem(WaitJob job, SnapshotWaitRequest request, int sequence) : base(job, request, request.Region, sequence)
    {
        Wait = request;
        Result = new SnapshotResult { SnapshotId = request.SnapshotId, Region = request.Region, State = SnapshotState.Pending };
    }

    public SnapshotWaitRequest Wait { get; }
    public SnapshotResult Result { get; }
    /// <summary>Its end answers a -Any wait (EC2 said completed, error or not found).</summary>
    public bool EndsAny { get; set; }
    public override ISnapshotOutcome Outcome => Result;
    public override string SourceId => Wait.SnapshotId;

    public override object CloneResult()
    {
        lock (Gate) return Result.Clone();
    }

    /// <summary>DescribeSnapshots listed it at least once.</summary>
    public bool Seen { get; private set; }

    public override void Apply(Snapshot snapshot)
    {
        Seen = true;
        SnapshotResults.Apply(Result, snapshot);
    }
}
