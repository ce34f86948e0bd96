using System.Globalization;
using InferenceGateway.Gateway.Auth;
using InferenceGateway.Gateway.Problems;
using Microsoft.Extensions.Options;
using Yarp.ReverseProxy.Model;

namespace InferenceGateway.Gateway.RateLimiting;

/// <summary>
/// Applies the tenant's plan to endpoints that carry <see cref="RateLimitMetadata"/> (or proxied
/// routes whose metadata names a bucket): one Redis round trip, RateLimit-* headers on every
/// answer, 429 with Retry-After when the bucket is empty. If Redis cannot be asked, the configured
/// <see cref="RedisDownPolicy"/> decides.
/// </summary>
public sealed class TenantRateLimitMiddleware(
    RequestDelegate next,
    RedisRateLimiter redisLimiter,
    LocalRateLimiter localLimiter,
    IOptionsMonitor<RateLimitOptions> options,
    TimeProvider time,
    ILogger<TenantRateLimitMiddleware> logger)
{
    private long _lastFallbackLogTicks;

    public async Task InvokeAsync(HttpContext context)
    {
        var bucketName = BucketOf(context.GetEndpoint());
        var tenant = context.User.FindFirst(GatewayClaims.Tenant)?.Value;
        if (bucketName is null || tenant is null)
        {
            await next(context);
            return;
        }

        var limits = options.CurrentValue.For(context.User.FindFirst(GatewayClaims.Plan)?.Value);
        var bucket = bucketName == RateLimitMetadata.HubConnects
            ? new RateBucket(bucketName, limits.HubConnectsPerSecond, limits.HubConnectBurst)
            : new RateBucket(bucketName, limits.RequestsPerSecond, limits.Burst);

        RateDecision? decision;
        try
        {
            decision = await redisLimiter.AcquireAsync(tenant, bucket);
        }
        catch (Exception ex) when (ProblemsExtensions.IsDependencyFailure(ex))
        {
            LogFallback(ex);
            var policy = options.CurrentValue.WhenRedisDown;
            if (policy == RedisDownPolicy.Deny)
            {
                throw; // a 503 with Retry-After, from the exception handler
            }

            decision = policy == RedisDownPolicy.Local ? localLimiter.Acquire(tenant, bucket) : null;
        }

        if (decision is null)
        {
            await next(context);
            return;
        }

        var headers = context.Response.Headers;
        headers["RateLimit-Limit"] = decision.Limit.ToString(CultureInfo.InvariantCulture);
        headers["RateLimit-Remaining"] = decision.Remaining.ToString(CultureInfo.InvariantCulture);
        headers["RateLimit-Reset"] = Seconds(decision.Reset);
        if (!decision.Allowed)
        {
            headers.RetryAfter = Seconds(decision.RetryAfter);
            await Problem.Write(context, StatusCodes.Status429TooManyRequests, "Too Many Requests", $"The '{bucket.Name}' limit of this tenant's plan is used up; retry after {Seconds(decision.RetryAfter)} s.");
            return;
        }

        await next(context);
    }

    private static string? BucketOf(Endpoint? endpoint) =>
        endpoint?.Metadata.GetMetadata<RateLimitMetadata>()?.Bucket
        ?? (endpoint?.Metadata.GetMetadata<RouteModel>()?.Config.Metadata is { } metadata
            && metadata.TryGetValue(RateLimitMetadata.RouteMetadataKey, out var bucket) && bucket.Length > 0
                ? bucket
                : null);

    private static string Seconds(TimeSpan span) =>
        Math.Max(0, (long)Math.Ceiling(span.TotalSeconds)).ToString(CultureInfo.InvariantCulture);

    private void LogFallback(Exception exception)
    {
        var now = time.GetTimestamp();
        var last = Interlocked.Read(ref _lastFallbackLogTicks);
        if (last == 0 || time.GetElapsedTime(last, now) > TimeSpan.FromSeconds(10))
        {
            Interlocked.Exchange(ref _lastFallbackLogTicks, now);
            Log.RateLimitFallback(logger, exception, options.CurrentValue.WhenRedisDown.ToString());
        }
    }
}
