using System.Text.Json.Serialization;
using InferenceGateway.Inference.Onnx;

namespace InferenceGateway.Inference.Hosting;

/// <summary>
/// What a worker serves under one model name, as published for <c>GET /v1/models</c>: plain JSON
/// (camelCase names fixed by attributes, so any serializer options give the same document).
/// </summary>
public sealed record ModelSpec
{
    [JsonPropertyName("name")]
    public required string Name { get; init; }

    [JsonPropertyName("runtime")]
    public required string Runtime { get; init; }

    /// <summary><c>embedding</c> or <c>text-generation</c> (<see cref="Contracts.ModelKinds"/>): which input a job for it takes.</summary>
    [JsonPropertyName("kind")]
    public string Kind { get; init; } = Contracts.ModelKinds.Embedding;

    [JsonPropertyName("dimensions")]
    public required int Dimensions { get; init; }

    [JsonPropertyName("maxSequenceLength")]
    public required int MaxSequenceLength { get; init; }

    [JsonPropertyName("maxTexts")]
    public required int MaxTexts { get; init; }

    [JsonPropertyName("maxTextLength")]
    public required int MaxTextLength { get; init; }

    [JsonPropertyName("pooling")]
    public required string Pooling { get; init; }

    [JsonPropertyName("normalize")]
    public required bool Normalize { get; init; }

    /// <summary>Text generation: most tokens the model sees at once (configured; 0 when read from the model folder at load).</summary>
    [JsonPropertyName("contextLength")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public int? ContextLength { get; init; }

    /// <summary>Text generation: tokens generated when a job does not say.</summary>
    [JsonPropertyName("maxNewTokens")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public int? MaxNewTokens { get; init; }

    /// <summary>
    /// Text generation: most tokens a job may ask for (<c>maxTokens</c>): the configured
    /// <see cref="ModelOptions.MaxCompletionTokens"/>, never above the context length. The gateway's
    /// limit; <see cref="MaxNewTokens"/> is only the default.
    /// </summary>
    [JsonPropertyName("maxCompletionTokens")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public int? MaxCompletionTokens { get; init; }

    /// <summary><c>cpu</c> or <c>cuda</c>: the provider actually in use, after any fallback.</summary>
    [JsonPropertyName("executionProvider")]
    public required string ExecutionProvider { get; init; }

    public static ModelSpec From(string name, ModelOptions model, ExecutionProviderSelection provider) => new()
    {
        Name = name,
        Runtime = model.Runtime,
        Kind = model.Kind,
        Dimensions = model.Dimensions,
        MaxSequenceLength = model.MaxSequenceLength,
        MaxTexts = model.MaxTexts,
        MaxTextLength = model.MaxTextLength,
        Pooling = model.Pooling,
        Normalize = model.Normalize,
        ContextLength = model.Runtime == ModelRuntimes.TextGeneration ? ContextLengthOf(model) : null,
        MaxNewTokens = model.Runtime == ModelRuntimes.TextGeneration ? model.NewTokens : null,
        MaxCompletionTokens = model.Runtime == ModelRuntimes.TextGeneration ? MaxCompletionTokensOf(model) : null,
        ExecutionProvider = provider.ActiveName,
    };

    /// <summary>Most tokens a generation job may ask for: <see cref="ModelOptions.MaxCompletionTokens"/> (or its default), never above the context length.</summary>
    public static int MaxCompletionTokensOf(ModelOptions model) => Math.Min(model.MaxCompletionTokens ?? ModelOptions.DefaultMaxCompletionTokens, ContextLengthOf(model));

    /// <summary>The configured context length, else <c>max_position_embeddings</c> from the folder's config.json, else the default: what the generator will use.</summary>
    public static int ContextLengthOf(ModelOptions model)
    {
        if (model.ContextLength > 0)
        {
            return model.ContextLength;
        }

        try
        {
            var config = Path.Combine(TextGeneration.TextGenerator.Files(model.Source).Directory, "config.json");
            if (File.Exists(config))
            {
                using var document = System.Text.Json.JsonDocument.Parse(File.ReadAllText(config));
                if (document.RootElement.TryGetProperty("max_position_embeddings", out var max) && max.TryGetInt32(out var positions) && positions > 0)
                {
                    return positions;
                }
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or System.Text.Json.JsonException)
        {
            // The load reports a bad folder; the spec falls back to the default.
        }

        return TextGeneration.TextGenerator.DefaultContextLength;
    }
}
