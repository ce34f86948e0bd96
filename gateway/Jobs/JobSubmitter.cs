using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Amazon.SQS.Model;
using InferenceGateway.Contracts;
using InferenceGateway.Core.Jobs;
using InferenceGateway.Core.Queue;

namespace InferenceGateway.Gateway.Jobs;

/// <summary>
/// Accepts a job: writes its record and <c>queued</c> event to Redis, then sends it to SQS. If the
/// send fails the record is closed as <c>failed</c> (reason <c>enqueue_failed</c>) so no job waits
/// forever for a message that was never sent, and the caller gets the exception (a 503).
/// </summary>
public sealed class JobSubmitter(RedisJobStore store, JobQueue queue, TimeProvider time, ILogger<JobSubmitter> logger)
{
    public async Task<JobRecord> SubmitAsync(string tenant, string model, JobInput input, CancellationToken cancellationToken)
    {
        var id = "job_" + Guid.CreateVersion7().ToString("N");
        var createdAt = time.GetUtcNow();
        var urls = await queue.GetUrlsAsync(cancellationToken);
        var created = await store.CreateAsync(id, tenant, model, createdAt, cancellationToken);
        if (created.Outcome != AppendOutcome.Appended)
        {
            throw new InvalidOperationException($"Job id {id} collided ({created.Outcome}).");
        }

        var message = new JobMessage
        {
            SchemaVersion = JobMessage.CurrentSchemaVersion,
            JobId = id,
            Tenant = tenant,
            Model = model,
            Input = input,
            CreatedAt = createdAt,
        };
        try
        {
            await queue.Client.SendMessageAsync(
                new SendMessageRequest
                {
                    QueueUrl = urls.Jobs,
                    MessageBody = JsonSerializer.Serialize(message, ContractsJsonContext.Default.JobMessage),
                    MessageAttributes = new Dictionary<string, MessageAttributeValue>
                    {
                        [JobMessageAttributes.JobId] = new() { DataType = "String", StringValue = id },
                        [JobMessageAttributes.Tenant] = new() { DataType = "String", StringValue = tenant },
                        [JobMessageAttributes.TraceParent] = new() { DataType = "String", StringValue = TraceParent() },
                        [JobMessageAttributes.SchemaVersion] = new() { DataType = "Number", StringValue = JobMessage.CurrentSchemaVersion.ToString(CultureInfo.InvariantCulture) },
                    },
                },
                cancellationToken);
        }
        catch (Exception ex)
        {
            Log.EnqueueFailed(logger, ex, id);
            var error = JsonSerializer.Serialize(new JobError("enqueue_failed", "The job could not be put on the queue."), ContractsJsonContext.Default.JobError);
            await store.AppendAsync(
                id,
                JobEventTypes.Failed,
                $$"""{"error":{{error}}}""",
                [new(JobFields.Status, JobStatuses.Failed), new(JobFields.Error, error), new(JobFields.CompletedAt, RedisJobStore.Format(time.GetUtcNow()))],
                CancellationToken.None);
            throw;
        }

        return new JobRecord
        {
            Id = id,
            Tenant = tenant,
            Model = model,
            Status = JobStatuses.Queued,
            CreatedAt = createdAt,
            Metrics = new JobMetrics(),
            LastSeq = created.Seq,
        };
    }

    /// <summary>The W3C trace context to hand to the worker: the current request's, or a fresh one.</summary>
    private static string TraceParent() =>
        Activity.Current is { IdFormat: ActivityIdFormat.W3C } activity
            ? activity.Id!
            : $"00-{ActivityTraceId.CreateRandom()}-{ActivitySpanId.CreateRandom()}-01";
}
