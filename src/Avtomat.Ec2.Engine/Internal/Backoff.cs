using System;

namespace Avtomat.Ec2.Engine.Internal;

/// <summary>Jittered exponential backoff ("equal jitter": half fixed, half random) so many workers that were
/// throttled together do not come back together.</summary>
internal static class Backoff
{
    private static readonly Random Random = new();

    public static TimeSpan Delay(int attempt, TimeSpan baseDelay, TimeSpan maxDelay)
    {
        var exponent = Math.Min(Math.Max(attempt, 0), 16);
        var ceiling = Math.Min(maxDelay.TotalMilliseconds, baseDelay.TotalMilliseconds * Math.Pow(2, exponent));
        double jitter;
        lock (Random) jitter = Random.NextDouble();
        return TimeSpan.FromMilliseconds(ceiling / 2 + ceiling / 2 * jitter);
    }
}
