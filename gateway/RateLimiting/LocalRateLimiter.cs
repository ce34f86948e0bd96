using System.Collections.Concurrent;

namespace InferenceGateway.Gateway.RateLimiting;

/// <summary>
/// The same GCRA as <see cref="RedisRateLimiter"/>, per instance, for when Redis cannot be asked:
/// each gateway then enforces the full plan on its own (a cluster of N admits up to N times it).
/// </summary>
public sealed class LocalRateLimiter(TimeProvider time)
{
    private readonly ConcurrentDictionary<string, StrongBox> _buckets = new(StringComparer.Ordinal);

    public RateDecision Acquire(string tenant, RateBucket bucket)
    {
        var state = _buckets.GetOrAdd($"{tenant}\n{bucket.Name}", _ => new StrongBox());
        var now = time.GetUtcNow().ToUnixTimeMilliseconds() * 1000;
        var interval = bucket.EmissionIntervalMicros;
        var tolerance = interval * bucket.Burst;
        lock (state)
        {
            var tat = Math.Max(state.Tat, now);
            var next = tat + interval;
            var allowAt = next - tolerance;
            if (allowAt > now)
            {
                return new RateDecision(false, bucket.Burst, 0, TimeSpan.FromMicroseconds(allowAt - now), TimeSpan.FromMicroseconds(tat - now), Local: true);
            }

            state.Tat = next;
            return new RateDecision(true, bucket.Burst, (int)((tolerance - (next - now)) / interval), TimeSpan.Zero, TimeSpan.FromMicroseconds(next - now), Local: true);
        }
    }

    private sealed class StrongBox
    {
        public long Tat { get; set; }
    }
}
