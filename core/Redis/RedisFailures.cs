using StackExchange.Redis;

namespace InferenceGateway.Core.Redis;

/// <summary>Which Redis failures are worth retrying.</summary>
public static class RedisFailures
{
    /// <summary>
    /// Connection errors and timeouts: Redis is away or slow and may answer a retry. Server errors
    /// (a script error, a wrong type) are not: they fail again the same way.
    /// </summary>
    public static bool IsTransient(Exception exception) =>
        exception is RedisConnectionException or RedisTimeoutException or TimeoutException;
}
