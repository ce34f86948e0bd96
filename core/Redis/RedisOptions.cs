using System.ComponentModel.DataAnnotations;

namespace InferenceGateway.Core.Redis;

/// <summary>How to reach Redis. Section <c>Redis</c>.</summary>
public sealed record RedisOptions
{
    public const string Section = "Redis";

    /// <summary>A StackExchange.Redis configuration string, e.g. <c>127.0.0.1:6379</c>.</summary>
    [Required]
    public string Configuration { get; init; } = "127.0.0.1:6379";
}
