using InferenceGateway.Core.Redis;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace InferenceGateway.Core.Jobs;

public static class JobStoreServiceCollectionExtensions
{
    /// <summary>Registers Redis and the <see cref="RedisJobStore"/> (with the <see cref="JobInputs"/> of large jobs).</summary>
    public static IServiceCollection AddJobStore(this IServiceCollection services)
    {
        services.AddRedis();
        services.TryAddSingleton(TimeProvider.System);
        services.AddOptions<JobStoreOptions>()
            .BindConfiguration(JobStoreOptions.Section)
            .ValidateDataAnnotations()
            .ValidateOnStart();
        services.AddSingleton<RedisJobStore>();
        services.AddSingleton<ActiveJobs>();
        services.AddSingleton<JobInputs>();
        services.AddSingleton<UsageReader>();
        services.AddSingleton<Models.ModelRegistry>();
        return services;
    }
}
