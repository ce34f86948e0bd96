using System.Diagnostics;
using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Text.Json;
using Amazon.SQS.Model;
using InferenceGateway.Contracts;
using InferenceGateway.Core.Jobs;
using InferenceGateway.Core.Queue;
using InferenceGateway.Worker.Inference;

namespace InferenceGateway.Worker.Jobs;

/// <summary>
/// Runs one job message: records <c>started</c>, runs the model, records the terminal event and the
/// result, and only then deletes the message. If recording fails the message stays on the queue
/// and comes back after its visibility timeout; a redelivered job that already ended is
/// acknowledged without running again.
/// </summary>
public sealed class JobProcessor(
    JobQueue queue,
    RedisJobStore store,
    ActiveJobs activeJobs,
    ModelHost models,
    TimeProvider time,
    ILogger<JobProcessor> logger)
{
    private static readonly ActivitySource Source = new("InferenceGateway.Worker");

    public async Task ProcessAsync(Message message, QueueUrls urls, CancellationToken cancellationToken)
    {
        if (!TryRead(message, out var job, out var reason))
        {
            if (job?.JobId is { Length: > 0 } unreadableJobId)
            {
                // Close the job first, so its client hears why instead of waiting for ever.
                await store.FailAsync(unreadableJobId, new JobError("unsupported_message", $"No worker could read this job: {reason}."));
                if (job.Tenant is { Length: > 0 } tenant)
                {
                    await activeJobs.ReleaseAsync(tenant, unreadableJobId);
                }
            }

            await DeadLetterAsync(message, urls, reason, cancellationToken);
            return;
        }

        using var activity = StartActivity(message, job);
        try
        {
            await RunAsync(job, message, urls, cancellationToken);
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
        {
            // Redis or SQS failed while recording: leave the message for redelivery.
            Log.MessageLeft(logger, ex, message.MessageId, job.JobId);
        }
    }

    private async Task RunAsync(JobMessage job, Message message, QueueUrls urls, CancellationToken cancellationToken)
    {
        var startedAt = time.GetUtcNow();
        var queueMs = Math.Max(0, (long)(startedAt - job.CreatedAt).TotalMilliseconds);
        var attempt = int.TryParse(message.Attributes?.GetValueOrDefault("ApproximateReceiveCount"), CultureInfo.InvariantCulture, out var receives) ? receives : 1;
        var started = await store.AppendAsync(
            job.JobId,
            JobEventTypes.Started,
            $$"""{"attempt":{{attempt}}}""",
            [
                new(JobFields.Status, JobStatuses.Running),
                new(JobFields.StartedAt, RedisJobStore.Format(startedAt)),
                new(JobFields.QueueMs, queueMs.ToString(CultureInfo.InvariantCulture)),
            ]);
        if (started.Outcome != AppendOutcome.Appended)
        {
            Log.JobAlreadySettled(logger, job.JobId, started.Outcome.ToString(), message.MessageId);
            await activeJobs.ReleaseAsync(job.Tenant, job.JobId);
            await DeleteAsync(message, urls, cancellationToken);
            return;
        }

        using var lease = await models.AcquireAsync(cancellationToken);
        var clock = Stopwatch.GetTimestamp();
        float[][]? vectors = null;
        Exception? failure = null;
        try
        {
            var texts = job.Input.Texts ?? [];
            vectors = await Task.Run(() => lease.Model.Embed(texts, cancellationToken), cancellationToken);
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
        {
            // Cancellation (shutdown) surfaces from ONNX Runtime as an OnnxRuntimeException about
            // its terminate flag: with the token set, any exception leaves the message for redelivery.
            failure = ex;
            Log.InferenceFailed(logger, ex, job.JobId);
        }

        var executionMs = Stopwatch.GetElapsedTime(clock).TotalMilliseconds;
        var metrics = new JobMetrics
        {
            QueueMs = queueMs,
            ColdStart = lease.ColdStart,
            InitMs = Math.Round(lease.InitMs, 3),
            ExecutionMs = Math.Round(executionMs, 3),
            BilledMs = (long)Math.Ceiling(lease.InitMs + executionMs),
        };
        var completedAt = time.GetUtcNow();
        List<KeyValuePair<string, string>> fields =
        [
            new(JobFields.CompletedAt, RedisJobStore.Format(completedAt)),
            new(JobFields.ColdStart, lease.ColdStart ? "1" : "0"),
            new(JobFields.InitMs, metrics.InitMs.Value.ToString(CultureInfo.InvariantCulture)),
            new(JobFields.ExecutionMs, metrics.ExecutionMs.Value.ToString(CultureInfo.InvariantCulture)),
            new(JobFields.BilledMs, metrics.BilledMs.Value.ToString(CultureInfo.InvariantCulture)),
        ];
        var metricsJson = JsonSerializer.Serialize(metrics, ContractsJsonContext.Default.JobMetrics);

        AppendResult final;
        if (vectors is not null)
        {
            var result = new EmbeddingResult(MiniLmEmbedder.ModelName, MiniLmEmbedder.Dimensions, vectors);
            var resultJson = JsonSerializer.Serialize(result, ContractsJsonContext.Default.EmbeddingResult);
            fields.Add(new(JobFields.Status, JobStatuses.Completed));
            fields.Add(new(JobFields.Result, resultJson));
            final = await store.AppendAsync(job.JobId, JobEventTypes.Completed, $$"""{"result":{{resultJson}},"metrics":{{metricsJson}}}""", fields);
        }
        else
        {
            var error = new JobError("inference_error", $"The model failed on this input ({failure?.GetType().Name ?? "unknown error"}).");
            var errorJson = JsonSerializer.Serialize(error, ContractsJsonContext.Default.JobError);
            fields.Add(new(JobFields.Status, JobStatuses.Failed));
            fields.Add(new(JobFields.Error, errorJson));
            final = await store.AppendAsync(job.JobId, JobEventTypes.Failed, $$"""{"error":{{errorJson}},"metrics":{{metricsJson}}}""", fields);
        }

        await activeJobs.ReleaseAsync(job.Tenant, job.JobId);
        Log.JobFinished(logger, job.JobId, final.Outcome == AppendOutcome.Appended ? (vectors is null ? JobStatuses.Failed : JobStatuses.Completed) : final.Outcome.ToString(), executionMs, queueMs, lease.ColdStart);
        await DeleteAsync(message, urls, cancellationToken);
    }

    /// <summary>Reads the body; when it is readable JSON but not a job this worker runs, <paramref name="job"/> still carries what was read.</summary>
    private static bool TryRead(Message message, [NotNullWhen(true)] out JobMessage? job, out string reason)
    {
        job = null;
        try
        {
            job = JsonSerializer.Deserialize(message.Body, ContractsJsonContext.Default.JobMessage);
        }
        catch (JsonException ex)
        {
            reason = "malformed JSON: " + ex.Message;
            return false;
        }

        reason = job switch
        {
            null => "empty body",
            { SchemaVersion: not JobMessage.CurrentSchemaVersion } => $"schema version {job.SchemaVersion}, this worker reads {JobMessage.CurrentSchemaVersion}",
            _ when !string.Equals(job.Model, MiniLmEmbedder.ModelName, StringComparison.Ordinal) => $"model '{job.Model}' is not served by this worker",
            _ => string.Empty,
        };
        return reason.Length == 0;
    }

    private static Activity? StartActivity(Message message, JobMessage job)
    {
        var parent = message.MessageAttributes?.GetValueOrDefault(JobMessageAttributes.TraceParent)?.StringValue;
        var activity = ActivityContext.TryParse(parent, null, out var context)
            ? Source.StartActivity("job.process", ActivityKind.Consumer, context)
            : Source.StartActivity("job.process", ActivityKind.Consumer);
        activity?.SetTag("job.id", job.JobId);
        activity?.SetTag("job.tenant", job.Tenant);
        return activity;
    }

    private async Task DeadLetterAsync(Message message, QueueUrls urls, string reason, CancellationToken cancellationToken)
    {
        if (urls.DeadLetter is null)
        {
            // Without a dead-letter queue the redrive policy (if any) moves it after maxReceiveCount.
            Log.PoisonMessage(logger, message.MessageId, reason + "; no dead-letter queue configured, left to the redrive policy");
            return;
        }

        // Keep the original attributes (job id, tenant, traceparent) and say why it was moved.
        var attributes = new Dictionary<string, MessageAttributeValue>(message.MessageAttributes ?? [], StringComparer.Ordinal)
        {
            ["dead-letter-reason"] = new() { DataType = "String", StringValue = reason.Length > 1000 ? reason[..1000] : reason },
        };
        await queue.Client.SendMessageAsync(
            new SendMessageRequest { QueueUrl = urls.DeadLetter, MessageBody = message.Body, MessageAttributes = attributes },
            cancellationToken);
        await DeleteAsync(message, urls, cancellationToken);
        Log.PoisonMessage(logger, message.MessageId, reason);
    }

    private async Task DeleteAsync(Message message, QueueUrls urls, CancellationToken cancellationToken) =>
        await queue.Client.DeleteMessageAsync(urls.Jobs, message.ReceiptHandle, cancellationToken);
}
