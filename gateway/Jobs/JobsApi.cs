using System.Security.Claims;
using System.Text.Json;
using System.Text.RegularExpressions;
using InferenceGateway.Core.Jobs;
using InferenceGateway.Gateway.Auth;
using InferenceGateway.Gateway.Hubs;
using InferenceGateway.Gateway.Limits;
using InferenceGateway.Gateway.RateLimiting;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;

namespace InferenceGateway.Gateway.Jobs;

public static partial class JobsApi
{
    public static IEndpointRouteBuilder MapJobsApi(this IEndpointRouteBuilder app)
    {
        var jobs = app.MapGroup("/v1/jobs").RequireTenantRateLimit();
        jobs.MapPost("/", SubmitAsync)
            .RequireAuthorization(Scopes.JobsWrite)
            .WithBodyLimit(limits => limits.MaxJobBodyBytes);
        jobs.MapGet("/{id}", GetAsync).RequireAuthorization(Scopes.JobsRead);
        jobs.MapGet("/{id}/events", JobEventsSse.StreamAsync).RequireAuthorization(Scopes.JobsRead);

        app.MapGet("/v1/models", ListModels).RequireAuthorization(Scopes.JobsRead).RequireTenantRateLimit();
        return app;
    }

    /// <summary>True for ids this gateway issues; anything else is answered 404 without a lookup.</summary>
    public static bool IsJobId(string id) => JobIdPattern().IsMatch(id);

    public static string TenantOf(ClaimsPrincipal user) =>
        user.FindFirst(GatewayClaims.Tenant)?.Value ?? throw new InvalidOperationException("Authenticated caller without a tenant.");

    private static async Task<Results<Accepted<JobAccepted>, ValidationProblem, ProblemHttpResult>> SubmitAsync(
        HttpContext http,
        JsonBodyReader json,
        JobSubmitter submitter,
        IOptions<ModelCatalogOptions> catalog,
        IOptionsMonitor<RateLimitOptions> rateLimits,
        CancellationToken cancellationToken)
    {
        var body = await json.ReadAsync<SubmitJobRequest>(http.Request, cancellationToken);
        if (body.Problem is { } refused)
        {
            return refused;
        }

        var request = body.Value;
        var errors = request is null
            ? new Dictionary<string, string[]>(StringComparer.Ordinal) { ["body"] = ["The body must be a JSON object."] }
            : JobRequests.Validate(request.Model, request.Input, catalog.Value);
        if (errors.Count > 0)
        {
            return TypedResults.ValidationProblem(errors, title: "The job is not valid.");
        }

        return await JobRequests.SubmitAsync(http, submitter, rateLimits.CurrentValue, request!.Model!, request.Input!, cancellationToken);
    }

    private static async Task<Results<Ok<JobView>, ProblemHttpResult>> GetAsync(string id, HttpContext http, RedisJobStore store)
    {
        var job = IsJobId(id) ? await store.GetAsync(id) : null;
        if (job is null || job.Tenant != TenantOf(http.User))
        {
            return NotFound(id);
        }

        JsonElement? result = job.ResultJson is null ? null : JsonDocument.Parse(job.ResultJson).RootElement.Clone();
        return TypedResults.Ok(new JobView(job.Id, job.Status, job.Model, job.CreatedAt, job.StartedAt, job.CompletedAt, result, job.Error, job.Metrics));
    }

    private static Ok<ModelList> ListModels(IOptions<ModelCatalogOptions> catalog) =>
        TypedResults.Ok(new ModelList([.. catalog.Value.Served.Select(m => new ModelView(m.Key, m.Value.Kind, m.Value.Dimensions, m.Value.MaxTexts, m.Value.MaxTextLength))]));

    /// <summary>The one answer for a job that does not exist or belongs to another tenant.</summary>
    public static ProblemHttpResult NotFound(string id) =>
        TypedResults.Problem(statusCode: StatusCodes.Status404NotFound, title: "Not Found", detail: $"There is no job '{Truncate(id)}'.");

    public static string Truncate(string value) => value.Length <= 64 ? value : value[..64] + "…";

    [GeneratedRegex("^job_[0-9a-f]{32}$")]
    private static partial Regex JobIdPattern();
}
