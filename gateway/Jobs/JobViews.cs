using System.Text.Json;
using InferenceGateway.Contracts;
using InferenceGateway.Core.Jobs;

namespace InferenceGateway.Gateway.Jobs;

/// <summary>The 202 answer to a submitted job; <paramref name="ExpiresAt"/> is when it ends <c>expired</c> if still queued.</summary>
public sealed record JobAccepted(string Id, string Status, DateTimeOffset CreatedAt, DateTimeOffset ExpiresAt, JobLinks Links);

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
    bool CancelRequested)
{
    /// <summary>The view of a stored job record.</summary>
    public static JobView From(JobRecord job)
    {
        JsonElement? result = job.ResultJson is null ? null : JsonDocument.Parse(job.ResultJson).RootElement.Clone();
        return new JobView(job.Id, job.Status, job.Model, job.CreatedAt, job.StartedAt, job.CompletedAt, result, job.Error, job.Metrics, job.CancelRequested);
    }
}

/// <summary>The answer to <c>GET /v1/models</c>.</summary>
public sealed record ModelList(IReadOnlyList<CatalogModel> Data);
