using InferenceGateway.Inference.Hosting;
using InferenceGateway.Inference.Onnx;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace InferenceGateway.Inference;

public static class InferenceServiceCollectionExtensions
{
    /// <summary>
    /// The inference options and model catalog (validated at start), the execution-provider probe,
    /// the <see cref="ModelHost"/> of the models placed on workers, and <see cref="InferenceStartup"/>.
    /// Call before the job poller is added: hosted services start in registration order.
    /// </summary>
    public static IServiceCollection AddInference(this IServiceCollection services)
    {
        services.TryAddSingleton(TimeProvider.System);
        services.AddOptions<InferenceOptions>()
            .BindConfiguration(InferenceOptions.Section)
            .ValidateDataAnnotations()
            .ValidateOnStart();
        services.AddModelCatalog(ModelRunsOn.Worker);
        services.AddSingleton(sp => ExecutionProviderSelection.Probe(sp.GetRequiredService<IOptions<InferenceOptions>>().Value));
        services.AddSingleton(sp => new ModelHost(
            sp.GetRequiredService<IOptions<InferenceOptions>>(),
            Options.Create(sp.GetRequiredService<IOptions<ModelCatalogOptions>>().Value.RunningOn(ModelRunsOn.Worker)),
            sp.GetRequiredService<ExecutionProviderSelection>(),
            sp.GetRequiredService<IHostEnvironment>(),
            sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<ILogger<ModelHost>>()));
        services.AddHostedService<InferenceStartup>();
        return services;
    }
}
