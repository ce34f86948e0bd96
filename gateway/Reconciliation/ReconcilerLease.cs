using StackExchange.Redis;

namespace InferenceGateway.Gateway.Reconciliation;

/// <summary>
/// The lease that makes one gateway at a time the reconciler of a queue: a Redis key holding this
/// instance's token, taken with <c>SET NX PX</c> and renewed by compare-and-extend at every tick. It
/// counts as held only until its last renewal's expiry as measured from before that renewal was
/// asked for, so a holder that cannot renew (Redis away, a stalled tick) stops acting before another
/// gateway can take the lease over.
/// </summary>
public sealed class ReconcilerLease(IConnectionMultiplexer redis, RedisKey key, TimeSpan duration, TimeProvider time)
{
    private const string ExtendScript = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end return 0";

    private const string ReleaseScript = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0";

    private long _validUntil = long.MinValue;

    /// <summary>This instance's token: the lease key's value while it holds the lease.</summary>
    public string Token { get; } = $"{Environment.MachineName}/{Environment.ProcessId}/{Guid.NewGuid():N}";

    /// <summary>True while the lease is held and its last renewal has not run out.</summary>
    public bool IsHeld => time.GetTimestamp() < Volatile.Read(ref _validUntil);

    /// <summary>Renews the lease if this instance holds it, else takes it if it is free. True when held now.</summary>
    public async Task<bool> RenewOrTakeAsync()
    {
        var asked = time.GetTimestamp();
        var db = redis.GetDatabase();
        var milliseconds = (long)duration.TotalMilliseconds;
        bool held;
        try
        {
            held = (long)await db.ScriptEvaluateAsync(ExtendScript, [key], [Token, milliseconds]) == 1
                || await db.StringSetAsync(key, Token, duration, When.NotExists);
        }
        catch
        {
            Volatile.Write(ref _validUntil, long.MinValue);
            throw;
        }

        Volatile.Write(ref _validUntil, held ? asked + (long)(duration.TotalSeconds * time.TimestampFrequency) : long.MinValue);
        return held;
    }

    /// <summary>Gives the lease up, if this instance holds it, so another gateway takes over at its next tick.</summary>
    public async Task ReleaseAsync()
    {
        Volatile.Write(ref _validUntil, long.MinValue);
        await redis.GetDatabase().ScriptEvaluateAsync(ReleaseScript, [key], [Token]);
    }
}
