using System.Globalization;
using Amazon.SQS.Model;
using InferenceGateway.Contracts;
using InferenceGateway.Core.Jobs;
using InferenceGateway.Core.Queue;
using InferenceGateway.Inference.Hosting;
using InferenceGateway.Worker.Jobs;
using MassTransit.Mediator;
using Microsoft.Extensions.Options;

namespace InferenceGateway.Worker.Queue;

/// <summary>
/// One received message, from the moment the <see cref="SqsEventSource"/> hands it over: read it
/// (<see cref="JobMessageReader"/>), fetch its input from Redis when the message carries a reference
/// instead (a claim check, <see cref="JobInputs"/>; an input that is gone ends the job <c>failed</c>
/// with <c>input_missing</c>), run its job through MassTransit's Mediator while its visibility
/// is extended, then settle it: delete it once the job's end is recorded, give it back with backoff
/// when the delivery failed (or at once when the worker is stopping, or another worker serves its
/// model, or another run holds the job's lease), leave it alone when this run was fenced (another
/// run took the job over), and on the last allowed delivery, or for a message no worker can read, end the job as
/// failed and move the message to the dead-letter queue. Never throws: an SQS failure leaves the
/// message to its visibility timeout.
/// </summary>
public sealed class JobMessageHandler(
    JobQueue queue,
    ReceiptBatchCoalescer acks,
    IMediator mediator,
    RedisJobStore store,
    ActiveJobs activeJobs,
    ModelHost models,
    WorkerLifetime lifetime,
    IOptions<WorkerOptions> options,
    IOptions<SqsOptions> sqsOptions,
    ILogger<SqsEventSource> logger,
    JobInputs inputs,
    TimeProvider time)
{
    private readonly WorkerOptions _options = options.Value;
    private readonly int _maxReceiveCount = sqsOptions.Value.MaxReceiveCount;

    public async Task HandleAsync(Message message, QueueUrls urls, VisibilityHeartbeats heartbeats)
    {
        try
        {
            await Task.Yield();
            if (!JobMessageReader.TryRead(message, out var job, out var reason))
            {
                await PoisonAsync(message, job, urls, reason);
                return;
            }

            var receiveCount = int.TryParse(message.Attributes?.GetValueOrDefault("ApproximateReceiveCount"), CultureInfo.InvariantCulture, out var n) ? n : 1;
            if (!models.Serves(job.Model))
            {
                // Another worker may serve it (a fleet of mixed models, a rolling deploy): give it
                // back. If none does, the redrive policy moves it to the DLQ after maxReceiveCount
                // and the dead-letter monitor ends the job with the reason.
                var wait = ReleaseBackoff(receiveCount);
                await ChangeVisibilityAsync(message, urls, wait);
                Log.Released(logger, message.MessageId, job.JobId, wait, $"model '{job.Model}' is not served by this worker");
                return;
            }

            Exception? failure = null;
            var inputMissing = false;
            using (heartbeats.Track(message.MessageId, message.ReceiptHandle))
            {
                try
                {
                    var run = await ResolveInputAsync(job);
                    if (run is null)
                    {
                        inputMissing = true;
                    }
                    else
                    {
                        await mediator.Send(new RunJob(run, message.MessageId, receiveCount), lifetime.Aborted);
                    }
                }
                catch (Exception ex)
                {
                    // A Redis error reading a stored input is a failed delivery like any other: retried with backoff.
                    failure = ex;
                }
            }

            if (inputMissing)
            {
                await InputMissingAsync(message, job, urls);
            }
            else if (failure is null)
            {
                await acks.DeleteAsync(urls.Jobs, message.ReceiptHandle);
            }
            else if (failure is JobFencedException)
            {
                // Another run took the job over with a later receive of this message: the message is
                // that run's to delete, and this receipt must neither delete it nor change its visibility.
            }
            else if (failure is JobLeasedException { Duplicate: true })
            {
                await acks.DeleteAsync(urls.Jobs, message.ReceiptHandle);
                Log.DuplicateDeleted(logger, message.MessageId, job.JobId);
            }
            else if (failure is JobLeasedException leased)
            {
                // Another run holds the job: back in about the time its lease has left (never deleted).
                var wait = LeaseBackoff(leased.Remaining);
                await ChangeVisibilityAsync(message, urls, wait);
                Log.Released(logger, message.MessageId, job.JobId, wait, "another run holds the job's lease");
            }
            else if (lifetime.Aborted.IsCancellationRequested)
            {
                await ChangeVisibilityAsync(message, urls, 0);
                Log.Released(logger, message.MessageId, job.JobId, 0, "the worker is stopping");
            }
            else if (receiveCount >= _maxReceiveCount)
            {
                await GiveUpAsync(message, job, urls, receiveCount, failure);
            }
            else
            {
                var delay = ReleaseBackoff(receiveCount);
                await ChangeVisibilityAsync(message, urls, delay);
                Log.DeliveryFailed(logger, failure, message.MessageId, job.JobId, receiveCount, delay);
            }
        }
        catch (Exception ex)
        {
            // SQS itself failed: the message was not deleted and comes back after its visibility timeout.
            Log.ProcessingFailed(logger, ex, message.MessageId);
        }
    }

    /// <summary>
    /// The job with its input: as read, or with the input its message names fetched from Redis (a
    /// claim check). Null when that input is gone. A job past its expiry is left as read: it ends
    /// <c>expired</c> without running, and needs no input.
    /// </summary>
    private async Task<JobMessage?> ResolveInputAsync(JobMessage job)
    {
        if (job.InputRef is null || (job.ExpiresAt is { } expiresAt && time.GetUtcNow() > expiresAt))
        {
            return job;
        }

        return await inputs.ReadAsync(job) is { } input ? job with { Input = input } : null;
    }

    /// <summary>
    /// The input a claim check named is gone (expired with the job's retention, or lost with Redis
    /// data): the job can never run. End it <c>failed</c> with the reason, give back its place, and
    /// delete the message (a retry would find nothing more).
    /// </summary>
    private async Task InputMissingAsync(Message message, JobMessage job, QueueUrls urls)
    {
        var outcome = await store.FailAsync(
            job.JobId,
            new JobError("input_missing", $"The job's input was too large for its queue message and was kept in Redis ({job.InputRef}); it is gone (expired or lost), so the job cannot run. Submit it again."));
        await activeJobs.ReleaseAsync(job.Tenant, job.JobId);
        await acks.DeleteAsync(urls.Jobs, message.ReceiptHandle);
        ClaimCheckLog.InputMissing(logger, job.JobId, job.InputRef!, outcome.Outcome.ToString(), message.MessageId);
    }

    /// <summary>The seconds until a lease with <paramref name="remaining"/> left has lapsed (plus one), at least 1, at most <see cref="WorkerOptions.ReleaseBackoffMaxSeconds"/>.</summary>
    private int LeaseBackoff(TimeSpan remaining) =>
        (int)Math.Clamp(Math.Ceiling(remaining.TotalSeconds) + 1, 1, Math.Max(1, _options.ReleaseBackoffMaxSeconds));

    private int ReleaseBackoff(int receiveCount)
    {
        var exponent = Math.Min(receiveCount - 1, 16);
        var seconds = Math.Min((double)_options.ReleaseBackoffSeconds * (1 << exponent), _options.ReleaseBackoffMaxSeconds);
        var jitter = seconds * 0.2 * Random.Shared.NextDouble();
        return (int)Math.Min(Math.Round(seconds + jitter), 43_200);
    }

    /// <summary>Gives a message back (0: at once): rare, but all at once on a stop past the grace period, so batched too.</summary>
    public Task ChangeVisibilityAsync(Message message, QueueUrls urls, int seconds) =>
        acks.ChangeVisibilityAsync(urls.Jobs, message.ReceiptHandle, seconds);

    /// <summary>The last allowed delivery failed too: end the job with the reason and park the message in the DLQ.</summary>
    private async Task GiveUpAsync(Message message, JobMessage job, QueueUrls urls, int receiveCount, Exception failure)
    {
        var reason = $"delivered {receiveCount} times (the queue's maxReceiveCount is {_maxReceiveCount}); last failure: {failure.GetType().Name}: {failure.Message}";
        var closed = false;
        try
        {
            await store.FailAsync(job.JobId, new JobError("retries_exhausted", $"The job could not be run: {reason}"));
            await activeJobs.ReleaseAsync(job.Tenant, job.JobId);
            closed = true;
        }
        catch (Exception ex)
        {
            // Redis is what keeps failing: the dead-letter monitor closes the job once it is back.
            Log.FailRecordFailed(logger, ex, job.JobId);
        }

        await DeadLetterAsync(message, urls, reason, closed);
    }

    private async Task PoisonAsync(Message message, JobMessage? job, QueueUrls urls, string reason)
    {
        if (job?.JobId is { Length: > 0 } jobId)
        {
            // Close the job first, so its client hears why instead of waiting for ever.
            await store.FailAsync(jobId, new JobError("unsupported_message", $"No worker could read this job: {reason}."));
            if (job.Tenant is { Length: > 0 } tenant)
            {
                await activeJobs.ReleaseAsync(tenant, jobId);
            }
        }

        await DeadLetterAsync(message, urls, reason, jobClosed: true);
    }

    private async Task DeadLetterAsync(Message message, QueueUrls urls, string reason, bool jobClosed)
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
            [DeadLetterMonitor.ReasonAttribute] = new() { DataType = "String", StringValue = reason.Length > 1000 ? reason[..1000] : reason },
            [DeadLetterMonitor.JobClosedAttribute] = new() { DataType = "String", StringValue = jobClosed ? "true" : "false" },
        };
        await queue.Client.SendMessageAsync(
            new SendMessageRequest { QueueUrl = urls.DeadLetter, MessageBody = message.Body, MessageAttributes = attributes },
            CancellationToken.None);
        await acks.DeleteAsync(urls.Jobs, message.ReceiptHandle);
        Log.PoisonMessage(logger, message.MessageId, reason);
    }
}
