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
        var errors = Validate(request, catalog.Value);
        if (errors.Count > 0)
        {
            return TypedResults.ValidationProblem(errors, title: "The job is not valid.");
        }

        var idempotencyKey = http.Request.Headers["Idempotency-Key"].ToString();
        if (idempotencyKey.Length > 0 && !IdempotencyKeyPattern().IsMatch(idempotencyKey))
        {
            return TypedResults.Problem(
                statusCode: StatusCodes.Status400BadRequest,
                title: "Bad Request",
                detail: "Idempotency-Key must be 1-255 visible ASCII characters.");
        }

        var limits = rateLimits.CurrentValue.For(http.User.FindFirst(GatewayClaims.Plan)?.Value);
        var outcome = await submitter.SubmitAsync(
            new JobSubmission(TenantOf(http.User), request!.Model!, request.Input!, idempotencyKey.Length > 0 ? idempotencyKey : null, limits.MaxActiveJobs),
            cancellationToken);
        if (outcome.IsOverCap)
        {
            http.Response.Headers.RetryAfter = "1";
            return TypedResults.Problem(
                statusCode: StatusCodes.Status429TooManyRequests,
                title: "Too Many Requests",
                detail: $"This tenant already has {limits.MaxActiveJobs} jobs queued or running, its plan's cap; retry when one ends.");
        }

        if (outcome.Conflict is { } conflict)
        {
            return TypedResults.Problem(statusCode: StatusCodes.Status422UnprocessableEntity, title: "Idempotency-Key Conflict", detail: conflict);
        }

        var job = outcome.Job!;
        if (outcome.Replayed)
        {
            http.Response.Headers["Idempotent-Replayed"] = "true";
        }

        var links = new JobLinks($"/v1/jobs/{job.Id}", $"/v1/jobs/{job.Id}/events", "/hubs/jobs");
        return TypedResults.Accepted(links.Self, new JobAccepted(job.Id, job.Status, job.CreatedAt, links));
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

    private static Dictionary<string, string[]> Validate(SubmitJobRequest? request, ModelCatalogOptions catalog)
    {
        var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
        if (request is null)
        {
            errors["body"] = ["The body must be a JSON object."];
            return errors;
        }

        ModelLimits? limits = null;
        if (string.IsNullOrWhiteSpace(request.Model))
        {
            errors["model"] = ["'model' is required."];
        }
        else if (!catalog.Served.TryGetValue(request.Model, out limits))
        {
            errors["model"] = [$"Unknown model '{Truncate(request.Model)}'. Served: {string.Join(", ", catalog.Served.Keys)}."];
        }

        var texts = request.Input?.Texts;
        if (texts is null || texts.Count == 0)
        {
            errors["input.texts"] = ["'input.texts' must be a non-empty array of strings."];
        }
        else if (limits is not null)
        {
            var problems = new List<string>();
            if (texts.Count > limits.MaxTexts)
            {
                problems.Add($"At most {limits.MaxTexts} texts per job; got {texts.Count}.");
            }

            for (var i = 0; i < texts.Count && problems.Count < 5; i++)
            {
                if (string.IsNullOrWhiteSpace(texts[i]))
                {
                    problems.Add($"Text {i} is empty.");
                }
                else if (texts[i].Length > limits.MaxTextLength)
                {
                    problems.Add($"Text {i} has {texts[i].Length} characters; the limit is {limits.MaxTextLength}.");
                }
                else if (texts[i].Contains('\0', StringComparison.Ordinal))
                {
                    problems.Add($"Text {i} contains a NUL character.");
                }
            }

            if (problems.Count > 0)
            {
                errors["input.texts"] = [.. problems];
            }
        }

        return errors;
    }

    public static string Truncate(string value) => value.Length <= 64 ? value : value[..64] + "…";

    [GeneratedRegex("^[\\x21-\\x7E]{1,255}$")]
    private static partial Regex IdempotencyKeyPattern();

    [GeneratedRegex("^job_[0-9a-f]{32}$")]
    private static partial Regex JobIdPattern();
}
