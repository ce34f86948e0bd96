using Yarp.ReverseProxy.Forwarder;

namespace InferenceGateway.Gateway.Proxy;

internal static partial class ProxyLog
{
    [LoggerMessage(EventIds.ProxyRouteSubmittedJob, LogLevel.Debug, "Route {RouteId} turned the request into job {JobId}")]
    public static partial void RouteSubmittedJob(ILogger logger, string routeId, string jobId);

    [LoggerMessage(EventIds.ProxyFailed, LogLevel.Information, "Route {RouteId} could not forward ({Error}); answered {Status}")]
    public static partial void ProxyFailed(ILogger logger, string routeId, ForwarderError error, int status);
}
