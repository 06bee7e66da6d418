namespace Avtomat.Ec2.Engine;

public enum MessageLevel { Debug, Verbose, Warning }

/// <summary>What a job reports. The cmdlet drains these on the pipeline thread and turns them into Write* calls.
/// Copy jobs report <see cref="Copy.SnapshotCopyRequest"/>s and <see cref="SnapshotCopyResult"/>s; create and wait jobs
/// report their requests as objects (<see cref="Create.SnapshotCreateRequest"/>, <see cref="Create.InstanceSnapshotRequest"/>,
/// <see cref="Waiting.SnapshotWaitRequest"/>) and <see cref="SnapshotResult"/>s.</summary>
/// <typeparam name="TRequest">What the caller asked for.</typeparam>
public abstract class JobEvent<TRequest> where TRequest : class
{
    protected JobEvent(TRequest? request) => Request = request;

    /// <summary>The request the event is about; null for job-wide messages.</summary>
    public TRequest? Request { get; }
}

/// <summary>EC2 accepted a snapshot or copy: the new id is known (State Pending). Report it at once: it survives Ctrl+C.
/// An instance set (CreateSnapshots) sends one per volume snapshot.</summary>
public sealed class ItemAcceptedEvent<TRequest, TResult>(TRequest request, TResult result) : JobEvent<TRequest>(request) where TRequest : class
{
    public TResult Result { get; } = result;
}

/// <summary>An item reached its final state (for the job): exactly one per item. <see cref="Error"/> is set for Failed
/// and TimedOut (and for Queued/Pending after a stop).</summary>
public sealed class ItemFinishedEvent<TRequest, TResult>(TRequest request, TResult result, EngineError? error) : JobEvent<TRequest>(request)
    where TRequest : class
{
    public TResult Result { get; } = result;
    public EngineError? Error { get; } = error;
}

/// <summary>Waits, retries, limit hits, warnings, summaries. Never contains secrets.</summary>
public sealed class JobMessageEvent<TRequest>(MessageLevel level, string message, TRequest? request = null) : JobEvent<TRequest>(request)
    where TRequest : class
{
    public MessageLevel Level { get; } = level;
    public string Message { get; } = message;
}
