using StackExchange.Redis;

namespace InferenceGateway.Gateway.RateLimiting;

/// <summary>
/// GCRA (the generic cell rate algorithm, a token bucket kept as one timestamp) in one atomic Lua
/// script per request, on Redis' own clock, so every gateway instance draws from the same bucket.
/// </summary>
public sealed class RedisRateLimiter(IConnectionMultiplexer redis)
{
    private const string Script = """
        local t = redis.call('TIME')
        local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
        local interval = tonumber(ARGV[1])
        local burst = tonumber(ARGV[2])
        local tolerance = interval * burst
        local tat = tonumber(redis.call('GET', KEYS[1]) or now)
        if tat < now then tat = now end
        local next_tat = tat + interval
        local allow_at = next_tat - tolerance
        if allow_at > now then
          return {0, 0, allow_at - now, tat - now}
        end
        redis.call('SET', KEYS[1], next_tat, 'PX', math.ceil((next_tat - now) / 1000) + 1)
        return {1, math.floor((tolerance - (next_tat - now)) / interval), 0, next_tat - now}
        """;

    /// <summary>The key of a tenant's bucket (the tenant's hash tag, so it shares a cluster slot with its other limits).</summary>
    public static string KeyOf(string tenant, string bucketName) => $"rl:{{{tenant}}}:{bucketName}";

    public async Task<RateDecision> AcquireAsync(string tenant, RateBucket bucket)
    {
        var result = (RedisResult[])(await redis.GetDatabase().ScriptEvaluateAsync(
            Script,
            [KeyOf(tenant, bucket.Name)],
            [bucket.EmissionIntervalMicros, bucket.Burst]))!;
        return new RateDecision(
            Allowed: (long)result[0] == 1,
            Limit: bucket.Burst,
            Remaining: (int)Math.Max(0, (long)result[1]),
            RetryAfter: TimeSpan.FromMicroseconds((long)result[2]),
            Reset: TimeSpan.FromMicroseconds((long)result[3]));
    }
}
