using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using System.Threading.Channels;
using InferenceGateway.Contracts;
using InferenceGateway.Core.Jobs;
using InferenceGateway.Core.Redis;
using Microsoft.Extensions.Options;
using Polly;
using Polly.Retry;
using Polly.Timeout;
using StackExchange.Redis;

namespace InferenceGateway.Gateway.Hubs;

/// <summary>
/// Relays a job's event log to one subscriber. The log in Redis is the source of truth: the feed
/// replays it from <c>afterSeq</c>, then waits for a wake-up (pub/sub) or, should a wake-up be
/// lost, a poll interval, and reads on. It ends after the terminal event, so a subscriber sees each
/// event once, in order, whenever it joins. A Redis outage shorter than
/// <see cref="DeliveryOptions.RedisOutageTolerance"/> only pauses the stream: reads are retried
/// and the stream goes on from the last event it handed over.
/// </summary>
public sealed class JobEventFeed
{
    /// <summary>The largest sequence number a subscriber may resume after.</summary>
    public const long MaxSeq = 1_000_000_000_000;

    // Events per read of the log. A chunk event can carry 32 texts' vectors (~120 KB of JSON), so
    // this bounds what one subscriber holds at a time to a few MB; tokens are small and many.
    private const int PageSize = 32;

    private readonly RedisJobStore _store;
    private readonly TimeProvider _time;
    private readonly DeliveryStats? _stats;
    private readonly TimeSpan _pollInterval;
    private readonly ResiliencePipeline _redis;

    // Reads of a job's log in flight on this instance, by (job, after seq): subscribers of the same
    // job woken by the same append share one read instead of each making its own.
    private readonly ConcurrentDictionary<(string JobId, long After), Task<IReadOnlyList<JobEvent>>> _reads = new();

    public JobEventFeed(RedisJobStore store, TimeProvider time, IOptions<DeliveryOptions> options, DeliveryStats? stats = null)
    {
        _store = store;
        _time = time;
        _stats = stats;
        _pollInterval = options.Value.PollInterval;
        var builder = new ResiliencePipelineBuilder { TimeProvider = time };
        if (options.Value.RedisOutageTolerance > TimeSpan.Zero)
        {
            builder
                .AddTimeout(new TimeoutStrategyOptions { Timeout = options.Value.RedisOutageTolerance })
                .AddRetry(new RetryStrategyOptions
                {
                    ShouldHandle = new PredicateBuilder().Handle<Exception>(RedisFailures.IsTransient),
                    BackoffType = DelayBackoffType.Exponential,
                    UseJitter = true,
                    Delay = TimeSpan.FromMilliseconds(100),
                    MaxDelay = TimeSpan.FromSeconds(2),
                    MaxRetryAttempts = int.MaxValue,
                });
        }

        _redis = builder.Build();
    }

    /// <summary>
    /// The page of the log after <paramref name="after"/>. Unless <paramref name="fresh"/>, it joins
    /// a read of the same page already in flight on this instance; a joined page that stops short of
    /// <paramref name="announced"/> (the read was sent before that append) is read again.
    /// </summary>
    private async Task<IReadOnlyList<JobEvent>> ReadPageAsync(string jobId, long after, bool fresh, long announced)
    {
        if (!fresh)
        {
            var page = await SharedReadAsync(jobId, after);
            var reaches = page.Count > 0 ? page[^1].Seq : after;
            if (page.Count == PageSize || reaches >= announced)
            {
                return page;
            }
        }

        return await _store.ReadEventsAsync(jobId, after, PageSize);
    }

    private async Task<IReadOnlyList<JobEvent>> SharedReadAsync(string jobId, long after)
    {
        var key = (jobId, after);
        var mine = new TaskCompletionSource<IReadOnlyList<JobEvent>>(TaskCreationOptions.RunContinuationsAsynchronously);
        var read = _reads.GetOrAdd(key, mine.Task);
        if (read != mine.Task)
        {
            return await read;
        }

        try
        {
            mine.SetResult(await _store.ReadEventsAsync(jobId, after, PageSize));
        }
        catch (Exception ex)
        {
            mine.SetException(ex);
        }
        finally
        {
            _reads.TryRemove(KeyValuePair.Create(key, mine.Task));
        }

        return await mine.Task;
    }

