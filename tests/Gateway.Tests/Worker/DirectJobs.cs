using System.Text.Json;
using Amazon.SQS;
using Amazon.SQS.Model;
using InferenceGateway.Contracts;
using InferenceGateway.Core.Jobs;

namespace InferenceGateway.Tests.Worker;

/// <summary>
/// Jobs made the way the gateway makes them (a record in Redis, then a message on the queue), but
/// with fields the test chooses: timeouts, expiry, many texts.
/// </summary>
internal static class DirectJobs
{
    public const string Model = "all-minilm-l6-v2";

    /// <summary>Texts at the 256-token limit: about a second of model time per 32 on two cores.</summary>
    public static string[] LongTexts(int count) =>
        [.. Enumerable.Range(0, count).Select(i => string.Join(' ', Enumerable.Range(0, 300).Select(w => $"word{((i * 7) + w) % 97}")))];

    public static JobMessage Message(string tenant, IReadOnlyList<string> texts, int? executionTimeoutMs = null, DateTimeOffset? expiresAt = null) => new()
    {
        SchemaVersion = JobMessage.CurrentSchemaVersion,
        JobId = $"job_{Guid.NewGuid():N}",
        Tenant = tenant,
        Model = Model,
        Input = new JobInput { Texts = texts },
        CreatedAt = DateTimeOffset.UtcNow,
        ExecutionTimeoutMs = executionTimeoutMs,
        ExpiresAt = expiresAt,
    };

    /// <summary>Records the job and sends its message; returns the job id.</summary>
    public static async Task<string> SubmitAsync(RedisJobStore store, IAmazonSQS sqs, string queueUrl, JobMessage job)
    {
        await CreateAsync(store, job);
        await SendAsync(sqs, queueUrl, job);
        return job.JobId;
    }

    public static Task CreateAsync(RedisJobStore store, JobMessage job) =>
        store.CreateAsync(job.JobId, job.Tenant, job.Model, job.CreatedAt);

    public static Task SendAsync(IAmazonSQS sqs, string queueUrl, JobMessage job) =>
        sqs.SendMessageAsync(new SendMessageRequest
        {
            QueueUrl = queueUrl,
            MessageBody = JsonSerializer.Serialize(job, ContractsJsonContext.Default.JobMessage),
            MessageAttributes = new()
            {
                [JobMessageAttributes.JobId] = new MessageAttributeValue { DataType = "String", StringValue = job.JobId },
                [JobMessageAttributes.Tenant] = new MessageAttributeValue { DataType = "String", StringValue = job.Tenant },
            },
        });

    /// <summary>Waits until the job's log holds a terminal event (or an event of <paramref name="type"/>), then returns the log.</summary>
    public static async Task<IReadOnlyList<JobEvent>> WaitForAsync(RedisJobStore store, string jobId, TimeSpan timeout, string? type = null)
    {
        using var cts = new CancellationTokenSource(timeout);
        while (true)
        {
            var events = await store.ReadEventsAsync(jobId, 0, 1000);
            if (events.Any(e => type is null ? JobEventTypes.IsTerminal(e.Type) : e.Type == type))
            {
                return events;
            }

            await Task.Delay(50, cts.Token);
        }
    }
}
