namespace InferenceGateway.Core.Latency;

/// <summary>
/// How latency series are named: <c>&lt;kind&gt;:&lt;subject&gt;</c>. Routes are
/// <c>METHOD /route/pattern</c> as ASP.NET Core matched them (no trailing slash); models by their id.
/// <list type="bullet">
/// <item><c>route:POST /v1/jobs</c>: a gateway request, from the first middleware to the handler
/// having written the whole response; every status code counts.</item>
/// <item><c>ttfb:GET /v1/jobs/{id}/events</c>: long-lived streams (SSE, the SignalR hub's
/// connections, WebSockets) record time to first byte instead (response headers started).</item>
/// <item><c>queue:&lt;model&gt;</c>: a job's queue wait (queueMs), every job a worker ends.</item>
/// <item><c>coldStart:&lt;model&gt;</c>: initMs of completed jobs that paid a cold start.</item>
/// <item><c>execution:&lt;model&gt;</c>: executionMs of completed jobs.</item>
/// <item><c>e2e:&lt;model&gt;</c>: a completed job's createdAt (gateway clock) to its result being
/// recorded (worker clock).</item>
/// <item><c>edge:&lt;model&gt;</c>: inference served in-process at the edge, recorded by whoever serves it.</item>
/// </list>
/// </summary>
public static class LatencySeries
{
    public const string RouteKind = "route";
    public const string TtfbKind = "ttfb";
    public const string QueueKind = "queue";
    public const string ColdStartKind = "coldStart";
    public const string ExecutionKind = "execution";
    public const string EndToEndKind = "e2e";
    public const string EdgeKind = "edge";

    /// <summary>The longest series name recorded; longer ones are refused.</summary>
    public const int MaxLength = 200;

    public static string Route(string method, string pattern) => $"{RouteKind}:{method} {pattern}";

    public static string Ttfb(string method, string pattern) => $"{TtfbKind}:{method} {pattern}";

    public static string Queue(string model) => $"{QueueKind}:{model}";

    public static string ColdStart(string model) => $"{ColdStartKind}:{model}";

    public static string Execution(string model) => $"{ExecutionKind}:{model}";

    public static string EndToEnd(string model) => $"{EndToEndKind}:{model}";

    public static string Edge(string model) => $"{EdgeKind}:{model}";

    /// <summary>Splits a series name into its kind and subject; false when it has no kind.</summary>
    public static bool TryParse(string series, out string kind, out string subject)
    {
        var colon = series.IndexOf(':', StringComparison.Ordinal);
        if (colon <= 0 || colon == series.Length - 1)
        {
            kind = subject = string.Empty;
            return false;
        }

        kind = series[..colon];
        subject = series[(colon + 1)..];
        return true;
    }
}
