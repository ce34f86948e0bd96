using System.Text.RegularExpressions;
using InferenceGateway.Contracts;
using InferenceGateway.Core.Jobs;
using InferenceGateway.Gateway.Auth;
using InferenceGateway.Gateway.RateLimiting;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;

namespace InferenceGateway.Gateway.Jobs;

/// <summary>
/// The one way a validated job is submitted for the caller of a request (<c>POST /v1/jobs</c>,
/// <c>async</c> proxy routes, chat completions, embeddings over the edge budget): reads
/// <c>Idempotency-Key</c>, applies the plan's active-jobs cap, and says what came of it
/// (<see cref="SubmitResult"/>): accepted, a replay of an earlier request (<c>Idempotent-Replayed</c>
/// set), or refused with the problem to answer: 400 for a bad key, 409 while the key's first
/// request is in flight, 413 for an input larger than a job may carry (<c>Jobs:MaxInputBytes</c>),
/// 422 when the key was used for another request, 429 over the cap.
/// </summary>
public sealed partial class JobIntake(
    JobSubmitter submitter,
    TenantAdmission admission,
    TokenRateLimiter tokenLimiter,
    IOptionsMonitor<RateLimitOptions> rateLimits,
    IQueueOutlook queueOutlook)
{
    /// <summary>The response header that marks the answer to a repeated request (same <c>Idempotency-Key</c>).</summary>
    public const string ReplayedHeader = "Idempotent-Replayed";

    private const string IdempotencyKeyHeader = "Idempotency-Key";

    /// <summary>
    /// Submits <paramref name="job"/> uncharged (the caller charged the tenant itself). With
    /// <paramref name="estimateQueue"/>, an accepted job still queued gets the queue ahead of it
    /// (<see cref="IQueueOutlook"/>), read alongside the submission.
    /// </summary>
    public Task<SubmitResult> SubmitAsync(HttpContext http, NewJob job, bool estimateQueue, CancellationToken cancellationToken) =>
        SubmitCoreAsync(http, job, rateLimits.CurrentValue, reservedJobId: null, estimateQueue, cancellationToken);

    /// <summary>
    /// <see cref="SubmitAsync"/> charged against the tenant's tokens per minute first (an estimate,
    /// <see cref="TokenEstimate"/>): refused with a 429 when the charge is refused; the tokens are
    /// given back when the job is not accepted, or is a replay (charged the first time). An accepted
    /// job's result carries the charge (<see cref="SubmitResult.Charge"/>), for a caller that settles
    /// it once the job's usage is known. The request limit (when the endpoint takes it,
    /// <see cref="DeferredRequestLimit"/>), the charge and, without an <c>Idempotency-Key</c>, the
    /// place under the active-jobs cap are one Redis round trip (<see cref="TenantAdmission"/>).
    /// </summary>
    public async Task<SubmitResult> SubmitChargedAsync(HttpContext http, NewJob job, CatalogModel? catalogModel, bool estimateQueue, CancellationToken cancellationToken)
    {
        var tenant = http.User.Tenant();
        var plan = http.User.FindFirst(GatewayClaims.Plan)?.Value;
        var tokens = TokenEstimate.For(job.Input, catalogModel);
        var requestBucket = http.Features.Get<DeferredRequestLimit>()?.Take();

        // With an Idempotency-Key the place is taken after the key's claim (a replay takes none).
        var jobId = http.Request.Headers.ContainsKey(IdempotencyKeyHeader) ? null : JobSubmitter.NewJobId();
        var settings = rateLimits.CurrentValue;
        var limits = settings.For(plan);
        var admitted = await admission.AdmitAsync(tenant, plan, requestBucket, tokens, jobId, limits.MaxActiveJobs, submitter.BoundOf(job.Policy));
        if (admitted.Request is { } request && DeferredRequestLimit.Apply(http.Response, request, requestBucket!) is { } tooManyRequests)
        {
            return SubmitResult.Refused(tooManyRequests);
        }

        var charge = admitted.Tokens!;
        charge.WriteHeaders(http.Response);
        if (!charge.Allowed)
        {
            return SubmitResult.Refused(charge.ToProblem(tokens));
        }

        if (admitted.Reserved == false)
        {
            return SubmitResult.Refused(OverCap(http, limits));
        }

        var reservedJobId = admitted.Reserved == true ? jobId : null;
        SubmitResult submitted;
        try
        {
            submitted = await SubmitCoreAsync(http, job, settings, reservedJobId, estimateQueue, cancellationToken);
        }
        catch
        {
            await tokenLimiter.RefundAsync(tenant, plan, tokens, charge);
            throw;
        }

        if (submitted.Status != SubmitStatus.Accepted)
        {
            // Not queued (over the active-jobs cap, an Idempotency-Key conflict): nothing will run;
            // or queued before (a replay was charged the first time).
            await tokenLimiter.RefundAsync(tenant, plan, tokens, charge);
            return submitted;
        }

        return submitted with { Charge = new TokenCharge(tenant, plan, tokens, charge) };
    }

    private async Task<SubmitResult> SubmitCoreAsync(
        HttpContext http, NewJob job, RateLimitOptions settings, string? reservedJobId, bool estimateQueue, CancellationToken cancellationToken)
    {
        // Read alongside the submission, so the queue's depth costs the caller nothing when cached and little when not.
        var queue = estimateQueue ? queueOutlook.ReadAsync(job.Model) : null;
        var idempotencyKey = http.Request.Headers[IdempotencyKeyHeader].ToString();
        if (idempotencyKey.Length > 0 && !IdempotencyKeyPattern().IsMatch(idempotencyKey))
        {
            return SubmitResult.Refused(TypedResults.Problem(
                statusCode: StatusCodes.Status400BadRequest,
                title: "Bad Request",
                detail: "Idempotency-Key must be 1-255 visible ASCII characters."));
        }

        var limits = settings.For(http.User.FindFirst(GatewayClaims.Plan)?.Value);
        var outcome = await submitter.SubmitAsync(
            new JobSubmission(http.User.Tenant(), job.Model, job.Input, idempotencyKey.Length > 0 ? idempotencyKey : null, limits.MaxActiveJobs, job.Policy, job.Webhook, reservedJobId),
            cancellationToken);
        if (outcome.IsOverCap)
        {
            return SubmitResult.Refused(OverCap(http, limits));
        }

        if (outcome.TooLarge is { } size)
        {
            return SubmitResult.Refused(InputTooLarge(size));
        }

        if (outcome.Conflict is { } conflict)
        {
            if (outcome.ConflictIsTransient)
            {
                http.Response.Headers.RetryAfter = "1";
                return SubmitResult.Refused(TypedResults.Problem(statusCode: StatusCodes.Status409Conflict, title: "Idempotency-Key In Use", detail: conflict));
            }

            return SubmitResult.Refused(TypedResults.Problem(statusCode: StatusCodes.Status422UnprocessableEntity, title: "Idempotency-Key Conflict", detail: conflict));
        }

        var accepted = outcome.Job!;
        if (outcome.Replayed)
        {
            http.Response.Headers[ReplayedHeader] = "true";
        }

        var view = queue is not null && accepted.Status == JobStatuses.Queued ? (await queue)(accepted.CreatedAt) : null;
        return new SubmitResult(outcome.Replayed ? SubmitStatus.Replayed : SubmitStatus.Accepted, accepted, outcome.ExpiresAt, view, null);
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

    /// <summary>The 413 for an input no job may carry, naming the limit.</summary>
    private static ProblemHttpResult InputTooLarge(InputSize size) =>
        TypedResults.Problem(
            statusCode: StatusCodes.Status413PayloadTooLarge,
            title: "Input Too Large",
            detail: $"The job's input is {size.InputBytes} bytes as queued (JSON, UTF-8); a job may carry at most {size.MaxInputBytes} (Jobs:MaxInputBytes). Send fewer or shorter texts.",
            extensions: new Dictionary<string, object?> { ["inputBytes"] = (long)size.InputBytes, ["maxInputBytes"] = (long)size.MaxInputBytes });

    /// <summary>The 202 for an accepted job, with its links and <c>Location</c>, and for a queued job the queue ahead of it.</summary>
    public static Accepted<JobAccepted> Accepted(JobRecord job, DateTimeOffset expiresAt, QueueView? queue = null)
    {
        var links = new JobLinks($"/v1/jobs/{job.Id}", $"/v1/jobs/{job.Id}/events", "/hubs/jobs");
        return TypedResults.Accepted(links.Self, new JobAccepted(job.Id, job.Status, job.CreatedAt, expiresAt, links, JobView.WebhookOf(job), queue));
    }

    [GeneratedRegex("^[\\x21-\\x7E]{1,255}$")]
    private static partial Regex IdempotencyKeyPattern();
}

/// <summary>A validated job to submit: its model and input, and for <c>POST /v1/jobs</c> its policy and webhook.</summary>
public sealed record NewJob(string Model, JobInput Input, JobPolicy? Policy = null, JobWebhook? Webhook = null);

/// <summary>What came of a submission.</summary>
public enum SubmitStatus
{
    /// <summary>A new job was accepted.</summary>
    Accepted,

    /// <summary>The request repeats an earlier one (same <c>Idempotency-Key</c>): its job is answered again, nothing new queued.</summary>
    Replayed,

    /// <summary>Nothing was submitted; <see cref="SubmitResult.Problem"/> is the answer.</summary>
    Refused,
}

/// <summary>
/// What <see cref="JobIntake"/> did: the job (accepted or replayed) with its expiry and, when asked
/// for and still queued, the queue ahead of it; or the problem to answer with (headers such as
/// <c>Retry-After</c> set). <paramref name="Charge"/> is the token charge an accepted job keeps.
/// </summary>
public sealed record SubmitResult(SubmitStatus Status, JobRecord? Job, DateTimeOffset? ExpiresAt, QueueView? Queue, ProblemHttpResult? Problem, TokenCharge? Charge = null)
{
    public static SubmitResult Refused(ProblemHttpResult problem) => new(SubmitStatus.Refused, null, null, null, problem);

    /// <summary>The answer <c>POST /v1/jobs</c> gives: 202 with the job and its links, or the problem.</summary>
    public Results<Accepted<JobAccepted>, ValidationProblem, ProblemHttpResult> ToResult() =>
        Problem is { } problem ? problem : JobIntake.Accepted(Job!, ExpiresAt!.Value, Queue);
}

/// <summary>The tokens an accepted job was charged up front, against its tenant's plan.</summary>
public sealed record TokenCharge(string Tenant, string? Plan, long Tokens, TokenDecision Decision);
