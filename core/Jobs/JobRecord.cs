using InferenceGateway.Contracts;

namespace InferenceGateway.Core.Jobs;

/// <summary>A job's record as stored in Redis (one hash per job).</summary>
public sealed record JobRecord
{
    public required string Id { get; init; }

    public required string Tenant { get; init; }

    public required string Model { get; init; }

    public required string Status { get; init; }

    public required DateTimeOffset CreatedAt { get; init; }

    public DateTimeOffset? StartedAt { get; init; }

    public DateTimeOffset? CompletedAt { get; init; }

    /// <summary>The result as the worker wrote it (raw JSON), or null.</summary>
    public string? ResultJson { get; init; }

    public JobError? Error { get; init; }

    public required JobMetrics Metrics { get; init; }

    /// <summary>Sequence number of the last event in the job's log.</summary>
    public long LastSeq { get; init; }

    /// <summary>The client asked to cancel the job while it was running; its worker has not yet stopped.</summary>
    public bool CancelRequested { get; init; }

    /// <summary>Where the job's events are delivered, or null when it has no webhook.</summary>
    public string? WebhookUrl { get; init; }

    /// <summary>Which event types go to the webhook (<c>["all"]</c> for every one); null without a webhook.</summary>
    public IReadOnlyList<string>? WebhookEvents { get; init; }
}
