using System;
using System.Collections.Generic;
using Avtomat.Ec2.Engine.Internal;

namespace Avtomat.Ec2.Engine.Scheduling;

/// <summary>
/// The client-side copies of EC2's request token buckets in one account and region (<see cref="Ec2Buckets"/>: e.g.
/// CopySnapshot 50 at once, then 5 a second), each less a margin kept for other clients in the account, and a rate per
/// bucket learned from EC2's throttling (additive increase, multiplicative decrease: unlimited until EC2 throttles;
/// then 10 a second, a quarter less at each throttle, one more per success, unlimited again at 40). Every call the
/// scheduler sends takes a token first; nothing waits in a loop: a call without a token is due when one will be there.
/// Plain state owned by the scheduler's loop. A bucket that is full again is the same as a new one; one still refilling
/// stays (the scheduler lives for the process), so a run right after another that spent a burst waits for EC2's
/// refill instead of collecting RequestLimitExceeded.
/// </summary>
internal sealed class RequestBuckets
{
    internal const double AfterFirstThrottle = 10;
    internal const double Slowest = 0.5;
    internal const double Fastest = 40;
    internal const double Increase = 1;
    internal const double Decrease = 0.75;

    private readonly int _margin;
    private readonly Dictionary<string, Bucket> _buckets = new(StringComparer.Ordinal);

    public RequestBuckets(int margin) => _margin = Math.Max(0, margin);

    /// <summary>Takes a token of <paramref name="name"/> (a name from <see cref="Ec2Buckets.NameOf"/>), or says when the
    /// next will be there (both the bucket's refill and the learned rate).</summary>
    public bool TryTake(string name, DateTimeOffset now, out DateTimeOffset next)
    {
        var bucket = Get(name, now);
        bucket.Refill(now);
        var allowedAt = bucket.NextAllowed > now ? bucket.NextAllowed : now;
        if (bucket.Tokens >= 1 && allowedAt <= now)
        {
            bucket.Tokens -= 1;
            if (bucket.Rate is { } rate) bucket.NextAllowed = now + TimeSpan.FromSeconds(1 / rate);
            next = now;
            return true;
        }
        var refillAt = bucket.Tokens >= 1 ? now : now + TimeSpan.FromTicks((long)Math.Ceiling((1 - bucket.Tokens) / bucket.RefillPerSecond * TimeSpan.TicksPerSecond));
        next = refillAt > allowedAt ? refillAt : allowedAt;
        return false;
    }

    /// <summary>EC2 throttled a call anyway (someone else draws from the bucket): empty it and slow down.</summary>
    public void Throttled(string name, DateTimeOffset now)
    {
        var bucket = Get(name, now);
        bucket.Refill(now);
        bucket.Tokens = Math.Min(bucket.Tokens, 0);
        bucket.Rate = bucket.Rate is { } rate ? Math.Max(Slowest, rate * Decrease) : AfterFirstThrottle;
    }

    public void Succeeded(string name)
    {
        if (!_buckets.TryGetValue(name, out var bucket) || bucket.Rate is not { } rate) return;
        rate += Increase;
        bucket.Rate = rate >= Fastest ? null : rate;
    }

    /// <summary>Calls per second allowed now (null: unlimited) — tests and diagnostics.</summary>
    public double? RateOf(string name) => _buckets.TryGetValue(name, out var bucket) ? bucket.Rate : null;

    /// <summary>Tokens available now — tests and diagnostics.</summary>
    public double Available(string name, DateTimeOffset now)
    {
        var bucket = Get(name, now);
        bucket.Refill(now);
        return bucket.Tokens;
    }

    /// <summary>Every bucket is full and unthrottled: nothing to remember.</summary>
    public bool AllFull(DateTimeOffset now)
    {
        foreach (var bucket in _buckets.Values)
        {
            bucket.Refill(now);
            if (bucket.Tokens < bucket.Burst || bucket.Rate is not null) return false;
        }
        return true;
    }

    private Bucket Get(string name, DateTimeOffset now)
    {
        if (!_buckets.TryGetValue(name, out var bucket))
        {
            var size = Ec2Buckets.Of(name);
            _buckets[name] = bucket = new Bucket(Math.Max(1, size.Burst - _margin), size.RefillPerSecond, now);
        }
        return bucket;
    }

    private sealed class Bucket(int burst, double refillPerSecond, DateTimeOffset now)
    {
        public int Burst { get; } = burst;
        public double RefillPerSecond { get; } = refillPerSecond;
        public double Tokens { get; set; } = burst;
        public DateTimeOffset Last { get; set; } = now;
        public double? Rate { get; set; }
        public DateTimeOffset NextAllowed { get; set; }

        public void Refill(DateTimeOffset now)
        {
            var elapsed = (now - Last).TotalSeconds;
            if (elapsed > 0) Tokens = Math.Min(Burst, Tokens + elapsed * RefillPerSecond);
            if (now > Last) Last = now;
        }
    }
}
