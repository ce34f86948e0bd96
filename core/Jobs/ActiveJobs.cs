using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace InferenceGateway.Core.Jobs;

/// <summary>
/// The jobs each tenant has queued or running, for the per-plan cap: a sorted set per tenant (job
/// id by the place's deadline, in Unix milliseconds). The gateway reserves a place before it
/// enqueues; whoever records the terminal event (or the expiry) releases it. A place lives as long
/// as its job can: the job's own bound (its queue TTL and its execution limit, see
/// <see cref="TryReserveAsync"/>) plus <see cref="JobStoreOptions.ActiveJobMargin"/>; past that
/// deadline it is swept, so a place lost to a crash between the two is not lost for good, and a
/// job allowed to wait 24 h keeps its place for those 24 h. A worker gives places back in the
/// script that records the terminal event (<see cref="RedisJobStore.AppendTerminalAsync"/>).
/// </summary>
public sealed class ActiveJobs(IConnectionMultiplexer redis, IOptions<JobStoreOptions> options, TimeProvider time)
{
    // TenantAdmission (gateway) runs the same steps inside its one script per submission; keep them alike.
    // ARGV: now ms, the place's deadline ms, cap, job id, the place's lease ms (the key lives at least that long).
    private const string ReserveScript = """
        redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
        local max = tonumber(ARGV[3])
        if max > 0 and redis.call('ZCARD', KEYS[1]) >= max then
          return 0
        end
        redis.call('ZADD', KEYS[1], ARGV[2], ARGV[4])
        if redis.call('PTTL', KEYS[1]) < tonumber(ARGV[5]) then
          redis.call('PEXPIRE', KEYS[1], ARGV[5])
        end
        return 1
        """;

    /// <summary>
    /// Takes a place for <paramref name="jobId"/>, held until <paramref name="jobBound"/> (how long
    /// the job can be queued or running: its queue TTL plus its execution limit) and the margin
    /// have passed; false when the tenant already has <paramref name="max"/> (0: no cap).
    /// </summary>
    public async Task<bool> TryReserveAsync(string tenant, string jobId, int max, TimeSpan jobBound)
    {
        var now = time.GetUtcNow().ToUnixTimeMilliseconds();
        var lease = LeaseMillisecondsFor(jobBound);
        var reserved = (long)await redis.GetDatabase().ScriptEvaluateAsync(
            ReserveScript,
            [Key(tenant)],
            [now, now + lease, max, jobId, lease]);
        return reserved == 1;
    }

    /// <summary>Gives the place back (idempotent).</summary>
    public Task ReleaseAsync(string tenant, string jobId) =>
        redis.GetDatabase().SortedSetRemoveAsync(Key(tenant), jobId);

    /// <summary>How many places the tenant holds now.</summary>
    public Task<long> CountAsync(string tenant) => redis.GetDatabase().SortedSetLengthAsync(Key(tenant));

    /// <summary>How long the place of a job that can be queued or running for <paramref name="jobBound"/> is held before the sweep takes it back, in milliseconds.</summary>
    public long LeaseMillisecondsFor(TimeSpan jobBound)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(jobBound, TimeSpan.Zero);
        return (long)(jobBound + options.Value.ActiveJobMargin).TotalMilliseconds;
    }

    /// <summary>The key of a tenant's places: the tenant's hash tag, so it shares a cluster slot with its limits and its usage keys (<see cref="UsageKeys"/>).</summary>
    public static string Key(string tenant) => $"active:{{{tenant}}}";
}
