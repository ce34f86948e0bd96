using System.Collections.Concurrent;

namespace InferenceGateway.Gateway.RateLimiting;

/// <summary>
/// The same GCRA as <see cref="GcraScript"/>, per instance, for when Redis cannot be asked: each
/// gateway then enforces the full plan on its own (a cluster of N admits up to N times it). One
/// bucket per key (the key the bucket has in Redis); a cost of 1 for a request
/// (<see cref="TenantRateLimiter"/>), the tokens for a token charge (<see cref="TokenRateLimiter"/>).
/// </summary>
public sealed class LocalRateLimiter(TimeProvider time)
{
    private readonly ConcurrentDictionary<string, Bucket> _buckets = new(StringComparer.Ordinal);

    /// <summary>
    /// Charges <paramref name="cost"/> units to the bucket <paramref name="key"/> of
    /// <paramref name="size"/> units that refills one unit every <paramref name="intervalMicros"/>
    /// micro-seconds (may be fractional); all or nothing.
    /// </summary>
    /// <returns>Whether it was charged; the units left (after the charge when allowed, never below 0);
    /// when refused, how long until the bucket holds the cost; how long until the bucket is full.</returns>
    public (bool Allowed, long Remaining, TimeSpan RetryAfter, TimeSpan Reset) Acquire(string key, double intervalMicros, long cost, long size)
    {
        var bucket = _buckets.GetOrAdd(key, _ => new Bucket());
        var now = NowMicros();
        var tolerance = intervalMicros * size;
        lock (bucket)
        {
            var tat = Math.Max(bucket.Tat, now);
            var next = tat + (intervalMicros * cost);
            var allowAt = next - tolerance;
            if (allowAt > now)
            {
                return (false, (long)Math.Max(0, (tolerance - (tat - now)) / intervalMicros), TimeSpan.FromMicroseconds(allowAt - now), TimeSpan.FromMicroseconds(tat - now));
            }

            bucket.Tat = next;
            return (true, (long)Math.Max(0, (tolerance - (next - now)) / intervalMicros), TimeSpan.Zero, TimeSpan.FromMicroseconds(next - now));
        }
    }

    /// <summary>Gives <paramref name="cost"/> units back to the bucket <paramref name="key"/> (never more than it can hold); nothing when it has no bucket here.</summary>
    public void Refund(string key, double intervalMicros, long cost)
    {
        if (_buckets.TryGetValue(key, out var bucket))
        {
            lock (bucket)
            {
                bucket.Tat = Math.Max(NowMicros(), bucket.Tat - (intervalMicros * cost));
            }
        }
    }

    /// <summary>A request bucket of <paramref name="tenant"/>: a cost of 1 from <paramref name="bucket"/>.</summary>
    public RateDecision Acquire(string tenant, RateBucket bucket)
    {
        var (allowed, remaining, retryAfter, reset) = Acquire(RedisRateLimiter.KeyOf(tenant, bucket.Name), bucket.EmissionIntervalMicros, 1, bucket.Burst);
        return new RateDecision(allowed, bucket.Burst, allowed ? (int)remaining : 0, retryAfter, reset, Local: true);
    }

    private double NowMicros() => time.GetUtcNow().ToUnixTimeMilliseconds() * 1000.0;

    private sealed class Bucket
    {
        public double Tat { get; set; }
    }
}
