using InferenceGateway.Gateway.Auth;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace InferenceGateway.Tests.Auth;

/// <summary>
/// Holds the clock of a gateway's API-key cache: a key it has verified never goes stale by age, so
/// only the revocation's pub/sub eviction can make that gateway refuse it. A revocation test on such
/// a gateway fails when the eviction is broken, instead of passing once the 1 s cache expires.
/// </summary>
internal static class KeyCacheClock
{
    /// <summary>Registers, on the gateway being built, a key verifier whose clock stands still at the current time.</summary>
    public static FakeTimeProvider Hold(WebApplicationBuilder builder)
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        builder.Services.AddSingleton(services => ActivatorUtilities.CreateInstance<ApiKeyVerifier>(services, (TimeProvider)clock));
        return clock;
    }
}
