using StackExchange.Redis;

namespace InferenceGateway.Gateway.RateLimiting;

/// <summary>
/// The one GCRA (the generic cell rate algorithm, a token bucket kept as one timestamp) script on
/// Redis, atomic and on Redis' own clock, so every gateway instance draws from the same bucket.
/// Requests (<see cref="RedisRateLimiter"/>) ask a cost of 1, tokens (<see cref="TokenRateLimiter"/>) their count.
/// </summary>
internal static class GcraScript
{
    /// <summary>
    /// The algorithm, as Lua functions for the scripts that use it (this one and
    /// <see cref="TenantAdmission"/>'s): <c>gcra(key, interval, cost, size, now)</c> decides a charge
    /// of <c>cost</c> units (interval: micro-seconds per unit, may be fractional; size: the bucket in
    /// units; now: µs) and returns allowed (1/0), remaining units, retry-after µs, reset µs and the
    /// bucket's next timestamp; <c>gcra_take(key, next_tat, now)</c> records an allowed charge.
    /// </summary>
    internal const string Functions = """
        local function gcra(key, interval, cost, size, now)
          local c = math.ceil(interval * cost)
          local tolerance = math.ceil(interval * size)
          local tat = tonumber(redis.call('GET', key) or now)
          if tat < now then tat = now end
          local next_tat = tat + c
          local allow_at = next_tat - tolerance
          if allow_at > now then
            return 0, math.floor((tolerance - (tat - now)) / interval), allow_at - now, tat - now, next_tat
          end
          return 1, math.floor((tolerance - (next_tat - now)) / interval), 0, next_tat - now, next_tat
        end
        local function gcra_take(key, next_tat, now)
          redis.call('SET', key, next_tat, 'PX', math.ceil((next_tat - now) / 1000) + 1)
        end

        """;

    // ARGV: micro-seconds per unit (may be fractional), units asked (the cost), bucket size in units.
    // Returns {allowed, remaining units, retry-after µs, reset µs}.
    private const string Script = Functions + """
        local t = redis.call('TIME')
        local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
        local allowed, remaining, retry_after, reset, next_tat = gcra(KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), now)
        if allowed == 1 then gcra_take(KEYS[1], next_tat, now) end
        return {allowed, remaining, retry_after, reset}
        """;

    /// <summary>Charges <paramref name="cost"/> units to the bucket at <paramref name="key"/>.</summary>
    public static async Task<(bool Allowed, long Remaining, TimeSpan RetryAfter, TimeSpan Reset)> AcquireAsync(
        IDatabase db, string key, double intervalMicros, long cost, long size)
    {
        var result = (RedisResult[])(await db.ScriptEvaluateAsync(Script, [key], [intervalMicros, cost, size]))!;
        return ((long)result[0] == 1, (long)result[1], TimeSpan.FromMicroseconds((long)result[2]), TimeSpan.FromMicroseconds((long)result[3]));
    }
}
