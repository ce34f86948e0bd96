using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace InferenceGateway.Inference.Hosting;

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
            if (spec.Runtime == ModelRuntimes.TextGeneration)
            {
                ValidateGenerator(environment, prefix, spec, failures);
                continue;
            }

            if (spec.Runtime != ModelRuntimes.SentenceEmbedding)
            {
                failures.Add($"{prefix}:Runtime is '{spec.Runtime}'; this worker runs '{ModelRuntimes.SentenceEmbedding}' or '{ModelRuntimes.TextGeneration}'.");
            }

            if (spec.Dimensions < 1)
            {
                failures.Add($"{prefix}:Dimensions is missing: the embedding length (1 or more).");
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

    /// <summary>A text-generation model: a folder with model.onnx and tokenizer.json (or the path of its model.onnx).</summary>
    private static void ValidateGenerator(IHostEnvironment environment, string prefix, ModelOptions spec, List<string> failures)
    {
        if (string.IsNullOrWhiteSpace(spec.Source) || spec.Source == ModelOptions.EmbeddedMiniLm)
        {
            failures.Add($"{prefix}:Source is missing: the model folder (model.onnx, tokenizer.json).");
            return;
        }

        var source = ModelFiles.Resolve(environment, spec.Source);
        if (!Directory.Exists(source) && !File.Exists(source))
        {
            failures.Add($"{prefix}:Source '{spec.Source}' does not exist.");
            return;
        }

        var (directory, model) = TextGeneration.TextGenerator.Files(source);
        foreach (var file in new[] { model, Path.Combine(directory, TextGeneration.TextGenerator.TokenizerFile) })
        {
            if (!File.Exists(file))
            {
                failures.Add($"{prefix}:Source: {file} does not exist.");
            }
        }

        if (spec.ChatTemplate is { Length: > 0 } template
            && template.Trim().ToLowerInvariant() is not (TextGeneration.ChatTemplate.ChatMlPreset or TextGeneration.ChatTemplate.Llama3Preset)
            && !File.Exists(Path.IsPathRooted(template) ? template : Path.Combine(directory, template)))
        {
            failures.Add($"{prefix}:ChatTemplate '{template}' is neither a preset ({TextGeneration.ChatTemplate.ChatMlPreset}, {TextGeneration.ChatTemplate.Llama3Preset}) nor a file.");
        }
    }
}

internal static class ModelFiles
{
    public static string Resolve(IHostEnvironment environment, string path) =>
        Path.IsPathRooted(path) ? path : Path.GetFullPath(Path.Combine(environment.ContentRootPath, path));
}
