using System.Runtime.CompilerServices;
using InferenceGateway.Contracts;
using InferenceGateway.Gateway.Auth;
using InferenceGateway.Gateway.Jobs;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.SignalR;

namespace InferenceGateway.Gateway.Hubs;

/// <summary>The push channel: <c>StreamJob(jobId, afterSeq)</c> streams a job's events to its tenant.</summary>
[Authorize(Policy = Scopes.JobsRead)]
public sealed class JobsHub(JobEventFeed feed) : Hub
{
    public const string Path = "/hubs/jobs";

    /// <summary>Every event of the job after <paramref name="afterSeq"/>, then those to come; completes after the terminal event.</summary>
    public async IAsyncEnumerable<JobEvent> StreamJob(string jobId, long afterSeq, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        if (!await feed.CanReadAsync(jobId, JobsApi.TenantOf(Context.User!)))
        {
            throw new HubException($"There is no job '{(jobId.Length <= 64 ? jobId : jobId[..64])}'.");
        }

        await foreach (var jobEvent in feed.ReadAsync(jobId, afterSeq, cancellationToken))
        {
            yield return jobEvent;
        }
    }
}
