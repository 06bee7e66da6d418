using Avtomat.Ec2.Engine.Copy;
using Microsoft.Extensions.Time.Testing;

namespace Avtomat.Ec2.Engine.Tests.Support;

/// <summary>What a job produced, in order.</summary>
public sealed class JobOutcome
{
    public List<CopyEvent> Events { get; } = new();
    public List<CopyAcceptedEvent> Accepted => Events.OfType<CopyAcceptedEvent>().ToList();
    public List<CopyFinishedEvent> Finished => Events.OfType<CopyFinishedEvent>().ToList();
    public List<string> Messages => Events.OfType<EngineMessageEvent>().Select(m => m.Message).ToList();
    public JobStatistics Statistics { get; set; } = new();
    public List<IReadOnlyList<RegionProgress>> ProgressSamples { get; } = new();
    public TimeSpan Elapsed { get; set; }

    public CopyFinishedEvent FinishedFor(string sourceSnapshotId) => Finished.Single(f => f.Request!.SourceSnapshotId == sourceSnapshotId);
}

public static class JobRunner
{
    /// <summary>Drains a job in real time until it is finished.</summary>
    public static JobOutcome DrainRealTime(CopyJob job, TimeSpan limit, Action<CopyEvent>? onEvent = null)
    {
        var outcome = new JobOutcome();
        var started = DateTime.UtcNow;
        var lastSample = DateTime.MinValue;
        while (!job.IsFinished)
        {
            if (DateTime.UtcNow - started > limit) throw new TimeoutException($"The job did not finish within {limit}.");
            if (job.TryTake(out var e, TimeSpan.FromMilliseconds(50)) && e is not null)
            {
                outcome.Events.Add(e);
                onEvent?.Invoke(e);
            }
            if (DateTime.UtcNow - lastSample > TimeSpan.FromMilliseconds(250))
            {
                outcome.ProgressSamples.Add(job.GetProgress());
                lastSample = DateTime.UtcNow;
            }
        }
        outcome.ProgressSamples.Add(job.GetProgress());
        outcome.Statistics = job.Statistics;
        outcome.Elapsed = DateTime.UtcNow - started;
        return outcome;
    }
}

public static class VirtualTime
{
    /// <summary>Advances the fake clock in steps while the job runs, draining events, until it is finished.</summary>
    public static async Task<JobOutcome> RunAsync(CopyJob job, FakeTimeProvider clock, TimeSpan? step = null, TimeSpan? maxVirtual = null,
        Action<JobOutcome, DateTimeOffset>? onStep = null)
    {
        var outcome = new JobOutcome();
        var by = step ?? TimeSpan.FromMilliseconds(100);
        var started = clock.GetUtcNow();
        var end = started + (maxVirtual ?? TimeSpan.FromMinutes(10));
        var realLimit = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (true)
        {
            // Let the workers react to the last step before moving the clock again: on a loaded machine their
            // continuations can sit in the pool's queue for longer than a millisecond, and the clock must not run ahead.
            await Task.Delay(1);
            for (var waits = 0; ThreadPool.PendingWorkItemCount > 0 && waits < 50; waits++) await Task.Delay(1);
            while (job.TryTake(out var e, TimeSpan.Zero)) outcome.Events.Add(e!);
            if (job.IsFinished) break;
            if (clock.GetUtcNow() > end || DateTime.UtcNow > realLimit) throw new TimeoutException("The job did not finish.");
            onStep?.Invoke(outcome, clock.GetUtcNow());
            clock.Advance(by);
        }
        outcome.Elapsed = clock.GetUtcNow() - started; // virtual time
        outcome.ProgressSamples.Add(job.GetProgress());
        outcome.Statistics = job.Statistics;
        // Exactly one CopyFinishedEvent per request, always.
        var perRequest = outcome.Finished.GroupBy(f => f.Request).ToList();
        Assert.All(perRequest, g => Assert.Single(g));
        return outcome;
    }
}
