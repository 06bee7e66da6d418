using System;
using System.Threading;

namespace Avtomat.Ec2.Engine.Copy;

// CONTRACT: signatures the cmdlet compiles against. The implementation replaces the bodies.

/// <summary>The process-wide copy engine: one copy window per destination region and endpoint shared by every job,
/// so concurrent invocations never exceed EC2's 20 pending copies per region together.</summary>
public sealed class CopyEngine
{
    /// <summary>The engine every cmdlet invocation in this process uses.</summary>
    public static CopyEngine Shared { get; } = new(TimeProvider.System);

    /// <param name="timeProvider">Clock for waits, polls, timeouts and timestamps (tests pass a FakeTimeProvider).</param>
    /// <param name="regionCopyLimit">Pending copies EC2 allows per destination region (20).</param>
    public CopyEngine(TimeProvider timeProvider, int regionCopyLimit = 20) => throw new NotImplementedException();

    public TimeProvider TimeProvider => throw new NotImplementedException();

    /// <summary>Starts a job. Requests may be added while the caller's pipeline is still producing.</summary>
    public CopyJob StartJob(IEc2ClientSource clients, CopyJobOptions options, CancellationToken cancellationToken)
        => throw new NotImplementedException();
}

/// <summary>One invocation's copies. Thread-safe; events are meant to be taken on one thread (the pipeline thread).</summary>
public sealed class CopyJob : IDisposable
{
    private CopyJob() { }

    /// <summary>Queues a copy; never blocks. Source checks and copying start at once.</summary>
    public void Add(SnapshotCopyRequest request) => throw new NotImplementedException();

    /// <summary>No more requests will be added.</summary>
    public void CompleteAdding() => throw new NotImplementedException();

    /// <summary>Takes the next event, waiting up to <paramref name="timeout"/> (zero: do not wait). False when none
    /// arrived in time, or when the job has finished and every event was taken (then <see cref="IsFinished"/> is true).</summary>
    public bool TryTake(out CopyEvent? copyEvent, TimeSpan timeout) => throw new NotImplementedException();

    /// <summary>Adding is complete, every request reached its final state and every event was taken.</summary>
    public bool IsFinished => throw new NotImplementedException();

    /// <summary>The latest state per destination region (coalesced; cheap to call every 250–500 ms).</summary>
    public System.Collections.Generic.IReadOnlyList<RegionProgress> GetProgress() => throw new NotImplementedException();

    public JobStatistics Statistics => throw new NotImplementedException();

    /// <summary>Stops waiting and starting copies. Copies EC2 already accepted keep running.</summary>
    public void Dispose() => throw new NotImplementedException();
}
