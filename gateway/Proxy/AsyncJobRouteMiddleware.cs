using InferenceGateway.Gateway.Auth;
using InferenceGateway.Contracts;
using InferenceGateway.Gateway.Jobs;
using InferenceGateway.Gateway.Limits;
using InferenceGateway.Gateway.RateLimiting;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Options;

namespace InferenceGateway.Gateway.Proxy;

/// <summary>
/// A step of the proxy pipeline: on a route whose metadata says <c>Mode: async</c>, the request is
/// not proxied but becomes a job. The JSON body is the job's input (<c>{"texts": [...]}</c>), the
/// model is the route's <c>Model</c> metadata, and the answer is the one <c>POST /v1/jobs</c>
/// gives: 202 with the job and its links, or the same 4xx problems for a bad body.
/// </summary>
public sealed class AsyncJobRouteMiddleware(
    RequestDelegate next,
    JobSubmitter submitter,
    JsonBodyReader json,
    IOptions<RequestLimits> requestLimits,
    ModelCatalog catalog,
    IOptionsMonitor<RateLimitOptions> rateLimits,
    TokenRateLimiter tokenLimiter,
    ILogger<AsyncJobRouteMiddleware> logger)
{
    public async Task InvokeAsync(HttpContext context)
    {
        var route = context.GetReverseProxyFeature().Route.Config;
        var settings = RouteSettings.Of(route.Metadata);
        if (!settings.IsAsync)
        {
            await next(context);
            return;
        }

        var tenant = context.User.FindFirst(GatewayClaims.Tenant)?.Value;
        if (tenant is null)
        {
            // The route filter gives every async route a policy; this is the belt to its braces.
            await TypedResults.Problem(statusCode: StatusCodes.Status401Unauthorized, title: "Unauthorized", detail: "This route needs an API key.")
                .ExecuteAsync(context);
            return;
        }

        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } size)
        {
            size.MaxRequestBodySize = requestLimits.Value.MaxJobBodyBytes;
        }

        var body = await json.ReadAsync<JobInput>(context.Request, context.RequestAborted);
        if (body.Problem is not null)
        {
            await body.Problem.ExecuteAsync(context);
            return;
        }

        var errors = body.Value is null
            ? new Dictionary<string, string[]>(StringComparer.Ordinal) { ["body"] = ["The body must be a JSON object: the job's input, {\"texts\": [...]}."] }
            : JobRequests.Validate(settings.Model, body.Value, await catalog.GetAsync(), inputPath: string.Empty);
        if (errors.Count > 0)
        {
            await TypedResults.ValidationProblem(errors, title: "The job is not valid.").ExecuteAsync(context);
            return;
        }

        // Tokens per minute, as POST /v1/jobs charges them: an estimate before queueing, given back if not queued.
        var plan = context.User.FindFirst(GatewayClaims.Plan)?.Value;
        var tokens = TokenEstimate.For(body.Value!, (await catalog.GetAsync()).GetValueOrDefault(settings.Model!));
        var charge = await tokenLimiter.TryConsumeAsync(tenant, plan, tokens);
        charge.WriteHeaders(context.Response);
        if (!charge.Allowed)
        {
            await charge.ToProblem(tokens).ExecuteAsync(context);
            return;
        }

        Results<Accepted<JobAccepted>, ValidationProblem, ProblemHttpResult> result;
        try
        {
            result = await JobRequests.SubmitAsync(context, submitter, rateLimits.CurrentValue, settings.Model!, body.Value!, policy: null, webhook: null, context.RequestAborted);
        }
        catch
        {
            await tokenLimiter.RefundAsync(tenant, plan, tokens, charge);
            throw;
        }

        if (result.Result is not Accepted<JobAccepted> || context.Response.Headers.ContainsKey("Idempotent-Replayed"))
        {
            await tokenLimiter.RefundAsync(tenant, plan, tokens, charge);
        }

        if (result.Result is Accepted<JobAccepted> accepted)
        {
            ProxyLog.RouteSubmittedJob(logger, route.RouteId, accepted.Value!.Id);
        }

        await result.ExecuteAsync(context);
    }
}
