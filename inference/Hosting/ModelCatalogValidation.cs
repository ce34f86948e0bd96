using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace InferenceGateway.Inference.Hosting;

/// <summary>
/// Checks every configured model at start and reports every bad setting at once: what each model is
/// and where it runs, in every process that binds the catalog; the model's files only where this
/// process runs it (<paramref name="filesOn"/>: a worker checks the files of the models placed on
/// workers; a gateway checks none here, its edge checks those of the edge models).
/// </summary>
public sealed class ModelCatalogValidation(IHostEnvironment environment, ModelRunsOn? filesOn = ModelRunsOn.Worker) : IValidateOptions<ModelCatalogOptions>
{
    public ValidateOptionsResult Validate(string? name, ModelCatalogOptions options)
    {
        var failures = new List<string>(options.RetiredSettings);
        if (filesOn is { } where && !options.On(where).Any())
        {
            failures.Add(where == ModelRunsOn.Worker
                ? "Models: no enabled model is placed on workers (Models:<name>:Placement:Worker)."
                : "Models: no enabled model is placed at the edge (Models:<name>:Placement:Edge).");
        }

        foreach (var (model, spec) in options.Enabled)
        {
            var prefix = $"{ModelCatalogOptions.Section}:{model}";
            Check(spec, prefix, failures);
            Check(spec.Placement, $"{prefix}:{nameof(ModelOptions.Placement)}", failures);
            if (!spec.Placement.Worker && !spec.Placement.Edge)
            {
                failures.Add($"{prefix}:Placement runs it nowhere: set Placement:Worker or Placement:Edge to true (or Enabled to false).");
            }

            if (spec.Placement.Edge && spec.Runtime != ModelRuntimes.SentenceEmbedding)
            {
                failures.Add($"{prefix}:Placement:Edge is for '{ModelRuntimes.SentenceEmbedding}' models; a '{spec.Runtime}' model runs on workers only.");
            }

            if (spec.Runtime == ModelRuntimes.TextGeneration)
            {
                if (filesOn is { } generatorOn && spec.Placement.On(generatorOn))
                {
                    ValidateGenerator(environment, prefix, spec, failures);
                }

                continue;
            }

            if (spec.Runtime != ModelRuntimes.SentenceEmbedding)
            {
                failures.Add($"{prefix}:Runtime is '{spec.Runtime}'; use '{ModelRuntimes.SentenceEmbedding}' or '{ModelRuntimes.TextGeneration}'.");
            }

            if (spec.Dimensions < 1)
            {
                failures.Add($"{prefix}:Dimensions is missing: the embedding length (1 or more).");
            }

            if (spec.Pooling is not (ModelPoolings.Mean or ModelPoolings.Cls))
            {
                failures.Add($"{prefix}:Pooling is '{spec.Pooling}'; use '{ModelPoolings.Mean}' or '{ModelPoolings.Cls}'.");
            }

            if (filesOn is { } embedderOn && spec.Placement.On(embedderOn))
            {
                ValidateEmbedderFiles(environment, prefix, spec, failures);
            }
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    /// <summary>The files of a model this process runs: they exist (a gateway calls it for its edge models).</summary>
    public static void ValidateFiles(IHostEnvironment environment, string model, ModelOptions spec, List<string> failures)
    {
        var prefix = $"{ModelCatalogOptions.Section}:{model}";
        if (spec.Runtime == ModelRuntimes.TextGeneration)
        {
            ValidateGenerator(environment, prefix, spec, failures);
        }
        else if (spec.Runtime == ModelRuntimes.SentenceEmbedding)
        {
            ValidateEmbedderFiles(environment, prefix, spec, failures);
        }
    }

    private static void Check(object value, string prefix, List<string> failures)
    {
        var results = new List<ValidationResult>();
        Validator.TryValidateObject(value, new ValidationContext(value), results, validateAllProperties: true);
        failures.AddRange(results.Select(r => $"{prefix}: {r.ErrorMessage}"));
    }

    /// <summary>A sentence-embedding model: the embedded MiniLM, or a model.onnx with its vocab.txt.</summary>
    private static void ValidateEmbedderFiles(IHostEnvironment environment, string prefix, ModelOptions spec, List<string> failures)
    {
        if (spec.Source == ModelOptions.EmbeddedMiniLm)
        {
            return;
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
