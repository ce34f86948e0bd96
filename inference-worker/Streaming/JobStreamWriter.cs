using System.Runtime.ExceptionServices;
using System.Threading.Channels;
using InferenceGateway.Core.Jobs;
using InferenceGateway.Core.Redis;
using Polly;
using Polly.Retry;
using StackExchange.Redis;

namespace InferenceGateway.Worker.Streaming;

/// <summary>
/// How a running job emits stream events (<c>chunk</c> now, <c>token</c> for generation) without
/// waiting for Redis: <see cref="WriteChunk"/> and <see cref="WriteToken"/> only put the item in
/// memory and return. One flusher per job appends pending items to the log in order, one append in
/// flight at a time; items written while an append is in flight merge into one pending event
/// (contiguous positions, at most <see cref="StreamingOptions.MaxCoalescedItems"/>), so a slow Redis
/// costs fewer, larger events, never dropped ones, and the memory held is at most the job's own
/// output that Redis has not taken yet.
/// </summary>
/// <remarks>
/// <para>Order: every item is appended before <see cref="CompleteAsync"/> returns, and the caller
/// appends the terminal event after it, so the log reads <c>started</c> &lt; stream events &lt;
/// terminal, with strictly increasing sequence numbers. The job's outcome does not matter: items a
/// cancelled, timed-out or failed job produced are partial results already computed, and are
/// flushed too. <see cref="DisposeAsync"/> without <see cref="CompleteAsync"/> (the worker is
/// stopping and the message goes back to the queue) drops what is pending and stops.</para>
/// <para>Redis errors: an append that fails with a <see cref="RedisConnectionException"/> or
/// <see cref="RedisTimeoutException"/> (what the consumer's pipeline retries too) is retried with
/// exponential backoff and jitter (<see cref="AppendRetry"/>, a Polly pipeline). The error may have come after Redis ran the append (a timeout),
/// so before each retry the log after the last known event is read, and an event of the same type
/// at the same position counts as appended: nothing is written twice. Past
/// <see cref="StreamingOptions.AppendRetries"/> the stream is broken: later items are dropped (the
/// log never has a gap followed by more events) and <see cref="CompleteAsync"/> throws the error,
/// so the delivery is retried as for any transient Redis error, from a new <c>started</c>.</para>
/// <para>A job whose log closed (it ended, or expired) accepts nothing more: the rest is dropped.
/// So does a run whose appends are fenced (another run took the job's lease over): the rest is
/// dropped and the writer's <c>onFenced</c> stops the run.</para>
/// </remarks>
public sealed partial class JobStreamWriter : IAsyncDisposable
{
    private static readonly TimeSpan MaxRetryDelay = TimeSpan.FromSeconds(2);

    /// <summary>The item an append is for, in its resilience context (for the retry's log line).</summary>
    internal static readonly ResiliencePropertyKey<StreamItem> ItemKey = new("stream-item");

    private readonly Lock _gate = new();
    private readonly List<StreamItem> _pending = [];
    private readonly Channel<bool> _wake = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
    private readonly CancellationTokenSource _abort = new();
    private readonly string _jobId;
    private readonly IJobEventLog _log;
    private readonly StreamingOptions _options;
    private readonly ILogger _logger;
    private readonly ResiliencePipeline _appendRetry;
    private readonly Task _flusher;
    private readonly string? _runToken;
    private readonly Action? _onFenced;
    private long _nextToken;
    private bool _closed;
    private ExceptionDispatchInfo? _fault;
    private AppendOutcome? _logClosed;
    private long _lastSeq;
    private long _appendedEvents;

    /// <param name="jobId">The job whose log receives the events.</param>
    /// <param name="afterSeq">The sequence number of the job's last event so far (its <c>started</c>): where the check for an append that did happen starts.</param>
    /// <param name="log">The event log.</param>
    /// <param name="options">Coalescing and retry settings.</param>
    /// <param name="time">Clock for retry delays.</param>
    /// <param name="logger">Where retries and a broken stream are reported.</param>
    /// <param name="runToken">The run's token, which fences its appends (null: unfenced).</param>
    /// <param name="onFenced">Called when an append is refused because another run holds the job's lease.</param>
    public JobStreamWriter(string jobId, long afterSeq, IJobEventLog log, StreamingOptions options, TimeProvider time, ILogger logger, string? runToken = null, Action? onFenced = null)
    {
        _jobId = jobId;
        _runToken = runToken;
        _onFenced = onFenced;
        _lastSeq = afterSeq;
        _log = log;
        _options = options;
        _logger = logger;
        _appendRetry = AppendRetry(options, time, logger, jobId);
        _flusher = Task.Run(RunAsync);
    }

