using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using InferenceGateway.Contracts;
using InferenceGateway.Core.Jobs;
using InferenceGateway.Core.Latency;
using InferenceGateway.Core.Queue;
using InferenceGateway.Inference.Hosting;
using InferenceGateway.Worker.Queue;
using InferenceGateway.Worker.Streaming;
using MassTransit;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace InferenceGateway.Worker.Jobs;

/// <summary>
/// The function: runs one job the way a serverless GPU platform runs an invocation. Hosted by
/// MassTransit's Mediator, which wraps it in retry (transient Redis errors) and a timeout filter
/// (the worker's per-invocation limit); the event source caps how many run at once. Records <c>started</c>, ends an expired
/// job without running it, rebuilds from the message a job whose record Redis lost (not one that
/// expired, see <see cref="RedisJobStore.MayRebuild"/>), runs the model in slices with <c>progress</c> events (or, for
/// <c>input.stream</c>, <c>chunk</c> events through a <see cref="JobStreamWriter"/>), stops on the
/// client's cancel or the job's own timeout, and records exactly one terminal event together with
/// the tenant's bill. Throws only when the delivery should be retried (recording failed) or the
/// worker is stopping; the event source then gives the message back.
/// The start takes the job's run lease (<see cref="RunLease"/>): a delivery that finds another run's
/// live lease does not run (<see cref="JobLeasedException"/>: the message is released for about the
/// time the lease has left); every append the run makes carries its token, and a run that another
/// took over (its lease lapsed while it was stalled) stops at once and records nothing more
/// (<see cref="JobFencedException"/>: its message is left to the run that took over).
/// </summary>
public sealed class InferenceConsumer(
    RedisJobStore store,
    ActiveJobs activeJobs,
    ModelHost models,
    JobModelRunner runner,
    JobCancellations cancellations,
    WorkerLifetime lifetime,
    JobStreams streams,
    IOptions<WorkerOptions> options,
    IOptions<SqsOptions> sqsOptions,
    TimeProvider time,
    ILogger<InferenceConsumer> logger,
    LatencyRecorder latency,
    JobTally tally,
    WorkerMetrics metrics) : IConsumer<RunJob>
{
    private readonly WorkerOptions _options = options.Value;
    private readonly TimeSpan _leaseLength = options.Value.RunLease(sqsOptions.Value.VisibilityTimeoutSeconds);

    public async Task Consume(ConsumeContext<RunJob> context)
    {
        var (job, messageId, receiveCount) = context.Message;
        var startedAt = time.GetUtcNow();
        if (job.ExpiresAt is { } expiresAt && startedAt > expiresAt)
        {
            await ExpireAsync(job, startedAt, messageId);
            return;
        }

        var queueMs = Math.Max(0, (long)(startedAt - job.CreatedAt).TotalMilliseconds);

        // Listening for a cancel before the job is marked running: a cancel from then on is heard,
        // and one from before (a running job redelivered) is read by the same script as the start.
        using var cancellation = cancellations.Register(job.JobId);
        var retry = context.GetRetryAttempt();
        var runToken = context.Message.RunToken;
        Task<AppendResult> StartAsync() => store.StartRunAsync(
            job.JobId,
            runToken,
            _leaseLength,
            $$"""{"attempt":{{receiveCount}},"retry":{{retry}}}""",
            [
                new(JobFields.Status, JobStatuses.Running),
                new(JobFields.StartedAt, RedisJobStore.Format(startedAt)),
                new(JobFields.QueueMs, queueMs.ToString(CultureInfo.InvariantCulture)),
                new(JobFields.RunMessage, messageId),
            ]);
        var started = await StartAsync();
        if (started.Outcome == AppendOutcome.NoSuchJob && await RebuildAsync(job, messageId))
        {
            started = await StartAsync();
        }

        if (started.Outcome == AppendOutcome.Leased)
        {
            // Another run holds the job (this message came back while it runs): not run, not
            // deleted; the event source releases it until about when that lease would lapse.
            // Another message of the same job (a duplicate send) is not needed: the holder's own
            // message guards the job and comes back if the holder dies. Releasing it again and again
            // would walk it to the dead-letter queue while the job runs, and fail the job there.
            var duplicate = await store.GetRunMessageAsync(job.JobId) is { } holder && holder != messageId;
            Log.JobLeased(logger, job.JobId, started.LeaseRemainingMs, receiveCount, messageId, duplicate);
            throw new JobLeasedException(job.JobId, TimeSpan.FromMilliseconds(started.LeaseRemainingMs), duplicate);
        }

        if (started.Outcome != AppendOutcome.Appended)
        {
            // Ended already (a redelivery after the result was recorded, or cancelled while queued).
            Log.JobAlreadySettled(logger, job.JobId, started.Outcome.ToString(), messageId);
            await activeJobs.ReleaseAsync(job.Tenant, job.JobId);
            tally.Settled();
            return;
        }

        if (started.CancelRequested)
        {
            cancellation.Cancel();
        }

        // Held from here: renewed on a timer, which also reads a cancel this worker did not hear.
        using var lease = new RunLease(store, job.JobId, runToken, _leaseLength, _options.HeartbeatFraction, cancellation, time, logger);
        try
        {
            // context.CancellationToken: the timeout filter's limit and the worker's hard stop.
            using var run = CancellationTokenSource.CreateLinkedTokenSource([context.CancellationToken, cancellation.Token, lifetime.Aborted, lease.Fenced]);
            // The timeout filter enforces the worker's limit; a job may ask for less.
            var limitMs = Math.Min(job.ExecutionTimeoutMs is > 0 and var asked ? asked : long.MaxValue, _options.InvocationTimeoutSeconds * 1000L);
            // The job's own limit counts its execution, from the moment the execution clock starts
            // (model loading is init, billed but not held against it), so a run stopped at the limit
            // is billed at least the limit.
            // The timer is a thread-pool timer, and on a loaded machine it fired seconds late (a 300 ms
            // limit measured stopping at 600 ms to 2.4 s, and once not within 90 s under the full test
            // suite), so a generation also checks the limit itself after every token (checkLimit).
            var executionStart = 0L;
            Action armLimit = job.ExecutionTimeoutMs is > 0
                ? () =>
                {
                    executionStart = Stopwatch.GetTimestamp();
                    run.CancelAfter(TimeSpan.FromMilliseconds(limitMs));
                }
            : () => { };
            Action checkLimit = job.ExecutionTimeoutMs is > 0
                ? () =>
                {
                    if (executionStart != 0 && Stopwatch.GetElapsedTime(executionStart).TotalMilliseconds >= limitMs)
                    {
                        run.Cancel();
                    }
                }
            : () => { };

            // input.stream: chunks go to the log through the writer while the model runs; disposing
            // it without completing (the worker is stopping) drops what is pending.
            // Generation jobs always stream their tokens.
            var generation = models.KindOf(job.Model) == ModelKinds.TextGeneration;
            await using var stream = job.Input.Stream || generation ? streams.Open(job.JobId, started.Seq, runToken, lease.Fence) : null;
            var outcome = await runner.RunAsync(job, stream, lease, armLimit, checkLimit, run.Token);
            if (lease.IsFenced)
            {
                // Another run took the job over: nothing more from this one (what is pending is dropped).
                throw new JobFencedException(job.JobId);
            }

            if (outcome.Stopped && lifetime.Aborted.IsCancellationRequested)
            {
                // Shutting down: not the job's fault. The event source releases the message.
                throw new OperationCanceledException("The worker is stopping.", lifetime.Aborted);
            }

            if (stream is not null)
            {
                // Every chunk before the terminal event, whatever the outcome: they are results already
                // computed. A stream Redis would not take throws here, and the delivery is retried.
                await stream.CompleteAsync();
                if (lease.IsFenced)
                {
                    throw new JobFencedException(job.JobId);
                }
            }

            var type = outcome switch
            {
                { Vectors: not null } or { Generation: not null } => JobEventTypes.Completed,
                { Stopped: true } when cancellation.IsCancellationRequested => JobEventTypes.Cancelled,
                { Stopped: true } => JobEventTypes.TimedOut,
                _ => JobEventTypes.Failed,
            };
            if (type == JobEventTypes.TimedOut && job.ExecutionTimeoutMs is > 0)
            {
                // Stopped by its limit: it ran the limit (the timer's tick can land a fraction of a
                // millisecond before the stopwatch reads it), and is billed at least that.
                outcome.ExecutionMs = Math.Max(outcome.ExecutionMs, limitMs);
            }

            if ((await RecordEndAsync(job, runToken, type, outcome, queueMs, limitMs)).Outcome == AppendOutcome.Fenced)
            {
                // Taken over between the last append and the end: the other run records it, and bills it.
                lease.Fence();
                throw new JobFencedException(job.JobId);
            }

            latency.RecordJobEnd(job.Model, type == JobEventTypes.Completed, queueMs, outcome.ColdStart, outcome.InitMs, outcome.ExecutionMs, time.GetUtcNow() - job.CreatedAt);
            tally.Ended(type);
            if (type == JobEventTypes.Completed)
            {
                // One line per job is Debug; the tally says how many completed at Information.
                Log.JobCompleted(logger, job.JobId, outcome.ExecutionMs, queueMs, outcome.ColdStart);
            }
            else
            {
                Log.JobFinished(logger, job.JobId, type, outcome.ExecutionMs, queueMs, outcome.ColdStart);
            }
        }
        catch (Exception) when (!lease.IsFenced)
        {
            // The run ends without recording the end (the worker is stopping, a Redis or SQS
            // failure): its lease goes at once, so the message's next delivery runs the job
            // instead of waiting for the lease to lapse.
            await lease.GiveUpAsync();
            throw;
        }
    }

    private async Task<AppendResult> RecordEndAsync(JobMessage job, string runToken, string type, ModelOutcome outcome, long queueMs, long limitMs)
    {
        var metrics = new JobMetrics
        {
            QueueMs = queueMs,
            ColdStart = outcome.ColdStart,
            InitMs = Math.Round(outcome.InitMs, 3),
            ExecutionMs = Math.Round(outcome.ExecutionMs, 3),
            BilledMs = (long)Math.Ceiling(outcome.InitMs + outcome.ExecutionMs),
            Provider = models.ExecutionProvider.ActiveName,
        };

        TerminalPayload payload;
        string valueField;
        if (type == JobEventTypes.Completed && outcome.Generation is { } generated)
        {
            var result = new GenerationResult(
                job.Model,
                generated.Text,
                generated.FinishReason,
                new TokenUsage(generated.PromptTokens, generated.CompletionTokens, generated.PromptTokens + generated.CompletionTokens));
            payload = TerminalPayload.Result(result, ContractsJsonContext.Default.GenerationResult, metrics);
            valueField = JobFields.Result;
        }
        else if (type == JobEventTypes.Completed)
        {
            payload = TerminalPayload.Result(new EmbeddingResult(job.Model, outcome.Dimensions, outcome.Vectors!), ContractsJsonContext.Default.EmbeddingResult, metrics);
            valueField = JobFields.Result;
        }
        else
        {
            var error = type switch
            {
                JobEventTypes.Cancelled => new JobError("cancelled", "Cancelled by the client while it ran."),
                JobEventTypes.TimedOut => new JobError("timed_out", $"The model ran past the job's limit of {limitMs} ms."),
                _ when outcome.Error is { } refused => refused,
                _ => new JobError("inference_error", $"The model failed on this input ({outcome.Failure?.GetType().Name ?? "unknown error"})."),
            };
            payload = TerminalPayload.Error(error, metrics);
            valueField = JobFields.Error;
        }

        KeyValuePair<string, RedisValue>[] fields =
        [
            new(JobFields.Status, type),
            new(JobFields.CompletedAt, RedisJobStore.Format(time.GetUtcNow())),
            new(JobFields.ColdStart, outcome.ColdStart ? "1" : "0"),
            new(JobFields.InitMs, metrics.InitMs.Value.ToString(CultureInfo.InvariantCulture)),
            new(JobFields.ExecutionMs, metrics.ExecutionMs.Value.ToString(CultureInfo.InvariantCulture)),
            new(JobFields.BilledMs, metrics.BilledMs.Value.ToString(CultureInfo.InvariantCulture)),
            new(JobFields.Provider, metrics.Provider),
            new(valueField, payload.Value),
        ];
        var invocation = new Invocation(
            job.Tenant,
            job.Model,
            metrics.BilledMs.Value,
            (long)Math.Ceiling(outcome.InitMs),
            (long)Math.Ceiling(outcome.ExecutionMs),
            outcome.ColdStart,
            outcome.Vectors?.Length ?? (outcome.Generation is null ? 0 : 1));

        // The same script closes the log, bills the tenant and gives back its active-jobs place,
        // only while this run holds the job's lease.
        var ended = await store.AppendTerminalUtf8Async(job.JobId, type, payload.Data, fields, invocation, runToken);
        payload.Return();
        return ended;
    }

    private async Task ExpireAsync(JobMessage job, DateTimeOffset now, string messageId)
    {
        var error = new JobError("expired", $"The job waited in the queue past its time to live ({job.ExpiresAt:O}) and was not run.");
        var errorJson = JsonSerializer.Serialize(error, ContractsJsonContext.Default.JobError);
        // Ends the job and gives back the tenant's active-jobs place in one step; bills nothing.
        Task<AppendResult> EndAsync() => store.AppendUnbilledTerminalAsync(
            job.JobId,
            JobEventTypes.Expired,
            $$"""{"error":{{errorJson}}}""",
            [new(JobFields.Status, JobStatuses.Expired), new(JobFields.Error, errorJson), new(JobFields.CompletedAt, RedisJobStore.Format(now))],
            job.Tenant);
        var result = await EndAsync();
        if (result.Outcome == AppendOutcome.NoSuchJob && await RebuildAsync(job, messageId))
        {
            // Lost, not expired: its client hears that it expired rather than a 404.
            result = await EndAsync();
        }

        tally.Ended(JobEventTypes.Expired);
        Log.JobExpired(logger, job.JobId, result.Outcome.ToString(), messageId);
    }

    /// <summary>
    /// The job's record is missing: rebuilds it from the message (<see cref="RedisJobStore.RebuildAsync"/>)
    /// unless it may have expired normally (<see cref="RedisJobStore.MayRebuild"/>), so an accepted job
    /// whose record Redis lost still runs instead of becoming a silent 404. True when the record is there now.
    /// </summary>
    private async Task<bool> RebuildAsync(JobMessage job, string messageId)
    {
        if (await store.RebuildAsync(job) is not { } rebuilt)
        {
            Log.JobNotRebuilt(logger, job.JobId, job.CreatedAt, messageId);
            return false;
        }

        if (rebuilt.Outcome == AppendOutcome.Appended)
        {
            Log.JobRebuilt(logger, job.JobId, job.CreatedAt, messageId);
            metrics.Rebuilt();
        }

        return true;
    }
}
