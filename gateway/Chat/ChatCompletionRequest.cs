using System.Text.Json;
using System.Text.Json.Serialization;

namespace InferenceGateway.Gateway.Chat;

/// <summary>
/// The body of <c>POST /v1/chat/completions</c>, in OpenAI's names. Fields that take more than one
/// shape in OpenAI's API (<c>messages[].content</c>: string or parts; <c>stop</c>: string or array)
/// are read as JSON and checked by <see cref="ChatRequests"/>; fields we do not support are read so
/// that a request using them is refused clearly instead of silently ignored.
/// </summary>
public sealed record ChatCompletionRequest
{
    [JsonPropertyName("model")]
    public string? Model { get; init; }

    [JsonPropertyName("messages")]
    public JsonElement Messages { get; init; }

    [JsonPropertyName("stream")]
    public bool? Stream { get; init; }

    [JsonPropertyName("stream_options")]
    public ChatStreamOptions? StreamOptions { get; init; }

    [JsonPropertyName("max_tokens")]
    public int? MaxTokens { get; init; }

    [JsonPropertyName("max_completion_tokens")]
    public int? MaxCompletionTokens { get; init; }

    [JsonPropertyName("temperature")]
    public float? Temperature { get; init; }

    [JsonPropertyName("top_p")]
    public float? TopP { get; init; }

    /// <summary>Not in OpenAI's API; vLLM and others accept it.</summary>
    [JsonPropertyName("top_k")]
    public int? TopK { get; init; }

    [JsonPropertyName("seed")]
    public long? Seed { get; init; }

    [JsonPropertyName("stop")]
    public JsonElement Stop { get; init; }

    [JsonPropertyName("n")]
    public int? N { get; init; }

    [JsonPropertyName("user")]
    public string? User { get; init; }

    [JsonPropertyName("tools")]
    public JsonElement Tools { get; init; }

    [JsonPropertyName("functions")]
    public JsonElement Functions { get; init; }

    [JsonPropertyName("logprobs")]
    public bool? Logprobs { get; init; }

    [JsonPropertyName("response_format")]
    public JsonElement ResponseFormat { get; init; }
}

/// <summary><c>stream_options</c>: <c>include_usage</c> adds a last chunk with the usage.</summary>
public sealed record ChatStreamOptions
{
    [JsonPropertyName("include_usage")]
    public bool? IncludeUsage { get; init; }
}
