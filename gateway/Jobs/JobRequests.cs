using System.Text.RegularExpressions;
using InferenceGateway.Contracts;
using InferenceGateway.Core.Jobs;
using InferenceGateway.Gateway.Auth;
using InferenceGateway.Gateway.Chat;
using InferenceGateway.Gateway.Latency;
using InferenceGateway.Gateway.RateLimiting;
using Microsoft.AspNetCore.Http.HttpResults;

namespace InferenceGateway.Gateway.Jobs;

/// <summary>
/// What every way of submitting a job shares (<c>POST /v1/jobs</c> and <c>async</c> proxy routes):
/// reading the JSON body, validating a model and its input against the catalog, and the 202 answer.
/// </summary>
public static partial class JobRequests
{
    private const string IdempotencyKeyHeader = "Idempotency-Key";

    /// <summary>
    /// Checks a job's model and input against the catalog. Keys of the returned map name the fields
    /// as the caller sent them: <paramref name="inputPath"/> is where the input sits in the body
    /// (<c>input</c> for <c>POST /v1/jobs</c>, empty when the body is the input itself).
    /// </summary>
    public static Dictionary<string, string[]> Validate(string? model, JobInput? input, IReadOnlyDictionary<string, CatalogModel> served, string inputPath = "input", ChatOptions? chat = null)
    {
        var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
        CatalogModel? limits = null;
        if (string.IsNullOrWhiteSpace(model))
        {
            errors["model"] = ["'model' is required."];
        }
        else if (!served.TryGetValue(model, out limits))
        {
            errors["model"] = [$"Unknown model '{JobsApi.Truncate(model)}'. Served: {string.Join(", ", served.Keys)}."];
        }

        if (limits is { Kind: ModelKinds.TextGeneration })
        {
            ChatRequests.ValidateJobInput(input, limits, chat ?? new ChatOptions(), errors, inputPath);
            return errors;
        }

        var textsKey = inputPath.Length == 0 ? "texts" : inputPath + ".texts";
        var texts = input?.Texts;
        if (texts is null || texts.Count == 0)
        {
            errors[textsKey] = [$"'{textsKey}' must be a non-empty array of strings."];
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
                errors[textsKey] = [.. problems];
            }
        }

