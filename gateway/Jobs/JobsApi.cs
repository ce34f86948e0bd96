using System.Text.RegularExpressions;
using InferenceGateway.Core.Jobs;
using InferenceGateway.Gateway.Auth;
using InferenceGateway.Gateway.Limits;
using InferenceGateway.Gateway.Problems;
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
            .RequireTenantRateLimitTakenByEndpoint()
            .RequireAuthorization(Scopes.JobsWrite)
            .WithBodyLimit(limits => limits.MaxJobBodyBytes);
        jobs.MapGet("/{id}", GetAsync).RequireAuthorization(Scopes.JobsRead);
        jobs.MapDelete("/{id}", CancelAsync).RequireAuthorization(Scopes.JobsWrite);

        app.MapGet("/v1/models", ListModelsAsync).RequireAuthorization(Scopes.JobsRead).RequireTenantRateLimit();
        return app;
    }

    /// <summary>True for ids this gateway issues; anything else is answered 404 without a lookup.</summary>
    public static bool IsJobId(string id) => JobIdPattern().IsMatch(id);

    private static async Task<Results<Accepted<JobAccepted>, ValidationProblem, ProblemHttpResult>> SubmitAsync(
        HttpContext http,
        [AsParameters] SubmitServices services,
        CancellationToken cancellationToken)
    {
        var (json, catalog, validator, webhooks, intake, policyOptions, storeOptions) = services;
        var body = await json.ReadAsync<SubmitJobRequest>(http.Request, cancellationToken);
        if (body.Problem is { } refused)
        {
            return refused;
        }

        var request = body.Value;
        Dictionary<string, string[]> errors;
        IReadOnlyDictionary<string, CatalogModel>? served = null;
        JobWebhook? webhook = null;
        if (request is null)
        {
            errors = new Dictionary<string, string[]>(StringComparer.Ordinal) { ["body"] = ["The body must be a JSON object."] };
        }
        else
        {
            served = await catalog.GetAsync();
            errors = validator.Validate(request.Model, request.Input, served);
            foreach (var (field, problems) in request.Policy?.Validate(policyOptions.Value, storeOptions.Value.Retention) ?? [])
            {
                errors[field] = problems;
            }

            if (request.Webhook is { } hook)
            {
                (webhook, var webhookErrors) = await webhooks.ValidateAsync(hook, cancellationToken);
                foreach (var (field, problems) in webhookErrors)
                {
                    errors[field] = problems;
                }
            }
        }

        if (errors.Count > 0)
        {
            return TypedResults.ValidationProblem(errors, title: "The job is not valid.");
        }

        var submitted = await intake.SubmitChargedAsync(http, new NewJob(request!.Model!, request.Input!, request.Policy, webhook), served!.GetValueOrDefault(request.Model!), estimateQueue: true, cancellationToken);
        return submitted.ToResult();
    }

    /// <summary>What <c>POST /v1/jobs</c> uses: the body reader, the catalog and the checks, and the submission.</summary>
    internal readonly record struct SubmitServices(
        JsonBodyReader Json,
        ModelCatalog Catalog,
        JobValidator Validator,
        IWebhookRequestValidator Webhooks,
        JobIntake Intake,
        IOptions<JobPolicyOptions> PolicyOptions,
        IOptions<JobStoreOptions> StoreOptions);

    private static async Task<Results<Ok<JobView>, ProblemHttpResult>> GetAsync(string id, HttpContext http, RedisJobStore store)
    {
        var job = IsJobId(id) ? await store.GetAsync(id) : null;
        if (job is null || job.Tenant != http.User.Tenant())
        {
            return NotFound(id);
        }

        return TypedResults.Ok(JobView.From(job));
    }

    /// <summary>
    /// <c>DELETE /v1/jobs/{id}</c>: a queued job ends <c>cancelled</c> at once (200, and its place
    /// under the active-jobs cap is given back); a running one is flagged and its worker told (202,
    /// the worker records the end); one that already ended is a 409 naming its status.
    /// </summary>
    private static async Task<Results<Ok<JobView>, Accepted<JobView>, ProblemHttpResult>> CancelAsync(
        string id, HttpContext http, RedisJobStore store, ActiveJobs activeJobs)
    {
        var tenant = http.User.Tenant();
        var owner = IsJobId(id) ? await store.GetProgressAsync(id) : null;
        if (owner is null || owner.Tenant != tenant)
        {
            return NotFound(id);
        }

        var outcome = await store.CancelAsync(id);
        if (outcome == CancelOutcome.Cancelled)
        {
            await activeJobs.ReleaseAsync(tenant, id);
        }

        // Read after the change, so the answer shows what the cancel did (or what had already happened).
        var job = await store.GetAsync(id);
        if (outcome == CancelOutcome.NoSuchJob || job is null)
        {
            return NotFound(id);
        }

        return outcome switch
        {
            CancelOutcome.Cancelled => TypedResults.Ok(JobView.From(job)),
            CancelOutcome.Requested => TypedResults.Accepted($"/v1/jobs/{id}", JobView.From(job)),
            _ => TypedResults.Problem(
                statusCode: StatusCodes.Status409Conflict,
                title: "Job Already Ended",
                detail: $"The job already ended with status '{job.Status}'; there is nothing to cancel.",
                extensions: new Dictionary<string, object?> { ["jobStatus"] = job.Status }),
        };
    }

    private static async Task<Ok<ModelList>> ListModelsAsync(ModelCatalog catalog) =>
        TypedResults.Ok(new ModelList([.. (await catalog.GetAsync(includeEdgeOnly: true)).Values]));

    /// <summary>The one answer for a job that does not exist or belongs to another tenant.</summary>
    public static ProblemHttpResult NotFound(string id) =>
        TypedResults.Problem(statusCode: StatusCodes.Status404NotFound, title: "Not Found", detail: $"There is no job '{Problem.Truncate(id)}'.");

    [GeneratedRegex("^job_[0-9a-f]{32}$")]
    private static partial Regex JobIdPattern();
}
