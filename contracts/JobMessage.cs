using System.Text.Json.Serialization;

namespace InferenceGateway.Contracts;

/// <summary>The body of a job message on the jobs queue.</summary>
public sealed record JobMessage
{
    /// <summary>
    /// The body schema this build writes. Readers reject versions they do not know. A field added as
    /// optional, that a reader of the same version may ignore (it is left out of older bodies and
    /// older readers skip it), keeps the version: <see cref="Webhook"/> was added that way.
    /// </summary>
    public const int CurrentSchemaVersion = 1;

    public required int SchemaVersion { get; init; }

    public required string JobId { get; init; }

    public required string Tenant { get; init; }

    public required string Model { get; init; }

    public required JobInput Input { get; init; }

    public required DateTimeOffset CreatedAt { get; init; }

    /// <summary>Longest the model may run for this job, in milliseconds; null for the worker's limit. Over it the job ends <c>timed_out</c>.</summary>
    public int? ExecutionTimeoutMs { get; init; }

    /// <summary>When a job still queued stops being worth running; a worker that receives it later ends it <c>expired</c>. Null: no limit.</summary>
    public DateTimeOffset? ExpiresAt { get; init; }

    /// <summary>
    /// The job's webhook as its record names it; null: none. With <see cref="CreatedAt"/> and the
    /// fields above, what a worker needs to rebuild a record that Redis lost.
    /// </summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public JobMessageWebhook? Webhook { get; init; }
}