    /// <summary>The sequence number of the last event this writer appended (or that it was given to start after).</summary>
    public long LastSeq => Interlocked.Read(ref _lastSeq);

    /// <summary>Events appended so far (fewer than items written when some were coalesced).</summary>
    public long AppendedEvents => Interlocked.Read(ref _appendedEvents);

    /// <summary>Streams the embeddings of texts <paramref name="offset"/> to <paramref name="offset"/> + n - 1 of <paramref name="total"/>. Never waits for Redis.</summary>
    /// <exception cref="InvalidOperationException">After <see cref="CompleteAsync"/>.</exception>
    public void WriteChunk(int offset, IReadOnlyList<float[]> embeddings, int total)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        if (embeddings.Count > 0)
        {
            Enqueue(new ChunkItem(offset, embeddings, total));
        }
    }

    /// <summary>Streams the next generated token's text. Never waits for Redis.</summary>
    /// <exception cref="InvalidOperationException">After <see cref="CompleteAsync"/>.</exception>
    public void WriteToken(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        lock (_gate)
        {
            EnqueueLocked(new TokenItem(_nextToken++, text));
        }

        _wake.Writer.TryWrite(true);
    }

    /// <summary>
    /// Appends everything written so far, then stops accepting items. Call it before appending the
    /// job's terminal event.
    /// </summary>
    /// <exception cref="RedisConnectionException">The stream broke: an append still failed after its retries (or <see cref="RedisTimeoutException"/>).</exception>
    public async Task CompleteAsync()
    {
        lock (_gate)
        {
            _closed = true;
        }

        _wake.Writer.TryComplete();
        await _flusher;
        _fault?.Throw();
    }

    /// <summary>Stops the flusher; items not yet appended are dropped (after <see cref="CompleteAsync"/> there are none).</summary>
    public async ValueTask DisposeAsync()
    {
        lock (_gate)
        {
            _closed = true;
            _pending.Clear();
        }

        _wake.Writer.TryComplete();
        await _abort.CancelAsync();
        await _flusher;
        _abort.Dispose();
    }

    private void Enqueue(StreamItem item)
    {
        lock (_gate)
        {
            EnqueueLocked(item);
        }

        _wake.Writer.TryWrite(true);
    }

    private void EnqueueLocked(StreamItem item)
    {
        if (_closed)
        {
            throw new InvalidOperationException("The job's stream is complete.");
        }

        if (_fault is not null || _logClosed is not null)
        {
            return; // Nothing can follow a gap or a closed log; CompleteAsync reports the fault.
        }

        if (_pending.Count == 0 || !_pending[^1].TryMerge(item, _options.MaxCoalescedItems))
        {
            _pending.Add(item);
        }
    }

    private async Task RunAsync()
    {
        try
        {
            while (await _wake.Reader.WaitToReadAsync(_abort.Token))
            {
                _wake.Reader.TryRead(out _);
                await DrainAsync();
            }

            // Completed: anything written between the last drain and the completion.
            await DrainAsync();
        }
        catch (Exception ex) when (_abort.IsCancellationRequested && (ex is OperationCanceledException || RedisFailures.IsTransient(ex)))
        {
            // Disposed without completing (the retry stops at once then): what was pending is dropped on purpose.
        }
        catch (Exception ex) when (RedisFailures.IsTransient(ex))
        {
            lock (_gate)
            {
                _fault = ExceptionDispatchInfo.Capture(ex);
                _pending.Clear();
            }

            Log.StreamBroken(_logger, ex, _jobId, LastSeq);
        }
    }

    private async Task DrainAsync()
    {
        while (true)
        {
            StreamItem next;
            lock (_gate)
            {
                if (_pending.Count == 0)
                {
                    return;
                }

                // Taken out before its append: items written meanwhile start a new pending event.
                next = _pending[0];
                _pending.RemoveAt(0);
            }

            await AppendAsync(next);
        }
    }

    /// <summary>
    /// The retry of an append: what <see cref="RedisFailures.IsTransient"/> calls transient, up to
    /// <see cref="StreamingOptions.AppendRetries"/> times (none at 0), after
    /// <see cref="StreamingOptions.RetryBaseDelayMs"/> doubled per retry, ±20 % jitter, at most
    /// <see cref="MaxRetryDelay"/>; each retry logged with its delay.
    /// </summary>
    internal static ResiliencePipeline AppendRetry(StreamingOptions options, TimeProvider time, ILogger logger, string jobId) =>
        options.AppendRetries == 0
            ? ResiliencePipeline.Empty
            : new ResiliencePipelineBuilder { TimeProvider = time }
                .AddRetry(new RetryStrategyOptions
                {
                    ShouldHandle = args => ValueTask.FromResult(args.Outcome.Exception is { } ex && RedisFailures.IsTransient(ex)),
                    MaxRetryAttempts = options.AppendRetries,
                    DelayGenerator = args => ValueTask.FromResult<TimeSpan?>(RetryDelay(options, args.AttemptNumber)),
                    OnRetry = args =>
                    {
                        args.Context.Properties.TryGetValue(ItemKey, out var item);
                        Log.StreamAppendRetry(logger, args.Outcome.Exception!, jobId, item?.Type ?? "", item?.Position ?? 0, args.AttemptNumber + 1, args.RetryDelay.TotalMilliseconds);
                        return ValueTask.CompletedTask;
                    },
                })
                .Build();

    private async Task AppendAsync(StreamItem item)
    {
        var data = item.ToJson();
        var context = ResilienceContextPool.Shared.Get(_abort.Token);
        context.Properties.Set(ItemKey, item);
        var attempts = 0;
        try
        {
            await _appendRetry.ExecuteAsync(
                async _ =>
                {
                    // A retry first looks for the event: the failed append may have run.
                    if (attempts++ > 0 && await FindAppendedAsync(item) is { } seq)
                    {
                        Appended(seq);
                        return;
                    }

                    var result = await _log.AppendAsync(_jobId, _runToken, item.Type, data);
                    if (result.Outcome == AppendOutcome.Appended)
                    {
                        Appended(result.Seq);
                        return;
                    }

                    lock (_gate)
                    {
                        _logClosed = result.Outcome;
                        _pending.Clear();
                    }

                    Log.StreamLogClosed(_logger, _jobId, result.Outcome.ToString());
                    if (result.Outcome == AppendOutcome.Fenced)
                    {
                        _onFenced?.Invoke();
                    }
                },
                context);
        }
        finally
        {
            ResilienceContextPool.Shared.Return(context);
        }
    }

    /// <summary>The sequence number of this item's event when an append that reported an error did happen; null when it did not.</summary>
    private async Task<long?> FindAppendedAsync(StreamItem item)
    {
        var after = LastSeq;
        while (true)
        {
            var page = await _log.ReadEventsAsync(_jobId, after, 64);
            foreach (var jobEvent in page)
            {
                if (jobEvent.Type == item.Type
                    && jobEvent.Data is { ValueKind: System.Text.Json.JsonValueKind.Object } data
                    && data.TryGetProperty(item.PositionName, out var position)
                    && position.TryGetInt64(out var value)
                    && value == item.Position)
                {
                    return jobEvent.Seq;
                }

                after = jobEvent.Seq;
            }

            if (page.Count < 64)
            {
                return null;
            }
        }
    }

    private void Appended(long seq)
    {
        Interlocked.Exchange(ref _lastSeq, seq);
        Interlocked.Increment(ref _appendedEvents);
    }

    private static TimeSpan RetryDelay(StreamingOptions options, int attempt)
    {
        var exponential = options.RetryBaseDelayMs * Math.Pow(2, attempt);
        var jittered = exponential * (0.8 + (Random.Shared.NextDouble() * 0.4));
        return TimeSpan.FromMilliseconds(Math.Min(jittered, MaxRetryDelay.TotalMilliseconds));
    }

    private static partial class Log
    {
        [LoggerMessage(EventIds.StreamAppendRetry, LogLevel.Warning, "Stream event {Type} at {Position} of job {JobId}: append failed, retry {Attempt} in {DelayMs:F0} ms")]
        public static partial void StreamAppendRetry(ILogger logger, Exception exception, string jobId, string type, long position, int attempt, double delayMs);

        [LoggerMessage(EventIds.StreamBroken, LogLevel.Error, "Stream of job {JobId} broken after seq {LastSeq}: an append still failed after its retries; later items are dropped")]
        public static partial void StreamBroken(ILogger logger, Exception exception, string jobId, long lastSeq);

        [LoggerMessage(EventIds.StreamLogClosed, LogLevel.Information, "Stream of job {JobId} stopped: its log is closed ({Outcome})")]
        public static partial void StreamLogClosed(ILogger logger, string jobId, string outcome);
    }
}
