using System.Collections.Concurrent;
using System.Diagnostics;
using InferenceGateway.Core.Latency;
using Microsoft.AspNetCore.SignalR;

namespace InferenceGateway.Gateway.Latency;

/// <summary>
/// Times every request that matched an endpoint, per route (<c>route:POST /v1/jobs</c>): from this
/// middleware, the first in the pipeline, to the handler having written the whole response, for
/// every status code. Long-lived streams (a <c>text/event-stream</c> answer, a WebSocket, the
/// SignalR hub's connections) record their time to first byte instead (<c>ttfb:...</c>): when the
/// response headers started. Requests that matched no endpoint are not recorded. The work per
/// request is a clock read, one small allocation and an in-memory increment.
/// </summary>
public sealed class RequestLatencyMiddleware(RequestDelegate next, LatencyRecorder recorder)
{
    private static readonly Func<object, Task> MarkFirstByte = static state =>
    {
        ((ResponseTiming)state).FirstByte = Stopwatch.GetTimestamp();
        return Task.CompletedTask;
    };

    private readonly ConcurrentDictionary<(string Method, string Pattern), (string Route, string Ttfb)> _names = new();

    public async Task InvokeAsync(HttpContext context)
    {
        var timing = new ResponseTiming { Start = Stopwatch.GetTimestamp() };
        context.Response.OnStarting(MarkFirstByte, timing);
        try
        {
            await next(context);
        }
        finally
        {
            Record(context, timing);
        }
    }

    private void Record(HttpContext context, ResponseTiming timing)
    {
        if (context.GetEndpoint() is not RouteEndpoint { RoutePattern.RawText: { } rawPattern } endpoint)
        {
            return;
        }

        var names = _names.GetOrAdd((MethodOf(context.Request.Method), rawPattern), static key =>
        {
            var pattern = RouteBudgets.Normalize(key.Pattern);
            return (LatencySeries.Route(key.Method, pattern), LatencySeries.Ttfb(key.Method, pattern));
        });
        if (IsStream(context, endpoint, rawPattern))
        {
            if (timing.FirstByte != 0)
            {
                recorder.Record(names.Ttfb, Stopwatch.GetElapsedTime(timing.Start, timing.FirstByte));
            }
        }
        else
        {
            recorder.Record(names.Route, Stopwatch.GetElapsedTime(timing.Start));
        }
    }

    private static bool IsStream(HttpContext context, Endpoint endpoint, string pattern) =>
        context.WebSockets.IsWebSocketRequest
        || (context.Response.ContentType?.StartsWith("text/event-stream", StringComparison.OrdinalIgnoreCase) ?? false)
        || (endpoint.Metadata.GetMetadata<HubMetadata>() is not null && !pattern.EndsWith("/negotiate", StringComparison.Ordinal));

    /// <summary>The standard methods by name; anything else as <c>OTHER</c>, so a catch-all route cannot grow the series without bound.</summary>
    private static string MethodOf(string method) =>
        HttpMethods.IsGet(method) ? HttpMethods.Get
        : HttpMethods.IsPost(method) ? HttpMethods.Post
        : HttpMethods.IsPut(method) ? HttpMethods.Put
        : HttpMethods.IsDelete(method) ? HttpMethods.Delete
        : HttpMethods.IsPatch(method) ? HttpMethods.Patch
        : HttpMethods.IsHead(method) ? HttpMethods.Head
        : HttpMethods.IsOptions(method) ? HttpMethods.Options
        : "OTHER";

    private sealed class ResponseTiming
    {
        public long Start { get; init; }

        public long FirstByte { get; set; }
    }
}
