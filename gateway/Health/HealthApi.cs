using InferenceGateway.Core.Queue;
using InferenceGateway.Gateway.Edge;
using Microsoft.AspNetCore.Http.HttpResults;
using StackExchange.Redis;

namespace InferenceGateway.Gateway.Health;

public static class HealthApi
{
    private static readonly TimeSpan CheckTimeout = TimeSpan.FromSeconds(2);

    /// <summary><c>/healthz</c>: the process answers. <c>/readyz</c>: Redis and SQS answer too, and the edge models are loaded.</summary>
    public static IEndpointRouteBuilder MapHealthApi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/healthz", () => TypedResults.Ok(new HealthReport("ok", null))).AllowAnonymous();
        app.MapGet("/readyz", ReadyAsync).AllowAnonymous();
        return app;
    }

    private static async Task<Results<Ok<HealthReport>, JsonHttpResult<HealthReport>>> ReadyAsync(
        IConnectionMultiplexer redis, JobQueue queue, EdgeModels edge, EdgeStartup edgeStartup, CancellationToken cancellationToken)
    {
        var checks = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["redis"] = await CheckAsync(async () => await redis.GetDatabase().PingAsync(), cancellationToken),
            ["sqs"] = await CheckAsync(
                async () =>
                {
                    var urls = await queue.GetUrlsAsync(cancellationToken);
                    await queue.Client.GetQueueAttributesAsync(urls.Jobs, ["ApproximateNumberOfMessages"], cancellationToken);
                },
                cancellationToken),
        };
        if (edge.Any)
        {
            // Edge models load in the background at start: not ready until they answer at once.
            checks["edge"] = edgeStartup.LoadFailure is { } failure ? "failed: " + failure : edge.Ready ? "ok" : "loading";
        }

        var ready = checks.Values.All(v => v == "ok");
        var report = new HealthReport(ready ? "ready" : "unavailable", checks);
        return ready ? TypedResults.Ok(report) : TypedResults.Json(report, statusCode: StatusCodes.Status503ServiceUnavailable);
    }

    private static async Task<string> CheckAsync(Func<Task> check, CancellationToken cancellationToken)
    {
        try
        {
            await check().WaitAsync(CheckTimeout, cancellationToken);
            return "ok";
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
        {
            return "unreachable: " + ex.GetType().Name;
        }
    }
}

/// <summary>The body of the health endpoints.</summary>
public sealed record HealthReport(string Status, IReadOnlyDictionary<string, string>? Checks);
