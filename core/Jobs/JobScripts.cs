using StackExchange.Redis;

namespace InferenceGateway.Core.Jobs;

/// <summary>
/// The job store's state transitions as Lua, with the layout of their keys and arguments:
/// <see cref="Append"/> (create, append, a run's start with its lease and its fenced appends,
/// terminal append with billing and the active-jobs place), <see cref="Renew"/> (a run's lease)
/// and <see cref="Cancel"/>. <see cref="RedisJobStore"/> is their only caller.
/// </summary>
internal static class JobScripts
{
    // KEYS: record, events, then usage total and day when ARGV[7] counters follow, then the
    // active-jobs set when ARGV[8] names a job to release from it. ARGV: mode ('create', 'append',
    // or a run's: 'start <token> <leaseMs>', 'run <token>'), type, at, data, ttl,
    // notify channel, counter count, job to release ('' for none), counters, record fields.
    // Returns {seq or -1 no such job, -2 already ended, -3 exists, -4 fenced (another run holds the
    // lease); 1 when a cancel was requested}, or {-5, ms} when a start finds another run's live lease.
    // A record whose 'queue' field is set (JobFields.Queue) also lives in that queue's outbox and
    // queued index while queued; those keys are named by the record, not among KEYS (as the webhook
    // outbox is, see below), so every writer of a job's log keeps them without a setting.
    public const string Append = """
        if ARGV[8] ~= '' then
          redis.call('ZREM', KEYS[#KEYS], ARGV[8])
        end
        local exists = redis.call('EXISTS', KEYS[1])
        local cancel = 0
        if ARGV[1] == 'create' then
          if exists == 1 then return {-3, 0} end
        else
          if exists == 0 then return {-1, 0} end
          local state = redis.call('HMGET', KEYS[1], 'status', 'cancelRequested', 'runToken', 'leaseUntil')
          local status = state[1]
          if status == 'completed' or status == 'failed' or status == 'cancelled' or status == 'timed_out' or status == 'expired' then
            return {-2, 0}
          end
          if state[2] == '1' then cancel = 1 end
          if ARGV[1] ~= 'append' then
            -- A run's append. 'run <token>': refused unless that run holds the lease (fencing).
            -- 'start <token> <ms>': takes the lease for ms on Redis' clock, unless another run's is live.
            local kind, token, lease = string.match(ARGV[1], '^(%a+) (%S+) ?(%d*)$')
            if kind == 'run' then
              if state[3] ~= token then return {-4, 0} end
            else
              local t = redis.call('TIME')
              local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
              local expiry = tonumber(state[4]) or 0
              if status == 'running' and state[3] and state[3] ~= token and expiry > now then
                return {-5, expiry - now}
              end
              redis.call('HSET', KEYS[1], 'runToken', token, 'leaseUntil', string.format('%.0f', now + tonumber(lease)))
            end
          end
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
        -- BEGIN queue indexes (JobKeys.Unsent, JobKeys.Queued, JobKeys.StartedWatermark): a record
        -- that names its queue was created with its message. The create puts the job in the queue's
        -- outbox and queued index, scored by createdAt (ms); the start and every end take it out of
        -- both and drop the stored message; the start also raises the started watermark.
        local t = ARGV[2]
        if ARGV[1] == 'create' or t == 'started' or t == 'completed' or t == 'failed' or t == 'cancelled' or t == 'timed_out' or t == 'expired' then
          local index = redis.call('HMGET', KEYS[1], 'queue', 'createdMs', 'id')
          if index[1] then
            local prefix = 'jobs:{' .. index[1] .. '}:'
            if ARGV[1] == 'create' then
              redis.call('ZADD', prefix .. 'unsent', index[2], index[3])
              redis.call('ZADD', prefix .. 'queued', index[2], index[3])
            else
              redis.call('ZREM', prefix .. 'unsent', index[3])
              redis.call('ZREM', prefix .. 'queued', index[3])
              redis.call('HDEL', KEYS[1], 'message', 'traceparent')
              if t == 'started' and tonumber(index[2]) > tonumber(redis.call('GET', prefix .. 'started-watermark') or '0') then
                redis.call('SET', prefix .. 'started-watermark', index[2])
              end
            end
          end
        end
        -- END queue indexes
        redis.call('PUBLISH', ARGV[6], seq)
        return {seq, cancel}
        """;

