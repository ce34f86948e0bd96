using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace InferenceGateway.Core.Jobs;

/// <summary>
/// The jobs each tenant has queued or running, for the per-plan cap: a sorted set per tenant
/// (job id by start time). The gateway reserves a place before it enqueues; whoever records the
/// terminal event releases it. Entries older than <see cref="JobStoreOptions.ActiveJobLease"/> are
/// swept, so a place lost to a crash between the two is not lost for good. A worker gives places
/// back in the script that records the terminal event (<see cref="RedisJobStore.AppendTerminalAsync"/>).
/// </summary>
public sealed class ActiveJobs(IConnectionMultiplexer redis, IOptions<JobStoreOptions> options, TimeProvider time)
{
    // TenantAdmission (gateway) runs the same steps inside its one script per submission; keep them alike.
    private const string ReserveScript = """
        redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
        local max = tonumber(ARGV[3])
        if max > 0 and redis.call('ZCARD', KEYS[1]) >= max then
          return 0
        end
        redis.call('ZADD', KEYS[1], ARGV[2], ARGV[4])
        redis.call('PEXPIRE', KEYS[1], ARGV[5])
        return 1
        """;

    /// <summary>Takes a place for <paramref name="jobId"/>; false when the tenant already has <paramref name="max"/> (0: no cap).</summary>
    public async Task<bool> TryReserveAsync(string tenant, string jobId, int max)
    {
        var now = time.GetUtcNow().ToUnixTimeMilliseconds();
        var lease = LeaseMilliseconds;
        var reserved = (long)await redis.GetDatabase().ScriptEvaluateAsync(
            ReserveScript,
            [Key(tenant)],
            [now - lease, now, max, jobId, lease]);
        return reserved == 1;
    }

    /// <summary>Gives the place back (idempotent).</summary>
    public Task ReleaseAsync(string tenant, string jobId) =>
        redis.GetDatabase().SortedSetRemoveAsync(Key(tenant), jobId);

    /// <summary>How many places the tenant holds now.</summary>
    public Task<long> CountAsync(string tenant) => redis.GetDatabase().SortedSetLengthAsync(Key(tenant));

    /// <summary>How long a place is held before the sweep takes it back, in milliseconds.</summary>
    public long LeaseMilliseconds => (long)options.Value.ActiveJobLease.TotalMilliseconds;

    /// <summary>The key of a tenant's places: the tenant's hash tag, so it shares a cluster slot with its limits and its usage keys (<see cref="UsageKeys"/>).</summary>
    public static string Key(string tenant) => $"active:{{{tenant}}}";
}
