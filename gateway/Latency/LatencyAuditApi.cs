using InferenceGateway.Gateway.Auth;
using InferenceGateway.Gateway.Problems;
using InferenceGateway.Gateway.RateLimiting;
using Microsoft.AspNetCore.Http.HttpResults;

namespace InferenceGateway.Gateway.Latency;

/// <summary><c>GET /admin/latency-audit[?minutes=N]</c> (admin scope): the fleet's latency per route and model, placed against budgets.</summary>
public static class LatencyAuditApi
{
    public static IEndpointRouteBuilder MapLatencyAuditApi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/admin/latency-audit", GetAsync)
            .RequireAuthorization(Scopes.Admin)
            .RequireTenantRateLimit();
        return app;
    }

    private static async Task<Results<Ok<LatencyAuditReport>, ValidationProblem, ProblemHttpResult>> GetAsync(
        int? minutes, LatencyAuditor auditor, HttpContext http, CancellationToken cancellationToken)
    {
        if (minutes is { } asked && (asked < 1 || asked > auditor.MaxMinutes))
        {
            return TypedResults.ValidationProblem(
                new Dictionary<string, string[]> { ["minutes"] = [$"'minutes' must be between 1 and {auditor.MaxMinutes} (the histograms' retention)."] },
                title: "The audit window is not valid.");
        }

        try
        {
            return TypedResults.Ok(await auditor.ReportAsync(minutes, cancellationToken));
        }
        catch (Exception ex) when (ProblemsExtensions.IsDependencyFailure(ex))
        {
            // Requests go on being served and recorded in memory; the histograms flush when Redis is back.
            http.Response.Headers.RetryAfter = "2";
            return TypedResults.Problem(
                statusCode: StatusCodes.Status503ServiceUnavailable,
                title: "Latency Data Unavailable",
                detail: "The latency histograms live in Redis, which is unreachable; requests are still served and their latency kept in memory until it returns.");
        }
    }
}