    // The webhook outbox (named on the record, so every writer of a job's log, gateway or worker,
    // needs no setting for it) is not among the script's KEYS: like the usage keys, it lives in
    // another cluster slot than the job, which a single Redis or a primary with replicas allows and
    // Redis Cluster does not (there the outbox would have to be sharded by the job's hash tag).

    // Queued: the job ends here and now. Running: the record says so and the workers hear it on
    // one channel; the worker running it stops cooperatively and records the end itself.
    public const string Cancel = """
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
        -- BEGIN queue indexes (see Append): a job cancelled while queued leaves its queue's outbox
        -- and queued index, and its stored message is dropped.
        local queue = redis.call('HGET', KEYS[1], 'queue')
        if queue then
          redis.call('ZREM', 'jobs:{' .. queue .. '}:unsent', ARGV[6])
          redis.call('ZREM', 'jobs:{' .. queue .. '}:queued', ARGV[6])
          redis.call('HDEL', KEYS[1], 'message', 'traceparent')
        end
        -- END queue indexes
        redis.call('PUBLISH', ARGV[4], seq)
        return seq
        """;

    // A run's heartbeat: extends its lease (on Redis' clock) while it still holds it. KEYS: record.
    // ARGV: run token, lease ms. Returns 0 renewed, 1 renewed and a cancel was requested,
    // -1 no such job, -2 already ended, -4 fenced (another run took the lease over).
    public const string Renew = """
        local state = redis.call('HMGET', KEYS[1], 'status', 'cancelRequested', 'runToken')
        local status = state[1]
        if not status then return -1 end
        if status == 'completed' or status == 'failed' or status == 'cancelled' or status == 'timed_out' or status == 'expired' then
          return -2
        end
        if state[3] ~= ARGV[1] then return -4 end
        local t = redis.call('TIME')
        local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
        redis.call('HSET', KEYS[1], 'leaseUntil', string.format('%.0f', now + tonumber(ARGV[2])))
        if state[2] == '1' then return 1 end
        return 0
        """;

    /// <summary>
    /// The keys and arguments of <see cref="Append"/>: <paramref name="mode"/> <c>create</c> or
    /// <c>append</c>, the event, the record's field updates, the usage counters of
    /// <paramref name="usage"/> (null: bills nothing) and, with <paramref name="releaseOf"/>, the
    /// tenant whose active-jobs place the job gives back.
    /// </summary>
    public static (RedisKey[] Keys, RedisValue[] Args) AppendCall(string mode, string jobId, string type, RedisValue data, DateTimeOffset at, long ttlSeconds, JobFieldUpdates fields, Invocation? usage, string? releaseOf)
    {
        var counters = usage is null ? [] : UsageKeys.Counters(usage, type);
        var args = new RedisValue[8 + (counters.Count * 2) + (fields.Count * 2)];
        args[0] = mode;
        args[1] = type;
        args[2] = RedisJobStore.Format(at);
        args[3] = data.IsNull ? RedisValue.EmptyString : data;
        args[4] = ttlSeconds;
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

        return (keys, args);
    }

    /// <summary>What <see cref="Append"/> answered.</summary>
    public static AppendResult AppendResultOf(RedisResult[] reply)
    {
        var result = (long)reply[0];
        return result switch
        {
            -1 => new AppendResult(AppendOutcome.NoSuchJob, 0),
            -2 => new AppendResult(AppendOutcome.AlreadyTerminal, 0),
            -3 => new AppendResult(AppendOutcome.AlreadyExists, 0),
            -4 => new AppendResult(AppendOutcome.Fenced, 0),
            -5 => new AppendResult(AppendOutcome.Leased, 0, LeaseRemainingMs: (long)reply[1]),
            _ => new AppendResult(AppendOutcome.Appended, result, CancelRequested: (long)reply[1] == 1),
        };
    }
}
