using System.Globalization;
using System.Text;
using System.Text.Json;
using InferenceGateway.Contracts;
using InferenceGateway.Gateway.Jobs;

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
    public static async Task<IResult> StreamAsync(string id, HttpContext http, JobEventFeed feed, CancellationToken cancellationToken)
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
        await http.Response.Body.FlushAsync(cancellationToken);
        try
        {
            await foreach (var jobEvent in feed.ReadAsync(id, afterSeq, cancellationToken))
            {
                var json = JsonSerializer.Serialize(jobEvent, ContractsJsonContext.Default.JobEvent);
                var frame = $"id: {jobEvent.Seq.ToString(CultureInfo.InvariantCulture)}\nevent: {jobEvent.Type}\ndata: {json}\n\n";
                await http.Response.Body.WriteAsync(Encoding.UTF8.GetBytes(frame), cancellationToken);
                await http.Response.Body.FlushAsync(cancellationToken);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // The client went away.
        }

        return TypedResults.Empty;
    }
}
