using System.Runtime.CompilerServices;
using InferenceGateway.Contracts;
using InferenceGateway.Core.Jobs;
using InferenceGateway.Gateway.Auth;
using InferenceGateway.Gateway.Problems;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Http.Connections;
using Microsoft.AspNetCore.SignalR;
using Polly.Timeout;

namespace InferenceGateway.Gateway.Hubs;

/// <summary>The push channel: <c>StreamJob(jobId, afterSeq)</c> streams a job's events to its tenant.</summary>
[Authorize(Policy = Scopes.JobsRead)]
public sealed class JobsHub(JobEventFeed feed, DeliveryStats stats) : Hub
{
    public const string Path = "/hubs/jobs";

    /// <summary>
    /// Bytes the hub may have written to a connection but not yet sent before its writes wait: a
    /// stream to a slow client pauses its own feed (and its reads of the job's log), never the
    /// worker or other connections. SignalR's default, set here so it is a decision. Measured, not
    /// read off the API docs: over WebSockets it is this setting that holds server-to-client
    /// writes back (with it at 64 MiB a client that reads nothing gets the whole stream queued for
    /// it; with only <see cref="ApplicationMaxBufferBytes"/> raised, writes still wait), although
    /// the docs describe it as the limit on data the application reads; the dispatcher's pipe pairing
    /// (the connection's Transport is the pair's Application side) agrees with the measurement.
    /// </summary>
    public const long TransportMaxBufferBytes = 64 * 1024;

    /// <summary>The other direction's buffer, also SignalR's default (see <see cref="TransportMaxBufferBytes"/>).</summary>
    public const long ApplicationMaxBufferBytes = 64 * 1024;

    /// <summary>The connection's buffers: bounded in both directions (see <see cref="TransportMaxBufferBytes"/>).</summary>
    public static void ConfigureConnection(HttpConnectionDispatcherOptions options)
    {
        options.ApplicationMaxBufferSize = ApplicationMaxBufferBytes;
        options.TransportMaxBufferSize = TransportMaxBufferBytes;
    }

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
            job = await feed.FindAsync(jobId, Context.User!.Tenant());
        }
        catch (Exception ex) when (ProblemsExtensions.IsDependencyFailure(ex))
        {
            throw new HubException("Job events are unavailable right now (Redis is unreachable); retry shortly.");
        }

        if (job is null)
        {
            throw new HubException($"There is no job '{Problem.Truncate(jobId ?? string.Empty)}'.");
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
