using Amazon.Runtime;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.WebUtilities;
using StackExchange.Redis;

namespace InferenceGateway.Gateway.Problems;

public static class ProblemsExtensions
{
    /// <summary>
    /// Every error is problem+json: unmatched routes and other bare status codes, bad requests the
    /// server itself rejects, and exceptions. An unreachable Redis or SQS is a 503 with
    /// Retry-After, not a 500.
    /// </summary>
    public static WebApplicationBuilder AddProblems(this WebApplicationBuilder builder)
    {
        builder.Services.AddProblemDetails(options => options.CustomizeProblemDetails = context =>
        {
            var exception = context.HttpContext.Features.Get<IExceptionHandlerFeature>()?.Error;
            if (exception is null)
            {
                return;
            }

            if (IsDependencyFailure(exception))
            {
                context.ProblemDetails.Status = StatusCodes.Status503ServiceUnavailable;
                context.ProblemDetails.Title = "Service Unavailable";
                context.ProblemDetails.Detail = "A backing service (Redis or the queue) is unreachable; retry shortly.";
                context.HttpContext.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
                context.HttpContext.Response.Headers.RetryAfter = "2";
            }
            else if (exception is BadHttpRequestException bad)
            {
                context.ProblemDetails.Status = bad.StatusCode;
                context.ProblemDetails.Title = ReasonPhrases.GetReasonPhrase(bad.StatusCode);
                context.ProblemDetails.Detail = bad.Message;
                context.HttpContext.Response.StatusCode = bad.StatusCode;
            }
        });
        return builder;
    }

    public static bool IsDependencyFailure(Exception exception) =>
        exception is RedisException or AmazonServiceException or AmazonClientException or TimeoutException
            or HttpRequestException or System.Net.Sockets.SocketException
        || (exception.InnerException is { } inner && IsDependencyFailure(inner));
}
