using System;
using System.Threading;
using System.Threading.Tasks;

namespace Avtomat.Ec2.Engine.Internal;

/// <summary>Runs idempotent EC2 calls (Describe, Delete): counts them and, on top of the SDK's own Standard retries,
/// retries throttling, 5xx and I/O failures with jittered backoff. Never used for CopySnapshot, which is not idempotent.</summary>
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
            catch (Exception ex) when (!ct.IsCancellationRequested && Ec2Failure.IsTransient(ex) && attempt < _maxRetries)
            {
                if (Ec2Failure.Classify(ex) == FailureKind.Throttled) _counters.Throttled();
                _counters.Retry();
                var delay = Backoff.Delay(attempt, BaseDelay, MaxDelay);
                _verbose($"{action} in {region} failed ({Ec2Failure.Describe(ex)}); retrying in {delay.TotalSeconds:0.0} s.");
                await _time.Delay(delay, ct).ConfigureAwait(false);
            }
        }
    }
}
