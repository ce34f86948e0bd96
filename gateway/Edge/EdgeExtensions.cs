using System.ComponentModel.DataAnnotations;
using InferenceGateway.Inference.Hosting;
using Microsoft.Extensions.Options;
using InferenceCatalog = InferenceGateway.Inference.Hosting.ModelCatalogOptions;

namespace InferenceGateway.Gateway.Edge;

public static class EdgeExtensions
{
    /// <summary>The edge models (section <c>Edge</c>, validated at start), loaded in the background as the gateway starts.</summary>
    public static WebApplicationBuilder AddEdgeInference(this WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<EdgeOptions>()
            .Configure<IConfiguration>((options, configuration) => Bind(options, configuration.GetSection(EdgeOptions.Section)))
            .ValidateOnStart();
        builder.Services.AddSingleton<IValidateOptions<EdgeOptions>, EdgeOptionsValidation>();
        builder.Services.AddSingleton<EdgeModels>();
        builder.Services.AddSingleton<EdgeStartup>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<EdgeStartup>());
        return builder;
    }

    public static IEndpointRouteBuilder MapEdgeInference(this IEndpointRouteBuilder app) => app.MapEmbeddingsApi();

    /// <summary>Binds each <c>Edge:Models:&lt;name&gt;</c> over the built-in defaults of the same name: the library's model fields and the edge's.</summary>
    private static void Bind(EdgeOptions options, IConfigurationSection section)
    {
        options.Enabled = section.GetValue(nameof(EdgeOptions.Enabled), options.Enabled);
        var inference = options.Inference with { };
        section.GetSection(nameof(EdgeOptions.Inference)).Bind(inference);
        options.Inference = inference;
        var batching = options.Batching with { };
        section.GetSection(nameof(EdgeOptions.Batching)).Bind(batching);
        options.Batching = batching;
        foreach (var child in section.GetSection(nameof(EdgeOptions.Models)).GetChildren())
        {
            var existing = options.Models.GetValueOrDefault(child.Key);
            var model = existing is null ? new ModelOptions() : existing.Model with { };
            var edge = existing is null ? new EdgeModelOptions() : existing.Edge with { };
            child.Bind(model);
            child.Bind(edge);
            options.Models[child.Key] = new EdgeModel(child.Key, model, edge);
        }
    }
}

/// <summary>Every bad edge setting at once: the library's checks of each model, and the edge's own fields.</summary>
public sealed class EdgeOptionsValidation(IHostEnvironment environment) : IValidateOptions<EdgeOptions>
{
    public ValidateOptionsResult Validate(string? name, EdgeOptions options)
    {
        var failures = new List<string>();
        Check(options.Inference, "Edge:Inference", failures);
        Check(options.Batching, "Edge:Batching", failures);
        var served = options.Served.ToList();
        foreach (var model in served)
        {
            Check(model.Edge, $"Edge:Models:{model.Name}", failures);
        }

        if (served.Count > 0)
        {
            var catalog = new InferenceCatalog();
            catalog.Models.Clear();
            foreach (var model in served)
            {
                catalog.Models[model.Name] = model.Model;
            }

            var library = new ModelCatalogValidation(environment).Validate(name, catalog);
            if (library.Failed)
            {
                failures.AddRange(library.Failures.Select(f => "Edge:" + f));
            }
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    private static void Check(object value, string prefix, List<string> failures)
    {
        var results = new List<ValidationResult>();
        Validator.TryValidateObject(value, new ValidationContext(value), results, validateAllProperties: true);
        failures.AddRange(results.Select(r => $"{prefix}: {r.ErrorMessage}"));
    }
}
