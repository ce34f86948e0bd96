using System.ComponentModel.DataAnnotations;
using InferenceGateway.Inference.Hosting;
using Microsoft.Extensions.Options;

namespace InferenceGateway.Gateway.Edge;

public static class EdgeExtensions
{
    /// <summary>
    /// The edge (section <c>Edge</c>, validated at start) and the models the catalog places there
    /// (<c>Models:&lt;name&gt;:Placement:Edge</c>), loaded in the background as the gateway starts.
    /// </summary>
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

    /// <summary>The retired section that held edge models (<c>Edge:Models:&lt;name&gt;</c>); reported, not read.</summary>
    public const string RetiredModels = "Models";

    /// <summary>Binds <c>Edge:Enabled</c>, <c>Edge:Inference</c> and <c>Edge:Batching</c> over their edge defaults, and notes any retired <c>Edge:Models</c>.</summary>
    private static void Bind(EdgeOptions options, IConfigurationSection section)
    {
        options.Enabled = section.GetValue(nameof(EdgeOptions.Enabled), options.Enabled);
        var inference = options.Inference with { };
        section.GetSection(nameof(EdgeOptions.Inference)).Bind(inference);
        options.Inference = inference;
        var batching = options.Batching with { };
        section.GetSection(nameof(EdgeOptions.Batching)).Bind(batching);
        options.Batching = batching;
        foreach (var model in section.GetSection(RetiredModels).GetChildren())
        {
            options.RetiredSettings.Add(
                $"Edge:Models:{model.Key} is no longer read: a model runs at the edge with Models:{model.Key}:Placement:Edge=true " +
                $"(Placement:Edge=false turns the default off); its model settings are Models:{model.Key}:<setting> and its budget " +
                $"Models:{model.Key}:Placement:LatencyBudgetMs, FixedMs, PerTokenMs and OverBudget.");
        }
    }
}

/// <summary>Every bad edge setting at once: the edge's own fields, and the files of each model placed at the edge.</summary>
public sealed class EdgeOptionsValidation(IHostEnvironment environment, IOptions<ModelCatalogOptions> catalog) : IValidateOptions<EdgeOptions>
{
    public ValidateOptionsResult Validate(string? name, EdgeOptions options)
    {
        var failures = new List<string>(options.RetiredSettings);
        Check(options.Inference, "Edge:Inference", failures);
        Check(options.Batching, "Edge:Batching", failures);
        foreach (var model in options.Served(catalog.Value))
        {
            ModelCatalogValidation.ValidateFiles(environment, model.Name, model.Model, failures);
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