    private static void InterlockedMax(ref long target, long value)
    {
        var current = Volatile.Read(ref target);
        while (value > current)
        {
            var seen = Interlocked.CompareExchange(ref target, value, current);
            if (seen == current)
            {
                return;
            }

            current = seen;
        }
    }

    /// <summary>True for a sequence number a subscriber may resume after.</summary>
    public static bool IsValidAfterSeq(long afterSeq) => afterSeq is >= 0 and <= MaxSeq;

    /// <summary>The job when <paramref name="tenant"/> may follow it; null when it does not exist or is another tenant's.</summary>
    public async Task<JobProgress?> FindAsync(string? jobId, string tenant) =>
        jobId is not null && Jobs.JobsApi.IsJobId(jobId) && await _store.GetProgressAsync(jobId) is { } job && job.Tenant == tenant
            ? job
            : null;

    /// <summary>True when a subscriber resuming after <paramref name="afterSeq"/> has nothing left to receive.</summary>
    public static bool IsExhausted(JobProgress job, long afterSeq) =>
        JobStatuses.IsTerminal(job.Status) && afterSeq >= job.LastSeq;

    /// <summary>
    /// Every event after <paramref name="afterSeq"/>, then the ones to come, ending after the
    /// terminal event. Throws a Redis (or <see cref="TimeoutRejectedException"/>) error when Redis
    /// stays unreachable past the outage tolerance; the caller resumes after the last event it got.
    /// </summary>
    public async IAsyncEnumerable<JobEvent> ReadAsync(string jobId, long afterSeq, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        _stats?.StreamOpened();
        try
        {
            await using var wakeUps = new WakeUps(_store, jobId);
            await wakeUps.StartAsync(_time, cancellationToken);
            var last = afterSeq;
            var live = false; // the replay of what was there when the subscriber came is not push latency
            var missing = 0;
            var fresh = true; // the first read is the subscriber's own: a shared one may predate its subscription
            while (true)
            {
                var from = last;
                // Each Redis call is cut at the pipeline's token, so the outage tolerance holds even
                // while one call waits out the client's own timeout.
                var page = await _redis.ExecuteAsync(async token => await ReadPageAsync(jobId, from, fresh, wakeUps.Announced).WaitAsync(token), cancellationToken);
                fresh = false;
                foreach (var jobEvent in page)
                {
                    if (live)
                    {
                        _stats?.Delivered(_time.GetUtcNow() - jobEvent.At);
                    }

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

                live = true;

                // The status turns terminal in the same atomic step that appends the terminal event and
                // bumps lastSeq. The page and the status are two reads, though: a terminal event appended
                // between them is only past if lastSeq says so; otherwise read the log again.
                if (page.Count == 0
                    && await _redis.ExecuteAsync(async token => await _store.GetProgressAsync(jobId).WaitAsync(token), cancellationToken) is var progress
                    && (progress is null || JobStatuses.IsTerminal(progress.Status)))
                {
                    if (progress is null || progress.LastSeq <= last)
                    {
                        yield break;
                    }

                    // Read again at once: the terminal event was appended between the two reads. If
                    // it still is not there (the log lost entries: evicted, deleted), re-read at the
                    // poll interval rather than spin, until the record expires.
                    if (missing++ == 0)
                    {
                        fresh = true; // not a read that may have been sent before the append
                        continue;
                    }
                }
                else
                {
                    missing = 0;
                }

                wakeUps.RetryIfFailed();
                using var poll = new CancellationTokenSource(_pollInterval, _time);
                using var wait = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, poll.Token);
                try
                {
                    await wakeUps.Reader.ReadAsync(wait.Token);
                }
                catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
                {
                    // No wake-up within the interval (one may have been lost, or Redis restarted): read the log anyway.
                }
            }
        }
        finally
        {
            _stats?.StreamClosed();
        }
    }

