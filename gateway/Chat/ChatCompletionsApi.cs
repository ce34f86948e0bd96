using System.Globalization;
using System.Text;
using System.Text.Json;
using InferenceGateway.Contracts;
using InferenceGateway.Core.Jobs;
using InferenceGateway.Gateway.Auth;
using InferenceGateway.Gateway.Hubs;
using InferenceGateway.Gateway.Jobs;
using InferenceGateway.Gateway.Limits;
using InferenceGateway.Gateway.Problems;
using InferenceGateway.Gateway.RateLimiting;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using Polly.Timeout;

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
    private static readonly byte[] Done = "data: [DONE]\n\n"u8.ToArray();

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
        JsonBodyReader json,
        JobSubmitter submitter,
        ModelCatalog catalog,
        JobEventFeed feed,
        RedisJobStore store,
        ActiveJobs activeJobs,
        DeliveryStats stats,
        IOptionsMonitor<RateLimitOptions> rateLimits,
        TokenRateLimiter tokenLimiter,
        IOptions<ChatOptions> chatOptions,
        IOptions<DeliveryOptions> delivery,
        TimeProvider time,
        ILoggerFactory loggers,
        CancellationToken cancellationToken)
    {
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
        var prefer = request.Stream == true ? null : ParsePrefer(http.Request.Headers["Prefer"].ToString());
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
        var tenant = http.User.Tenant();
        var plan = http.User.FindFirst(GatewayClaims.Plan)?.Value;
        var tokens = TokenEstimate.For(input, served.GetValueOrDefault(request.Model!));
        var charge = await tokenLimiter.TryConsumeAsync(tenant, plan, tokens);
        charge.WriteHeaders(http.Response);
        if (!charge.Allowed)
        {
            return charge.ToProblem(tokens);
        }

        SubmitOutcome? accepted;
        ProblemHttpResult? problem;
        try
        {
            (accepted, problem) = await JobRequests.TrySubmitAsync(http, submitter, rateLimits.CurrentValue, request.Model!, input, policy: null, webhook: null, cancellationToken);
        }
        catch
        {
            await tokenLimiter.RefundAsync(tenant, plan, tokens, charge);
            throw;
        }

        if (problem is not null || accepted!.Replayed)
        {
            await tokenLimiter.RefundAsync(tenant, plan, tokens, charge);
            if (problem is not null)
            {
                return problem;
            }
        }

        var job = accepted!.Job!;
        var refund = accepted.Replayed ? null : new TokenRefund(tokenLimiter, tenant, plan, tokens, charge);
        http.Response.Headers["X-Job-Id"] = job.Id;
        if (request.Stream == true)
        {
            await StreamAsync(http, job, request.StreamOptions?.IncludeUsage == true, refund, feed, store, activeJobs, stats, options, delivery.Value, time, loggers.CreateLogger(typeof(ChatCompletionsApi)), cancellationToken);
            return TypedResults.Empty;
        }

        if (prefer is not null)
        {
            http.Response.Headers["Preference-Applied"] = prefer.Value.RespondAsync ? "respond-async" : $"wait={(long)wait.TotalSeconds}";
        }

        var end = await WaitForEndAsync(feed, job.Id, wait, cancellationToken);
        if (end is null)
        {
            var answer = JobRequests.Accepted(job, accepted.ExpiresAt!.Value);
            return TypedResults.Accepted(answer.Location, answer.Value);
        }

        if (refund is not null)
        {
            await refund.SettleAsync(end.Type == JobEventTypes.Completed ? ReadResult(end.Data)?.Usage : null);
        }

        return Answer(job.Id, job.Model, job.CreatedAt, end.Type, end.Data);
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
            return Answer(job.Id, job.Model, job.CreatedAt, JobEventTypes.Completed, result?.RootElement);
        }

        using var error = job.Error is { } e ? JsonDocument.Parse($$"""{"error":{{JsonSerializer.Serialize(e, ContractsJsonContext.Default.JobError)}}}""") : null;
        return Answer(job.Id, job.Model, job.CreatedAt, TerminalEventOf(job.Status), error?.RootElement);
    }

    private static string TerminalEventOf(string status) => status switch
    {
        JobStatuses.Failed => JobEventTypes.Failed,
        JobStatuses.Cancelled => JobEventTypes.Cancelled,
        JobStatuses.TimedOut => JobEventTypes.TimedOut,
        _ => JobEventTypes.Expired,
    };

    /// <summary>The answer to a job that ended: the completion, or its failure as a problem.</summary>
    private static IResult Answer(string jobId, string model, DateTimeOffset createdAt, string type, JsonElement? data)
    {
        if (type == JobEventTypes.Completed && ReadResult(data) is { } result)
        {
            var completion = new ChatCompletion(
                CompletionId(jobId),
                ChatCompletion.ObjectName,
                createdAt.ToUnixTimeSeconds(),
                result.Model,
                [new ChatChoice(0, new ChatChoiceMessage("assistant", result.Text, null), null, result.FinishReason)],
                ChatUsage.From(result.Usage),
                null);
            return TypedResults.Json(completion, ChatJsonContext.Default.ChatCompletion);
        }

        var (code, message) = ReadError(data);
        var (status, title) = (type, code) switch
        {
            (JobEventTypes.Completed, _) => (StatusCodes.Status502BadGateway, "Bad Gateway"),
            (_, "invalid_input") => (StatusCodes.Status400BadRequest, "Bad Request"),
            (JobEventTypes.TimedOut or JobEventTypes.Expired, _) or (_, "timed_out" or "expired") => (StatusCodes.Status504GatewayTimeout, "Gateway Timeout"),
            (JobEventTypes.Cancelled, _) or (_, "cancelled") => (StatusCodes.Status409Conflict, "Cancelled"),
            _ => (StatusCodes.Status502BadGateway, "Bad Gateway"),
        };
        return TypedResults.Problem(
            statusCode: status,
            title: title,
            detail: message ?? (type == JobEventTypes.Completed ? "The job completed without a generation result." : $"The job ended {type}."),
            extensions: new Dictionary<string, object?> { ["jobId"] = jobId, ["code"] = code ?? type, ["job"] = $"/v1/jobs/{jobId}" });
    }

    private static GenerationResult? ReadResult(JsonElement? data)
    {
        if (data is not { ValueKind: JsonValueKind.Object } d || !d.TryGetProperty("result", out var result))
        {
            return null;
        }

        try
        {
            return result.Deserialize(ContractsJsonContext.Default.GenerationResult) is { Text: not null, FinishReason: not null, Usage: not null } read ? read : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static (string? Code, string? Message) ReadError(JsonElement? data)
    {
        if (data is { ValueKind: JsonValueKind.Object } d && d.TryGetProperty("error", out var error) && error.ValueKind == JsonValueKind.Object)
        {
            return (
                error.TryGetProperty("code", out var code) && code.ValueKind == JsonValueKind.String ? code.GetString() : null,
                error.TryGetProperty("message", out var message) && message.ValueKind == JsonValueKind.String ? message.GetString() : null);
        }

        return (null, null);
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

    /// <summary>
    /// Writes the job's events as OpenAI chunks: the role first, a chunk per <c>token</c> event
    /// (the worker merges tokens while Redis is busy, so one may carry several), then a chunk with
    /// the finish reason, the usage when asked for, and <c>[DONE]</c>. A job that fails sends
    /// <c>{"error": ...}</c> (what OpenAI's clients raise) before <c>[DONE]</c>.
    /// </summary>
    private static async Task StreamAsync(
        HttpContext http,
        JobRecord job,
        bool includeUsage,
        TokenRefund? refund,
        JobEventFeed feed,
        RedisJobStore store,
        ActiveJobs activeJobs,
        DeliveryStats stats,
        ChatOptions options,
        DeliveryOptions delivery,
        TimeProvider time,
        ILogger logger,
        CancellationToken cancellationToken)
    {
        var id = CompletionId(job.Id);
        var created = job.CreatedAt.ToUnixTimeSeconds();
        var streamed = new StringBuilder(); // the text the client has
        var runLength = 0; // the text the current run has generated
        var finished = false;
        using var sse = SseResponse.Start(http, delivery, stats, time, cancellationToken);

        Task ChunkAsync(ChatDelta delta, string? finishReason, ChatUsage? usage = null, bool noChoices = false) =>
            sse.WriteAsync(Frame(JsonSerializer.SerializeToUtf8Bytes(
                new ChatCompletionChunk(id, ChatCompletionChunk.ObjectName, created, job.Model, null, noChoices ? [] : [new ChatChunkChoice(0, delta, null, finishReason)], usage),
                ChatJsonContext.Default.ChatCompletionChunk)));

        async Task<bool> OnEventAsync(JobEvent jobEvent)
        {
            if (jobEvent.Type == JobEventTypes.Started)
            {
                // A run starts (again, when the job was redelivered): its tokens start over.
                runLength = 0;
            }
            else if (jobEvent.Type == JobEventTypes.Token
                && jobEvent.Data is { ValueKind: JsonValueKind.Object } data
                && data.TryGetProperty("text", out var text) && text.ValueKind == JsonValueKind.String
                && text.GetString() is { Length: > 0 } piece)
            {
                // A later run repeats what an earlier one streamed (the worker derives its
                // seed from the job): only text past what the client has is sent. Should
                // it differ (another kind of worker), the client is told, not given a splice.
                var overlap = Math.Clamp(streamed.Length - runLength, 0, piece.Length);
                var same = true;
                for (var i = 0; i < overlap && same; i++)
                {
                    same = streamed[runLength + i] == piece[i];
                }

                if (!same)
                {
                    await sse.WriteAsync(Frame(JsonSerializer.SerializeToUtf8Bytes(
                        new ChatStreamError(new ChatStreamErrorBody($"The job was run again and generated a different text; its result will be at /v1/jobs/{job.Id}.", "server_error", "restarted", job.Id)),
                        ChatJsonContext.Default.ChatStreamError)));
                    await sse.WriteAsync(Done);
                    finished = true;
                    return false;
                }

                runLength += piece.Length;
                if (overlap < piece.Length)
                {
                    var fresh = piece[overlap..];
                    streamed.Append(fresh);
                    await ChunkAsync(new ChatDelta(null, fresh), null);
                }
            }
            else if (jobEvent.Type == JobEventTypes.Completed && ReadResult(jobEvent.Data) is { } result)
            {
                if (refund is not null)
                {
                    await refund.SettleAsync(result.Usage);
                }

                // The token events are the text as it grew; should the result say more
                // (a worker that did not stream every token), the rest goes out now.
                var sent = streamed.ToString();
                if (result.Text.Length > sent.Length && result.Text.StartsWith(sent, StringComparison.Ordinal))
                {
                    await ChunkAsync(new ChatDelta(null, result.Text[sent.Length..]), null);
                }

                await ChunkAsync(new ChatDelta(null, null), result.FinishReason);
                if (includeUsage)
                {
                    await ChunkAsync(new ChatDelta(null, null), null, ChatUsage.From(result.Usage), noChoices: true);
                }

                await sse.WriteAsync(Done);
                finished = true;
            }
            else if (JobEventTypes.IsTerminal(jobEvent.Type))
            {
                var (code, message) = ReadError(jobEvent.Data);
                await sse.WriteAsync(Frame(JsonSerializer.SerializeToUtf8Bytes(
                    new ChatStreamError(new ChatStreamErrorBody(message ?? $"The job ended {jobEvent.Type}.", jobEvent.Type == JobEventTypes.Completed ? "server_error" : jobEvent.Type, code ?? jobEvent.Type, job.Id)),
                    ChatJsonContext.Default.ChatStreamError)));
                await sse.WriteAsync(Done);
                finished = true;
            }

            return true;
        }

        try
        {
            await ChunkAsync(new ChatDelta("assistant", string.Empty), null);
            await sse.PumpAsync(stop => feed.ReadAsync(job.Id, 0, stop), OnEventAsync);
        }
        catch (Exception ex) when (ex is OperationCanceledException or SseClientTooSlowException or IOException)
        {
            // The client went away, took nothing for the write timeout, or the connection broke under a write.
        }
        catch (Exception ex) when (ex is TimeoutRejectedException || ProblemsExtensions.IsDependencyFailure(ex))
        {
            Log.SseStreamInterrupted(logger, job.Id, 0, ex.GetType().Name);
            await sse.TryWriteLastAsync(Frame(JsonSerializer.SerializeToUtf8Bytes(
                new ChatStreamError(new ChatStreamErrorBody($"Events unavailable (Redis unreachable); the job goes on: follow /v1/jobs/{job.Id}/events.", "service_unavailable", "events_unavailable", job.Id)),
                ChatJsonContext.Default.ChatStreamError)));

            // The job is not the client's fault: it is left to run.
            finished = true;
        }

        if (!finished && options.CancelOnDisconnect)
        {
            // Nobody reads the answer any more: stop the GPU spending on it.
            await CancelAsync(store, activeJobs, job, logger);
        }
    }

    private static async Task CancelAsync(RedisJobStore store, ActiveJobs activeJobs, JobRecord job, ILogger logger)
    {
        try
        {
            if (await store.CancelAsync(job.Id) == CancelOutcome.Cancelled)
            {
                await activeJobs.ReleaseAsync(job.Tenant, job.Id);
            }

            Log.ChatStreamAbandoned(logger, job.Id);
        }
        catch (Exception ex) when (ProblemsExtensions.IsDependencyFailure(ex))
        {
            Log.ChatStreamCancelFailed(logger, job.Id, ex.GetType().Name);
        }
    }

    private static byte[] Frame(byte[] json)
    {
        var frame = new byte[json.Length + 8];
        "data: "u8.CopyTo(frame);
        json.CopyTo(frame, 6);
        frame[^2] = (byte)'\n';
        frame[^1] = (byte)'\n';
        return frame;
    }

    /// <summary>RFC 7240 <c>Prefer</c>: <c>wait=N</c> and <c>respond-async</c>; other preferences are ignored.</summary>
    internal static PreferHeader? ParsePrefer(string header)
    {
        if (header.Length == 0)
        {
            return null;
        }

        PreferHeader? found = null;
        foreach (var preference in header.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var token = preference.Split(';', 2)[0].Trim();
            var (name, value) = token.IndexOf('=', StringComparison.Ordinal) is var eq and >= 0
                ? (token[..eq].Trim(), token[(eq + 1)..].Trim().Trim('"'))
                : (token, null);
            if (name.Equals("respond-async", StringComparison.OrdinalIgnoreCase))
            {
                found = (found ?? new PreferHeader()) with { RespondAsync = true };
            }
            else if (name.Equals("wait", StringComparison.OrdinalIgnoreCase))
            {
                found = long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var seconds)
                    ? (found ?? new PreferHeader()) with { WaitSeconds = seconds }
                    : (found ?? new PreferHeader()) with { Invalid = true };
            }
        }

        return found;
    }

    internal readonly record struct PreferHeader(long WaitSeconds, bool RespondAsync, bool Invalid);

    /// <summary>The tokens charged up front for a job; once its usage is known, what it did not use is given back.</summary>
    private sealed class TokenRefund(TokenRateLimiter limiter, string tenant, string? plan, long charged, TokenDecision charge)
    {
        /// <summary>Gives back the estimate's excess over <paramref name="usage"/>'s total (nothing when the usage is unknown).</summary>
        public Task SettleAsync(TokenUsage? usage) =>
            usage is { TotalTokens: >= 0 } used && charged > used.TotalTokens
                ? limiter.RefundAsync(tenant, plan, charged - used.TotalTokens, charge)
                : Task.CompletedTask;
    }
}
