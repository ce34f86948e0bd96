using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace InferenceGateway.Core.Redis;

public static class RedisServiceCollectionExtensions
{
    /// <summary>
    /// Registers the one shared <see cref="IConnectionMultiplexer"/>. It connects in the background
    /// and keeps retrying, so a process starts while Redis is down and recovers when it returns.
    /// </summary>
    public static IServiceCollection AddRedis(this IServiceCollection services)
    {
        services.AddOptions<RedisOptions>()
            .BindConfiguration(RedisOptions.Section)
            .ValidateDataAnnotations()
            .ValidateOnStart();

        services.AddSingleton<IConnectionMultiplexer>(sp =>
        {
            var options = sp.GetRequiredService<IOptions<RedisOptions>>().Value;
            var config = ConfigurationOptions.Parse(options.Configuration);
            config.AbortOnConnectFail = false;
            config.ConnectTimeout = Math.Min(config.ConnectTimeout, 5000);
            config.ClientName ??= AppDomain.CurrentDomain.FriendlyName;
            if (options.FailFastWhenDisconnected)
            {
                config.BacklogPolicy = BacklogPolicy.FailFast;
            }

            return ConnectionMultiplexer.Connect(config);
        });
        return services;
    }
}
