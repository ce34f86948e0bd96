using System.Text.Json;
using InferenceGateway.Contracts;
using InferenceGateway.Core.Jobs;
using InferenceGateway.Gateway.Auth;
using InferenceGateway.Gateway.Hubs;
using InferenceGateway.Gateway.Jobs;
using InferenceGateway.Gateway.Limits;
using InferenceGateway.Gateway.RateLimiting;
using Microsoft.Extensions.Options;

namespace InferenceGateway.Gateway.Chat;

/// <summary>
/// OpenAI-compatible <c>POST /v1/chat/completions</c>. Every request becomes a job on the queue (the
/// edge never calls the GPU): <c>stream: true</c> answers Server-Sent Events in OpenAI's chunk
/// format, fed by the job's <c>token</c> events as the worker appends them; <c>stream: false</c>
/// waits for the job up to <c>Prefer: wait=N</c> seconds (or <see cref="ChatOptions.DefaultWait"/>),
/// bounded by <see cref="ChatOptions.MaxWait"/>, and answers the <c>chat.completion</c>, or 202 with
/// the job's links when it is not done by then. <c>GET /v1/chat/completions/{id}</c> answers the
/// completion of such a job later.
/// </summary>
public static class ChatCompletionsApi
{
    /// <summary>The completion id of a job: OpenAI's ids start <c>chatcmpl-</c>.</summary>
    public static string CompletionId(string jobId) => "chatcmpl-" + jobId;

    public static IEndpointRouteBuilder MapChatCompletionsApi(this IEndpointRouteBuilder app)
    {
        var chat = app.MapGroup("/v1/chat/completions").RequireTenantRateLimit();
        chat.MapPost("/", CreateAsync)
            .RequireAuthorization(Scopes.JobsWrite)
            .WithBodyLimit(limits => limits.MaxJobBodyBytes);
        chat.MapGet("/{id}", GetAsync).RequireAuthorization(Scopes.JobsRead);
        return app;
    }

