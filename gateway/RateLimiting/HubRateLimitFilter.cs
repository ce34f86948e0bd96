using Microsoft.AspNetCore.SignalR;

namespace InferenceGateway.Gateway.RateLimiting;

/// <summary>Hub method calls draw from the tenant's request bucket; the handshake has its own (see <see cref="RateLimitMetadata.HubConnects"/>).</summary>
public sealed class HubRateLimitFilter(TenantRateLimiter limiter) : IHubFilter
{
    public async ValueTask<object?> InvokeMethodAsync(HubInvocationContext invocationContext, Func<HubInvocationContext, ValueTask<object?>> next)
    {
        if (invocationContext.Context.User is { } user
            && await limiter.AcquireAsync(user, RateLimitMetadata.Requests) is { Allowed: false } decision)
        {
            throw new HubException($"Too many requests for this tenant's plan; retry after {TenantRateLimitMiddleware.Seconds(decision.RetryAfter)} s.");
        }

        return await next(invocationContext);
    }
}
