using System.Text.Json.Serialization;

namespace InferenceGateway.Contracts;

/// <summary>
/// The body of a job message on the jobs queue. Written with <see cref="JobMessageJson"/> (no
/// needless escapes); a job whose input would make the body too large for the queue carries it in
/// Redis instead, named by <see cref="InputRef"/> (a claim check).
/// </summary>
public sealed record JobMessage
{
    /// <summary>
    /// The body schema of a message that carries its input. Readers reject versions they do not know.
    /// A field added as optional, that a reader of the same version may ignore (it is left out of
    /// older bodies and older readers skip it), keeps the version: <see cref="Webhook"/> was added
    /// that way. A claim check changes the meaning of <see cref="Input"/>, so it has a version of its own.
    /// </summary>
    public const int CurrentSchemaVersion = 1;

    /// <summary>
    /// The body schema of a message whose input is in Redis (<see cref="InputRef"/> set,
    /// <see cref="Input"/> empty): a worker that reads only version 1 refuses it as unreadable
    /// rather than running an empty input.
    /// </summary>
    public const int ClaimCheckSchemaVersion = 2;

    public required int SchemaVersion { get; init; }

    public required string JobId { get; init; }

    public required string Tenant { get; init; }

    public required string Model { get; init; }

    /// <summary>The job's input; empty (<c>{}</c>) when <see cref="InputRef"/> names where it is.</summary>
    public required JobInput Input { get; init; }

    public required DateTimeOffset CreatedAt { get; init; }

    /// <summary>Longest the model may run for this job, in milliseconds; null for the worker's limit. Over it the job ends <c>timed_out</c>.</summary>
    public int? ExecutionTimeoutMs { get; init; }

    /// <summary>When a job still queued stops being worth running; a worker that receives it later ends it <c>expired</c>. Null: no limit.</summary>
    public DateTimeOffset? ExpiresAt { get; init; }

    /// <summary>
    /// Claim check: the Redis key that holds the job's input (its JSON), for an input too large to
    /// carry on the queue (schema version <see cref="ClaimCheckSchemaVersion"/>). Left out of the JSON
    /// when null, so a message that carries its input reads as it always did.
    /// </summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? InputRef { get; init; }

    /// <summary>
    /// The job's webhook as its record names it; null: none. With <see cref="CreatedAt"/> and the
    /// fields above, what a worker needs to rebuild a record that Redis lost.
    /// </summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public JobMessageWebhook? Webhook { get; init; }
}