    private static async Task<IResult> CreateAsync(
        HttpContext http,
        [AsParameters] ChatServices services,
        [AsParameters] ChatStreamServices streaming,
        CancellationToken cancellationToken)
    {
        var (json, catalog, intake, tokenLimiter, chatOptions) = services;
        var body = await json.ReadAsync<ChatCompletionRequest>(http.Request, cancellationToken);
        if (body.Problem is { } refused)
        {
            return refused;
        }

        if (body.Value is not { } request)
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["body"] = ["The body must be a JSON object."] }, title: "The chat completion request is not valid.");
        }

        var options = chatOptions.Value;
        var served = await catalog.GetAsync();
        var (input, errors) = ChatRequests.ToJobInput(request, served, options);
        if (input is null)
        {
            return TypedResults.ValidationProblem(errors, title: "The chat completion request is not valid.");
        }

        // Parsed before the job is submitted: a bad header must not leave a job behind.
        var wait = options.DefaultWait;
        var prefer = request.Stream == true ? null : PreferHeader.Parse(http.Request.Headers["Prefer"].ToString());
        if (prefer is { } preference)
        {
            if (preference.Invalid)
            {
                return TypedResults.Problem(statusCode: StatusCodes.Status400BadRequest, title: "Bad Request", detail: "Prefer: wait must be a whole number of seconds (RFC 7240).");
            }

            wait = preference.RespondAsync ? TimeSpan.Zero : TimeSpan.FromSeconds(Math.Min(preference.WaitSeconds, options.MaxWait.TotalSeconds));
        }

        // Tokens per minute: the prompt's estimate plus every token it may generate, as OpenAI
        // charges; what the job did not use is given back when its usage is known here.
        var submitted = await intake.SubmitChargedAsync(http, new NewJob(request.Model!, input), served.GetValueOrDefault(request.Model!), estimateQueue: false, cancellationToken);
        if (submitted.Problem is { } problem)
        {
            return problem;
        }

        var job = submitted.Job!;
        var refund = submitted.Charge is { } charge ? new TokenRefund(tokenLimiter, charge) : null;
        http.Response.Headers["X-Job-Id"] = job.Id;
        if (request.Stream == true)
        {
            await ChatCompletionStream.StreamAsync(http, job, request.StreamOptions?.IncludeUsage == true, refund, streaming, options, cancellationToken);
            return TypedResults.Empty;
        }

        if (prefer is not null)
        {
            http.Response.Headers["Preference-Applied"] = prefer.Value.RespondAsync ? "respond-async" : $"wait={(long)wait.TotalSeconds}";
        }

        var end = await WaitForEndAsync(streaming.Feed, job.Id, wait, cancellationToken);
        if (end is null)
        {
            var answer = JobIntake.Accepted(job, submitted.ExpiresAt!.Value);
            return TypedResults.Accepted(answer.Location, answer.Value);
        }

        if (refund is not null)
        {
            await refund.SettleAsync(end.Type == JobEventTypes.Completed ? ChatAnswers.ReadResult(end.Data)?.Usage : null);
        }

        return ChatAnswers.Answer(job.Id, job.Model, job.CreatedAt, end.Type, end.Data);
    }

    /// <summary>
    /// <c>GET /v1/chat/completions/{id}</c> (the completion id or the job id): the
    /// <c>chat.completion</c> of a generation job that completed; 202 with the job while it is
    /// queued or running; the job's failure as a problem.
    /// </summary>
    private static async Task<IResult> GetAsync(string id, HttpContext http, RedisJobStore store)
    {
        var jobId = id.StartsWith("chatcmpl-", StringComparison.Ordinal) ? id["chatcmpl-".Length..] : id;
        var job = JobsApi.IsJobId(jobId) ? await store.GetAsync(jobId) : null;
        if (job is null || job.Tenant != http.User.Tenant())
        {
            return JobsApi.NotFound(id);
        }

        if (!JobStatuses.IsTerminal(job.Status))
        {
            return TypedResults.Accepted($"/v1/jobs/{job.Id}", JobView.From(job));
        }

        if (job.Status == JobStatuses.Completed)
        {
            using var result = job.ResultJson is null ? null : JsonDocument.Parse($$"""{"result":{{job.ResultJson}}}""");
            return ChatAnswers.Answer(job.Id, job.Model, job.CreatedAt, JobEventTypes.Completed, result?.RootElement);
        }

        using var error = job.Error is { } e ? JsonDocument.Parse($$"""{"error":{{JsonSerializer.Serialize(e, ContractsJsonContext.Default.JobError)}}}""") : null;
        return ChatAnswers.Answer(job.Id, job.Model, job.CreatedAt, ChatAnswers.TerminalEventOf(job.Status), error?.RootElement);
    }

    /// <summary>The job's terminal event, or null when <paramref name="wait"/> passes first.</summary>
    private static async Task<JobEvent?> WaitForEndAsync(JobEventFeed feed, string jobId, TimeSpan wait, CancellationToken cancellationToken)
    {
        if (wait <= TimeSpan.Zero)
        {
            return null;
        }

        using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        limit.CancelAfter(wait);
        try
        {
            await foreach (var jobEvent in feed.ReadAsync(jobId, 0, limit.Token))
            {
                if (JobEventTypes.IsTerminal(jobEvent.Type))
                {
                    return jobEvent;
                }
            }
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            // Waited long enough: the client gets the job's links.
        }

        return null;
    }

    /// <summary>The tokens charged up front for a job; once its usage is known, what it did not use is given back.</summary>
    internal sealed class TokenRefund(TokenRateLimiter limiter, TokenCharge charge)
    {
        /// <summary>Gives back the estimate's excess over <paramref name="usage"/>'s total (nothing when the usage is unknown).</summary>
        public Task SettleAsync(TokenUsage? usage) =>
            usage is { TotalTokens: >= 0 } used && charge.Tokens > used.TotalTokens
                ? limiter.RefundAsync(charge.Tenant, charge.Plan, charge.Tokens - used.TotalTokens, charge.Decision)
                : Task.CompletedTask;
    }

    /// <summary>What <c>POST /v1/chat/completions</c> uses to read, check, charge and submit a request.</summary>
    internal readonly record struct ChatServices(
        JsonBodyReader Json,
        ModelCatalog Catalog,
        JobIntake Intake,
        TokenRateLimiter TokenLimiter,
        IOptions<ChatOptions> ChatOptions);

    /// <summary>What a chat completion uses to follow its job: the event feed, and for a stream the SSE settings and the job's cancellation.</summary>
    internal readonly record struct ChatStreamServices(
        JobEventFeed Feed,
        RedisJobStore Store,
        ActiveJobs ActiveJobs,
        DeliveryStats Stats,
        IOptions<DeliveryOptions> Delivery,
        TimeProvider Time,
        ILoggerFactory Loggers);
}
