using InferenceGateway.Contracts;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace InferenceGateway.Core.Jobs;

/// <summary>
/// The claim check for large inputs: a job whose input would make its queue message too large keeps
/// the input in Redis (<see cref="JobKeys.Input"/>, in the job's key family) for as long as its record
/// lives (<see cref="JobStoreOptions.Retention"/>, at least the longest a job may wait in the queue),
/// and its message carries the key (<see cref="JobMessage.InputRef"/>). The key is not deleted when
/// the job ends: a redelivered message may still read it; it expires.
/// </summary>
public sealed class JobInputs(IConnectionMultiplexer redis, IOptions<JobStoreOptions> options)
{
    /// <summary>Stores <paramref name="inputJson"/> (<see cref="JobMessageJson.SerializeInput"/>) for <paramref name="jobId"/> and returns the reference its message carries.</summary>
    public async Task<string> StoreAsync(string jobId, ReadOnlyMemory<byte> inputJson)
    {
        var key = JobKeys.Input(jobId);
        await redis.GetDatabase().StringSetAsync(key, inputJson, options.Value.Retention);
        return key;
    }

    /// <summary>
    /// The input <paramref name="message"/> names (<see cref="JobMessage.InputRef"/>), or null when it
    /// is gone (expired or lost). Throws for a reference that is not the job's own key.
    /// </summary>
    public async Task<JobInput?> ReadAsync(JobMessage message)
    {
        var key = JobKeys.Input(message.JobId);
        if (!string.Equals(message.InputRef, key, StringComparison.Ordinal))
        {
            throw new ArgumentException($"Job {message.JobId}'s input reference is '{message.InputRef}', not its own key {key}.", nameof(message));
        }

        var stored = await redis.GetDatabase().StringGetLeaseAsync(key);
        if (stored is null)
        {
            return null;
        }

        using (stored)
        {
            return JobMessageJson.DeserializeInput(stored.Span);
        }
    }
}
