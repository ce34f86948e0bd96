using System.ComponentModel.DataAnnotations;

namespace InferenceGateway.Gateway.RateLimiting;

/// <summary>Per-tenant limits by plan. Section <c>RateLimits</c>.</summary>
public sealed record RateLimitOptions
{
    public const string Section = "RateLimits";

    /// <summary>The plan of keys that name none.</summary>
    [Required]
    public string DefaultPlan { get; init; } = "free";

    public Dictionary<string, PlanLimits> Plans { get; init; } = new(StringComparer.Ordinal)
    {
        ["free"] = new PlanLimits(),
        ["pro"] = new PlanLimits { RequestsPerSecond = 200, Burst = 400, MaxActiveJobs = 512, HubConnectsPerSecond = 20, HubConnectBurst = 50, TokensPerMinute = 5_000_000 },
    };

    /// <summary>What to do when Redis cannot be asked: <c>Local</c> (per-instance limits, logged), <c>Allow</c> or <c>Deny</c> (503).</summary>
    public RedisDownPolicy WhenRedisDown { get; init; } = RedisDownPolicy.Local;

    public PlanLimits For(string? plan) =>
        plan is not null && Plans.TryGetValue(plan, out var limits) ? limits : Plans.GetValueOrDefault(DefaultPlan) ?? new PlanLimits();
}

/// <summary>What one plan allows a tenant, across all gateway instances together.</summary>
public sealed record PlanLimits
{
    /// <summary>Sustained requests per second.</summary>
    [Range(0.0001, 1_000_000)]
    public double RequestsPerSecond { get; init; } = 20;

    /// <summary>Requests that may arrive at once on a full bucket.</summary>
    [Range(1, 1_000_000)]
    public int Burst { get; init; } = 40;

    /// <summary>Jobs queued or running at once; 0 for no cap.</summary>
    [Range(0, 1_000_000)]
    public int MaxActiveJobs { get; init; } = 32;

    /// <summary>SignalR negotiate/connect handshakes per second (limited apart from requests).</summary>
    [Range(0.0001, 1_000_000)]
    public double HubConnectsPerSecond { get; init; } = 5;

    [Range(1, 1_000_000)]
    public int HubConnectBurst { get; init; } = 10;

    /// <summary>
    /// Model tokens per minute (embeddings' prompt tokens; chat completions' estimate), a bucket of
    /// one minute's tokens that refills continuously; 0 for no limit. See <see cref="TokenRateLimiter"/>.
    /// </summary>
    [Range(0, 1_000_000_000_000)]
    public long TokensPerMinute { get; init; } = 150_000;
}

/// <summary>The Redis-down policy of the limiter.</summary>
public enum RedisDownPolicy
{
    Local,
    Allow,
    Deny,
}
