using Microsoft.AspNetCore.Http.Timeouts;
using Microsoft.AspNetCore.WebUtilities;
using Yarp.ReverseProxy.Forwarder;

namespace InferenceGateway.Gateway.Proxy;

/// <summary>
/// The outermost step of the proxy pipeline: YARP reports a failed forward as a bare status code
/// with an empty body and an <see cref="IForwarderErrorFeature"/>; this writes it as problem+json.
/// No healthy destination is 503, the route's latency budget spent is 504, an upstream that cannot
/// be reached or fails mid-answer is 502. A caller that went away gets nothing.
/// </summary>
public sealed class ProxyErrorProblems(RequestDelegate next, ILogger<ProxyErrorProblems> logger)
{
    public async Task InvokeAsync(HttpContext context)
    {
        await next(context);

        var failure = context.GetForwarderErrorFeature();
        if (failure is null || context.Response.HasStarted)
        {
            return;
        }

        var route = context.GetReverseProxyFeature().Route.Config;
        // The route's Timeout is enforced by ASP.NET Core's request timeouts, which cancel the
        // request; YARP sees that as a cancellation, so the timeout feature tells the two apart.
        var budgetSpent = failure.Error == ForwarderError.RequestTimedOut
            || context.Features.Get<IHttpRequestTimeoutFeature>()?.RequestTimeoutToken.IsCancellationRequested == true;
        if (!budgetSpent && failure.Error is ForwarderError.RequestCanceled or ForwarderError.RequestBodyCanceled)
        {
            return;
        }

        var (status, detail) = failure.Error switch
        {
            _ when budgetSpent => (StatusCodes.Status504GatewayTimeout,
                route.Timeout is { } timeout
                    ? $"The upstream did not answer within the route's latency budget of {timeout.TotalMilliseconds:0} ms."
                    : "The upstream did not answer in time."),
            ForwarderError.NoAvailableDestinations => (StatusCodes.Status503ServiceUnavailable,
                "No healthy upstream is available for this route; retry shortly."),
            ForwarderError.RequestBodyClient => (StatusCodes.Status400BadRequest,
                "The request body could not be read."),
            _ => (StatusCodes.Status502BadGateway,
                "The upstream could not be reached or did not give a valid answer."),
        };
        ProxyLog.ProxyFailed(logger, route.RouteId, failure.Error, status);

        context.Response.Clear();
        if (status == StatusCodes.Status503ServiceUnavailable)
        {
            context.Response.Headers.RetryAfter = "2";
        }

        await TypedResults.Problem(
                statusCode: status,
                title: ReasonPhrases.GetReasonPhrase(status),
                detail: detail,
                extensions: new Dictionary<string, object?>(StringComparer.Ordinal) { ["route"] = route.RouteId, ["proxyError"] = failure.Error.ToString() })
            .ExecuteAsync(context);
    }
}
