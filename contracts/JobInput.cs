using System.Text.Json.Serialization;

namespace InferenceGateway.Contracts;

/// <summary>
/// What a job asks the model to work on: <see cref="Texts"/> for an embedding model; a
/// <see cref="Prompt"/> or chat <see cref="Messages"/> and the sampling settings for a
/// text-generation model. Fields a job does not use are left out of the JSON, so an embedding job
/// reads (and fingerprints) as it always did.
/// </summary>
public sealed record JobInput
{
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyList<string>? Texts { get; init; }

    /// <summary>
    /// Opt-in: the worker appends a <c>chunk</c> event for each slice of texts as its embeddings are
    /// ready, before the <c>completed</c> event that carries the whole result. Left out of the JSON
    /// when false, so a job that does not stream reads (and fingerprints) as it always did.
    /// Generation jobs always stream <c>token</c> events.
    /// </summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)]
    public bool Stream { get; init; }

    /// <summary>Text generation: the raw prompt, used as is (no chat template).</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Prompt { get; init; }

    /// <summary>Text generation: a conversation, rendered with the model's chat template.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyList<ChatMessage>? Messages { get; init; }

    /// <summary>Text generation: most tokens to generate; null for the model's default.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public int? MaxTokens { get; init; }

    /// <summary>Text generation: 0 (or null) is greedy decoding; above 0 samples at that temperature.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public float? Temperature { get; init; }

    /// <summary>Text generation: nucleus sampling, the smallest set of tokens whose probability reaches this (0, 1].</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public float? TopP { get; init; }

    /// <summary>Text generation: sample among the k most likely tokens only; null or 0 for no limit.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public int? TopK { get; init; }

    /// <summary>Text generation: seed of the sampler; the same seed and input give the same tokens.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public long? Seed { get; init; }

    /// <summary>Text generation: generation ends before the first of these strings would appear (not included in the text).</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyList<string>? Stop { get; init; }
}

/// <summary>One message of a chat: <c>role</c> is <c>system</c>, <c>user</c> or <c>assistant</c>.</summary>
public sealed record ChatMessage(string Role, string Content);
