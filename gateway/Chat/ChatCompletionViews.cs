using System.Text.Json;
using System.Text.Json.Serialization;
using InferenceGateway.Contracts;

namespace InferenceGateway.Gateway.Chat;

/// <summary>A whole answer (<c>stream: false</c>), as OpenAI's <c>chat.completion</c> object.</summary>
public sealed record ChatCompletion(
    [property: JsonPropertyName("id")] string Id,
    [property: JsonPropertyName("object")] string ObjectType,
    [property: JsonPropertyName("created")] long Created,
    [property: JsonPropertyName("model")] string Model,
    [property: JsonPropertyName("choices")] IReadOnlyList<ChatChoice> Choices,
    [property: JsonPropertyName("usage")] ChatUsage Usage,
    [property: JsonPropertyName("system_fingerprint")] string? SystemFingerprint)
{
    public const string ObjectName = "chat.completion";
}

public sealed record ChatChoice(
    [property: JsonPropertyName("index")] int Index,
    [property: JsonPropertyName("message")] ChatChoiceMessage Message,
    [property: JsonPropertyName("logprobs")] JsonElement? Logprobs,
    [property: JsonPropertyName("finish_reason")] string FinishReason);

public sealed record ChatChoiceMessage(
    [property: JsonPropertyName("role")] string Role,
    [property: JsonPropertyName("content")] string Content,
    [property: JsonPropertyName("refusal")] string? Refusal);

public sealed record ChatUsage(
    [property: JsonPropertyName("prompt_tokens")] int PromptTokens,
    [property: JsonPropertyName("completion_tokens")] int CompletionTokens,
    [property: JsonPropertyName("total_tokens")] int TotalTokens)
{
    public static ChatUsage From(TokenUsage usage) => new(usage.PromptTokens, usage.CompletionTokens, usage.TotalTokens);
}

/// <summary>One event of a streamed answer, as OpenAI's <c>chat.completion.chunk</c> object.</summary>
public sealed record ChatCompletionChunk(
    [property: JsonPropertyName("id")] string Id,
    [property: JsonPropertyName("object")] string ObjectType,
    [property: JsonPropertyName("created")] long Created,
    [property: JsonPropertyName("model")] string Model,
    [property: JsonPropertyName("system_fingerprint")] string? SystemFingerprint,
    [property: JsonPropertyName("choices")] IReadOnlyList<ChatChunkChoice> Choices,
    [property: JsonPropertyName("usage"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] ChatUsage? Usage = null)
{
    public const string ObjectName = "chat.completion.chunk";
}

public sealed record ChatChunkChoice(
    [property: JsonPropertyName("index")] int Index,
    [property: JsonPropertyName("delta")] ChatDelta Delta,
    [property: JsonPropertyName("logprobs")] JsonElement? Logprobs,
    [property: JsonPropertyName("finish_reason")] string? FinishReason);

/// <summary>What a chunk adds: the role in the first, text after; both left out when absent (the last chunk's delta is <c>{}</c>).</summary>
public sealed record ChatDelta(
    [property: JsonPropertyName("role"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Role,
    [property: JsonPropertyName("content"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Content);

/// <summary>An error inside a stream that already answered 200, in OpenAI's shape: <c>{"error": {...}}</c>.</summary>
public sealed record ChatStreamError([property: JsonPropertyName("error")] ChatStreamErrorBody Error);

public sealed record ChatStreamErrorBody(
    [property: JsonPropertyName("message")] string Message,
    [property: JsonPropertyName("type")] string Type,
    [property: JsonPropertyName("code")] string? Code,
    [property: JsonPropertyName("job_id")] string JobId);
