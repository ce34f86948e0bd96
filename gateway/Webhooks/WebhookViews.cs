using System.Text.Json;
using System.Text.Json.Serialization;
using InferenceGateway.Contracts;

namespace InferenceGateway.Gateway.Webhooks;

/// <summary>The answer of <c>GET</c>/<c>POST /v1/webhooks/secret</c>.</summary>
/// <param name="Secret">The current signing secret (<c>whsec_…</c>).</param>
/// <param name="CreatedAt">When it was made.</param>
/// <param name="PreviousSecretExpiresAt">Until when the secret it replaced still signs deliveries too, if that is still ahead.</param>
public sealed record WebhookSecretView(
    string Secret,
    DateTimeOffset CreatedAt,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] DateTimeOffset? PreviousSecretExpiresAt);

/// <summary>One delivery attempt in a job's webhook log.</summary>
/// <param name="WebhookId">The <c>webhook-id</c> sent: the same on every attempt for one event.</param>
/// <param name="Seq">The event's place in the job's log.</param>
/// <param name="EventType">The event's type.</param>
/// <param name="Attempt">1 for the first attempt of a delivery.</param>
/// <param name="At">When the attempt started.</param>
/// <param name="StatusCode">The receiver's status, or null when it gave none.</param>
/// <param name="DurationMs">How long the attempt took.</param>
/// <param name="Outcome">One of <see cref="WebhookOutcomes"/>.</param>
/// <param name="Error">What went wrong, or null.</param>
public sealed record WebhookDelivery(
    string WebhookId,
    long Seq,
    string EventType,
    int Attempt,
    DateTimeOffset At,
    int? StatusCode,
    long DurationMs,
    string Outcome,
    string? Error);

/// <summary>The answer of <c>GET /v1/jobs/{id}/webhooks</c>: the job's webhook (null url when it has none) and every attempt, oldest first.</summary>
public sealed record WebhookDeliveriesView(string JobId, string? Url, IReadOnlyList<string> Events, IReadOnlyList<WebhookDelivery> Deliveries);

/// <summary>What became of one delivery attempt.</summary>
public static class WebhookOutcomes
{
    /// <summary>The receiver answered 2xx.</summary>
    public const string Delivered = "delivered";

    /// <summary>The attempt failed in a way worth retrying, and another attempt follows.</summary>
    public const string Retrying = "retrying";

    /// <summary>The last attempt failed, or the receiver answered a status that is not retried (4xx, 3xx).</summary>
    public const string Failed = "failed";

    /// <summary>The target is not allowed by the webhook policy (at connect time); nothing was sent.</summary>
    public const string Refused = "refused";
}

/// <summary>A webhook's body (Standard Webhooks shape): <c>type</c> is <c>job.{event type}</c>.</summary>
public sealed record WebhookPayload(string Type, DateTimeOffset Timestamp, WebhookEventData Data);

/// <summary>The event as delivered; a terminal event also carries the job's status, result and error, so the receiver need not call back.</summary>
public sealed record WebhookEventData(
    string JobId,
    long Seq,
    string Type,
    DateTimeOffset At,
    JsonElement? Data,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Status = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] JsonElement? Result = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] JobError? Error = null);
