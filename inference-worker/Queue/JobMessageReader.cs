using System.Diagnostics.CodeAnalysis;
using System.Text.Json;
using Amazon.SQS.Model;
using InferenceGateway.Contracts;
using InferenceGateway.Core.Jobs;

namespace InferenceGateway.Worker.Queue;

/// <summary>
/// Reads a job message body; anything that is not a job message of a schema this worker reads is
/// poison. Version <see cref="JobMessage.CurrentSchemaVersion"/> carries its input; version
/// <see cref="JobMessage.ClaimCheckSchemaVersion"/> names the job's own input key in Redis instead
/// (<see cref="JobMessage.InputRef"/>), which <see cref="JobInputs"/> reads before the job runs.
/// </summary>
public static class JobMessageReader
{
    /// <summary>Reads the body; when it is readable JSON but not a job message this worker can read, <paramref name="job"/> still carries what was read.</summary>
    public static bool TryRead(Message message, [NotNullWhen(true)] out JobMessage? job, out string reason)
    {
        job = null;
        try
        {
            job = JobMessageJson.Deserialize(message.Body);
        }
        catch (JsonException ex)
        {
            reason = "malformed JSON: " + ex.Message;
            return false;
        }

        reason = job switch
        {
            null => "empty body",
            { SchemaVersion: not (JobMessage.CurrentSchemaVersion or JobMessage.ClaimCheckSchemaVersion) } =>
                $"schema version {job.SchemaVersion}, this worker reads {JobMessage.CurrentSchemaVersion} and {JobMessage.ClaimCheckSchemaVersion}",
            _ when string.IsNullOrEmpty(job.JobId) || string.IsNullOrEmpty(job.Tenant) => "no job id or tenant",
            { SchemaVersion: JobMessage.CurrentSchemaVersion, InputRef: not null } =>
                $"schema version {JobMessage.CurrentSchemaVersion} carries its input, yet names an input reference",
            { SchemaVersion: JobMessage.ClaimCheckSchemaVersion } when job.InputRef != JobKeys.Input(job.JobId) =>
                $"schema version {JobMessage.ClaimCheckSchemaVersion} must name the job's own input key {JobKeys.Input(job.JobId)}, not '{job.InputRef}'",
            _ => string.Empty,
        };
        return reason.Length == 0;
    }
}
