using Microsoft.Extensions.Options;

namespace InferenceGateway.Inference.Hosting;

public static class ModelCatalogExtensions
{
    /// <summary>
    /// The one model catalog (section <c>Models</c>), bound the same way in every process and validated
    /// at start, and current after a configuration reload (<c>IOptionsMonitor</c>); <paramref name="filesOn"/>: where this process runs models, whose files it checks
    /// (<see cref="ModelRunsOn.Worker"/> for a worker; null for a gateway, whose edge checks its own).
    /// </summary>
    public static IServiceCollection AddModelCatalog(this IServiceCollection services, ModelRunsOn? filesOn)
    {
        services.AddOptions<ModelCatalogOptions>()
            .Configure<IConfiguration>((catalog, configuration) => Bind(catalog, configuration.GetSection(ModelCatalogOptions.Section)))
            .ValidateOnStart();
        services.AddSingleton<IOptionsChangeTokenSource<ModelCatalogOptions>>(sp =>
            new ConfigurationChangeTokenSource<ModelCatalogOptions>(sp.GetRequiredService<IConfiguration>().GetSection(ModelCatalogOptions.Section)));
        services.AddSingleton<IValidateOptions<ModelCatalogOptions>>(sp => new ModelCatalogValidation(sp.GetRequiredService<IHostEnvironment>(), filesOn));
        return services;
    }

    /// <summary>The key the gateway's model list had (<c>Models:Served:&lt;name&gt;</c>); reserved, so it is reported rather than read as a model.</summary>
    public const string RetiredServed = "Served";

    /// <summary>
    /// Binds each <c>Models:&lt;name&gt;</c> over the built-in defaults of the same name, if any, and
    /// notes the settings of the retired schemas found there, for validation to report.
    /// </summary>
    public static void Bind(ModelCatalogOptions catalog, IConfigurationSection section)
    {
        foreach (var child in section.GetChildren())
        {
            if (child.Key == RetiredServed)
            {
                foreach (var served in child.GetChildren())
                {
                    catalog.RetiredSettings.Add(
                        $"Models:Served:{served.Key} is no longer read: it is Models:{served.Key} now (its limits keep their names; Kind is set by Runtime: " +
                        $"'{ModelRuntimes.SentenceEmbedding}' or '{ModelRuntimes.TextGeneration}'), and a model accepted for workers has Models:{served.Key}:Placement:Worker=true, the default.");
                }

                continue;
            }

            if (child.GetSection("Kind").Value is not null)
            {
                catalog.RetiredSettings.Add(
                    $"Models:{child.Key}:Kind is not a setting: the kind follows Models:{child.Key}:Runtime ('{ModelRuntimes.SentenceEmbedding}' for embedding, '{ModelRuntimes.TextGeneration}' for text-generation).");
            }

            var model = catalog.Models.TryGetValue(child.Key, out var existing)
                ? existing with { Placement = existing.Placement with { } }
                : new ModelOptions();
            child.Bind(model);
            catalog.Models[child.Key] = model;
        }
    }
}
