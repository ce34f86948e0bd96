using InferenceGateway.Gateway.Auth;
using InferenceGateway.Gateway.Hubs;
using InferenceGateway.Gateway.RateLimiting;

namespace InferenceGateway.Gateway.Admin;

/// <summary><c>GET /admin/delivery</c> (admin scope): what this instance holds open for push delivery.</summary>
public static class DeliveryAdminApi
{
    public static IEndpointRouteBuilder MapDeliveryAdminApi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/admin/delivery", (DeliveryStats stats) => TypedResults.Ok(new DeliveryReport(stats.Streams, stats.SseStreams, stats.HubConnections, stats.EventsDelivered)))
            .RequireAuthorization(Scopes.Admin)
            .RequireTenantRateLimit();
        return app;
    }
}

/// <summary>Streams being relayed (hub and SSE), of which SSE, open hub connections, events handed over since start.</summary>
public sealed record DeliveryReport(long Streams, long SseStreams, long HubConnections, long EventsDelivered);
