using System;
using System.Threading;
using System.Threading.Tasks;
using Avtomat.Ec2.Engine.Accounts;

namespace Avtomat.Ec2.Engine.Internal;

/// <summary>Every EC2 call of a job goes through here (the shared poller's too): paced under EC2's token bucket for the
/// call (<see cref="Ec2Buckets"/>, a <see cref="RequestPacer"/> shared per account and region by every job in the
/// process) and the bucket's <see cref="AdaptiveRate"/>, counted, and watched for an endpoint that cannot be reached
/// (<see cref="EndpointHealth"/>). Pacing waits are cancellable and count as neither calls, retries nor throttles. A
/// throttle anyway (other clients in the account) drains the bucket and slows the rate. Idempotent calls (Describe,
/// Delete) are retried here on top of the SDK's own Standard retries, as <see cref="FailurePolicy"/> says; anything else
/// is thrown for the caller to ask the policy about. Calls that create snapshots go through <see cref="TokenedStart"/>.</summary>
internal sealed class Ec2Calls
{
    private static readonly TimeSpan BaseDelay = TimeSpan.FromMilliseconds(500);
    private static readonly TimeSpan MaxDelay = TimeSpan.FromSeconds(20);

    private readonly TimeProvider _time;
    private readonly JobCounters _counters;
    private readonly int _maxRetries;
    private readonly Action<string> _verbose;
    private readonly Func<string, AccountRegion> _shared;
    private readonly EndpointHealth _health;

    /// <summary><paramref name="shared"/> gives what every job in the process shares in a region for the job's account
    /// (its request buckets and rates); <paramref name="health"/> tells whether the job's calls in a region still reach EC2.</summary>
    public Ec2Calls(TimeProvider time, JobCounters counters, int maxRetries, Action<string> verbose, Func<string, AccountRegion> shared,
        EndpointHealth health)
    {
        _time = time;
        _counters = counters;
        _maxRetries = Math.Max(0, maxRetries);
        _verbose = verbose;
        _shared = shared;
        _health = health;
    }

    public JobCounters Counters => _counters;

    /// <summary>One attempt, counted, once its bucket in the region has a token for it and the bucket's current rate
    /// allows. <paramref name="request"/> decides a Describe call's bucket (filtered or paginated, or not; without it the
    /// smaller one). The waits end with <paramref name="waitToken"/> (default: <paramref name="ct"/>), and nothing is sent
    /// once it is cancelled: a call that creates snapshots waits under the job's stop, while the call itself has the grace
    /// for calls already sent. A connection that cannot be made becomes a <see cref="RegionFailedException"/>
    /// (EndpointUnreachable) once the endpoint's bound is over.</summary>
    public async Task<T> OnceAsync<T>(string action, string region, Func<CancellationToken, Task<T>> call, CancellationToken ct,
        object? request = null, CancellationToken waitToken = default)
    {
        var bucket = Ec2Buckets.NameOf(action, request);
        var shared = _shared(region);
        var rate = shared.Rate(bucket);
        var pacer = shared.Pacer(bucket);
        var wait = waitToken.CanBeCanceled ? waitToken : ct;
        await rate.WaitAsync(wait).ConfigureAwait(false);
        await pacer.WaitAsync(wait).ConfigureAwait(false);
        wait.ThrowIfCancellationRequested();
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
            // Someone else in the account draws from the same bucket: start again from empty, and slow down.
            pacer.Drain();
            rate.Throttled();
            throw;
        }
        catch (Exception ex) when (FailurePolicy.ConnectFailure(ex) is not null && _health.Failed(region, ex, FailurePolicy.HostNotFound(ex)) is { } unreachable)
        {
            throw unreachable;
        }
    }

    /// <summary>Retries transient failures up to MaxRetries times; the last failure is thrown.</summary>
    public async Task<T> WithRetriesAsync<T>(string action, string region, Func<CancellationToken, Task<T>> call, CancellationToken ct,
        object? request = null)
    {
        for (var attempt = 0; ; attempt++)
        {
            ct.ThrowIfCancellationRequested();
            try
            {
                return await OnceAsync(action, region, call, ct, request).ConfigureAwait(false);
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
