using InferenceGateway.Gateway.Auth;
using Microsoft.AspNetCore.SignalR;

namespace InferenceGateway.Gateway.RateLimiting;

/// <summary>
/// Every hub method call re-checks the caller's API key (cached for at most 1 s, so a revoked or
/// expired key stops working on an open connection too, and the connection is closed) and draws
/// from the tenant's request bucket; the handshake has its own (see <see cref="RateLimitMetadata.HubConnects"/>).
/// </summary>
public sealed class HubRateLimitFilter(TenantRateLimiter limiter, ApiKeyVerifier keys) : IHubFilter
{
    public async ValueTask<object?> InvokeMethodAsync(HubInvocationContext invocationContext, Func<HubInvocationContext, ValueTask<object?>> next)
    {
        if (invocationContext.Context.User?.FindFirst(GatewayClaims.KeyHash)?.Value is { } keyHash)
        {
            KeyVerdict verdict;
            try
            {
                verdict = await keys.VerifyHashAsync(keyHash);
            }
            catch (KeyStoreUnavailableException)
            {
                throw new HubException("API keys cannot be checked right now (Redis is unreachable); retry shortly.");
            }

            if (verdict.Key is null)
            {
                invocationContext.Context.Abort();
                throw new HubException(verdict.Failure ?? "The API key is not valid.");
            }
        }

        if (invocationContext.Context.User is { } user
            && await limiter.AcquireAsync(user, RateLimitMetadata.Requests) is { Allowed: false } decision)
        {
            throw new HubException($"Too many requests for this tenant's plan; retry after {TenantRateLimitMiddleware.Seconds(decision.RetryAfter)} s.");
        }

        return await next(invocationContext);
    }
}
