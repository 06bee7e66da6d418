namespace Avtomat.Ec2.Engine.Copy;

/// <summary>What a job reports. The cmdlet drains these on the pipeline thread and turns them into Write* calls.</summary>
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

public enum MessageLevel { Debug, Verbose, Warning }

/// <summary>Waits, retries, limit hits, summaries. Never contains secrets.</summary>
public sealed class EngineMessageEvent(MessageLevel level, string message, SnapshotCopyRequest? request = null) : CopyEvent(request)
{
    public MessageLevel Level { get; } = level;
    public string Message { get; } = message;
}
