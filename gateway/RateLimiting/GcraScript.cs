using StackExchange.Redis;

namespace InferenceGateway.Gateway.RateLimiting;

/// <summary>
/// The one GCRA (the generic cell rate algorithm, a token bucket kept as one timestamp) script on
/// Redis, atomic and on Redis' own clock, so every gateway instance draws from the same bucket.
/// Requests (<see cref="RedisRateLimiter"/>) ask a cost of 1, tokens (<see cref="TokenRateLimiter"/>) their count.
/// </summary>
internal static class GcraScript
{
    // ARGV: micro-seconds per unit (may be fractional), units asked (the cost), bucket size in units.
    // Returns {allowed, remaining units, retry-after µs, reset µs}.
    private const string Script = """
        local t = redis.call('TIME')
        local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
        local interval = tonumber(ARGV[1])
        local cost = math.ceil(interval * tonumber(ARGV[2]))
        local tolerance = math.ceil(interval * tonumber(ARGV[3]))
        local tat = tonumber(redis.call('GET', KEYS[1]) or now)
        if tat < now then tat = now end
        local next_tat = tat + cost
        local allow_at = next_tat - tolerance
        if allow_at > now then
          return {0, math.floor((tolerance - (tat - now)) / interval), allow_at - now, tat - now}
        end
        redis.call('SET', KEYS[1], next_tat, 'PX', math.ceil((next_tat - now) / 1000) + 1)
        return {1, math.floor((tolerance - (next_tat - now)) / interval), 0, next_tat - now}
        """;

    /// <summary>Charges <paramref name="cost"/> units to the bucket at <paramref name="key"/>.</summary>
    public static async Task<(bool Allowed, long Remaining, TimeSpan RetryAfter, TimeSpan Reset)> AcquireAsync(
        IDatabase db, string key, double intervalMicros, long cost, long size)
    {
        var result = (RedisResult[])(await db.ScriptEvaluateAsync(Script, [key], [intervalMicros, cost, size]))!;
        return ((long)result[0] == 1, (long)result[1], TimeSpan.FromMicroseconds((long)result[2]), TimeSpan.FromMicroseconds((long)result[3]));
    }
}
