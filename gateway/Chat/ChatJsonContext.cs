using System.Text.Json.Serialization;

namespace InferenceGateway.Gateway.Chat;

/// <summary>Source-generated JSON for the OpenAI-shaped answers (names fixed by attributes; nulls written, as OpenAI writes them).</summary>
[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.Never)]
[JsonSerializable(typeof(ChatCompletion))]
[JsonSerializable(typeof(ChatCompletionChunk))]
[JsonSerializable(typeof(ChatStreamError))]
public sealed partial class ChatJsonContext : JsonSerializerContext;
