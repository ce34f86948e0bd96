using System.Text.Json.Serialization;

namespace InferenceGateway.Inference;

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

    /// <summary><c>cpu</c> or <c>cuda</c>: the provider actually in use, after any fallback.</summary>
    [JsonPropertyName("executionProvider")]
    public required string ExecutionProvider { get; init; }

    public static ModelSpec From(string name, ModelOptions model, ExecutionProviderSelection provider) => new()
    {
        Name = name,
        Runtime = model.Runtime,
        Dimensions = model.Dimensions,
        MaxSequenceLength = model.MaxSequenceLength,
        MaxTexts = model.MaxTexts,
        MaxTextLength = model.MaxTextLength,
        Pooling = model.Pooling,
        Normalize = model.Normalize,
        ExecutionProvider = provider.ActiveName,
    };
}
