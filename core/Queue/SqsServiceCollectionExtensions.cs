using Amazon;
using Amazon.Runtime;
using Amazon.SQS;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace InferenceGateway.Core.Queue;

public static class SqsServiceCollectionExtensions
{
    /// <summary>Registers the SQS client and the <see cref="JobQueue"/>, configured from <c>Sqs</c>.</summary>
    public static IServiceCollection AddJobQueue(this IServiceCollection services)
    {
        services.AddOptions<SqsOptions>()
            .BindConfiguration(SqsOptions.Section)
            .ValidateDataAnnotations()
            .ValidateOnStart();

        services.AddSingleton<IAmazonSQS>(sp =>
        {
            var options = sp.GetRequiredService<IOptions<SqsOptions>>().Value;
            var config = new AmazonSQSConfig
            {
                Timeout = options.RequestTimeout,
                MaxErrorRetry = 2,
            };
            if (!string.IsNullOrEmpty(options.ServiceUrl))
            {
                config.ServiceURL = options.ServiceUrl;
                config.AuthenticationRegion = options.Region;
            }
            else
            {
                config.RegionEndpoint = RegionEndpoint.GetBySystemName(options.Region);
            }

            return string.IsNullOrEmpty(options.AccessKey)
                ? new AmazonSQSClient(config)
                : new AmazonSQSClient(new BasicAWSCredentials(options.AccessKey, options.SecretKey ?? string.Empty), config);
        });
        services.AddSingleton<JobQueue>();
        services.AddHostedService<QueueWarmup>();
        return services;
    }
}
