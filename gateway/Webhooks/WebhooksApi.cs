using InferenceGateway.Core.Jobs;
using InferenceGateway.Gateway.Auth;
using InferenceGateway.Gateway.Jobs;
using InferenceGateway.Gateway.RateLimiting;
using Microsoft.AspNetCore.Http.HttpResults;

namespace InferenceGateway.Gateway.Webhooks;

/// <summary>
/// <c>GET</c>/<c>POST /v1/webhooks/secret</c> (scope <c>webhooks</c>): read the tenant's signing
/// secret (made on first read) or rotate it. <c>GET /v1/jobs/{id}/webhooks</c> (<c>jobs:read</c>):
/// a job's webhook and its delivery log, for the owning tenant only.
/// </summary>
public static class WebhooksApi
{
    public static IEndpointRouteBuilder MapWebhooksApi(this IEndpointRouteBuilder app)
    {
        var secret = app.MapGroup("/v1/webhooks/secret").RequireAuthorization(Scopes.Webhooks).RequireTenantRateLimit();
        secret.MapGet("/", GetSecretAsync);
        secret.MapPost("/", RotateSecretAsync);
        app.MapGet("/v1/jobs/{id}/webhooks", GetDeliveriesAsync).RequireAuthorization(Scopes.JobsRead).RequireTenantRateLimit();
        return app;
    }

    private static async Task<Ok<WebhookSecretView>> GetSecretAsync(HttpContext http, WebhookSecrets secrets, TimeProvider time) =>
        TypedResults.Ok(View(await secrets.GetAsync(http.User.Tenant()), time));

    private static async Task<Ok<WebhookSecretView>> RotateSecretAsync(HttpContext http, WebhookSecrets secrets, TimeProvider time) =>
        TypedResults.Ok(View(await secrets.RotateAsync(http.User.Tenant()), time));

    private static async Task<Results<Ok<WebhookDeliveriesView>, ProblemHttpResult>> GetDeliveriesAsync(
        string id, HttpContext http, RedisJobStore store, WebhookDeliveryLog log)
    {
        var job = JobsApi.IsJobId(id) ? await store.GetAsync(id) : null;
        if (job is null || job.Tenant != http.User.Tenant())
        {
            return JobsApi.NotFound(id);
        }

        var deliveries = job.WebhookUrl is null ? [] : await log.ReadAsync(id);
        return TypedResults.Ok(new WebhookDeliveriesView(id, job.WebhookUrl, job.WebhookEvents ?? [], deliveries));
    }

    private static WebhookSecretView View(WebhookSecretState state, TimeProvider time) =>
        new(state.Current, state.CreatedAt, state.PreviousValidUntil > time.GetUtcNow() ? state.PreviousValidUntil : null);
}
