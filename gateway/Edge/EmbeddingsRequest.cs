using System.Text.Json;
using System.Text.Json.Serialization;

namespace InferenceGateway.Gateway.Edge;

/// <summary>
/// The body of <c>POST /v1/embeddings</c>, as OpenAI's embeddings API takes it. <c>input</c> and
/// <c>dimensions</c> are read as raw JSON so that every wrong type gets its own 400 message.
/// </summary>
public sealed record EmbeddingsRequest
{
    public string? Model { get; init; }

    /// <summary>A string, or an array of strings (token arrays are refused: this gateway's models have their own vocabularies).</summary>
    public JsonElement Input { get; init; }

    /// <summary><c>float</c> (default) or <c>base64</c> (each vector as little-endian float32 bytes).</summary>
    [JsonPropertyName("encoding_format")]
    public string? EncodingFormat { get; init; }

    /// <summary>Only the model's own dimensions are accepted (these models are not trained to be truncated).</summary>
    public JsonElement Dimensions { get; init; }

    /// <summary>The caller's end-user id; accepted and not used.</summary>
    public JsonElement User { get; init; }
}
