using StackExchange.Redis;

namespace InferenceGateway.Gateway.RateLimiting;

/// <summary>
/// Requests per tenant: the shared GCRA script (<see cref="GcraScript"/>) with a cost of 1 per request,
/// so every gateway instance draws from the same bucket.
/// </summary>
public sealed class RedisRateLimiter(IConnectionMultiplexer redis)
{
    /// <summary>The key of a tenant's bucket (the tenant's hash tag, so it shares a cluster slot with its other limits).</summary>
    public static string KeyOf(string tenant, string bucketName) => $"rl:{{{tenant}}}:{bucketName}";

    public async Task<RateDecision> AcquireAsync(string tenant, RateBucket bucket)
    {
        var (allowed, remaining, retryAfter, reset) = await GcraScript.AcquireAsync(
            redis.GetDatabase(), KeyOf(tenant, bucket.Name), bucket.EmissionIntervalMicros, 1, bucket.Burst);
        return new RateDecision(
            Allowed: allowed,
            Limit: bucket.Burst,
            Remaining: allowed ? (int)Math.Max(0, remaining) : 0,
            RetryAfter: retryAfter,
            Reset: reset);
    }
}
