using System.ComponentModel.DataAnnotations;
using InferenceGateway.Core.Latency;
using Microsoft.Extensions.Options;

namespace InferenceGateway.Gateway.Latency;

/// <summary>
/// The latency audit and the queue estimate on the 202. Section <c>LatencyAudit</c> (shared with
/// <see cref="LatencyOptions"/>, which says where histograms are kept).
/// </summary>
public sealed record LatencyAuditOptions
{
    /// <summary>
    /// Latency budgets in milliseconds, by route (<c>"POST /v1/embeddings": 50</c>, as the audit
    /// names it) or by model id (<c>"all-minilm-l6-v2": 2000</c>). Keys are case-insensitive.
    /// </summary>
    public Dictionary<string, double> Budgets { get; init; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>Samples a series needs in the report's window before a verdict rests on it.</summary>
    [Range(1, 1_000_000)]
    public int MinCount { get; init; } = 20;

    /// <summary>The span the report covers by default (<c>?minutes=</c> overrides it), in whole minutes.</summary>
    [Range(typeof(TimeSpan), "00:01:00", "7.00:00:00")]
    public TimeSpan ReportWindow { get; init; } = TimeSpan.FromMinutes(15);

    /// <summary>Jobs one warm worker is assumed to run at once, for the start estimate.</summary>
    [Range(1, 1024)]
    public int WorkerConcurrency { get; init; } = 1;

    /// <summary>How long one read of the queue depth (SQS GetQueueAttributes) is shared by submissions.</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:01:00")]
    public TimeSpan QueueDepthCacheFor { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>How long one read of a model's recorded percentiles is shared by submissions.</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:05:00")]
    public TimeSpan EstimateCacheFor { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// The longest a submission waits for a read when there is no earlier value to answer with
    /// (the first after start, or after a long gap); past it the field is null. Later reads refresh
    /// in the background while the last value is served.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:00:05")]
    public TimeSpan FirstReadWait { get; init; } = TimeSpan.FromMilliseconds(250);

    /// <summary>The longest one background read of the depth or the percentiles may take.</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:00:30")]
    public TimeSpan ReadTimeout { get; init; } = TimeSpan.FromSeconds(2);
}

/// <summary>Every budget must be a positive number of milliseconds with a name; all bad ones are reported at once.</summary>
public sealed class LatencyAuditOptionsValidator : IValidateOptions<LatencyAuditOptions>
{
    public ValidateOptionsResult Validate(string? name, LatencyAuditOptions options)
    {
        var errors = options.Budgets
            .Where(b => string.IsNullOrWhiteSpace(b.Key) || !double.IsFinite(b.Value) || b.Value <= 0)
            .Select(b => $"LatencyAudit:Budgets:{b.Key} is {b.Value}; use a positive number of milliseconds.")
            .ToList();
        return errors.Count > 0 ? ValidateOptionsResult.Fail(errors) : ValidateOptionsResult.Success;
    }
}
