using System.Globalization;
using System.Text.Json;
using InferenceGateway.Contracts;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace InferenceGateway.Core.Jobs;

/// <summary>
/// Job records and their event logs in Redis: a hash per job and a stream per job whose entry ids
/// are <c>0-{seq}</c>, so the stream id is the event's sequence number. Every change goes through
/// one Lua script that updates the record, appends the event, refreshes the TTL and publishes a
/// wake-up, atomically; a job whose log holds a terminal event accepts nothing more, which makes a
/// redelivered message harmless (one terminal event, one result). A job with a webhook names an
/// outbox stream on its record; the same script adds <c>{job, seq}</c> to it for every event the
/// webhook's filter selects, so an event and its pending delivery are recorded together or not at all.
/// One round trip per state transition: the script also answers whether a cancel was requested
/// (what a worker starting the job needs to know), and the terminal appends give back the tenant's
/// place among its active jobs (<see cref="ActiveJobs"/>).
/// </summary>
public sealed class RedisJobStore(IConnectionMultiplexer redis, IOptions<JobStoreOptions> options, TimeProvider time)
{
    private readonly long _ttlSeconds = (long)options.Value.Retention.TotalSeconds;

    /// <summary>Creates a job's record and appends its <c>queued</c> event.</summary>
    /// <remarks>
    /// With a <paramref name="webhook"/>, the record names it, and this and every later event its filter selects is put on its outbox.
    /// With a <paramref name="message"/>, the record keeps it and, in the same step, the job enters its
    /// queue's outbox and queued index (<see cref="JobKeys.Unsent"/>, <see cref="JobKeys.Queued"/>): the
    /// record says whether its message was sent (<see cref="MarkSent"/>) until the job starts or ends.
    /// </remarks>
    public Task<AppendResult> CreateAsync(string jobId, string tenant, string model, DateTimeOffset createdAt, JobWebhook? webhook = null, OutboxMessage? message = null)
    {
        // {"model": ...} as JsonSerializer writes it (the same escaping), without a dictionary to serialize per job.
        var data = "{\"model\":\"" + JsonEncodedText.Encode(model) + "\"}";
        List<KeyValuePair<string, string>> fields =
        [
            new(JobFields.Id, jobId),
            new(JobFields.Tenant, tenant),
            new(JobFields.Model, model),
            new(JobFields.Status, JobStatuses.Queued),
            new(JobFields.CreatedAt, Format(createdAt)),
        ];
        if (webhook is not null)
        {
            fields.Add(new(JobFields.WebhookUrl, webhook.Url));
            fields.Add(new(JobFields.WebhookEvents, webhook.EncodedEvents));
            fields.Add(new(JobFields.WebhookOutbox, webhook.Outbox));
        }

        if (message is not null)
        {
            fields.Add(new(JobFields.Queue, message.Queue));
            fields.Add(new(JobFields.CreatedMs, createdAt.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture)));
            fields.Add(new(JobFields.Message, message.Body));
            fields.Add(new(JobFields.TraceParent, message.TraceParent));
        }

