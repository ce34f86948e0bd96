using System.Text.Json;
using System.Text.Json.Serialization;
using InferenceGateway.Contracts;
using InferenceGateway.Core.Jobs;

namespace InferenceGateway.Gateway.Jobs;

/// <summary>
/// The 202 answer to a submitted job; <paramref name="ExpiresAt"/> is when it ends <c>expired</c> if
/// still queued; <paramref name="Queue"/>, for a job still queued, the queue ahead of it.
/// </summary>
public sealed record JobAccepted(
    string Id,
    string Status,
    DateTimeOffset CreatedAt,
    DateTimeOffset ExpiresAt,
    JobLinks Links,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] WebhookView? Webhook = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] QueueView? Queue = null);

/// <summary>A job's webhook as the API shows it (never with a secret).</summary>
public sealed record WebhookView(string Url, IReadOnlyList<string> Events);

/// <summary>Where to follow a job.</summary>
public sealed record JobLinks(string Self, string Events, string Hub);

/// <summary>A job as <c>GET /v1/jobs/{id}</c> shows it.</summary>
public sealed record JobView(
    string Id,
    string Status,
    string Model,
    DateTimeOffset CreatedAt,
    DateTimeOffset? StartedAt,
    DateTimeOffset? CompletedAt,
    JsonElement? Result,
    JobError? Error,
    JobMetrics Metrics,
    bool CancelRequested,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] WebhookView? Webhook = null)
{
    /// <summary>The view of a stored job record.</summary>
    public static JobView From(JobRecord job)
    {
        JsonElement? result = job.ResultJson is null ? null : JsonDocument.Parse(job.ResultJson).RootElement.Clone();
        return new JobView(job.Id, job.Status, job.Model, job.CreatedAt, job.StartedAt, job.CompletedAt, result, job.Error, job.Metrics, job.CancelRequested, WebhookOf(job));
    }

    /// <summary>The job's webhook as shown (no secret), or null.</summary>
    public static WebhookView? WebhookOf(JobRecord job) =>
        job.WebhookUrl is { } url ? new WebhookView(url, job.WebhookEvents ?? []) : null;
}

/// <summary>The answer to <c>GET /v1/models</c>: OpenAI's list shape (<c>object: list</c>), our fields per model.</summary>
public sealed record ModelList(IReadOnlyList<CatalogModel> Data)
{
    [JsonPropertyName("object")]
    [JsonPropertyOrder(-1)]
    public string ObjectType => "list";
}
