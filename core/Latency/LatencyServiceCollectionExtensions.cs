using InferenceGateway.Core.Redis;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace InferenceGateway.Core.Latency;

public static class LatencyServiceCollectionExtensions
{
    /// <summary>Registers the <see cref="LatencyRecorder"/>, its background flush and the <see cref="LatencyReader"/>, configured from <c>LatencyAudit</c>.</summary>
    public static IServiceCollection AddLatencyRecorder(this IServiceCollection services)
    {
        if (!services.Any(d => d.ServiceType == typeof(StackExchange.Redis.IConnectionMultiplexer)))
        {
            services.AddRedis();
        }

        services.TryAddSingleton(TimeProvider.System);
        services.AddOptions<LatencyOptions>()
            .BindConfiguration(LatencyOptions.Section)
            .ValidateDataAnnotations()
            .ValidateOnStart();
        services.TryAddSingleton<LatencyRecorder>();
        services.TryAddSingleton<LatencyReader>();
        services.AddHostedService<LatencyFlusher>();
        return services;
    }
}