        return RunAsync("create", jobId, JobEventTypes.Queued, data, createdAt, JobFieldUpdates.Of(fields), usage: null, releaseOf: null);
    }

    /// <summary>
    /// The job's message was sent: it leaves <paramref name="queue"/>'s outbox (<see cref="JobKeys.Unsent"/>).
    /// Fire and forget, pipelined with whatever else goes to Redis, and never throws (the job is
    /// accepted and its message sent): should it be lost, the reconciler sends the message once more,
    /// which is harmless.
    /// </summary>
    public void MarkSent(string queue, string jobId)
    {
        try
        {
            redis.GetDatabase().SortedSetRemove(JobKeys.Unsent(queue), jobId, CommandFlags.FireAndForget);
        }
        catch (RedisException)
        {
            // Redis went away after the send: the job stays in the outbox and is sent once more.
        }
    }

    /// <summary>
    /// Whether a job created at <paramref name="createdAt"/> whose record is missing may be rebuilt
    /// from its message (<see cref="RebuildAsync"/>): only while the record cannot have expired
    /// normally. A record lives <see cref="JobStoreOptions.Retention"/> past its last change, and its
    /// first change is its creation, so before <c>createdAt + Retention</c> a missing record was lost
    /// (a Redis crash with <c>appendfsync everysec</c> loses up to its last second), not expired.
    /// After it, the job may have ended and expired as it should, and a late delivery of its message
    /// must not bring it back.
    /// </summary>
    public bool MayRebuild(DateTimeOffset createdAt) => time.GetUtcNow() < createdAt + options.Value.Retention;

    /// <summary>
    /// Recreates a job's record and its <c>queued</c> event from its message, as <see cref="CreateAsync"/>
    /// wrote them at submission (tenant, model, <c>createdAt</c>, webhook), when Redis lost them.
    /// Null when <see cref="MayRebuild"/> says no; <see cref="AppendOutcome.AlreadyExists"/> when the
    /// record is there (another delivery rebuilt it first).
    /// </summary>
    public async Task<AppendResult?> RebuildAsync(JobMessage message)
    {
        if (!MayRebuild(message.CreatedAt))
        {
            return null;
        }

        var webhook = message.Webhook is { } hook ? new JobWebhook(hook.Url, JobWebhook.DecodeEvents(hook.Events), hook.Outbox) : null;
        return await CreateAsync(message.JobId, message.Tenant, message.Model, message.CreatedAt, webhook);
    }

    /// <summary>
    /// Appends an event and applies <paramref name="recordUpdates"/> to the record, unless the job
    /// is unknown or already ended. The result says too whether a cancel of the job was requested
    /// (<see cref="AppendResult.CancelRequested"/>), read in the same step. With
    /// <paramref name="runToken"/> (an append made by a run of the job), it is fenced: refused with
    /// <see cref="AppendOutcome.Fenced"/> unless that run holds the job's lease (<see cref="StartRunAsync"/>).
    /// </summary>
    public Task<AppendResult> AppendAsync(string jobId, string type, string? dataJson, IReadOnlyList<KeyValuePair<string, string>> recordUpdates, string? runToken = null) =>
        RunAsync(RunMode(runToken), jobId, type, dataJson, time.GetUtcNow(), JobFieldUpdates.Of(recordUpdates), usage: null, releaseOf: null);

    /// <summary>
    /// A run's start: takes the job's lease for <paramref name="runToken"/> (on Redis' clock, for
    /// <paramref name="lease"/>), appends its <c>started</c> event and applies
    /// <paramref name="recordUpdates"/>, in one step. Refused with <see cref="AppendOutcome.Leased"/>
    /// (and the time the lease has left) while the job runs under another run's live lease; a lapsed
    /// lease is taken over, and from then on the appends of the run that held it are
    /// <see cref="AppendOutcome.Fenced"/>. Says whether a cancel was requested, as any append.
    /// </summary>
    public Task<AppendResult> StartRunAsync(string jobId, string runToken, TimeSpan lease, string dataJson, IReadOnlyList<KeyValuePair<string, string>> recordUpdates)
    {
        var mode = "start " + runToken + " " + ((long)lease.TotalMilliseconds).ToString(CultureInfo.InvariantCulture);
        return RunAsync(mode, jobId, JobEventTypes.Started, dataJson, time.GetUtcNow(), JobFieldUpdates.Of(recordUpdates), usage: null, releaseOf: null);
    }

    /// <summary>
    /// A run's heartbeat: extends its lease to <paramref name="lease"/> from now (Redis' clock)
    /// while <paramref name="runToken"/> still holds it, and says whether a cancel was requested,
    /// the lease was taken over, or the job ended.
    /// </summary>
    public async Task<LeaseRenewal> RenewLeaseAsync(string jobId, string runToken, TimeSpan lease)
    {
        var result = (long)await redis.GetDatabase().ScriptEvaluateAsync(
            JobScripts.Renew,
            [JobKeys.Record(jobId)],
            [runToken, (long)lease.TotalMilliseconds]);
        return result switch
        {
            0 => LeaseRenewal.Renewed,
            1 => LeaseRenewal.CancelRequested,
            -4 => LeaseRenewal.Fenced,
            _ => LeaseRenewal.Ended,
        };
    }

    /// <summary>
    /// Appends a job's terminal event and, in the same atomic step, adds what the invocation cost to
    /// the tenant's usage totals and gives back the tenant's place among its active jobs: a job
    /// delivered twice is billed once, because only the append that closes the log counts anything
    /// (the place is given back whatever the outcome; that is idempotent).
    /// </summary>
    public Task<AppendResult> AppendTerminalAsync(string jobId, string type, string? dataJson, IReadOnlyList<KeyValuePair<string, string>> recordUpdates, Invocation invocation, string? runToken = null) =>
        RunAsync(RunMode(runToken), jobId, type, dataJson, time.GetUtcNow(), JobFieldUpdates.Of(recordUpdates), invocation, invocation.Tenant);

    /// <summary>
    /// As <see cref="AppendTerminalAsync"/>,
    /// with the event data and the record's values as Redis values (UTF-8 bytes from a pooled
    /// buffer, for example: the caller may reuse them once this returns, not if it throws).
    /// With <paramref name="runToken"/>, fenced as <see cref="AppendAsync"/> is: a run that lost the lease bills nothing.
    /// </summary>
    public Task<AppendResult> AppendTerminalUtf8Async(string jobId, string type, ReadOnlyMemory<byte> data, IReadOnlyList<KeyValuePair<string, RedisValue>> recordUpdates, Invocation invocation, string? runToken = null) =>
        RunAsync(RunMode(runToken), jobId, type, data, time.GetUtcNow(), JobFieldUpdates.Of(recordUpdates), invocation, invocation.Tenant);

    /// <summary>
    /// Appends a terminal event of a job that did not run (expired, refused) and, in the same
    /// atomic step, gives back <paramref name="tenant"/>'s place among its active jobs; bills nothing.
    /// </summary>
    public Task<AppendResult> AppendUnbilledTerminalAsync(string jobId, string type, string? dataJson, IReadOnlyList<KeyValuePair<string, string>> recordUpdates, string tenant) =>
        RunAsync("append", jobId, type, dataJson, time.GetUtcNow(), JobFieldUpdates.Of(recordUpdates), usage: null, releaseOf: tenant);

    /// <summary>
    /// Cancels a job: one still queued ends <c>cancelled</c> at once; a running one is flagged and
    /// its worker told on <see cref="JobKeys.CancelChannel"/>, and that worker records the end.
    /// </summary>
    public async Task<CancelOutcome> CancelAsync(string jobId)
    {
        var now = time.GetUtcNow();
        var result = (long)await redis.GetDatabase().ScriptEvaluateAsync(
            JobScripts.Cancel,
            [JobKeys.Record(jobId), JobKeys.Events(jobId)],
            ["""{"reason":"cancelled by the client before it ran"}""", Format(now), _ttlSeconds, JobKeys.Notify(jobId), JobKeys.CancelChannel, jobId]);
        return result switch
        {
            -1 => CancelOutcome.NoSuchJob,
            -2 => CancelOutcome.AlreadyEnded,
            0 => CancelOutcome.Requested,
            _ => CancelOutcome.Cancelled,
        };
    }

    /// <summary>The message id the run holding the job's lease recorded (<see cref="JobFields.RunMessage"/>), or null.</summary>
    public async Task<string?> GetRunMessageAsync(string jobId) =>
        await redis.GetDatabase().HashGetAsync(JobKeys.Record(jobId), JobFields.RunMessage);

    /// <summary>True when the client asked to cancel the job while it was running.</summary>
    public async Task<bool> IsCancelRequestedAsync(string jobId) =>
        (await redis.GetDatabase().HashGetAsync(JobKeys.Record(jobId), JobFields.CancelRequested)) == "1";

    /// <summary>Ends a job as <c>failed</c> with <paramref name="error"/> (a no-op on a job that already ended).</summary>
    public Task<AppendResult> FailAsync(string jobId, JobError error)
    {
        var errorJson = JsonSerializer.Serialize(error, ContractsJsonContext.Default.JobError);
        return AppendAsync(
            jobId,
            JobEventTypes.Failed,
            $$"""{"error":{{errorJson}}}""",
            [new(JobFields.Status, JobStatuses.Failed), new(JobFields.Error, errorJson), new(JobFields.CompletedAt, Format(time.GetUtcNow()))]);
    }

    /// <summary>Reads a job's record, or null when there is no such job.</summary>
    public async Task<JobRecord?> GetAsync(string jobId)
    {
        var entries = await redis.GetDatabase().HashGetAllAsync(JobKeys.Record(jobId));
        return entries.Length == 0 ? null : JobReads.Record(jobId, entries);
    }

    /// <summary>Who owns a job, where it stands and how long its log is, without reading its result; null when there is no such job.</summary>
    public async Task<JobProgress?> GetProgressAsync(string jobId)
    {
        var values = await redis.GetDatabase().HashGetAsync(JobKeys.Record(jobId), [JobFields.Tenant, JobFields.Status, JobFields.LastSeq]);
        if (values[0].IsNullOrEmpty)
        {
            return null;
        }

        return new JobProgress(
            values[0].ToString(),
            values[1].IsNullOrEmpty ? JobStatuses.Queued : values[1].ToString(),
            values[2].IsNullOrEmpty ? 0 : (long)values[2]);
    }

    /// <summary>Reads up to <paramref name="max"/> events after <paramref name="afterSeq"/>, in order.</summary>
    public async Task<IReadOnlyList<JobEvent>> ReadEventsAsync(string jobId, long afterSeq, int max)
    {
        var entries = await redis.GetDatabase().StreamRangeAsync(
            JobKeys.Events(jobId),
            minId: $"0-{afterSeq + 1}",
            maxId: "+",
            count: max);
        return JobReads.Events(jobId, entries);
    }

    /// <summary>
    /// Calls <paramref name="onAppended"/> whenever an event is appended to the job's log (a hint to
    /// read the log again; delivery of the hint is best effort). Dispose to unsubscribe.
    /// </summary>
    public Task<IAsyncDisposable> SubscribeAsync(string jobId, Action onAppended) =>
        SubscribeAsync(jobId, _ => onAppended());

    /// <summary>
    /// As <see cref="SubscribeAsync(string, Action)"/>, with the sequence number of the appended
    /// event (<see cref="long.MaxValue"/> if the hint does not carry one).
    /// </summary>
    public Task<IAsyncDisposable> SubscribeAsync(string jobId, Action<long> onAppended) =>
        JobLogSubscription.SubscribeAsync(redis, jobId, onAppended);

    public static string Format(DateTimeOffset at) => at.UtcDateTime.ToString("O", CultureInfo.InvariantCulture);

    /// <summary>The append script's mode: a plain append, or one fenced by a run's token.</summary>
    private static string RunMode(string? runToken) => runToken is null ? "append" : "run " + runToken;

    private async Task<AppendResult> RunAsync(string mode, string jobId, string type, RedisValue data, DateTimeOffset at, JobFieldUpdates fields, Invocation? usage, string? releaseOf)
    {
        var (keys, args) = JobScripts.AppendCall(mode, jobId, type, data, at, _ttlSeconds, fields, usage, releaseOf);
        var reply = (RedisResult[])(await redis.GetDatabase().ScriptEvaluateAsync(JobScripts.Append, keys, args))!;
        return JobScripts.AppendResultOf(reply);
    }
}
