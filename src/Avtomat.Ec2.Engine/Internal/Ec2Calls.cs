using System;
using System.Threading;
using System.Threading.Tasks;

namespace Avtomat.Ec2.Engine.Internal;

/// <summary>Every EC2 call of a job goes through here: counted, paced by the action's shared <see cref="AdaptiveRate"/>,
/// and watched for an endpoint that cannot be reached (<see cref="EndpointHealth"/>). Idempotent calls (Describe, Delete)
/// are retried here on top of the SDK's own Standard retries, as <see cref="FailurePolicy"/> says; anything else is
/// thrown for the caller to ask the policy about. Calls that create snapshots go through <see cref="TokenedStart"/>.</summary>
internal sealed class Ec2Calls
{
    private static readonly TimeSpan BaseDelay = TimeSpan.FromMilliseconds(500);
    private static readonly TimeSpan MaxDelay = TimeSpan.FromSeconds(20);

    private readonly TimeProvider _time;
    private readonly JobCounters _counters;
    private readonly int _maxRetries;
    private readonly Action<string> _verbose;
    private readonly Func<string, string, AdaptiveRate> _rateOf;
    private readonly EndpointHealth _health;

    /// <summary><paramref name="rateOf"/> gives the shared rate of an action in a region (region, action);
    /// <paramref name="health"/> tells whether the job's calls in a region still reach EC2.</summary>
    public Ec2Calls(TimeProvider time, JobCounters counters, int maxRetries, Action<string> verbose, Func<string, string, AdaptiveRate> rateOf,
        EndpointHealth health)
    {
        _time = time;
        _counters = counters;
        _maxRetries = Math.Max(0, maxRetries);
        _verbose = verbose;
        _rateOf = rateOf;
        _health = health;
    }

    public JobCounters Counters => _counters;

    /// <summary>One attempt, counted, at the action's current rate in the region. A connection that cannot be made
    /// becomes a <see cref="RegionFailedException"/> (EndpointUnreachable) once the endpoint's bound is over.</summary>
    public async Task<T> OnceAsync<T>(string action, string region, Func<CancellationToken, Task<T>> call, CancellationToken ct)
    {
        var rate = _rateOf(region, action);
        await rate.WaitAsync(ct).ConfigureAwait(false);
        _counters.Call(action, region);
        try
        {
            var result = await call(ct).ConfigureAwait(false);
            rate.Succeeded();
            _health.Succeeded(region);
            return result;
        }
        catch (Exception ex) when (FailurePolicy.IsThrottle(ex))
        {
            rate.Throttled();
            throw;
        }
        catch (Exception ex) when (FailurePolicy.ConnectFailure(ex) is not null && _health.Failed(region, ex, FailurePolicy.HostNotFound(ex)) is { } unreachable)
        {
            throw unreachable;
        }
    }

    /// <summary>Retries transient failures up to MaxRetries times; the last failure is thrown.</summary>
    public async Task<T> WithRetriesAsync<T>(string action, string region, Func<CancellationToken, Task<T>> call, CancellationToken ct)
    {
        for (var attempt = 0; ; attempt++)
        {
            ct.ThrowIfCancellationRequested();
            try
            {
                return await OnceAsync(action, region, call, ct).ConfigureAwait(false);
            }
            // Throttling is retried for as long as the job runs (the action's rate slows down meanwhile); other
            // transient failures MaxRetries times.
            catch (Exception ex) when (!ct.IsCancellationRequested && FailurePolicy.Decide(ex, action) == FailureAction.Retry
                                       && (FailurePolicy.IsThrottle(ex) || attempt < _maxRetries))
            {
                if (FailurePolicy.IsThrottle(ex)) _counters.Throttled();
                _counters.Retry();
                var delay = Backoff.Delay(Math.Min(attempt, 6), BaseDelay, MaxDelay);
                _verbose($"{action} in {region} failed ({FailurePolicy.Describe(ex)}); retrying in {delay.TotalSeconds:0.0} s.");
                await _time.Delay(delay, ct).ConfigureAwait(false);
            }
        }
    }
}
