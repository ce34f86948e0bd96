using InferenceGateway.Inference.Hosting;
using InferenceGateway.Inference.Onnx;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace InferenceGateway.Inference;

public static class InferenceServiceCollectionExtensions
{
    /// <summary>
    /// The inference options and model registry (validated at start), the execution-provider probe,
    /// the <see cref="ModelHost"/>, and <see cref="InferenceStartup"/>. Call before the job poller is
    /// added: hosted services start in registration order.
    /// </summary>
    public static IServiceCollection AddInference(this IServiceCollection services)
    {
        services.TryAddSingleton(TimeProvider.System);
        services.AddOptions<InferenceOptions>()
            .BindConfiguration(InferenceOptions.Section)
            .ValidateDataAnnotations()
            .ValidateOnStart();
        services.AddOptions<ModelCatalogOptions>()
            .Configure<IConfiguration>((catalog, configuration) => Bind(catalog, configuration.GetSection(ModelCatalogOptions.Section)))
            .ValidateOnStart();
        services.AddSingleton<IValidateOptions<ModelCatalogOptions>, ModelCatalogValidation>();
        services.AddSingleton(sp => ExecutionProviderSelection.Probe(sp.GetRequiredService<IOptions<InferenceOptions>>().Value));
        services.AddSingleton<ModelHost>();
        services.AddHostedService<InferenceStartup>();
        return services;
    }

    /// <summary>Binds each configured model over the built-in defaults of the same name, if any.</summary>
    private static void Bind(ModelCatalogOptions catalog, IConfigurationSection section)
    {
        foreach (var child in section.GetChildren())
        {
            var model = catalog.Models.TryGetValue(child.Key, out var existing) ? existing with { } : new ModelOptions();
            child.Bind(model);
            catalog.Models[child.Key] = model;
        }
    }
}
