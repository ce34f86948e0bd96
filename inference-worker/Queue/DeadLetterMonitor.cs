using System.Globalization;
using System.Text.Json;
using Amazon.SQS.Model;
using InferenceGateway.Contracts;
using InferenceGateway.Core.Jobs;
using InferenceGateway.Core.Queue;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace InferenceGateway.Worker.Queue;

/// <summary>
/// Closes the jobs whose messages SQS's redrive policy moved to the dead-letter queue: a job whose
/// worker died on every one of its maxReceiveCount deliveries never had a worker alive to record
/// its end, so its client would wait for ever. Each such job is ended <c>failed</c> with the
/// reason. Messages stay in the DLQ for inspection and redrive: each read hides them for only
/// <see cref="PeekSeconds"/>, a Redis marker per message id keeps a message from being handled twice,
/// and a read that finds nothing new pauses the monitor for as long. Messages this worker moved
/// itself after recording the job's end carry <see cref="JobClosedAttribute"/> and are left alone.
/// </summary>
public sealed class DeadLetterMonitor(
    JobQueue queue,
    RedisJobStore store,
    ActiveJobs activeJobs,
    IConnectionMultiplexer redis,
    IOptions<WorkerOptions> options,
    IOptions<SqsOptions> sqsOptions,
    TimeProvider time,
    ILogger<DeadLetterMonitor> logger) : BackgroundService
{
    /// <summary>The message attribute naming why a worker moved a message to the DLQ.</summary>
    public const string ReasonAttribute = "dead-letter-reason";

    /// <summary>"true" on a message a worker moved after recording its job's end; otherwise this monitor closes the job.</summary>
    public const string JobClosedAttribute = "job-closed";

    /// <summary>How long a read hides DLQ messages, and the pause after a read with nothing new.</summary>
    public const int PeekSeconds = 5;

    private static readonly TimeSpan SeenFor = TimeSpan.FromDays(14);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!options.Value.MonitorDeadLetterQueue)
        {
            return;
        }

        var failures = 0;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                var urls = await queue.GetUrlsAsync(stoppingToken);
                if (urls.DeadLetter is null)
                {
                    return;
                }

                var response = await queue.Client.ReceiveMessageAsync(
                    new ReceiveMessageRequest
                    {
                        QueueUrl = urls.DeadLetter,
                        MaxNumberOfMessages = 10,
                        WaitTimeSeconds = options.Value.WaitTimeSeconds,
                        VisibilityTimeout = PeekSeconds,
                        MessageSystemAttributeNames = ["ApproximateReceiveCount"],
                        MessageAttributeNames = ["All"],
                    },
                    stoppingToken);
                var handled = 0;
                foreach (var message in response.Messages ?? [])
                {
                    if (await CloseJobAsync(message))
                    {
                        handled++;
                    }
                }

                failures = 0;
                if (response.Messages is { Count: > 0 } && handled == 0)
                {
                    await Task.Delay(TimeSpan.FromSeconds(PeekSeconds), time, stoppingToken);
                }
            }
            catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
            {
                failures++;
                var delay = TimeSpan.FromMilliseconds(Math.Min(200 * Math.Pow(2, failures), 10_000));
                Log.DeadLetterMonitorFailed(logger, ex, delay.TotalMilliseconds);
                await Task.Delay(delay, time, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    /// <summary>Closes the job of a message the redrive policy moved; false for one seen or moved by a worker.</summary>
    private async Task<bool> CloseJobAsync(Message message)
    {
        var seen = $"dlq:seen:{message.MessageId}";
        if (message.MessageAttributes?.GetValueOrDefault(JobClosedAttribute)?.StringValue == "true" || await redis.GetDatabase().KeyExistsAsync(seen))
        {
            return false;
        }

        var jobId = message.MessageAttributes?.GetValueOrDefault(JobMessageAttributes.JobId)?.StringValue;
        var tenant = message.MessageAttributes?.GetValueOrDefault(JobMessageAttributes.Tenant)?.StringValue;
        if (jobId is null)
        {
            try
            {
                var job = JsonSerializer.Deserialize(message.Body, ContractsJsonContext.Default.JobMessage);
                jobId = job?.JobId;
                tenant ??= job?.Tenant;
            }
            catch (JsonException)
            {
                return false;
            }
        }

        if (string.IsNullOrEmpty(jobId))
        {
            return false;
        }

        var why = message.MessageAttributes?.GetValueOrDefault(ReasonAttribute)?.StringValue
            ?? $"delivered {(int.TryParse(message.Attributes?.GetValueOrDefault("ApproximateReceiveCount"), CultureInfo.InvariantCulture, out var n) ? n - 1 : 0)} times without a worker finishing it (the queue's maxReceiveCount is {sqsOptions.Value.MaxReceiveCount})";
        var result = await store.FailAsync(jobId, new JobError("dead_lettered", $"The job's message was moved to the dead-letter queue: {why}."));
        if (!string.IsNullOrEmpty(tenant))
        {
            await activeJobs.ReleaseAsync(tenant, jobId);
        }

        if (result.Outcome == AppendOutcome.Appended)
        {
            Log.DeadLettered(logger, jobId, message.MessageId);
        }

        // Marked only once handled: a failure above leaves the message to the next read.
        await redis.GetDatabase().StringSetAsync(seen, 1, SeenFor);
        return true;
    }
}
