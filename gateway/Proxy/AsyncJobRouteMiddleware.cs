using InferenceGateway.Gateway.Auth;
using InferenceGateway.Contracts;
using InferenceGateway.Gateway.Jobs;
using InferenceGateway.Gateway.Limits;
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
    JobIntake intake,
    JobValidator validator,
    JsonBodyReader json,
    IOptions<RequestLimits> requestLimits,
    ModelCatalog catalog,
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

        var tenant = context.User.TenantOrNull();
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

        var served = await catalog.GetAsync();
        var errors = body.Value is null
            ? new Dictionary<string, string[]>(StringComparer.Ordinal) { ["body"] = ["The body must be a JSON object: the job's input, {\"texts\": [...]}."] }
            : validator.Validate(settings.Model, body.Value, served, inputPath: string.Empty);
        if (errors.Count > 0)
        {
            await TypedResults.ValidationProblem(errors, title: "The job is not valid.").ExecuteAsync(context);
            return;
        }

        var submitted = await intake.SubmitChargedAsync(context, new NewJob(settings.Model!, body.Value!), served.GetValueOrDefault(settings.Model!), estimateQueue: true, context.RequestAborted);
        if (submitted.Job is { } job)
        {
            ProxyLog.RouteSubmittedJob(logger, route.RouteId, job.Id);
        }

        await submitted.ToResult().ExecuteAsync(context);
    }
}
