namespace InferenceGateway.Contracts;

/// <summary>
/// The result of a text-generation job (the <c>completed</c> event's <c>result</c>): the generated
/// text, why generation ended (<see cref="FinishReasons"/>), and the tokens it used.
/// </summary>
public sealed record GenerationResult(string Model, string Text, string FinishReason, TokenUsage Usage);

/// <summary>Tokens of a request, as OpenAI's <c>usage</c> counts them.</summary>
public sealed record TokenUsage(int PromptTokens, int CompletionTokens, int TotalTokens);

/// <summary>Why generation ended, in OpenAI's terms.</summary>
public static class FinishReasons
{
    /// <summary>The model produced its end-of-sequence token, or a stop sequence was reached.</summary>
    public const string Stop = "stop";

    /// <summary>The job's <c>maxTokens</c> (or the model's context) was reached.</summary>
    public const string Length = "length";
}

/// <summary>The kinds of model the catalog knows (a model spec's <c>kind</c>).</summary>
public static class ModelKinds
{
    public const string Embedding = "embedding";
    public const string TextGeneration = "text-generation";
}
