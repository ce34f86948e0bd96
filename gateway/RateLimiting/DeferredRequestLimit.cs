using Microsoft.AspNetCore.Http.HttpResults;

namespace InferenceGateway.Gateway.RateLimiting;

/// <summary>
/// The request limit of an endpoint that takes it itself, folded into its own Redis round trip
/// (<see cref="TenantAdmission"/>) instead of a round trip of its own in
/// <see cref="TenantRateLimitMiddleware"/>. A feature of the request, set by
/// <see cref="DeferredRequestLimitFilter"/>; whoever charges the request calls <see cref="Take"/>.
/// </summary>
public sealed class DeferredRequestLimit(string bucket)
{
    /// <summary>The bucket the request draws from.</summary>
    public string Bucket { get; } = bucket;

    /// <summary>Whether the request has been charged (or is being charged).</summary>
    public bool Taken { get; private set; }

    /// <summary>The bucket to charge, once: null when the request was charged already.</summary>
    public string? Take()
    {
        if (Taken)
        {
            return null;
        }

        Taken = true;
        return Bucket;
    }

    /// <summary>Writes the RateLimit headers of <paramref name="decision"/> and, when it refuses, returns the 429 (as the middleware answers it).</summary>
    public static ProblemHttpResult? Apply(HttpResponse response, RateDecision decision, string bucket)
    {
        TenantRateLimitMiddleware.WriteHeaders(response, decision);
        return decision.Allowed
            ? null
            : TypedResults.Problem(statusCode: StatusCodes.Status429TooManyRequests, title: "Too Many Requests", detail: TenantRateLimitMiddleware.RefusalDetail(bucket, decision));
    }
}

/// <summary>
/// Makes an endpoint take its request limit itself (see <see cref="DeferredRequestLimit"/>), and
/// guarantees it is taken on every answer: when the handler answered without charging it (a body
/// it refused, a validation problem) or threw, the request is charged alone afterwards, and a
/// refusal replaces the answer with the 429 the middleware would have given first.
/// </summary>
public sealed class DeferredRequestLimitFilter(string bucket) : IEndpointFilter
{
    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var http = context.HttpContext;
        var limit = new DeferredRequestLimit(bucket);
        http.Features.Set(limit);
        object? answer;
        try
        {
            answer = await next(context);
        }
        catch (Exception) when (!limit.Taken)
        {
            if (await TakeAloneAsync(http, limit) is { } refusedFirst)
            {
                return refusedFirst;
            }

            throw;
        }

        return !limit.Taken && await TakeAloneAsync(http, limit) is { } refused ? refused : answer;
    }

    private static async Task<ProblemHttpResult?> TakeAloneAsync(HttpContext http, DeferredRequestLimit limit)
    {
        var name = limit.Take()!;
        var limiter = http.RequestServices.GetRequiredService<TenantRateLimiter>();
        return await limiter.AcquireAsync(http.User, name) is { } decision ? DeferredRequestLimit.Apply(http.Response, decision, name) : null;
    }
}

/// <summary>Marks an endpoint whose request limit <see cref="TenantRateLimitMiddleware"/> leaves to the endpoint (see <see cref="DeferredRequestLimit"/>).</summary>
public sealed class RequestLimitTakenByEndpoint;
