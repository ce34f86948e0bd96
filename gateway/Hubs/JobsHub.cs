using System.Runtime.CompilerServices;
using InferenceGateway.Contracts;
using InferenceGateway.Core.Jobs;
using InferenceGateway.Gateway.Auth;
using InferenceGateway.Gateway.Jobs;
using InferenceGateway.Gateway.Problems;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.SignalR;
using Polly.Timeout;

namespace InferenceGateway.Gateway.Hubs;

/// <summary>The push channel: <c>StreamJob(jobId, afterSeq)</c> streams a job's events to its tenant.</summary>
[Authorize(Policy = Scopes.JobsRead)]
public sealed class JobsHub(JobEventFeed feed, DeliveryStats stats) : Hub
{
    public const string Path = "/hubs/jobs";

    public override Task OnConnectedAsync()
    {
        stats.HubConnected();
        return base.OnConnectedAsync();
    }

    public override Task OnDisconnectedAsync(Exception? exception)
    {
        stats.HubDisconnected();
        return base.OnDisconnectedAsync(exception);
    }

    /// <summary>Every event of the job after <paramref name="afterSeq"/>, then those to come; completes after the terminal event.</summary>
    public async IAsyncEnumerable<JobEvent> StreamJob(string? jobId, long afterSeq, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        if (!JobEventFeed.IsValidAfterSeq(afterSeq))
        {
            throw new HubException($"afterSeq must be between 0 and {JobEventFeed.MaxSeq}.");
        }

        JobProgress? job;
        try
        {
            job = await feed.FindAsync(jobId, JobsApi.TenantOf(Context.User!));
        }
        catch (Exception ex) when (ProblemsExtensions.IsDependencyFailure(ex))
        {
            throw new HubException("Job events are unavailable right now (Redis is unreachable); retry shortly.");
        }

        if (job is null)
        {
            throw new HubException($"There is no job '{JobsApi.Truncate(jobId ?? string.Empty)}'.");
        }

        var last = afterSeq;
        await using var events = feed.ReadAsync(jobId!, afterSeq, cancellationToken).GetAsyncEnumerator(cancellationToken);
        while (true)
        {
            try
            {
                if (!await events.MoveNextAsync())
                {
                    yield break;
                }
            }
            catch (Exception ex) when (ex is TimeoutRejectedException || ProblemsExtensions.IsDependencyFailure(ex))
            {
                throw new HubException($"Job events are unavailable right now (Redis is unreachable); resume with afterSeq {last} shortly.");
            }

            last = events.Current.Seq;
            yield return events.Current;
        }
    }
}
