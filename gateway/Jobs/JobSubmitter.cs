using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Amazon.SQS.Model;
using InferenceGateway.Contracts;
using InferenceGateway.Core.Jobs;
using InferenceGateway.Core.Queue;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace InferenceGateway.Gateway.Jobs;

/// <summary>
/// Accepts a job: honours <c>Idempotency-Key</c> (the same key and tenant within 24 h gives the
/// same job, never a second enqueue, also when requests race), takes a place under the tenant's
/// active-jobs cap, builds the message, writes the record (keeping the message, in its queue's outbox,
/// see <see cref="RedisJobStore.CreateAsync"/>) and its <c>queued</c> event, then sends the message and
/// takes the job out of the outbox (a message this gateway never got to send, because it died, is sent
/// by the reconciler). If the
/// send fails the record is closed as <c>failed</c> (<c>enqueue_failed</c>), the place and the
/// idempotency key are given back, and the caller gets the exception (a 503). Sends go through the
/// <see cref="SqsSendCoalescer"/>: concurrent submissions share <c>SendMessageBatch</c> calls.
/// The message is written without needless escapes (<see cref="JobMessageJson"/>); one whose body
/// would exceed <see cref="JobMessageOptions.ClaimCheckBytes"/> leaves the input in Redis
/// (<see cref="JobInputs"/>) and carries a reference, and an input over
/// <see cref="JobMessageOptions.MaxInputBytes"/> is refused before anything is taken or written.
/// </summary>
public sealed class JobSubmitter(
    RedisJobStore store,
    ActiveJobs activeJobs,
    JobQueue queue,
    SqsSendCoalescer sender,
    IConnectionMultiplexer redis,
    TimeProvider time,
    IOptions<JobPolicyOptions> policyOptions,
    ILogger<JobSubmitter> logger,
    JobInputs inputs,
    IOptions<JobMessageOptions> messageOptions,
    IOptions<SqsOptions> sqsOptions)
{
    private static readonly TimeSpan IdempotencyWindow = TimeSpan.FromHours(24);

    private static readonly string SchemaVersionText = JobMessage.CurrentSchemaVersion.ToString(CultureInfo.InvariantCulture);

    private static readonly string ClaimCheckSchemaVersionText = JobMessage.ClaimCheckSchemaVersion.ToString(CultureInfo.InvariantCulture);

    /// <summary>The input of a message whose input is in Redis: <c>{}</c>.</summary>
    private static readonly JobInput ClaimedInput = new();

    private const string CompareAndDelete = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0";

    /// <summary>A claim with no job after this long belongs to a request that died; it may be taken over.</summary>
    public static readonly TimeSpan AbandonedClaimAge = TimeSpan.FromSeconds(10);

    /// <summary>A new job id: <c>job_</c> and 32 hex digits (a version 7 GUID, so ids sort by creation).</summary>
    public static string NewJobId() => string.Create(36, Guid.CreateVersion7(), static (chars, guid) =>
    {
        "job_".CopyTo(chars);
        guid.TryFormat(chars[4..], out _, "N");
    });

    /// <summary>
    /// Accepts <paramref name="submission"/>. When it carries <see cref="JobSubmission.ReservedJobId"/>
    /// (its place under the cap taken already, see <see cref="RateLimiting.TenantAdmission"/>), that is the
    /// job's id and no place is taken here; it is given back like any other should the job not be queued.
    /// </summary>
    public async Task<SubmitOutcome> SubmitAsync(JobSubmission submission, CancellationToken cancellationToken)
    {
        // The input as the queue carries it, measured before anything is claimed or written: one
        // that no message can carry, even by reference, is refused (413), never retried (503).
        var inputJson = JobMessageJson.SerializeInput(submission.Input);
        var maxInputBytes = messageOptions.Value.MaxInputBytes;
        if (inputJson.Length > maxInputBytes)
        {
            if (submission.ReservedJobId is { } taken)
            {
                try
                {
                    await activeJobs.ReleaseAsync(submission.Tenant, taken);
                }
                catch (Exception cleanup) when (Problems.ProblemsExtensions.IsDependencyFailure(cleanup))
                {
                    // Best effort: the lease sweep covers what is left.
                }
            }

            return SubmitOutcome.InputTooLarge(inputJson.Length, maxInputBytes);
        }

        if (submission.ReservedJobId is { } reservedId)
        {
            if (submission.IdempotencyKey is not null)
            {
                throw new ArgumentException("A submission with an Idempotency-Key takes its place after its claim, not before.", nameof(submission));
            }

            try
            {
                var created = await CreateAndEnqueueAsync(reservedId, submission, inputJson, cancellationToken);
                return SubmitOutcome.Accepted(created, replayed: false, ExpiryOf(created.CreatedAt, submission));
            }
            catch
            {
                try
                {
                    await activeJobs.ReleaseAsync(submission.Tenant, reservedId);
                }
                catch (Exception cleanup) when (Problems.ProblemsExtensions.IsDependencyFailure(cleanup))
                {
                    // Best effort: the lease sweep covers what is left.
                }

                throw;
            }
        }

        var id = NewJobId();
        RedisKey? idempotencyKey = null;
        string? claim = null;
        if (submission.IdempotencyKey is { } clientKey)
        {
            idempotencyKey = $"idem:{{{submission.Tenant}}}:{Hash(clientKey)}";
            var fingerprint = Fingerprint(submission);
            claim = $"{id}|{fingerprint}";
            var db = redis.GetDatabase();
            if (!await db.StringSetAsync(idempotencyKey.Value, claim, IdempotencyWindow, When.NotExists))
            {
                var replay = await ReplayAsync(db, idempotencyKey.Value, fingerprint, submission);
                if (replay is not null)
                {
                    return replay;
                }

                // The earlier claim was abandoned (its gateway died before writing the job) and has
                // just been removed: claim the key afresh, once.
                if (!await db.StringSetAsync(idempotencyKey.Value, claim, IdempotencyWindow, When.NotExists))
                {
                    return SubmitOutcome.InProgress("Another request with this Idempotency-Key is in progress; retry.");
                }
            }
        }

        var reserved = false;
        try
        {
            if (!await activeJobs.TryReserveAsync(submission.Tenant, id, submission.MaxActiveJobs, BoundOf(submission.Policy)))
            {
                await ForgetAsync(idempotencyKey, claim);
                return SubmitOutcome.OverCap;
            }

            reserved = true;
            if (idempotencyKey is { } key && (await redis.GetDatabase().StringGetAsync(key)) != claim)
            {
                // This request stalled so long that a retry took its claim over: the retry's job stands.
                await activeJobs.ReleaseAsync(submission.Tenant, id);
                return SubmitOutcome.InProgress("A retry with this Idempotency-Key took over while this request was stalled; retry to get its job.");
            }

            var job = await CreateAndEnqueueAsync(id, submission, inputJson, cancellationToken);
            return SubmitOutcome.Accepted(job, replayed: false, ExpiryOf(job.CreatedAt, submission));
        }
        catch
        {
            // Give back what this attempt took, so a retry starts clean. Should Redis itself be
            // down, an abandoned idempotency claim is taken over after AbandonedClaimAge.
            try
            {
                if (reserved)
                {
                    await activeJobs.ReleaseAsync(submission.Tenant, id);
                }

                await ForgetAsync(idempotencyKey, claim);
            }
            catch (Exception cleanup) when (Problems.ProblemsExtensions.IsDependencyFailure(cleanup))
            {
                // Best effort: the lease sweep and the abandoned-claim takeover cover what is left.
            }

            throw;
        }
    }

    private async Task<JobRecord> CreateAndEnqueueAsync(string id, JobSubmission submission, byte[] inputJson, CancellationToken cancellationToken)
    {
        var createdAt = time.GetUtcNow();
        var urls = await queue.GetUrlsAsync(cancellationToken);

        // The message first, so the record can keep it: whatever happens after the record is written
        // (this gateway dies before the send, the queue loses the message), the reconciler can send it.
        var message = new JobMessage
        {
            SchemaVersion = JobMessage.CurrentSchemaVersion,
            JobId = id,
            Tenant = submission.Tenant,
            Model = submission.Model,
            Input = submission.Input,
            CreatedAt = createdAt,
            ExecutionTimeoutMs = submission.Policy?.ExecutionTimeoutMs,
            ExpiresAt = ExpiryOf(createdAt, submission),
            Webhook = submission.Webhook is { } webhook ? new JobMessageWebhook { Url = webhook.Url, Events = webhook.EncodedEvents, Outbox = webhook.Outbox } : null,
        };
        var body = JobMessageJson.Serialize(message);
        if (Encoding.UTF8.GetByteCount(body) > messageOptions.Value.ClaimCheckBytes)
        {
            // Too large to carry: the input waits in Redis beside the record, the message names it.
            message = message with
            {
                SchemaVersion = JobMessage.ClaimCheckSchemaVersion,
                Input = ClaimedInput,
                InputRef = await inputs.StoreAsync(id, inputJson),
            };
            body = JobMessageJson.Serialize(message);
        }

        var traceParent = TraceParent();
        var queueName = sqsOptions.Value.QueueName;
        var created = await store.CreateAsync(id, submission.Tenant, submission.Model, createdAt, submission.Webhook, new OutboxMessage(queueName, body, traceParent));
        if (created.Outcome != AppendOutcome.Appended)
        {
            throw new InvalidOperationException($"Job id {id} collided ({created.Outcome}).");
        }

        try
        {
            await sender.SendAsync(urls.Jobs, body, MessageAttributes(id, submission.Tenant, traceParent, message.SchemaVersion), cancellationToken);
        }
        catch (Exception ex)
        {
            Log.EnqueueFailed(logger, ex, id);
            await store.FailAsync(id, new JobError("enqueue_failed", "The job could not be put on the queue."));
            throw;
        }

        store.MarkSent(queueName, id);
        return new JobRecord
        {
            Id = id,
            Tenant = submission.Tenant,
            Model = submission.Model,
            Status = JobStatuses.Queued,
            CreatedAt = createdAt,
            Metrics = new JobMetrics(),
            LastSeq = created.Seq,
            WebhookUrl = submission.Webhook?.Url,
            WebhookEvents = submission.Webhook?.Events,
        };
    }

    /// <summary>
    /// The attributes of a job's message: its id, tenant, trace context and body schema version
    /// (what the reconciler's re-send repeats).
    /// </summary>
    public static Dictionary<string, MessageAttributeValue> MessageAttributes(string jobId, string tenant, string traceParent, int schemaVersion) =>
        new(4, StringComparer.Ordinal)
        {
            [JobMessageAttributes.JobId] = new() { DataType = "String", StringValue = jobId },
            [JobMessageAttributes.Tenant] = new() { DataType = "String", StringValue = tenant },
            [JobMessageAttributes.TraceParent] = new() { DataType = "String", StringValue = traceParent },
            [JobMessageAttributes.SchemaVersion] = new()
            {
                DataType = "Number",
                StringValue = schemaVersion switch
                {
                    JobMessage.CurrentSchemaVersion => SchemaVersionText,
                    JobMessage.ClaimCheckSchemaVersion => ClaimCheckSchemaVersionText,
                    _ => schemaVersion.ToString(CultureInfo.InvariantCulture),
                },
            },
        };

    /// <summary>
    /// The answer for a key that was already claimed: the same job, or a conflict. Null when the
    /// claim was abandoned (no job appeared within <see cref="AbandonedClaimAge"/>) and has been
    /// removed, so the caller may claim the key itself.
    /// </summary>
    private async Task<SubmitOutcome?> ReplayAsync(IDatabase db, RedisKey idempotencyKey, string fingerprint, JobSubmission submission)
    {
        var read = db.StringGetAsync(idempotencyKey);
        var ttl = db.KeyTimeToLiveAsync(idempotencyKey);
        var stored = (await read).ToString();
        var separator = stored.IndexOf('|', StringComparison.Ordinal);
        if (separator < 0 || await ttl is not { } remaining)
        {
            // It expired or was released between the two calls: the caller may simply retry.
            return SubmitOutcome.InProgress("The Idempotency-Key was just released; retry.");
        }

        if (stored[(separator + 1)..] != fingerprint)
        {
            return SubmitOutcome.IdempotencyConflict("This Idempotency-Key was used with a different request.");
        }

        // The claim's age on Redis' clock, not this gateway's.
        var age = IdempotencyWindow - remaining;
        var jobId = stored[..separator];
        for (var attempt = 0; attempt < 50; attempt++)
        {
            if (await store.GetAsync(jobId) is { } job)
            {
                // The same fingerprint means the same requested policy, so the same expiry.
                return SubmitOutcome.Accepted(job, replayed: true, ExpiryOf(job.CreatedAt, submission));
            }

            if (age > AbandonedClaimAge)
            {
                // Remove the claim only if it is still the one we read (another request may have taken it over).
                await db.ScriptEvaluateAsync(CompareAndDelete, [idempotencyKey], [stored]);
                return null;
            }

            // The first request may still be writing the record: wait briefly for it.
            await Task.Delay(TimeSpan.FromMilliseconds(20), time);
        }

        return SubmitOutcome.InProgress("The first request with this Idempotency-Key has not finished; retry.");
    }

    private async Task ForgetAsync(RedisKey? idempotencyKey, string? claim)
    {
        if (idempotencyKey is { } key && claim is not null)
        {
            await redis.GetDatabase().ScriptEvaluateAsync(CompareAndDelete, [key], [claim]);
        }
    }

    /// <summary>
    /// When a job accepted at <paramref name="createdAt"/> stops being worth running: its own
    /// <c>policy.ttlMs</c>, or <see cref="JobPolicyOptions.DefaultQueueTtl"/>.
    /// </summary>
    private DateTimeOffset ExpiryOf(DateTimeOffset createdAt, JobSubmission submission) =>
        createdAt + QueueTtlOf(submission.Policy);

    /// <summary>
    /// How long a job with <paramref name="policy"/> can be queued or running: its queue TTL (a job
    /// received later ends <c>expired</c>) and its execution limit (its own, or the largest a job may
    /// ask for, <see cref="JobPolicyOptions.MaxExecutionTimeout"/>). Its place under the active-jobs
    /// cap is held that long and a margin (<see cref="ActiveJobs"/>).
    /// </summary>
    public TimeSpan BoundOf(JobPolicy? policy) =>
        QueueTtlOf(policy) + (policy?.ExecutionTimeoutMs is { } timeoutMs ? TimeSpan.FromMilliseconds(timeoutMs) : policyOptions.Value.MaxExecutionTimeout);

    private TimeSpan QueueTtlOf(JobPolicy? policy) =>
        policy?.TtlMs is { } ttlMs ? TimeSpan.FromMilliseconds(ttlMs) : policyOptions.Value.DefaultQueueTtl;

    /// <summary>
    /// What makes two submissions the same request for an Idempotency-Key: model, input and the
    /// policy and webhook as requested (a request without them keeps the fingerprint it always had).
    /// </summary>
    public static string Fingerprint(JobSubmission submission)
    {
        var text = submission.Model + "\n" + JsonSerializer.Serialize(submission.Input, ContractsJsonContext.Default.JobInput);
        if (submission.Policy is { IsDefault: false } policy)
        {
            text += string.Create(CultureInfo.InvariantCulture, $"\npolicy:executionTimeoutMs={policy.ExecutionTimeoutMs},ttlMs={policy.TtlMs}");
        }

        if (submission.Webhook is { } webhook)
        {
            text += $"\nwebhook:{webhook.Url} {webhook.EncodedEvents}";
        }

        return Hash(text);
    }

    public static string Hash(string value) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(value)));

    /// <summary>The W3C trace context to hand to the worker: the current request's, or a fresh one.</summary>
    private static string TraceParent() =>
        Activity.Current is { IdFormat: ActivityIdFormat.W3C } activity
            ? activity.Id!
            : $"00-{ActivityTraceId.CreateRandom()}-{ActivitySpanId.CreateRandom()}-01";
}

