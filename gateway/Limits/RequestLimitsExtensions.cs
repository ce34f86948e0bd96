using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Options;

namespace InferenceGateway.Gateway.Limits;

public static class RequestLimitsExtensions
{
    /// <summary>
    /// Kestrel's ceilings sit this many times above ours: between the two the gateway answers with
    /// problem+json; only a request beyond Kestrel's ceiling still gets Kestrel's bare answer. The URL
    /// ceiling is higher so that a 100 KB query string is still ours to refuse.
    /// </summary>
    private const int HeaderHeadroom = 4;
    private const int UrlHeadroom = 16;

    /// <summary>The <see cref="RequestLimits"/> options, validated on start, Kestrel's ceilings above them, and the strict JSON body reader.</summary>
    public static WebApplicationBuilder AddRequestLimits(this WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<RequestLimits>()
            .BindConfiguration(RequestLimits.Section)
            .ValidateDataAnnotations()
            .ValidateOnStart();
        builder.Services.AddSingleton<IValidateOptions<RequestLimits>, RequestLimitsValidator>();
        builder.Services.AddOptions<KestrelServerOptions>().Configure<IOptions<RequestLimits>>((kestrel, options) =>
        {
            var limits = options.Value;
            kestrel.Limits.MaxRequestLineSize = Math.Max(kestrel.Limits.MaxRequestLineSize, limits.MaxUrlBytes * UrlHeadroom);
            kestrel.Limits.MaxRequestHeadersTotalSize = Math.Max(kestrel.Limits.MaxRequestHeadersTotalSize, limits.MaxHeadersTotalBytes * HeaderHeadroom);
            kestrel.Limits.MaxRequestHeaderCount = Math.Max(kestrel.Limits.MaxRequestHeaderCount, limits.MaxHeaderCount * HeaderHeadroom);
            kestrel.Limits.MaxRequestBodySize = limits.MaxBodyBytes;
        });
        builder.Services.AddSingleton<JsonBodyReader>();
        return builder;
    }

    /// <summary>Refuses oversize URLs, headers and declared bodies early; place before authentication.</summary>
    public static IApplicationBuilder UseRequestLimits(this IApplicationBuilder app) =>
        app.UseMiddleware<RequestLimitsMiddleware>();

    /// <summary>Bounds this route's body by one of <see cref="RequestLimits"/>.</summary>
    public static TBuilder WithBodyLimit<TBuilder>(this TBuilder builder, Func<RequestLimits, long> select)
        where TBuilder : IEndpointConventionBuilder =>
        builder.WithMetadata(new BodyLimitMetadata(select));
}
