using InferenceGateway.Core.Latency;
using InferenceGateway.Gateway.Jobs;
using Microsoft.Extensions.Options;

namespace InferenceGateway.Gateway.Latency;

public static class LatencyAuditExtensions
{
    /// <summary>The latency recorder and its flush, the audit, and the queue estimate on the 202; section <c>LatencyAudit</c>.</summary>
    public static WebApplicationBuilder AddLatencyAudit(this WebApplicationBuilder builder)
    {
        builder.Services.AddLatencyRecorder();
        builder.Services.AddOptions<LatencyAuditOptions>()
            .BindConfiguration(LatencyOptions.Section)
            .ValidateDataAnnotations()
            .ValidateOnStart();
        builder.Services.AddSingleton<IValidateOptions<LatencyAuditOptions>, LatencyAuditOptionsValidator>();
        builder.Services.AddSingleton<LatencyAuditor>();
        builder.Services.AddSingleton<QueueEstimator>();
        builder.Services.AddSingleton<IQueueOutlook>(services => services.GetRequiredService<QueueEstimator>());
        builder.Services.ConfigureHttpJsonOptions(options => options.SerializerOptions.TypeInfoResolverChain.Insert(0, LatencyJsonContext.Default));
        return builder;
    }

    /// <summary>Times every request per route; first in the pipeline, so it covers everything after it.</summary>
    public static IApplicationBuilder UseRequestLatency(this IApplicationBuilder app) => app.UseMiddleware<RequestLatencyMiddleware>();
}
