using System.ComponentModel.DataAnnotations;

namespace InferenceGateway.Core.Redis;

/// <summary>How to reach Redis. Section <c>Redis</c>.</summary>
public sealed record RedisOptions
{
    public const string Section = "Redis";

    /// <summary>A StackExchange.Redis configuration string, e.g. <c>127.0.0.1:6379</c>.</summary>
    [Required]
    public string Configuration { get; init; } = "127.0.0.1:6379";

    /// <summary>
    /// While the connection is down, fail commands at once instead of queueing them until it is
    /// back or they time out (the client's default). The gateway sets it: a request then gets its
    /// 503 (or its fallback: cached keys, the rate-limit policy, the relay's retry) in milliseconds,
    /// not after several command timeouts in a row.
    /// </summary>
    public bool FailFastWhenDisconnected { get; init; }
}
