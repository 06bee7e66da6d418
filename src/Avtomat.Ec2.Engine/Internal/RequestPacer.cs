using System;
using System.Threading;
using System.Threading.Tasks;

namespace Avtomat.Ec2.Engine.Internal;

/// <summary>
/// A client-side token bucket mirroring one of EC2's per-account, per-region, per-action buckets (<see cref="Ec2Buckets"/>;
/// e.g. CopySnapshot: 50 burst, 5 per second), shared by every job in the process that uses the same endpoint, account
/// and region. Callers wait their turn (first come, first served; cancellable) instead of collecting
/// RequestLimitExceeded. After a throttle anyway (other clients in the account use the same bucket) <see cref="Drain"/>
/// empties it so every caller slows down together.
/// </summary>
internal sealed class RequestPacer
{
    private readonly TimeProvider _time;
    private readonly SemaphoreSlim _turn = new(1, 1);
    private readonly object _gate = new();
    private double _tokens;
    private DateTimeOffset _last;
    private int _waiting;

    public RequestPacer(string name, TimeProvider time, int burst, double refillPerSecond)
    {
        if (burst < 1) throw new ArgumentOutOfRangeException(nameof(burst));
        if (refillPerSecond <= 0) throw new ArgumentOutOfRangeException(nameof(refillPerSecond));
        Name = name;
        _time = time;
        Burst = burst;
        RefillPerSecond = refillPerSecond;
        _tokens = burst;
        _last = time.GetUtcNow();
    }

    public string Name { get; }
    public int Burst { get; }
    public double RefillPerSecond { get; }

    /// <summary>Waits for a token (FIFO) and takes it.</summary>
    public async Task WaitAsync(CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _waiting);
        try
        {
            await _turn.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            Interlocked.Decrement(ref _waiting);
            throw;
        }
        try
        {
            while (true)
            {
                TimeSpan wait;
                lock (_gate)
                {
                    Refill();
                    if (_tokens >= 1)
                    {
                        _tokens -= 1;
                        return;
                    }
                    wait = TimeSpan.FromSeconds((1 - _tokens) / RefillPerSecond);
                }
                // Round up to a whole millisecond so the refill is really there when we look again.
                await _time.Delay(TimeSpan.FromMilliseconds(Math.Ceiling(wait.TotalMilliseconds) + 1), cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            _turn.Release();
            Interlocked.Decrement(ref _waiting);
        }
    }

    /// <summary>Callers waiting for a token now (for tests and diagnostics).</summary>
    public int Waiting => Volatile.Read(ref _waiting);

    /// <summary>EC2 throttled a call anyway: someone else uses the same bucket. Start again from empty.</summary>
    public void Drain()
    {
        lock (_gate)
        {
            Refill();
            _tokens = Math.Min(_tokens, 0);
        }
    }

    /// <summary>Full again: indistinguishable from a new bucket, so it can be forgotten.</summary>
    public bool IsFull => Available >= Burst;

    /// <summary>Tokens available now (for tests and diagnostics).</summary>
    public double Available { get { lock (_gate) { Refill(); return _tokens; } } }

    private void Refill()
    {
        var now = _time.GetUtcNow();
        var elapsed = (now - _last).TotalSeconds;
        if (elapsed > 0) _tokens = Math.Min(Burst, _tokens + elapsed * RefillPerSecond);
        _last = now;
    }
}
