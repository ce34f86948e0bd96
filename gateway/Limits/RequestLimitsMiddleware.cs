using System.Globalization;
using InferenceGateway.Gateway.Jobs;
using InferenceGateway.Gateway.Problems;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Http.Metadata;
using Microsoft.Extensions.Options;
using Yarp.ReverseProxy.Model;

namespace InferenceGateway.Gateway.Limits;

/// <summary>
/// Refuses, before authentication, a request whose URL, headers or declared body exceed
/// <see cref="RequestLimits"/>: 414, 431 or 413, each as problem+json. Also sets the route's body
/// limit, so a chunked body that grows past it fails on reading with a 413 as well.
/// </summary>
public sealed class RequestLimitsMiddleware(RequestDelegate next, IOptionsMonitor<RequestLimits> options)
{
    public async Task InvokeAsync(HttpContext context)
    {
        var limits = options.CurrentValue;
        var target = context.Features.Get<IHttpRequestFeature>()?.RawTarget ?? string.Empty;
        if (target.Length > limits.MaxUrlBytes)
        {
            await Problem.Write(context, StatusCodes.Status414UriTooLong, "URI Too Long", $"The URL has {target.Length} characters; the limit is {limits.MaxUrlBytes}.");
            return;
        }

        if (HeaderProblem(context.Request.Headers, limits) is { } headerProblem)
        {
            await Problem.Write(context, StatusCodes.Status431RequestHeaderFieldsTooLarge, "Request Header Fields Too Large", headerProblem);
            return;
        }

        var bodyLimit = BodyLimitOf(context, limits);
        var bodySize = context.Features.Get<IHttpMaxRequestBodySizeFeature>();
        if (bodySize is { IsReadOnly: false } && bodyLimit is not null)
        {
            bodySize.MaxRequestBodySize = bodyLimit;
        }

        if (context.Request.ContentLength > bodyLimit)
        {
            // Kestrel would fail draining the unread body and drop the connection under the client;
            // say so instead, and the client does not reuse it.
            context.Response.Headers.Connection = "close";
            await Problem.Write(context, StatusCodes.Status413PayloadTooLarge, "Payload Too Large", $"The body has {context.Request.ContentLength} bytes; this route takes at most {bodyLimit}.");
            return;
        }

        await next(context);
    }

    /// <summary>The route's own limit when it declares one (null: none at all), else <see cref="RequestLimits.MaxBodyBytes"/>.</summary>
    private static long? BodyLimitOf(HttpContext context, RequestLimits limits)
    {
        var metadata = context.GetEndpoint()?.Metadata;
        if (metadata?.GetMetadata<BodyLimitMetadata>() is { } declared)
        {
            return declared.Select(limits);
        }

        if (metadata?.GetMetadata<IRequestSizeLimitMetadata>() is { } sizeLimit)
        {
            return sizeLimit.MaxRequestBodySize;
        }

        // A proxied route's MaxRequestBodySize (-1: no limit), which YARP applies itself.
        return metadata?.GetMetadata<RouteModel>()?.Config.MaxRequestBodySize is { } routeLimit
            ? (routeLimit < 0 ? null : routeLimit)
            : limits.MaxBodyBytes;
    }

    private static string? HeaderProblem(IHeaderDictionary headers, RequestLimits limits)
    {
        var count = 0;
        long total = 0;
        foreach (var (name, values) in headers)
        {
            foreach (var value in values)
            {
                count++;
                var size = name.Length + (value?.Length ?? 0);
                total += size;
                if (size > limits.MaxHeaderBytes)
                {
                    return $"The header '{JobsApi.Truncate(name)}' has {size.ToString(CultureInfo.InvariantCulture)} characters; the limit for one header is {limits.MaxHeaderBytes}.";
                }
            }
        }

        if (count > limits.MaxHeaderCount)
        {
            return $"The request has {count} headers; the limit is {limits.MaxHeaderCount}.";
        }

        return total > limits.MaxHeadersTotalBytes
            ? $"The headers have {total} characters together; the limit is {limits.MaxHeadersTotalBytes}."
            : null;
    }
}
