using System.Text.Json;
using InferenceGateway.Contracts;
using InferenceGateway.Core.Jobs;
using InferenceGateway.Gateway.Hubs;
using InferenceGateway.Gateway.Problems;
using Polly.Timeout;

namespace InferenceGateway.Gateway.Chat;

/// <summary>
/// A <c>stream: true</c> chat completion: the job's events as OpenAI's <c>chat.completion.chunk</c>
/// frames, with the tokens of a redelivered job's later run merged by token index with what the
/// client already has (<see cref="ChatTokenMerge"/>).
/// </summary>
internal static class ChatCompletionStream
{
    private static readonly byte[] Done = "data: [DONE]\n\n"u8.ToArray();

    /// <summary>
    /// Writes the job's events as OpenAI chunks: the role first, a chunk per <c>token</c> event
    /// (the worker merges tokens while Redis is busy, so one may carry several), then a chunk with
    /// the finish reason, the usage when asked for, and <c>[DONE]</c>. A job that fails sends
    /// <c>{"error": ...}</c> (what OpenAI's clients raise) before <c>[DONE]</c>.
    /// </summary>
    internal static async Task StreamAsync(
        HttpContext http,
        JobRecord job,
        bool includeUsage,
        ChatCompletionsApi.TokenRefund? refund,
        ChatCompletionsApi.ChatStreamServices services,
        ChatOptions options,
        CancellationToken cancellationToken)
    {
        var (feed, store, activeJobs, stats, delivery, time, loggers) = services;
        var logger = loggers.CreateLogger(typeof(ChatCompletionsApi));
        var id = ChatCompletionsApi.CompletionId(job.Id);
        var created = job.CreatedAt.ToUnixTimeSeconds();
        var streamed = new ChatTokenMerge(); // the text the client has, by token index
        var finished = false;
        using var sse = SseResponse.Start(http, delivery.Value, stats, time, cancellationToken);

        Task ChunkAsync(ChatDelta delta, string? finishReason, ChatUsage? usage = null, bool noChoices = false) =>
            sse.WriteAsync(Frame(JsonSerializer.SerializeToUtf8Bytes(
                new ChatCompletionChunk(id, ChatCompletionChunk.ObjectName, created, job.Model, null, noChoices ? [] : [new ChatChunkChoice(0, delta, null, finishReason)], usage),
                ChatJsonContext.Default.ChatCompletionChunk)));

        async Task<bool> OnEventAsync(JobEvent jobEvent)
        {
            if (jobEvent.Type == JobEventTypes.Token
                && jobEvent.Data is { ValueKind: JsonValueKind.Object } data
                && data.TryGetProperty("index", out var index) && index.TryGetInt64(out var first)
                && data.TryGetProperty("text", out var text) && text.ValueKind == JsonValueKind.String
                && text.GetString() is { } piece)
            {
                // A later run repeats tokens an earlier one streamed (the worker derives its seed
                // from the job): only indices past what the client has are sent. Should a rerun's
                // text for them differ (another kind of worker), the client is told, not given a splice.
                var count = data.TryGetProperty("count", out var n) && n.TryGetInt64(out var c) ? c : 1;
                if (!streamed.TryAdd(first, count, piece, out var fresh))
                {
                    await sse.WriteAsync(Frame(JsonSerializer.SerializeToUtf8Bytes(
                        new ChatStreamError(new ChatStreamErrorBody($"The job was run again and generated a different text; its result will be at /v1/jobs/{job.Id}.", "server_error", "restarted", job.Id)),
                        ChatJsonContext.Default.ChatStreamError)));
                    await sse.WriteAsync(Done);
                    finished = true;
                    return false;
                }

                if (fresh is not null)
                {
                    await ChunkAsync(new ChatDelta(null, fresh), null);
                }
            }
            else if (jobEvent.Type == JobEventTypes.Completed && ChatAnswers.ReadResult(jobEvent.Data) is { } result)
            {
                if (refund is not null)
                {
                    await refund.SettleAsync(result.Usage);
                }

                // The token events are the text as it grew; should the result say more
                // (a worker that did not stream every token), the rest goes out now.
                var sent = streamed.Text;
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
                var (code, message) = ChatAnswers.ReadError(jobEvent.Data);
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
}
