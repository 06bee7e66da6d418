using Microsoft.Extensions.Time.Testing;

namespace Avtomat.Ec2.Engine.Tests.Support;

/// <summary>What a create or wait job produced, in order.</summary>
public sealed class SnapshotOutcome
{
    public List<SnapshotEvent> Events { get; } = new();
    public List<SnapshotAcceptedEvent> Accepted => Events.OfType<SnapshotAcceptedEvent>().ToList();
    public List<SnapshotFinishedEvent> Finished => Events.OfType<SnapshotFinishedEvent>().ToList();
    public List<SnapshotMessageEvent> MessageEvents => Events.OfType<SnapshotMessageEvent>().ToList();
    public List<string> Messages => MessageEvents.Select(m => m.Message).ToList();
    public List<string> Warnings => MessageEvents.Where(m => m.Level == MessageLevel.Warning).Select(m => m.Message).ToList();
    public JobStatistics Statistics { get; set; } = new();
    public List<IReadOnlyList<RegionProgress>> ProgressSamples { get; } = new();
    public TimeSpan Elapsed { get; set; }
    public DateTimeOffset EndedAt { get; set; }
}

public static class SnapshotJobRunner
{
    /// <summary>Advances the fake clock in steps while the job runs, draining events, until it is finished.</summary>
    public static async Task<SnapshotOutcome> RunAsync(SnapshotJob<object, SnapshotResult> job, FakeTimeProvider clock, TimeSpan? step = null, TimeSpan? maxVirtual = null,
        Action<SnapshotOutcome, DateTimeOffset>? onStep = null)
    {
        var outcome = new SnapshotOutcome();
        var by = step ?? TimeSpan.FromMilliseconds(100);
        var end = clock.GetUtcNow() + (maxVirtual ?? TimeSpan.FromMinutes(10));
        var realLimit = DateTime.UtcNow + TimeSpan.FromSeconds(40);
        while (true)
        {
            await Task.Delay(1);
            while (job.TryTake(out var e, TimeSpan.Zero)) outcome.Events.Add(e!);
            if (job.IsFinished) break;
            if (clock.GetUtcNow() > end || DateTime.UtcNow > realLimit) throw new TimeoutException("The job did not finish.");
            onStep?.Invoke(outcome, clock.GetUtcNow());
            clock.Advance(by);
        }
        outcome.EndedAt = clock.GetUtcNow();
        outcome.ProgressSamples.Add(job.GetProgress());
        outcome.Statistics = job.Statistics;
        return outcome;
    }

    /// <summary>Drains a job in real time until it is finished.</summary>
    public static SnapshotOutcome DrainRealTime(SnapshotJob<object, SnapshotResult> job, TimeSpan limit, Action<SnapshotEvent, TimeSpan>? onEvent = null)
    {
        var outcome = new SnapshotOutcome();
        var started = DateTime.UtcNow;
        var lastSample = DateTime.MinValue;
        while (!job.IsFinished)
        {
            if (DateTime.UtcNow - started > limit) throw new TimeoutException($"The job did not finish within {limit}.");
            if (job.TryTake(out var e, TimeSpan.FromMilliseconds(50)) && e is not null)
            {
                outcome.Events.Add(e);
                onEvent?.Invoke(e, DateTime.UtcNow - started);
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
