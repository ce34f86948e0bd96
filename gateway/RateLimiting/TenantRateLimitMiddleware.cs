using System.Globalization;
using InferenceGateway.Gateway.Problems;
using Yarp.ReverseProxy.Model;

namespace InferenceGateway.Gateway.RateLimiting;

/// <summary>
/// Applies the tenant's plan to endpoints that carry <see cref="RateLimitMetadata"/> (or proxied
/// routes whose metadata names a bucket): RateLimit-* headers on every answer, 429 problem+json
/// with Retry-After when the bucket is empty.
/// </summary>
public sealed class TenantRateLimitMiddleware(RequestDelegate next, TenantRateLimiter limiter)
{
    public async Task InvokeAsync(HttpContext context)
    {
        var endpoint = context.GetEndpoint();
        if (BucketOf(endpoint) is not { } bucket
            || endpoint!.Metadata.GetMetadata<RequestLimitTakenByEndpoint>() is not null
            || (bucket == RateLimitMetadata.HubConnects && !IsHandshake(context.Request))
            || await limiter.AcquireAsync(context.User, bucket) is not { } decision)
        {
            await next(context);
            return;
        }

        WriteHeaders(context.Response, decision);
        if (!decision.Allowed)
        {
            await Problem.Write(context, StatusCodes.Status429TooManyRequests, "Too Many Requests", RefusalDetail(bucket, decision));
            return;
        }

        await next(context);
    }

    /// <summary>The RateLimit-* headers of a decision, and Retry-After when it refuses.</summary>
    public static void WriteHeaders(HttpResponse response, RateDecision decision)
    {
        var headers = response.Headers;
        headers["RateLimit-Limit"] = decision.Limit.ToString(CultureInfo.InvariantCulture);
        headers["RateLimit-Remaining"] = decision.Remaining.ToString(CultureInfo.InvariantCulture);
        headers["RateLimit-Reset"] = Seconds(decision.Reset);
        if (!decision.Allowed)
        {
            headers.RetryAfter = Seconds(decision.RetryAfter);
        }
    }

    /// <summary>The detail of the 429 for a refused request.</summary>
    public static string RefusalDetail(string bucket, RateDecision decision) =>
        $"The '{bucket}' limit of this tenant's plan is used up; retry after {Seconds(decision.RetryAfter)} s.";

    public static string Seconds(TimeSpan span) =>
        Math.Max(0, (long)Math.Ceiling(span.TotalSeconds)).ToString(CultureInfo.InvariantCulture);

    /// <summary>
    /// A SignalR handshake: the negotiate call, or a connection start without a negotiated id
    /// (WebSockets with skipNegotiation). Long-polling and SSE polls carry the id of a connection
    /// already paid for, and are not charged again.
    /// </summary>
    private static bool IsHandshake(HttpRequest request) =>
        request.Path.Value?.EndsWith("/negotiate", StringComparison.Ordinal) == true || !request.Query.ContainsKey("id");

    /// <summary>
    /// The endpoint's bucket: its <see cref="RateLimitMetadata"/>; for a proxied route, its
    /// <c>RateLimit</c> metadata, the request bucket when it names none, and no limit for <c>none</c>.
    /// </summary>
    private static string? BucketOf(Endpoint? endpoint)
    {
        if (endpoint?.Metadata.GetMetadata<RateLimitMetadata>() is { } limited)
        {
            return limited.Bucket;
        }

        if (endpoint?.Metadata.GetMetadata<RouteModel>() is not { } route)
        {
            return null;
        }

        var bucket = route.Config.Metadata?.GetValueOrDefault(RateLimitMetadata.RouteMetadataKey);
        return string.IsNullOrEmpty(bucket) ? RateLimitMetadata.Requests
            : string.Equals(bucket, RateLimitMetadata.None, StringComparison.OrdinalIgnoreCase) ? null
            : bucket;
    }
}
