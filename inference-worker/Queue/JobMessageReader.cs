using System.Diagnostics.CodeAnalysis;
using System.Text.Json;
using Amazon.SQS.Model;
using InferenceGateway.Contracts;

namespace InferenceGateway.Worker.Queue;

/// <summary>Reads a job message body; anything that is not a job message of this schema is poison.</summary>
public static class JobMessageReader
{
    /// <summary>Reads the body; when it is readable JSON but not a job message this worker can read, <paramref name="job"/> still carries what was read.</summary>
    public static bool TryRead(Message message, [NotNullWhen(true)] out JobMessage? job, out string reason)
    {
        job = null;
        try
        {
            job = JsonSerializer.Deserialize(message.Body, ContractsJsonContext.Default.JobMessage);
        }
        catch (JsonException ex)
        {
            reason = "malformed JSON: " + ex.Message;
            return false;
        }

        reason = job switch
        {
            null => "empty body",
            { SchemaVersion: not JobMessage.CurrentSchemaVersion } => $"schema version {job.SchemaVersion}, this worker reads {JobMessage.CurrentSchemaVersion}",
            _ when string.IsNullOrEmpty(job.JobId) || string.IsNullOrEmpty(job.Tenant) => "no job id or tenant",
            _ => string.Empty,
        };
        return reason.Length == 0;
    }
}