    /// <summary>
    /// One subscriber's wake-ups: the job's pub/sub channel, a hint to read the log again (the log is
    /// the truth). SUBSCRIBE takes about a millisecond, and the feed waits for it before its first
    /// read so that no wake-up falls between the two. It can take much longer, or fail, while reads
    /// already work: after a Redis restart the client brings its subscription connection back on a
    /// schedule of its own. The stream does not wait for it then, nor end for it: it reads at the
    /// poll interval, subscribes again after each failed attempt, and reads once more as soon as a
    /// late subscription is there (the wake-ups before it were lost).
    /// </summary>
    private sealed class WakeUps : IAsyncDisposable
    {
        private static readonly TimeSpan Grace = TimeSpan.FromMilliseconds(500);

        private readonly RedisJobStore _store;
        private readonly string _jobId;
        private readonly Channel<bool> _wake = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
        private readonly Action<long> _onAppended;
        private Task<IAsyncDisposable> _subscribing;
        private long _announced; // the highest seq a wake-up said exists

        public WakeUps(RedisJobStore store, string jobId)
        {
            _store = store;
            _jobId = jobId;
            _onAppended = seq =>
            {
                InterlockedMax(ref _announced, seq);
                _wake.Writer.TryWrite(true);
            };
            _subscribing = store.SubscribeAsync(jobId, _onAppended);
        }

        public long Announced => Volatile.Read(ref _announced);

        public ChannelReader<bool> Reader => _wake.Reader;

        /// <summary>Waits up to <see cref="Grace"/> for the subscription; one that comes later wakes the feed.</summary>
        public async Task StartAsync(TimeProvider time, CancellationToken cancellationToken)
        {
            try
            {
                await _subscribing.WaitAsync(Grace, time, cancellationToken);
            }
            catch (Exception ex) when (ex is RedisException or TimeoutException)
            {
                // Slow (TimeoutException) or failed: the feed polls meanwhile.
            }

            WakeWhenSubscribed();
        }

        /// <summary>Subscribes again when the last attempt failed; the feed calls this before each wait.</summary>
        public void RetryIfFailed()
        {
            if (_subscribing.IsFaulted || _subscribing.IsCanceled)
            {
                _ = _subscribing.Exception; // observed: the reads report an outage, not this
                _subscribing = _store.SubscribeAsync(_jobId, _onAppended);
                WakeWhenSubscribed();
            }
        }

        public async ValueTask DisposeAsync()
        {
            // An attempt still in flight is not waited for: it is unsubscribed once it succeeds, so
            // no handler stays behind.
            var unsubscribing = UnsubscribeWhenDoneAsync(_subscribing);
            if (_subscribing.IsCompleted)
            {
                await unsubscribing;
            }
        }

        private static async Task UnsubscribeWhenDoneAsync(Task<IAsyncDisposable> subscribing)
        {
            try
            {
                await (await subscribing).DisposeAsync();
            }
            catch (Exception ex) when (ex is RedisException or TimeoutException)
            {
                // Never subscribed (the store removed its handler), or Redis went away before the
                // UNSUBSCRIBE (the handler is removed locally first): a stream that ends for an
                // outage reports the outage, not this.
            }
        }

        private void WakeWhenSubscribed()
        {
            if (!_subscribing.IsCompleted)
            {
                _subscribing.ContinueWith(
                    static (subscribing, wake) =>
                    {
                        if (subscribing.IsCompletedSuccessfully)
                        {
                            ((ChannelWriter<bool>)wake!).TryWrite(true);
                        }
                        else
                        {
                            _ = subscribing.Exception;
                        }
                    },
                    _wake.Writer,
                    CancellationToken.None,
                    TaskContinuationOptions.ExecuteSynchronously,
                    TaskScheduler.Default);
            }
        }
    }
}
