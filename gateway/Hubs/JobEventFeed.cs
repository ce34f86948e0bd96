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
    /// <summary>The largest sequence number a subscriber may resume after.</summary>
    public const long MaxSeq = 1_000_000_000_000;

    private const int PageSize = 256;
    private static readonly TimeSpan PollInterval = TimeSpan.FromSeconds(2);

    /// <summary>True for a sequence number a subscriber may resume after.</summary>
    public static bool IsValidAfterSeq(long afterSeq) => afterSeq is >= 0 and <= MaxSeq;

    /// <summary>The job when <paramref name="tenant"/> may follow it; null when it does not exist or is another tenant's.</summary>
    public async Task<JobProgress?> FindAsync(string? jobId, string tenant) =>
        jobId is not null && Jobs.JobsApi.IsJobId(jobId) && await store.GetProgressAsync(jobId) is { } job && job.Tenant == tenant
            ? job
            : null;

    /// <summary>True when a subscriber resuming after <paramref name="afterSeq"/> has nothing left to receive.</summary>
    public static bool IsExhausted(JobProgress job, long afterSeq) =>
        JobStatuses.IsTerminal(job.Status) && afterSeq >= job.LastSeq;

    public async IAsyncEnumerable<JobEvent> ReadAsync(string jobId, long afterSeq, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var wake = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
        await using var subscription = await store.SubscribeAsync(jobId, () => wake.Writer.TryWrite(true));
        var last = afterSeq;
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

            // The status turns terminal in the same atomic step that appends the terminal event and
            // bumps lastSeq. The page and the status are two reads, though: a terminal event appended
            // between them is only past if lastSeq says so; otherwise read the log again.
            if (page.Count == 0 && await store.GetProgressAsync(jobId) is var progress
                && (progress is null || JobStatuses.IsTerminal(progress.Status)))
            {
                if (progress is null || progress.LastSeq <= last)
                {
                    yield break;
                }

                continue;
            }

            using var poll = new CancellationTokenSource(PollInterval, time);
            using var wait = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, poll.Token);
            try
            {
                await wake.Reader.ReadAsync(wait.Token);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                // No wake-up within the interval (one may have been lost): read the log anyway.
            }
        }
    }
}
