using System.ComponentModel.DataAnnotations;

namespace InferenceGateway.Gateway.Webhooks;

/// <summary>Webhook delivery and the policy for webhook targets. Section <c>Webhooks</c>.</summary>
public sealed record WebhookOptions
{
    public const string Section = "Webhooks";

    /// <summary>The longest webhook URL a job may carry.</summary>
    public const int MaxUrlLength = 2048;

    /// <summary>The Redis stream of pending deliveries, named on each job record that has a webhook.</summary>
    [Required]
    [MinLength(1)]
    public string Outbox { get; init; } = "webhooks:outbox";

    /// <summary>Whether this instance delivers webhooks (every instance of a deployment may; they share the outbox's consumer group).</summary>
    public bool DispatcherEnabled { get; init; } = true;

    /// <summary>Attempts per event, the first included; after the last failure the delivery is logged <c>failed</c>.</summary>
    [Range(1, 50)]
    public int MaxAttempts { get; init; } = 8;

    /// <summary>The first retry's delay; each later one doubles it, with jitter, up to <see cref="MaxDelay"/>.</summary>
    [Range(typeof(TimeSpan), "00:00:00.001", "00:10:00")]
    public TimeSpan BaseDelay { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>The longest delay between two attempts.</summary>
    [Range(typeof(TimeSpan), "00:00:00.001", "01:00:00")]
    public TimeSpan MaxDelay { get; init; } = TimeSpan.FromMinutes(1);

    /// <summary>The longest <c>Retry-After</c> of a 429 or 503 that is honoured; a longer one is cut to this.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "01:00:00")]
    public TimeSpan MaxRetryAfter { get; init; } = TimeSpan.FromMinutes(1);

    /// <summary>How long one attempt may take, connecting included.</summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "00:05:00")]
    public TimeSpan AttemptTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// How long an outbox entry may go untouched by the instance that took it before another takes
    /// it over (that instance died). A live instance touches the entries it holds every quarter of
    /// this, however long their retries take, so this only decides how soon a dead instance's
    /// deliveries resume; receivers dedupe on <c>webhook-id</c> should one be made twice.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "1.00:00:00")]
    public TimeSpan ClaimAfter { get; init; } = TimeSpan.FromMinutes(2);

    /// <summary>How often an idle dispatcher looks at the outbox.</summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "00:01:00")]
    public TimeSpan PollInterval { get; init; } = TimeSpan.FromMilliseconds(250);

    /// <summary>Deliveries in progress at once per instance (different jobs; one job's events go one after another).</summary>
    [Range(1, 1024)]
    public int MaxConcurrency { get; init; } = 16;

    /// <summary>After a secret is rotated, deliveries carry a signature with the previous secret too for this long.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "30.00:00:00")]
    public TimeSpan RotationOverlap { get; init; } = TimeSpan.FromHours(24);

    /// <summary>
    /// Whether targets may be in private, loopback, link-local and shared (CGNAT) ranges. Unset: only
    /// in the <c>Development</c> environment (the dev stack's receivers run on loopback).
    /// </summary>
    public bool? AllowPrivateNetworks { get; init; }

    /// <summary>Networks (CIDR, such as <c>10.1.0.0/16</c> or <c>127.0.0.1/32</c>) allowed even though they are private.</summary>
    public IReadOnlyList<string> AllowedNetworks { get; init; } = [];

    /// <summary>When not empty, the only host names (or IP literals) a webhook may target; their addresses are still checked.</summary>
    public IReadOnlyList<string> AllowedHosts { get; init; } = [];

    /// <summary>URL schemes a webhook may use; empty means <c>http</c> and <c>https</c> (only those two are ever accepted).</summary>
    public IReadOnlyList<string> AllowedSchemes { get; init; } = [];
}
