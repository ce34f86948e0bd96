using System.Text.Json.Serialization;

namespace InferenceGateway.Gateway.Jobs;

/// <summary>
/// The optional <c>policy</c> of <c>POST /v1/jobs</c>, after RunPod's execution policy: how long the
/// model may run for this job and how long the job may wait in the queue before it is not worth
/// running. Unknown properties are refused, and so are numbers written as strings.
/// </summary>
[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
[JsonNumberHandling(JsonNumberHandling.Strict)]
public sealed record JobPolicy
{
    /// <summary>Longest model time in milliseconds; over it the job ends <c>timed_out</c>. Null: the worker's own limit.</summary>
    public int? ExecutionTimeoutMs { get; init; }

    /// <summary>Longest wait in the queue in milliseconds; a job still queued after it ends <c>expired</c>. Null: <see cref="JobPolicyOptions.DefaultQueueTtl"/>.</summary>
    public long? TtlMs { get; init; }

    /// <summary>True when the policy asks for nothing (absent, or <c>{}</c>).</summary>
    [JsonIgnore]
    public bool IsDefault => ExecutionTimeoutMs is null && TtlMs is null;

    /// <summary>Errors by field (<c>policy.executionTimeoutMs</c>, <c>policy.ttlMs</c>); empty when the policy is within bounds.</summary>
    public Dictionary<string, string[]> Validate(JobPolicyOptions options, TimeSpan retention)
    {
        var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
        var maxExecution = (long)options.MaxExecutionTimeout.TotalMilliseconds;
        if (ExecutionTimeoutMs is { } timeout && (timeout < 1 || timeout > maxExecution))
        {
            errors["policy.executionTimeoutMs"] = [$"'policy.executionTimeoutMs' must be 1-{maxExecution} (milliseconds); got {timeout}."];
        }

        var maxTtl = (long)retention.TotalMilliseconds;
        if (TtlMs is { } ttl && (ttl < MinTtlMs || ttl > maxTtl))
        {
            errors["policy.ttlMs"] = [$"'policy.ttlMs' must be {MinTtlMs}-{maxTtl} (milliseconds, at most the job retention); got {ttl}."];
        }

        return errors;
    }

    /// <summary>The shortest queue TTL a job may ask for.</summary>
    public const long MinTtlMs = 1000;
}
