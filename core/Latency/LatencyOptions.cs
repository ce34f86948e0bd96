using System.ComponentModel.DataAnnotations;

namespace InferenceGateway.Core.Latency;

/// <summary>
/// Where and how latency histograms are kept. Section <c>LatencyAudit</c>; every gateway instance
/// and worker that should count together uses the same <see cref="KeyPrefix"/>.
/// </summary>
public sealed record LatencyOptions
{
    public const string Section = "LatencyAudit";

    /// <summary>Prefix of the Redis keys (one fleet, one prefix).</summary>
    [Required]
    [RegularExpression("^[A-Za-z0-9_.-]{1,64}$")]
    public string KeyPrefix { get; init; } = "latency";

    /// <summary>How often each process adds what it recorded to Redis.</summary>
    [Range(typeof(TimeSpan), "00:00:00.050", "00:01:00")]
    public TimeSpan FlushInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>How long a minute's histograms stay in Redis.</summary>
    [Range(typeof(TimeSpan), "00:05:00", "7.00:00:00")]
    public TimeSpan Retention { get; init; } = TimeSpan.FromHours(1);

    /// <summary>Distinct series one process accumulates; samples of series beyond it are dropped and counted.</summary>
    [Range(1, 100_000)]
    public int MaxSeries { get; init; } = 2000;
}
