using System.Globalization;
using System.Text.Json;
using InferenceGateway.Contracts;
using StackExchange.Redis;

namespace InferenceGateway.Core.Jobs;

/// <summary>How the job store's Redis shapes read back: a record's hash as a <see cref="JobRecord"/>, a log's stream entries as <see cref="JobEvent"/>s.</summary>
internal static class JobReads
{
    /// <summary>The record in <paramref name="entries"/> (the job's hash, not empty); null when it lacks its tenant or creation time.</summary>
    public static JobRecord? Record(string jobId, HashEntry[] entries)
    {
        var fields = entries.ToDictionary(e => e.Name.ToString(), e => e.Value.ToString(), StringComparer.Ordinal);
        string? Field(string name) => fields.TryGetValue(name, out var v) && v.Length > 0 ? v : null;
        if (Field(JobFields.Tenant) is not { } tenant || Field(JobFields.CreatedAt) is not { } created)
        {
            return null;
        }

        return new JobRecord
        {
            Id = jobId,
            Tenant = tenant,
            Model = Field(JobFields.Model) ?? string.Empty,
            Status = Field(JobFields.Status) ?? JobStatuses.Queued,
            CreatedAt = ParseTime(created),
            StartedAt = Field(JobFields.StartedAt) is { } started ? ParseTime(started) : null,
            CompletedAt = Field(JobFields.CompletedAt) is { } completed ? ParseTime(completed) : null,
            ResultJson = Field(JobFields.Result),
            Error = Field(JobFields.Error) is { } error ? JsonSerializer.Deserialize(error, ContractsJsonContext.Default.JobError) : null,
            Metrics = new JobMetrics
            {
                QueueMs = Field(JobFields.QueueMs) is { } q ? long.Parse(q, CultureInfo.InvariantCulture) : null,
                ColdStart = Field(JobFields.ColdStart) is { } c ? c == "1" : null,
                InitMs = Field(JobFields.InitMs) is { } i ? double.Parse(i, CultureInfo.InvariantCulture) : null,
                ExecutionMs = Field(JobFields.ExecutionMs) is { } x ? double.Parse(x, CultureInfo.InvariantCulture) : null,
                BilledMs = Field(JobFields.BilledMs) is { } b ? long.Parse(b, CultureInfo.InvariantCulture) : null,
                Provider = Field(JobFields.Provider),
            },
            LastSeq = Field(JobFields.LastSeq) is { } s ? long.Parse(s, CultureInfo.InvariantCulture) : 0,
            CancelRequested = Field(JobFields.CancelRequested) == "1",
            WebhookUrl = Field(JobFields.WebhookUrl),
            WebhookEvents = Field(JobFields.WebhookEvents) is { } events ? JobWebhook.DecodeEvents(events) : null,
        };
    }

    /// <summary>The events in <paramref name="entries"/> (stream ids <c>0-{seq}</c>), in order.</summary>
    public static List<JobEvent> Events(string jobId, StreamEntry[] entries)
    {
        var events = new List<JobEvent>(entries.Length);
        foreach (var entry in entries)
        {
            var id = entry.Id.ToString();
            var seq = long.Parse(id.AsSpan(id.IndexOf('-', StringComparison.Ordinal) + 1), CultureInfo.InvariantCulture);
            string type = string.Empty, at = string.Empty, data = string.Empty;
            foreach (var value in entry.Values)
            {
                switch (value.Name.ToString())
                {
                    case "type": type = value.Value.ToString(); break;
                    case "at": at = value.Value.ToString(); break;
                    case "data": data = value.Value.ToString(); break;
                    default: break;
                }
            }

            JsonElement? payload = data.Length == 0 ? null : JsonDocument.Parse(data).RootElement.Clone();
            events.Add(new JobEvent(jobId, seq, type, ParseTime(at), payload));
        }

        return events;
    }

    public static DateTimeOffset ParseTime(string value) =>
        DateTimeOffset.Parse(value, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal);
}
