using System;
using System.Threading;
using System.Threading.Tasks;

namespace Avtomat.Ec2.Engine.Internal;

/// <summary>Counts EC2 calls and runs idempotent ones (Describe, Delete) with retries: on top of the SDK's own Standard
/// retries, what <see cref="FailurePolicy"/> says to retry is retried with jittered backoff; anything else is thrown for
/// the caller to ask the policy about. Calls that create snapshots go through <see cref="TokenedStart"/> instead.</summary>
internal sealed class Ec2Calls
{
    private static readonly TimeSpan BaseDelay = TimeSpan.FromMilliseconds(500);
    private static readonly TimeSpan MaxDelay = TimeSpan.FromSeconds(20);

    private readonly TimeProvider _time;
    private readonly JobCounters _counters;
    private readonly int _maxRetries;
    private readonly Action<string> _verbose;

    public Ec2Calls(TimeProvider time, JobCounters counters, int maxRetries, Action<string> verbose)
    {
        _time = time;
        _counters = counters;
        _maxRetries = Math.Max(0, maxRetries);
        _verbose = verbose;
    }

    public JobCounters Counters => _counters;

    /// <summary>One attempt, counted.</summary>
    public Task<T> OnceAsync<T>(string action, string region, Func<CancellationToken, Task<T>> call, CancellationToken ct)
    {
        _counters.Call(action, region);
        return call(ct);
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
            catch (Exception ex) when (!ct.IsCancellationRequested && FailurePolicy.Decide(ex, action) == FailureAction.Retry && attempt < _maxRetries)
            {
                if (FailurePolicy.IsThrottle(ex)) _counters.Throttled();
                _counters.Retry();
                var delay = Backoff.Delay(attempt, BaseDelay, MaxDelay);
                _verbose($"{action} in {region} failed ({FailurePolicy.Describe(ex)}); retrying in {delay.TotalSeconds:0.0} s.");
                await _time.Delay(delay, ct).ConfigureAwait(false);
            }
        }
    }
}
