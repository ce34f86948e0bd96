using System.Globalization;
using System.Text;
using System.Text.Json;
using InferenceGateway.Contracts;
using InferenceGateway.Core.Jobs;
using InferenceGateway.Gateway.Auth;
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
/// that buffer, the frame in hand and the page of the log the feed has read; and only until a write
/// has waited <see cref="DeliveryOptions.SseWriteTimeout"/>, when the client is disconnected.
/// </remarks>
public static class JobEventsSse
{
    private static bool AcceptsEventStream(HttpRequest request) =>
        request.Headers.Accept.ToString().Contains("text/event-stream", StringComparison.OrdinalIgnoreCase);

    public static async Task<IResult> StreamAsync(
        string id, HttpContext http, JobEventFeed feed, DeliveryStats stats, IOptions<DeliveryOptions> options, TimeProvider time, ILoggerFactory loggers, CancellationToken cancellationToken)
    {
        JobProgress? found;
        try
        {
            found = await feed.FindAsync(id, http.User.Tenant());
        }
        catch (Exception ex) when (ProblemsExtensions.IsDependencyFailure(ex) && AcceptsEventStream(http.Request))
        {
            // An EventSource gives up for good on any answer but a 200 event stream; a 503 here,
            // while Redis is away, would end a browser's resumption. Tell it to come back later.
            SseResponse.SetHeaders(http.Response);
            await http.Response.WriteAsync("retry: 5000\n\n: events unavailable (Redis unreachable); reconnecting\n\n", CancellationToken.None);
            return TypedResults.Empty;
        }

        if (found is not { } job)
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

        var last = afterSeq;
        using var sse = SseResponse.Start(http, options.Value, stats, time, cancellationToken);
        try
        {
            // An EventSource that loses the stream reconnects after this long, sending Last-Event-ID.
            await sse.WriteAsync("retry: 1000\n\n"u8.ToArray());
            await sse.PumpAsync(
                stop => feed.ReadAsync(id, afterSeq, stop),
                async jobEvent =>
                {
                    var json = JsonSerializer.Serialize(jobEvent, ContractsJsonContext.Default.JobEvent);
                    await sse.WriteAsync(Encoding.UTF8.GetBytes($"id: {jobEvent.Seq.ToString(CultureInfo.InvariantCulture)}\nevent: {jobEvent.Type}\ndata: {json}\n\n"));
                    last = jobEvent.Seq;
                    return true;
                });
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // The client went away.
        }
        catch (SseClientTooSlowException ex)
        {
            // Disconnected for stalling; it resumes with Last-Event-ID.
            Log.SseSubscriberTooSlow(loggers.CreateLogger(typeof(JobEventsSse)), id, last, ex.Timeout);
        }
        catch (Exception ex) when (ex is TimeoutRejectedException || ProblemsExtensions.IsDependencyFailure(ex))
        {
            // Redis stayed away past the outage tolerance. The headers are gone, so no problem
            // document: say why in a comment and end; the client resumes with Last-Event-ID.
            Log.SseStreamInterrupted(loggers.CreateLogger(typeof(JobEventsSse)), id, last, ex.GetType().Name);
            await sse.TryWriteLastAsync(Encoding.UTF8.GetBytes($": events unavailable (Redis unreachable); reconnect with Last-Event-ID {last}\n\n"));
        }

        return TypedResults.Empty;
    }
}
