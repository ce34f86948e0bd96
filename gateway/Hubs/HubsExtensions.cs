using InferenceGateway.Gateway.Auth;
using InferenceGateway.Gateway.RateLimiting;

namespace InferenceGateway.Gateway.Hubs;

public static class HubsExtensions
{
    /// <summary>A job's events as Server-Sent Events (<c>GET /v1/jobs/{id}/events</c>) and over SignalR (<see cref="JobsHub.Path"/>).</summary>
    public static IEndpointRouteBuilder MapJobEventStreams(this IEndpointRouteBuilder app)
    {
        app.MapGet("/v1/jobs/{id}/events", JobEventsSse.StreamAsync).RequireTenantRateLimit().RequireAuthorization(Scopes.JobsRead);
        app.MapHub<JobsHub>(JobsHub.Path, JobsHub.ConfigureConnection).RequireTenantRateLimit(RateLimitMetadata.HubConnects);
        return app;
    }
}
