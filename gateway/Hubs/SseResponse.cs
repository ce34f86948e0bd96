using InferenceGateway.Contracts;

namespace InferenceGateway.Gateway.Hubs;

/// <summary>
/// A <c>text/event-stream</c> response, shared by the job event stream (<see cref="JobEventsSse"/>)
/// and the chat completions stream: the headers, the open/closed counts of
/// <see cref="DeliveryStats"/>, writes that are flushed one by one and give up on a client that takes
/// nothing for <see cref="DeliveryOptions.SseWriteTimeout"/> (it is disconnected), and a pump over a
/// job's events that sends a keep-alive comment while the feed is idle.
/// </summary>
/// <remarks>
/// Backpressure: each write is flushed before the next event is read, and Kestrel's flush waits
/// while more than its <c>MaxResponseBufferSize</c> (64 KiB) is unsent, so a slow client holds back
/// only its own stream.
/// </remarks>
public sealed class SseResponse : IDisposable
{
    private static readonly byte[] KeepAlive = ": keep-alive\n\n"u8.ToArray();

    private readonly HttpContext _http;
    private readonly Stream _body;
    private readonly DeliveryStats _stats;
    private readonly TimeProvider _time;
    private readonly TimeSpan _writeTimeout;
    private readonly TimeSpan _keepAlive;
    private readonly CancellationToken _clientGone;
    private readonly CancellationTokenSource _writeLimit;

    private SseResponse(HttpContext http, DeliveryOptions options, DeliveryStats stats, TimeProvider time, CancellationToken clientGone)
    {
        _http = http;
        _body = http.Response.Body;
        _stats = stats;
        _time = time;
        _writeTimeout = options.SseWriteTimeout;
        _keepAlive = options.SseKeepAlive;
        _clientGone = clientGone;
        _writeLimit = CancellationTokenSource.CreateLinkedTokenSource(clientGone);
    }

    /// <summary>Sets the event-stream headers and counts the stream as open (until disposed).</summary>
    public static SseResponse Start(HttpContext http, DeliveryOptions options, DeliveryStats stats, TimeProvider time, CancellationToken clientGone)
    {
        SetHeaders(http.Response);
        stats.SseOpened();
        return new SseResponse(http, options, stats, time, clientGone);
    }

    /// <summary>The event-stream headers: no caching, and no buffering by a proxy in front (nginx's <c>X-Accel-Buffering</c>).</summary>
    public static void SetHeaders(HttpResponse response)
    {
        response.ContentType = "text/event-stream";
        response.Headers.CacheControl = "no-cache";
        response.Headers["X-Accel-Buffering"] = "no";
    }

    /// <summary>Writes and flushes <paramref name="bytes"/>.</summary>
    /// <exception cref="SseClientTooSlowException">The write waited longer than the write timeout; the connection is aborted.</exception>
    /// <exception cref="OperationCanceledException">The client went away.</exception>
    public async Task WriteAsync(ReadOnlyMemory<byte> bytes)
    {
        _writeLimit.CancelAfter(_writeTimeout);
        try
        {
            await _body.WriteAsync(bytes, _writeLimit.Token);
            await _body.FlushAsync(_writeLimit.Token);
        }
        catch (OperationCanceledException) when (!_clientGone.IsCancellationRequested)
        {
            // A client that takes nothing must not hold a stream open for ever.
            _http.Abort();
            throw new SseClientTooSlowException(_writeTimeout);
        }

        _writeLimit.CancelAfter(Timeout.InfiniteTimeSpan);
    }

    /// <summary>Last words after the stream failed (a comment or an error frame): no timeout, and a client that is gone as well is ignored.</summary>
    public async Task TryWriteLastAsync(ReadOnlyMemory<byte> bytes)
    {
        try
        {
            await _body.WriteAsync(bytes, CancellationToken.None);
            await _body.FlushAsync(CancellationToken.None);
        }
        catch (Exception ex) when (ex is IOException or OperationCanceledException)
        {
            // The client is gone as well.
        }
    }

    /// <summary>
    /// Reads the events <paramref name="read"/> gives and hands each to <paramref name="onEvent"/>
    /// (which writes what it wants, and returns false to stop), with a keep-alive comment whenever the
    /// feed is idle for <see cref="DeliveryOptions.SseKeepAlive"/>. The feed gets a token of its own:
    /// when this returns or throws, its pending read is cancelled and awaited before it is disposed.
    /// </summary>
    public async Task PumpAsync(Func<CancellationToken, IAsyncEnumerable<JobEvent>> read, Func<JobEvent, Task<bool>> onEvent)
    {
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(_clientGone);
        var events = read(stop.Token).GetAsyncEnumerator(stop.Token);
        Task<bool>? next = null;
        try
        {
            Task? tick = null;
            while (true)
            {
                next = events.MoveNextAsync().AsTask();
                if (!next.IsCompleted)
                {
                    // Idle: a comment now and then. One timer serves several events; it is only
                    // renewed once it fired, so a busy stream does not pay for a timer per event.
                    while (await Task.WhenAny(next, tick ??= Task.Delay(_keepAlive, _time, stop.Token)) != next)
                    {
                        tick = null;
                        await WriteAsync(KeepAlive);
                    }
                }

                var more = await next;
                next = null;
                if (!more || !await onEvent(events.Current))
                {
                    break;
                }
            }
        }
        finally
        {
            await stop.CancelAsync(); // also ends the keep-alive timer
            if (next is not null)
            {
                await ((Task)next).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            }

            await events.DisposeAsync();
        }
    }

    public void Dispose()
    {
        _writeLimit.Dispose();
        _stats.SseClosed();
    }
}

/// <summary>A write to an event-stream client waited longer than <see cref="DeliveryOptions.SseWriteTimeout"/>; the client was disconnected.</summary>
public sealed class SseClientTooSlowException(TimeSpan timeout) : Exception($"The client took nothing for {timeout}.")
{
    public TimeSpan Timeout { get; } = timeout;
}
