using Avtomat.Ec2.Engine.Copy;

namespace Avtomat.Ec2.Engine.Tests.Support;

/// <summary>Runs a job in REAL time, for the few tests where a real socket is the point (the emulator over HTTP: .NET's
/// HTTP stack re-sending on a new connection, STS account resolution): takes its events as they come and samples its
/// progress every 250 ms of wall-clock time until it is finished.</summary>
public static class OverHttp
{
    /// <summary>Drains a copy job in real time until it is finished (exactly one finished event per request).</summary>
    public static JobOutcome Drain(CopyJob job, TimeSpan limit, Action<CopyEvent>? onEvent = null)
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
        while (job.TryTake(out var rest, TimeSpan.Zero) && rest is not null) outcome.Events.Add(rest);
        outcome.ProgressSamples.Add(job.GetProgress());
        outcome.Statistics = job.Statistics;
        outcome.Elapsed = DateTime.UtcNow - started;
        Assert.All(outcome.Finished.GroupBy(f => f.Request), g => Assert.Single(g));
        return outcome;
    }
}

