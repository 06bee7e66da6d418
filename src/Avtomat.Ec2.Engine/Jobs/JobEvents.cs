using Avtomat.Ec2.Engine.Copy;

namespace Avtomat.Ec2.Engine;

public enum MessageLevel { Debug, Verbose, Warning }

/// <summary>What a create or wait job reports. The cmdlet drains these on the pipeline thread.</summary>
public abstract class SnapshotEvent
{
    protected SnapshotEvent(object? request) => Request = request;

    /// <summary>The request the event is about: a <see cref="Create.SnapshotCreateRequest"/>, an
    /// <see cref="Create.InstanceSnapshotRequest"/> or a <see cref="Waiting.SnapshotWaitRequest"/>; null for job-wide messages.</summary>
    public object? Request { get; }
}

/// <summary>EC2 accepted a snapshot: the new id is known (State Pending). Report it at once: it survives Ctrl+C.
/// An instance set (CreateSnapshots) sends one per volume snapshot.</summary>
public sealed class SnapshotAcceptedEvent(object request, SnapshotResult result) : SnapshotEvent(request)
{
    public SnapshotResult Result { get; } = result;
}

/// <summary>A snapshot reached its final state (for the job): exactly one per snapshot, or one per request that never
/// produced a snapshot. <see cref="Error"/> is set for Failed and TimedOut (and for Queued/Pending after a stop).</summary>
public sealed class SnapshotFinishedEvent(object request, SnapshotResult result, EngineError? error) : SnapshotEvent(request)
{
    public SnapshotResult Result { get; } = result;
    public EngineError? Error { get; } = error;
}

/// <summary>Waits, retries, limit hits, warnings, summaries. Never contains secrets.</summary>
public sealed class SnapshotMessageEvent(MessageLevel level, string message, object? request = null) : SnapshotEvent(request)
{
    public MessageLevel Level { get; } = level;
    public string Message { get; } = message;
}

/// <summary>What a copy job reports. The cmdlet drains these on the pipeline thread and turns them into Write* calls.</summary>
public abstract class CopyEvent
{
    protected CopyEvent(SnapshotCopyRequest? request) => Request = request;
    public SnapshotCopyRequest? Request { get; }
}

/// <summary>EC2 accepted a copy: the new id is known (report it at once: it survives Ctrl+C).</summary>
public sealed class CopyAcceptedEvent(SnapshotCopyRequest request, SnapshotCopyResult result) : CopyEvent(request)
{
    public SnapshotCopyResult Result { get; } = result;
}

/// <summary>A request reached its final state. Exactly one per request. <see cref="Error"/> is set for Failed and TimedOut.</summary>
public sealed class CopyFinishedEvent(SnapshotCopyRequest request, SnapshotCopyResult result, EngineError? error) : CopyEvent(request)
{
    public SnapshotCopyResult Result { get; } = result;
    public EngineError? Error { get; } = error;
}

/// <summary>Waits, retries, limit hits, summaries. Never contains secrets.</summary>
public sealed class EngineMessageEvent(MessageLevel level, string message, SnapshotCopyRequest? request = null) : CopyEvent(request)
{
    public MessageLevel Level { get; } = level;
    public string Message { get; } = message;
}
