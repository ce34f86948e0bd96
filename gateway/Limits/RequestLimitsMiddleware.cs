using System.Globalization;
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

        if (context.Request.ContentLength is { } declared && declared > bodyLimit)
        {
            // The connection ends after this answer (the body is not wanted); say so, and the client
            // does not reuse it.
            context.Response.Headers.Connection = "close";
            await Problem.Write(context, StatusCodes.Status413PayloadTooLarge, "Payload Too Large", $"The body has {declared} bytes; this route takes at most {bodyLimit}.");
            await DiscardBodyAsync(context, declared);
            return;
        }

        await next(context);
    }

    /// <summary>The most of a refused body read and dropped after the 413, and for how long.</summary>
    internal const long DiscardBytes = 8 * 1024 * 1024;

    internal static readonly TimeSpan DiscardTime = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Once the 413 is sent, reads and drops the body the client is still sending (a lingering
    /// close, as nginx does). Most HTTP clients (HttpClient, Python's requests) write the whole body
    /// before they read the answer unless they sent <c>Expect: 100-continue</c>; had the gateway
    /// closed the connection with the body unread, the client's write would fail with a broken pipe
    /// (or a reset) and it would never see the 413. Bounded: a declared body over
    /// <see cref="DiscardBytes"/>, a client that asked for 100-continue (it waits for the answer and
    /// sends nothing), or one slower than <see cref="DiscardTime"/> gets the connection closed.
    /// </summary>
    private static async Task DiscardBodyAsync(HttpContext context, long declared)
    {
        if (declared > DiscardBytes
            || context.Request.Headers.Expect.Count > 0
            || context.Features.Get<IHttpMaxRequestBodySizeFeature>() is not { IsReadOnly: false } size)
        {
            return;
        }

        size.MaxRequestBodySize = null;
        await context.Response.CompleteAsync();
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted);
        timeout.CancelAfter(DiscardTime);
        var reader = context.Request.BodyReader;
        try
        {
            while (true)
            {
                var read = await reader.ReadAsync(timeout.Token);
                reader.AdvanceTo(read.Buffer.End);
                if (read.IsCompleted || read.IsCanceled)
                {
                    return;
                }
            }
        }
        catch (Exception e) when (e is OperationCanceledException or IOException or BadHttpRequestException)
        {
            // Too slow, gone or malformed: the connection closes as it would have.
        }
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
                    return $"The header '{Problem.Truncate(name)}' has {size.ToString(CultureInfo.InvariantCulture)} characters; the limit for one header is {limits.MaxHeaderBytes}.";
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