/// <summary>A validated job to accept; <c>Policy</c> is the execution policy as the caller asked for it (null: the defaults).</summary>
/// <c>Webhook</c>, when set, is stored on the record and receives the events it selects.
/// <c>ReservedJobId</c>, when set, is the id of a place under the cap taken for it already (no Idempotency-Key then).
public sealed record JobSubmission(string Tenant, string Model, JobInput Input, string? IdempotencyKey, int MaxActiveJobs, JobPolicy? Policy = null, JobWebhook? Webhook = null, string? ReservedJobId = null);

/// <summary>
/// What became of a submission; for an accepted job, <c>ExpiresAt</c> is when it ends <c>expired</c> if
/// still queued; <c>TooLarge</c>, when set, says the input was refused for its size (413).
/// </summary>
public sealed record SubmitOutcome(JobRecord? Job, bool Replayed, bool IsOverCap, string? Conflict, bool ConflictIsTransient, DateTimeOffset? ExpiresAt = null, InputSize? TooLarge = null)
{
    public static readonly SubmitOutcome OverCap = new(null, false, true, null, false);

    public static SubmitOutcome Accepted(JobRecord job, bool replayed, DateTimeOffset expiresAt) => new(job, replayed, false, null, false, expiresAt);

    /// <summary>The key was used for another request: retrying will not help (422).</summary>
    public static SubmitOutcome IdempotencyConflict(string detail) => new(null, false, false, detail, false);

    /// <summary>The key is busy or just changed hands: retry shortly (409 with Retry-After).</summary>
    public static SubmitOutcome InProgress(string detail) => new(null, false, false, detail, true);

    /// <summary>The input is larger than any job may carry, even by reference: retrying will not help (413).</summary>
    public static SubmitOutcome InputTooLarge(int inputBytes, int maxInputBytes) => new(null, false, false, null, false, TooLarge: new InputSize(inputBytes, maxInputBytes));
}

/// <summary>A refused input's size as the queue would carry it (JSON, UTF-8 bytes) and the most a job may carry (<c>Jobs:MaxInputBytes</c>).</summary>
public sealed record InputSize(int InputBytes, int MaxInputBytes);