        return errors;
    }

    /// <summary>
    /// Submits a validated job for the caller: reads <c>Idempotency-Key</c>, applies the plan's
    /// active-jobs cap, and answers 202 (with <c>Idempotent-Replayed</c> on a replay), 400 for a bad
    /// key, 422 when the key was used for another request, 429 over the cap.
    /// </summary>
    public static Task<Results<Accepted<JobAccepted>, ValidationProblem, ProblemHttpResult>> SubmitAsync(
        HttpContext http,
        JobSubmitter submitter,
        RateLimitOptions rateLimits,
        string model,
        JobInput input,
        JobPolicy? policy,
        JobWebhook? webhook,
        CancellationToken cancellationToken) =>
        SubmitCoreAsync(http, submitter, rateLimits, model, input, policy, webhook, reservedJobId: null, cancellationToken);

    private static async Task<Results<Accepted<JobAccepted>, ValidationProblem, ProblemHttpResult>> SubmitCoreAsync(
        HttpContext http,
        JobSubmitter submitter,
        RateLimitOptions rateLimits,
        string model,
        JobInput input,
        JobPolicy? policy,
        JobWebhook? webhook,
        string? reservedJobId,
        CancellationToken cancellationToken)
    {
        // Read alongside the submission, so the queue's depth costs the caller nothing when cached and little when not.
        var estimator = http.RequestServices.GetRequiredService<QueueEstimator>();
        var queue = estimator.ReadAsync(model);
        var (accepted, problem) = await TrySubmitCoreAsync(http, submitter, rateLimits, model, input, policy, webhook, reservedJobId, cancellationToken);
        if (problem is not null)
        {
            return problem;
        }

        var job = accepted!.Job!;
        var queued = job.Status == JobStatuses.Queued ? estimator.Estimate(await queue, job.CreatedAt) : null;
        return Accepted(job, accepted.ExpiresAt!.Value, queued);
    }

    /// <summary>
    /// <see cref="SubmitAsync"/> charged against the tenant's tokens per minute first (an estimate,
    /// <see cref="TokenEstimate"/>): 429 when the charge is refused; the tokens are given back when
    /// the job is not queued, or is a replay (charged the first time). <c>POST /v1/jobs</c> and
    /// <c>async</c> proxy routes submit this way. The request limit (when the endpoint takes it,
    /// <see cref="DeferredRequestLimit"/>), the charge and, without an <c>Idempotency-Key</c>, the
    /// place under the active-jobs cap are one Redis round trip (<see cref="TenantAdmission"/>).
    /// </summary>
    public static async Task<Results<Accepted<JobAccepted>, ValidationProblem, ProblemHttpResult>> SubmitChargedAsync(
        HttpContext http,
        JobSubmitter submitter,
        RateLimitOptions rateLimits,
        CatalogModel? catalogModel,
        string model,
        JobInput input,
        JobPolicy? policy,
        JobWebhook? webhook,
        CancellationToken cancellationToken)
    {
        var tenant = http.User.Tenant();
        var plan = http.User.FindFirst(GatewayClaims.Plan)?.Value;
        var tokens = TokenEstimate.For(input, catalogModel);
        var requestBucket = http.Features.Get<DeferredRequestLimit>()?.Take();

        // With an Idempotency-Key the place is taken after the key's claim (a replay takes none).
        var jobId = http.Request.Headers.ContainsKey(IdempotencyKeyHeader) ? null : JobSubmitter.NewJobId();
        var limits = rateLimits.For(plan);
        var admission = await http.RequestServices.GetRequiredService<TenantAdmission>()
            .AdmitAsync(tenant, plan, requestBucket, tokens, jobId, limits.MaxActiveJobs);
        if (admission.Request is { } request && DeferredRequestLimit.Apply(http.Response, request, requestBucket!) is { } tooManyRequests)
        {
            return tooManyRequests;
        }

        var charge = admission.Tokens!;
        charge.WriteHeaders(http.Response);
        if (!charge.Allowed)
        {
            return charge.ToProblem(tokens);
        }

        if (admission.Reserved == false)
        {
            return OverCap(http, limits);
        }

        var tokenLimiter = http.RequestServices.GetRequiredService<TokenRateLimiter>();
        var reservedJobId = admission.Reserved == true ? jobId : null;
        Results<Accepted<JobAccepted>, ValidationProblem, ProblemHttpResult> submitted;
        try
        {
            submitted = await SubmitCoreAsync(http, submitter, rateLimits, model, input, policy, webhook, reservedJobId, cancellationToken);
        }
        catch
        {
            await tokenLimiter.RefundAsync(tenant, plan, tokens, charge);
            throw;
        }

        if (submitted.Result is not Accepted<JobAccepted> || http.Response.Headers.ContainsKey("Idempotent-Replayed"))
        {
            await tokenLimiter.RefundAsync(tenant, plan, tokens, charge);
        }

        return submitted;
    }

    /// <summary>
    /// <see cref="SubmitAsync"/> for endpoints that answer in their own terms: the accepted outcome
    /// (its job and expiry), or the problem to answer with (headers such as <c>Retry-After</c> set).
    /// </summary>
    public static Task<(SubmitOutcome? Accepted, ProblemHttpResult? Problem)> TrySubmitAsync(
        HttpContext http,
        JobSubmitter submitter,
        RateLimitOptions rateLimits,
        string model,
        JobInput input,
        JobPolicy? policy,
        JobWebhook? webhook,
        CancellationToken cancellationToken) =>
        TrySubmitCoreAsync(http, submitter, rateLimits, model, input, policy, webhook, reservedJobId: null, cancellationToken);

    private static async Task<(SubmitOutcome? Accepted, ProblemHttpResult? Problem)> TrySubmitCoreAsync(
        HttpContext http,
        JobSubmitter submitter,
        RateLimitOptions rateLimits,
        string model,
        JobInput input,
        JobPolicy? policy,
        JobWebhook? webhook,
        string? reservedJobId,
        CancellationToken cancellationToken)
    {
        var idempotencyKey = http.Request.Headers[IdempotencyKeyHeader].ToString();
        if (idempotencyKey.Length > 0 && !IdempotencyKeyPattern().IsMatch(idempotencyKey))
        {
            return (null, TypedResults.Problem(
                statusCode: StatusCodes.Status400BadRequest,
                title: "Bad Request",
                detail: "Idempotency-Key must be 1-255 visible ASCII characters."));
        }

        var limits = rateLimits.For(http.User.FindFirst(GatewayClaims.Plan)?.Value);
        var outcome = await submitter.SubmitAsync(
            new JobSubmission(http.User.Tenant(), model, input, idempotencyKey.Length > 0 ? idempotencyKey : null, limits.MaxActiveJobs, policy, webhook, reservedJobId),
            cancellationToken);
        if (outcome.IsOverCap)
        {
            return (null, OverCap(http, limits));
        }

        if (outcome.Conflict is { } conflict)
        {
            if (outcome.ConflictIsTransient)
            {
                http.Response.Headers.RetryAfter = "1";
                return (null, TypedResults.Problem(statusCode: StatusCodes.Status409Conflict, title: "Idempotency-Key In Use", detail: conflict));
            }

            return (null, TypedResults.Problem(statusCode: StatusCodes.Status422UnprocessableEntity, title: "Idempotency-Key Conflict", detail: conflict));
        }

        if (outcome.Replayed)
        {
            http.Response.Headers["Idempotent-Replayed"] = "true";
        }

        return (outcome, null);
    }

    /// <summary>The 429 for a tenant at its plan's active-jobs cap, with <c>Retry-After</c>.</summary>
    private static ProblemHttpResult OverCap(HttpContext http, PlanLimits limits)
    {
        http.Response.Headers.RetryAfter = "1";
        return TypedResults.Problem(
            statusCode: StatusCodes.Status429TooManyRequests,
            title: "Too Many Requests",
            detail: $"This tenant already has {limits.MaxActiveJobs} jobs queued or running, its plan's cap; retry when one ends.");
    }

    /// <summary>The 202 for an accepted job, with its links and <c>Location</c>, and for a queued job the queue ahead of it.</summary>
    public static Accepted<JobAccepted> Accepted(JobRecord job, DateTimeOffset expiresAt, QueueView? queue = null)
    {
        var links = new JobLinks($"/v1/jobs/{job.Id}", $"/v1/jobs/{job.Id}/events", "/hubs/jobs");
        return TypedResults.Accepted(links.Self, new JobAccepted(job.Id, job.Status, job.CreatedAt, expiresAt, links, JobView.WebhookOf(job), queue));
    }

    [GeneratedRegex("^[\\x21-\\x7E]{1,255}$")]
    private static partial Regex IdempotencyKeyPattern();
}
