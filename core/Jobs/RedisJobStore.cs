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
    // KEYS: record, events, then usage total and day when ARGV[7] counters follow, then the
    // active-jobs set when ARGV[8] names a job to release from it. ARGV: mode, type, at, data, ttl,
    // notify channel, counter count, job to release ('' for none), counters, record fields.
    // Returns {seq or -1 no such job, -2 already ended, -3 exists; 1 when a cancel was requested}.
    private const string AppendScript = """
        if ARGV[8] ~= '' then
          redis.call('ZREM', KEYS[#KEYS], ARGV[8])
        end
        local exists = redis.call('EXISTS', KEYS[1])
        local cancel = 0
        if ARGV[1] == 'create' then
          if exists == 1 then return {-3, 0} end
        else
          if exists == 0 then return {-1, 0} end
          local state = redis.call('HMGET', KEYS[1], 'status', 'cancelRequested')
          local status = state[1]
          if status == 'completed' or status == 'failed' or status == 'cancelled' or status == 'timed_out' or status == 'expired' then
            return {-2, 0}
          end
          if state[2] == '1' then cancel = 1 end
        end
        local usage = tonumber(ARGV[7])
        local first = 9 + usage * 2
        for i = first, #ARGV, 2 do
          redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1])
        end
        local seq = redis.call('HINCRBY', KEYS[1], 'lastSeq', 1)
        redis.call('XADD', KEYS[2], '0-' .. seq, 'type', ARGV[2], 'at', ARGV[3], 'data', ARGV[4])
        local hook = redis.call('HMGET', KEYS[1], 'webhookEvents', 'webhookOutbox', 'id')
        if hook[1] and hook[2] and (hook[1] == '*' or string.find(hook[1], ',' .. ARGV[2] .. ',', 1, true)) then
          redis.call('XADD', hook[2], '*', 'job', hook[3], 'seq', seq)
        end
        redis.call('EXPIRE', KEYS[1], ARGV[5])
        redis.call('EXPIRE', KEYS[2], ARGV[5])
        for i = 9, first - 1, 2 do
          redis.call('HINCRBY', KEYS[3], ARGV[i], ARGV[i + 1])
          redis.call('HINCRBY', KEYS[4], ARGV[i], ARGV[i + 1])
        end
        if usage > 0 then
          redis.call('EXPIRE', KEYS[4], 34560000)
        end
        redis.call('PUBLISH', ARGV[6], seq)
        return {seq, cancel}
        """;

    // The webhook outbox (named on the record, so every writer of a job's log, gateway or worker,
    // needs no setting for it) is not among the script's KEYS: like the usage keys, it lives in
    // another cluster slot than the job, which a single Redis or a primary with replicas allows and
    // Redis Cluster does not (there the outbox would have to be sharded by the job's hash tag).

    // Queued: the job ends here and now. Running: the record says so and the workers hear it on
    // one channel; the worker running it stops cooperatively and records the end itself.
    private const string CancelScript = """
        local status = redis.call('HGET', KEYS[1], 'status')
        if not status then return -1 end
        if status == 'completed' or status == 'failed' or status == 'cancelled' or status == 'timed_out' or status == 'expired' then
          return -2
        end
        if status == 'running' then
          redis.call('HSET', KEYS[1], 'cancelRequested', '1')
          redis.call('PUBLISH', ARGV[5], ARGV[6])
          return 0
        end
        redis.call('HSET', KEYS[1], 'status', 'cancelled', 'completedAt', ARGV[2])
        local seq = redis.call('HINCRBY', KEYS[1], 'lastSeq', 1)
        redis.call('XADD', KEYS[2], '0-' .. seq, 'type', 'cancelled', 'at', ARGV[2], 'data', ARGV[1])
        local hook = redis.call('HMGET', KEYS[1], 'webhookEvents', 'webhookOutbox', 'id')
        if hook[1] and hook[2] and (hook[1] == '*' or string.find(hook[1], ',cancelled,', 1, true)) then
          redis.call('XADD', hook[2], '*', 'job', hook[3], 'seq', seq)
        end
        redis.call('EXPIRE', KEYS[1], ARGV[3])
        redis.call('EXPIRE', KEYS[2], ARGV[3])
        redis.call('PUBLISH', ARGV[4], seq)
        return seq
        """;

    private readonly long _ttlSeconds = (long)options.Value.Retention.TotalSeconds;

    /// <summary>Creates a job's record and appends its <c>queued</c> event.</summary>
    /// <remarks>With a <paramref name="webhook"/>, the record names it, and this and every later event its filter selects is put on its outbox.</remarks>
    public Task<AppendResult> CreateAsync(string jobId, string tenant, string model, DateTimeOffset createdAt, JobWebhook? webhook = null)
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

        return RunAsync("create", jobId, JobEventTypes.Queued, data, createdAt, Fields.Of(fields), usage: null, releaseOf: null);
    }

    /// <summary>
    /// Appends an event and applies <paramref name="recordUpdates"/> to the record, unless the job
    /// is unknown or already ended. The result says too whether a cancel of the job was requested
    /// (<see cref="AppendResult.CancelRequested"/>), read in the same step.
    /// </summary>
    public Task<AppendResult> AppendAsync(string jobId, string type, string? dataJson, IReadOnlyList<KeyValuePair<string, string>> recordUpdates) =>
        RunAsync("append", jobId, type, dataJson, time.GetUtcNow(), Fields.Of(recordUpdates), usage: null, releaseOf: null);

    /// <summary>
    /// Appends a job's terminal event and, in the same atomic step, adds what the invocation cost to
    /// the tenant's usage totals and gives back the tenant's place among its active jobs: a job
    /// delivered twice is billed once, because only the append that closes the log counts anything
    /// (the place is given back whatever the outcome; that is idempotent).
    /// </summary>
    public Task<AppendResult> AppendTerminalAsync(string jobId, string type, string? dataJson, IReadOnlyList<KeyValuePair<string, string>> recordUpdates, Invocation invocation) =>
        RunAsync("append", jobId, type, dataJson, time.GetUtcNow(), Fields.Of(recordUpdates), invocation, invocation.Tenant);

    /// <summary>
    /// As <see cref="AppendTerminalAsync"/>,
    /// with the event data and the record's values as Redis values (UTF-8 bytes from a pooled
    /// buffer, for example: the caller may reuse them once this returns, not if it throws).
    /// </summary>
    public Task<AppendResult> AppendTerminalUtf8Async(string jobId, string type, ReadOnlyMemory<byte> data, IReadOnlyList<KeyValuePair<string, RedisValue>> recordUpdates, Invocation invocation) =>
        RunAsync("append", jobId, type, data, time.GetUtcNow(), Fields.Of(recordUpdates), invocation, invocation.Tenant);

    /// <summary>
    /// Appends a terminal event of a job that did not run (expired, refused) and, in the same
    /// atomic step, gives back <paramref name="tenant"/>'s place among its active jobs; bills nothing.
    /// </summary>
    public Task<AppendResult> AppendUnbilledTerminalAsync(string jobId, string type, string? dataJson, IReadOnlyList<KeyValuePair<string, string>> recordUpdates, string tenant) =>
        RunAsync("append", jobId, type, dataJson, time.GetUtcNow(), Fields.Of(recordUpdates), usage: null, releaseOf: tenant);

    /// <summary>
    /// Cancels a job: one still queued ends <c>cancelled</c> at once; a running one is flagged and
    /// its worker told on <see cref="JobKeys.CancelChannel"/>, and that worker records the end.
    /// </summary>
    public async Task<CancelOutcome> CancelAsync(string jobId)
    {
        var now = time.GetUtcNow();
        var result = (long)await redis.GetDatabase().ScriptEvaluateAsync(
            CancelScript,
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
        if (entries.Length == 0)
        {
            return null;
        }

        var fields = entries.ToDictionary(e => e.Name.ToString(), e => e.Value.ToString(), StringComparer.Ordinal);
        string? Field(string name) => fields.TryGetValue(name, out var v) && v.Length > 0 ? v : null;
        if (Field(JobFields.Tenant) is not { } tenant || Field(JobFields.CreatedAt) is not { } created)
        {
            return null;
        }

        return new JobRecord
        {
            Id = jobId,
            Tenant = tenant,
            Model = Field(JobFields.Model) ?? string.Empty,
            Status = Field(JobFields.Status) ?? JobStatuses.Queued,
            CreatedAt = ParseTime(created),
            StartedAt = Field(JobFields.StartedAt) is { } started ? ParseTime(started) : null,
            CompletedAt = Field(JobFields.CompletedAt) is { } completed ? ParseTime(completed) : null,
            ResultJson = Field(JobFields.Result),
            Error = Field(JobFields.Error) is { } error ? JsonSerializer.Deserialize(error, ContractsJsonContext.Default.JobError) : null,
            Metrics = new JobMetrics
            {
                QueueMs = Field(JobFields.QueueMs) is { } q ? long.Parse(q, CultureInfo.InvariantCulture) : null,
                ColdStart = Field(JobFields.ColdStart) is { } c ? c == "1" : null,
                InitMs = Field(JobFields.InitMs) is { } i ? double.Parse(i, CultureInfo.InvariantCulture) : null,
                ExecutionMs = Field(JobFields.ExecutionMs) is { } x ? double.Parse(x, CultureInfo.InvariantCulture) : null,
                BilledMs = Field(JobFields.BilledMs) is { } b ? long.Parse(b, CultureInfo.InvariantCulture) : null,
                Provider = Field(JobFields.Provider),
            },
            LastSeq = Field(JobFields.LastSeq) is { } s ? long.Parse(s, CultureInfo.InvariantCulture) : 0,
            CancelRequested = Field(JobFields.CancelRequested) == "1",
            WebhookUrl = Field(JobFields.WebhookUrl),
            WebhookEvents = Field(JobFields.WebhookEvents) is { } events ? JobWebhook.DecodeEvents(events) : null,
        };
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
        var events = new List<JobEvent>(entries.Length);
        foreach (var entry in entries)
        {
            var id = entry.Id.ToString();
            var seq = long.Parse(id.AsSpan(id.IndexOf('-', StringComparison.Ordinal) + 1), CultureInfo.InvariantCulture);
            string type = string.Empty, at = string.Empty, data = string.Empty;
            foreach (var value in entry.Values)
            {
                switch (value.Name.ToString())
                {
                    case "type": type = value.Value.ToString(); break;
                    case "at": at = value.Value.ToString(); break;
                    case "data": data = value.Value.ToString(); break;
                    default: break;
                }
            }

            JsonElement? payload = data.Length == 0 ? null : JsonDocument.Parse(data).RootElement.Clone();
            events.Add(new JobEvent(jobId, seq, type, ParseTime(at), payload));
        }

        return events;
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
    public async Task<IAsyncDisposable> SubscribeAsync(string jobId, Action<long> onAppended)
    {
        var subscriber = redis.GetSubscriber();
        var channel = RedisChannel.Literal(JobKeys.Notify(jobId));
        Action<RedisChannel, RedisValue> handler = (_, value) => onAppended(value.TryParse(out long seq) ? seq : long.MaxValue);
        try
        {
            await subscriber.SubscribeAsync(channel, handler);
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            // The client registers the handler before SUBSCRIBE goes out; a failed attempt would
            // leave it registered (and the channel subscribed for good once Redis is back).
            try
            {
                await subscriber.UnsubscribeAsync(channel, handler);
            }
            catch (Exception cleanup) when (cleanup is RedisException or TimeoutException)
            {
                // The handler is removed locally first; only the UNSUBSCRIBE itself failed.
            }

            throw;
        }

        return new Subscription(subscriber, channel, handler);
    }

    public static string Format(DateTimeOffset at) => at.UtcDateTime.ToString("O", CultureInfo.InvariantCulture);

    private static DateTimeOffset ParseTime(string value) =>
        DateTimeOffset.Parse(value, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal);

    private async Task<AppendResult> RunAsync(string mode, string jobId, string type, RedisValue data, DateTimeOffset at, Fields fields, Invocation? usage, string? releaseOf)
    {
        var counters = usage is null ? [] : UsageKeys.Counters(usage, type);
        var args = new RedisValue[8 + (counters.Count * 2) + (fields.Count * 2)];
        args[0] = mode;
        args[1] = type;
        args[2] = Format(at);
        args[3] = data.IsNull ? RedisValue.EmptyString : data;
        args[4] = _ttlSeconds;
        args[5] = JobKeys.Notify(jobId);
        args[6] = counters.Count;
        args[7] = releaseOf is null ? RedisValue.EmptyString : jobId;
        var next = 8;
        foreach (var (name, amount) in counters)
        {
            args[next++] = name;
            args[next++] = amount;
        }

        fields.CopyTo(args, next);

        var keys = new RedisKey[2 + (usage is null ? 0 : 2) + (releaseOf is null ? 0 : 1)];
        keys[0] = JobKeys.Record(jobId);
        keys[1] = JobKeys.Events(jobId);
        if (usage is not null)
        {
            keys[2] = UsageKeys.Total(usage.Tenant);
            keys[3] = UsageKeys.Day(usage.Tenant, at);
        }

        if (releaseOf is not null)
        {
            // active:{tenant} shares the usage keys' hash tag: no slot the script did not touch already.
            keys[^1] = ActiveJobs.Key(releaseOf);
        }

        var reply = (RedisResult[])(await redis.GetDatabase().ScriptEvaluateAsync(AppendScript, keys, args))!;
        var result = (long)reply[0];
        return result switch
        {
            -1 => new AppendResult(AppendOutcome.NoSuchJob, 0),
            -2 => new AppendResult(AppendOutcome.AlreadyTerminal, 0),
            -3 => new AppendResult(AppendOutcome.AlreadyExists, 0),
            _ => new AppendResult(AppendOutcome.Appended, result, CancelRequested: (long)reply[1] == 1),
        };
    }

    /// <summary>A record's field updates as either strings or Redis values, without copying the list.</summary>
    private readonly struct Fields
    {
        private readonly IReadOnlyList<KeyValuePair<string, string>>? _strings;
        private readonly IReadOnlyList<KeyValuePair<string, RedisValue>>? _values;

        private Fields(IReadOnlyList<KeyValuePair<string, string>>? strings, IReadOnlyList<KeyValuePair<string, RedisValue>>? values)
        {
            _strings = strings;
            _values = values;
        }

        public int Count => _strings?.Count ?? _values?.Count ?? 0;

        public static Fields Of(IReadOnlyList<KeyValuePair<string, string>> strings) => new(strings, null);

        public static Fields Of(IReadOnlyList<KeyValuePair<string, RedisValue>> values) => new(null, values);

        public void CopyTo(RedisValue[] args, int at)
        {
            if (_strings is not null)
            {
                foreach (var (name, value) in _strings)
                {
                    args[at++] = name;
                    args[at++] = value;
                }
            }
            else if (_values is not null)
            {
                foreach (var (name, value) in _values)
                {
                    args[at++] = name;
                    args[at++] = value;
                }
            }
        }
    }

    private sealed class Subscription(ISubscriber subscriber, RedisChannel channel, Action<RedisChannel, RedisValue> handler) : IAsyncDisposable
    {
        private int _disposed;

        public async ValueTask DisposeAsync()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0)
            {
                await subscriber.UnsubscribeAsync(channel, handler);
            }
        }
    }
}
