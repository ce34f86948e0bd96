using System.ComponentModel.DataAnnotations;
using InferenceGateway.Core.Jobs;
using Microsoft.Extensions.Options;

namespace InferenceGateway.Gateway.Jobs;

/// <summary>
/// Bounds and defaults of a job's execution policy (<c>policy</c> on <c>POST /v1/jobs</c>).
/// Section <c>Jobs</c>, beside the store's retention.
/// </summary>
public sealed record JobPolicyOptions
{
    public const string Section = JobStoreOptions.Section;

    /// <summary>The longest <c>policy.executionTimeoutMs</c> a job may ask for.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "1.00:00:00")]
    public TimeSpan MaxExecutionTimeout { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>How long a job may wait in the queue when it names no <c>policy.ttlMs</c>; at most the job retention.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "30.00:00:00")]
    public TimeSpan DefaultQueueTtl { get; init; } = TimeSpan.FromHours(1);
}

/// <summary>Checks what the attributes cannot: the default queue TTL fits inside the job retention.</summary>
public sealed class JobPolicyOptionsValidator(IOptions<JobStoreOptions> store) : IValidateOptions<JobPolicyOptions>
{
    public ValidateOptionsResult Validate(string? name, JobPolicyOptions options) =>
        options.DefaultQueueTtl > store.Value.Retention
            ? ValidateOptionsResult.Fail($"Jobs:DefaultQueueTtl ({options.DefaultQueueTtl}) must not exceed Jobs:Retention ({store.Value.Retention}): a job's record would be gone before it expired.")
            : ValidateOptionsResult.Success;
}
