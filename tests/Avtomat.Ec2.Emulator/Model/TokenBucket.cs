namespace Avtomat.Ec2.Emulator.Model;

/// <summary>EC2's API rate limit: a bucket refilled continuously, evaluated lazily from the clock.</summary>
internal sealed class TokenBucket
{
    private double _tokens = double.NaN;
    private DateTimeOffset _last;

    public bool TryTake(BucketConfig config, DateTimeOffset now)
    {
        if (double.IsNaN(_tokens)) { _tokens = config.Burst; _last = now; }
        var elapsed = Math.Max(0, (now - _last).TotalSeconds);
        _tokens = Math.Min(config.Burst, _tokens + elapsed * config.RefillPerSecond);
        _last = now;
        if (_tokens < 1) return false;
        _tokens -= 1;
        return true;
    }

    /// <summary>Someone else in the account spends <paramref name="count"/> tokens now (never below zero: EC2 would
    /// have throttled the rest, which makes no difference to the next calls).</summary>
    public void Spend(BucketConfig config, DateTimeOffset now, int count)
    {
        if (double.IsNaN(_tokens)) { _tokens = config.Burst; _last = now; }
        var elapsed = Math.Max(0, (now - _last).TotalSeconds);
        _tokens = Math.Max(0, Math.Min(config.Burst, _tokens + elapsed * config.RefillPerSecond) - count);
        _last = now;
    }
}
