using System;
using System.Threading;
using System.Threading.Tasks;

namespace Avtomat.Ec2.Engine.Internal;

/// <summary>
/// How fast one action may be called in one account and region, learned from EC2's answers (additive increase,
/// multiplicative decrease): unlimited until EC2 throttles; then a rate that drops by a quarter at each throttle and
/// grows by one call a second with each success, until it is unlimited again. Shared by every job in the process, so a
/// throttle slows them all. The steps are gentle on purpose: throttling that does not come from our own pace (other
/// clients, a busy service) settles around 4 successes per throttle × 4 calls a second instead of slowing to a crawl.
/// </summary>
internal sealed class AdaptiveRate
{
    /// <summary>Calls per second after the first throttle (EC2's busiest buckets refill at 5–20 a second).</summary>
    internal const double AfterFirstThrottle = 10;
    internal const double Slowest = 0.5;
    /// <summary>Above this the limit is dropped.</summary>
    internal const double Fastest = 40;
    /// <summary>Added per success.</summary>
    internal const double Increase = 1;
    /// <summary>Kept at each throttle.</summary>
    internal const double Decrease = 0.75;

    private readonly TimeProvider _time;
    private readonly object _gate = new();
    private double? _perSecond;
    private DateTimeOffset _next;

    public AdaptiveRate(TimeProvider time) => _time = time;

    /// <summary>Calls per second now; null while unlimited.</summary>
    public double? PerSecond { get { lock (_gate) return _perSecond; } }

    /// <summary>Waits for this call's turn (at once while unlimited).</summary>
    public Task WaitAsync(CancellationToken cancellationToken)
    {
        TimeSpan wait;
        lock (_gate)
        {
            if (_perSecond is not { } rate) return Task.CompletedTask;
            var now = _time.GetUtcNow();
            var at = _next > now ? _next : now;
            _next = at + TimeSpan.FromSeconds(1 / rate);
            wait = at - now;
        }
        return wait > TimeSpan.Zero ? _time.Delay(wait, cancellationToken) : Task.CompletedTask;
    }

    public void Throttled()
    {
        lock (_gate) _perSecond = _perSecond is { } rate ? Math.Max(Slowest, rate * Decrease) : AfterFirstThrottle;
    }

    public void Succeeded()
    {
        lock (_gate)
        {
            if (_perSecond is not { } rate) return;
            rate += Increase;
            _perSecond = rate >= Fastest ? null : rate;
        }
    }
}
