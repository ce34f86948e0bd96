using System.Security.Claims;
using InferenceGateway.Gateway.Auth;
using InferenceGateway.Gateway.Problems;
using Microsoft.Extensions.Options;

namespace InferenceGateway.Gateway.RateLimiting;

/// <summary>
/// A caller's plan applied to one bucket: one Redis round trip; when Redis cannot be asked, the
/// configured <see cref="RedisDownPolicy"/> (local limits, allow, or the Redis exception for a 503).
/// </summary>
public sealed class TenantRateLimiter(
    RedisRateLimiter redisLimiter,
    LocalRateLimiter localLimiter,
    IOptionsMonitor<RateLimitOptions> options,
    TimeProvider time,
    ILogger<TenantRateLimiter> logger)
{
    private readonly FallbackLog _fallbackLog = new(time, logger);

    /// <summary>The decision, or null when the caller has no tenant or the policy lets everything through.</summary>
    public async Task<RateDecision?> AcquireAsync(ClaimsPrincipal user, string bucketName)
    {
        if (user.TenantOrNull() is not { } tenant)
        {
            return null;
        }

        var bucket = BucketOf(user.FindFirst(GatewayClaims.Plan)?.Value, bucketName);
        try
        {
            return await redisLimiter.AcquireAsync(tenant, bucket);
        }
        catch (Exception ex) when (ProblemsExtensions.IsDependencyFailure(ex))
        {
            return Fallback(tenant, bucket, ex);
        }
    }

    /// <summary>The named bucket of a plan (null: the default plan).</summary>
    public RateBucket BucketOf(string? plan, string bucketName)
    {
        var limits = options.CurrentValue.For(plan);
        return bucketName == RateLimitMetadata.HubConnects
            ? new RateBucket(bucketName, limits.HubConnectsPerSecond, limits.HubConnectBurst)
            : new RateBucket(bucketName, limits.RequestsPerSecond, limits.Burst);
    }

    /// <summary>
    /// The decision when Redis could not be asked (<paramref name="failure"/>), by the
    /// <see cref="RedisDownPolicy"/>: this instance's own bucket, null (allow), or
    /// <paramref name="failure"/> rethrown (deny: a 503 with Retry-After, from the exception handler).
    /// </summary>
    public RateDecision? Fallback(string tenant, RateBucket bucket, Exception failure)
    {
        var policy = options.CurrentValue.WhenRedisDown;
        _fallbackLog.Write(failure, policy);
        if (policy == RedisDownPolicy.Deny)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(failure);
        }

        return policy == RedisDownPolicy.Local ? localLimiter.Acquire(tenant, bucket) : null;
    }
}
