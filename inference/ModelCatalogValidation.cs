using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace InferenceGateway.Inference;

/// <summary>Checks every configured model at start and reports every bad setting at once.</summary>
public sealed class ModelCatalogValidation(IHostEnvironment environment) : IValidateOptions<ModelCatalogOptions>
{
    public ValidateOptionsResult Validate(string? name, ModelCatalogOptions options)
    {
        var failures = new List<string>();
        if (!options.Enabled.Any())
        {
            failures.Add("Models: no model is enabled.");
        }

        foreach (var (model, spec) in options.Enabled)
        {
            var prefix = $"Models:{model}";
            var results = new List<ValidationResult>();
            Validator.TryValidateObject(spec, new ValidationContext(spec), results, validateAllProperties: true);
            failures.AddRange(results.Select(r => $"{prefix}: {r.ErrorMessage}"));
            if (spec.Runtime != ModelRuntimes.SentenceEmbedding)
            {
                failures.Add($"{prefix}:Runtime is '{spec.Runtime}'; this worker runs '{ModelRuntimes.SentenceEmbedding}'.");
            }

            if (spec.Pooling is not (ModelPoolings.Mean or ModelPoolings.Cls))
            {
                failures.Add($"{prefix}:Pooling is '{spec.Pooling}'; use '{ModelPoolings.Mean}' or '{ModelPoolings.Cls}'.");
            }

            if (spec.Source == ModelOptions.EmbeddedMiniLm)
            {
                continue;
            }

            if (string.IsNullOrWhiteSpace(spec.Source))
            {
                failures.Add($"{prefix}:Source is missing: '{ModelOptions.EmbeddedMiniLm}' or the path of a model.onnx.");
            }
            else if (!File.Exists(ModelFiles.Resolve(environment, spec.Source)))
            {
                failures.Add($"{prefix}:Source '{spec.Source}' does not exist.");
            }

            if (string.IsNullOrWhiteSpace(spec.VocabPath))
            {
                failures.Add($"{prefix}:VocabPath is missing: a model file needs its vocab.txt.");
            }
            else if (!File.Exists(ModelFiles.Resolve(environment, spec.VocabPath)))
            {
                failures.Add($"{prefix}:VocabPath '{spec.VocabPath}' does not exist.");
            }
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}

internal static class ModelFiles
{
    public static string Resolve(IHostEnvironment environment, string path) =>
        Path.IsPathRooted(path) ? path : Path.GetFullPath(Path.Combine(environment.ContentRootPath, path));
}
