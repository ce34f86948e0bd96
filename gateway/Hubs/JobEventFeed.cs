using System.Runtime.CompilerServices;
using System.Threading.Channels;
using InferenceGateway.Contracts;
using InferenceGateway.Core.Jobs;

namespace InferenceGateway.Gateway.Hubs;

/// <summary>
/// Relays a job's event log to one subscriber. The log in Redis is the source of truth: the feed
/// replays it from <c>afterSeq</c>, then waits for a wake-up (pub/sub) or, should a wake-up be
/// lost, a poll interval, and reads on. It ends after the terminal event, so a subscriber sees each
/// event once, in order, whenever it joins.
/// </summary>
public sealed class JobEventFeed(RedisJobStore store, TimeProvider time)
{
    private const int PageSize = 256;
    private static readonly TimeSpan PollInterval = TimeSpan.FromSeconds(2);

    /// <summary>Whether <paramref name="tenant"/> may follow this job (false also when it does not exist).</summary>
    public async Task<bool> CanReadAsync(string jobId, string tenant) =>
        Jobs.JobsApi.IsJobId(jobId) && await store.GetAsync(jobId) is { } job && job.Tenant == tenant;

    public async IAsyncEnumerable<JobEvent> ReadAsync(string jobId, long afterSeq, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var wake = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
        await using var subscription = await store.SubscribeAsync(jobId, () => wake.Writer.TryWrite(true));
        var last = Math.Max(0, afterSeq);
        while (true)
        {
            var page = await store.ReadEventsAsync(jobId, last, PageSize);
            foreach (var jobEvent in page)
            {
                yield return jobEvent;
                last = jobEvent.Seq;
                if (JobEventTypes.IsTerminal(jobEvent.Type))
                {
                    yield break;
                }
            }

            if (page.Count == PageSize)
            {
                continue;
            }

            if (page.Count == 0 && await store.GetAsync(jobId) is null)
            {
                yield break; // expired while we watched
            }

            try
            {
                await wake.Reader.ReadAsync(cancellationToken).AsTask().WaitAsync(PollInterval, time, cancellationToken);
            }
            catch (TimeoutException)
            {
                // No wake-up within the interval: read the log anyway.
            }
        }
    }
}
