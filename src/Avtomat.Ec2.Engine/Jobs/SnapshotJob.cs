using System;
using System.Collections.Concurrent;
using System.Threading;

namespace Avtomat.Ec2.Engine;

/// <summary>
/// A job's events, typed for what its cmdlet asked for and reports: the queue the cmdlet drains on the pipeline thread
/// (accepted, finished and message events). Everything else a job is, is <see cref="EngineJob"/>.
/// </summary>
/// <typeparam name="TRequest">What the caller asks for (the events' Request).</typeparam>
/// <typeparam name="TResult">What the job reports per item.</typeparam>
public abstract class SnapshotJob<TRequest, TResult> : EngineJob where TRequest : class where TResult : class
{
    private readonly BlockingCollection<JobEvent<TRequest>> _events = new(new ConcurrentQueue<JobEvent<TRequest>>());

    private protected SnapshotJob(SnapshotEngine engine, IEc2ClientSource clients, JobOptions options, CancellationToken cancellationToken,
        IEc2ClientSource? sourceClients = null)
        : base(engine, clients, options, cancellationToken, sourceClients)
    {
    }

    /// <summary>Takes the next event, waiting up to <paramref name="timeout"/> (zero: do not wait). False when none
    /// arrived in time, or when the job has finished and every event was taken (then <see cref="IsFinished"/> is true).</summary>
    public bool TryTake(out JobEvent<TRequest>? jobEvent, TimeSpan timeout)
    {
        jobEvent = null;
        try
        {
            if (_events.TryTake(out var item, timeout))
            {
                jobEvent = item;
                return true;
            }
        }
        catch (ObjectDisposedException) { }
        return false;
    }

    /// <inheritdoc />
    public override bool IsFinished => _events.IsCompleted;

    private protected override void EmitAccepted(JobItem item) =>
        Emit(new ItemAcceptedEvent<TRequest, TResult>((TRequest)item.Request, (TResult)item.CloneResult()));

    private protected override void EmitFinished(JobItem item, EngineError? error) =>
        Emit(new ItemFinishedEvent<TRequest, TResult>((TRequest)item.Request, (TResult)item.CloneResult(), error));

    private protected override void EmitMessage(MessageLevel level, string message, object? request) =>
        Emit(new JobMessageEvent<TRequest>(level, message, request as TRequest));

    private protected override void CompleteEvents()
    {
        try { _events.CompleteAdding(); }
        catch (ObjectDisposedException) { }
    }

    private void Emit(JobEvent<TRequest> jobEvent)
    {
        try { _events.Add(jobEvent); }
        catch (InvalidOperationException) { } // the job already finished (a straggler message); also ObjectDisposedException
    }
}
