using System.Globalization;
using System.Text;
using System.Text.Json;
using InferenceGateway.Contracts;
using InferenceGateway.Gateway.Jobs;
using InferenceGateway.Gateway.Problems;
using Microsoft.Extensions.Options;
using Polly.Timeout;

namespace InferenceGateway.Gateway.Hubs;

/// <summary>
/// <c>GET /v1/jobs/{id}/events</c> as Server-Sent Events: <c>id:</c> is the event's sequence number,
/// <c>event:</c> its type, <c>data:</c> the JobEvent as JSON; <c>Last-Event-ID</c> resumes after it.
/// </summary>
/// <remarks>
/// Backpressure: each frame is written and flushed before the next event is read, and Kestrel's
/// flush waits while more than its <c>MaxResponseBufferSize</c> (64 KiB) is unsent, so a client
/// that reads slowly holds back only its own feed; nothing queues up for it in the gateway beyond
/// that buffer, the frame in hand and the page of the log the feed has read.
/// </remarks>
public static class JobEventsSse
{
    private static readonly byte[] KeepAlive = ": keep-alive\n\n"u8.ToArray();

    public static async Task<IResult> StreamAsync(
        string id, HttpContext http, JobEventFeed feed, DeliveryStats stats, IOptions<DeliveryOptions> options, TimeProvider time, ILoggerFactory loggers, CancellationToken cancellationToken)
    {
        if (await feed.FindAsync(id, JobsApi.TenantOf(http.User)) is not { } job)
        {
            return JobsApi.NotFound(id);
        }

        var afterSeq = 0L;
        var resume = http.Request.Headers["Last-Event-ID"].ToString();
        if (resume.Length > 0 && (!long.TryParse(resume, NumberStyles.None, CultureInfo.InvariantCulture, out afterSeq) || !JobEventFeed.IsValidAfterSeq(afterSeq)))
        {
            return TypedResults.Problem(statusCode: StatusCodes.Status400BadRequest, title: "Bad Request", detail: $"Last-Event-ID must be a sequence number from 0 to {JobEventFeed.MaxSeq}.");
        }

        if (JobEventFeed.IsExhausted(job, afterSeq))
        {
            // Nothing more will ever come: 204 tells an EventSource to stop reconnecting.
            return TypedResults.NoContent();
        }

        http.Response.ContentType = "text/event-stream";
        http.Response.Headers.CacheControl = "no-cache";
        http.Response.Headers["X-Accel-Buffering"] = "no";
        var body = http.Response.Body;
        stats.SseOpened();
        var last = afterSeq;
        try
        {
            // An EventSource that loses the stream reconnects after this long, sending Last-Event-ID.
            await body.WriteAsync("retry: 1000\n\n"u8.ToArray(), cancellationToken);
            await body.FlushAsync(cancellationToken);
            await using var events = feed.ReadAsync(id, afterSeq, cancellationToken).GetAsyncEnumerator(cancellationToken);
            var keepAlive = options.Value.SseKeepAlive;
            using var ticks = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            Task? tick = null;
            while (true)
            {
                var next = events.MoveNextAsync().AsTask();
                if (!next.IsCompleted)
                {
                    // Idle: a comment now and then. One timer serves several events; it is only
                    // renewed once it fired, so a busy stream does not pay for a timer per event.
                    while (await Task.WhenAny(next, tick ??= Task.Delay(keepAlive, time, ticks.Token)) != next)
                    {
                        tick = null;
                        await body.WriteAsync(KeepAlive, cancellationToken);
                        await body.FlushAsync(cancellationToken);
                    }
                }

                if (!await next)
                {
                    break;
                }

                var jobEvent = events.Current;
                var json = JsonSerializer.Serialize(jobEvent, ContractsJsonContext.Default.JobEvent);
                var frame = $"id: {jobEvent.Seq.ToString(CultureInfo.InvariantCulture)}\nevent: {jobEvent.Type}\ndata: {json}\n\n";
                await body.WriteAsync(Encoding.UTF8.GetBytes(frame), cancellationToken);
                await body.FlushAsync(cancellationToken);
                last = jobEvent.Seq;
            }

            await ticks.CancelAsync();
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // The client went away.
        }
        catch (Exception ex) when (ex is TimeoutRejectedException || ProblemsExtensions.IsDependencyFailure(ex))
        {
            // Redis stayed away past the outage tolerance. The headers are gone, so no problem
            // document: say why in a comment and end; the client resumes with Last-Event-ID.
            Log.SseStreamInterrupted(loggers.CreateLogger(typeof(JobEventsSse)), id, last, ex.GetType().Name);
            try
            {
                await body.WriteAsync(Encoding.UTF8.GetBytes($": events unavailable (Redis unreachable); reconnect with Last-Event-ID {last}\n\n"), CancellationToken.None);
                await body.FlushAsync(CancellationToken.None);
            }
            catch (Exception writeError) when (writeError is IOException or OperationCanceledException)
            {
                // The client is gone as well.
            }
        }
        finally
        {
            stats.SseClosed();
        }

        return TypedResults.Empty;
    }
}
