namespace InferenceGateway.Inference.TextGeneration;

/// <summary>How one generation runs: its length limit, sampling and stop sequences.</summary>
public sealed record GenerationSettings
{
    /// <summary>Most tokens to generate (the model's context may end it sooner).</summary>
    public int MaxNewTokens { get; init; } = 256;

    /// <summary>0 is greedy decoding; above 0 samples at this temperature.</summary>
    public float Temperature { get; init; }

    /// <summary>Nucleus sampling: the smallest set of tokens whose probability reaches this; 1 for all.</summary>
    public float TopP { get; init; } = 1;

    /// <summary>Sample among the k most likely tokens only; 0 for no limit.</summary>
    public int TopK { get; init; }

    /// <summary>The sampler's seed; the same seed and prompt give the same tokens.</summary>
    public long Seed { get; init; }

    /// <summary>Generation ends before the first of these would appear; the text excludes it.</summary>
    public IReadOnlyList<string> Stop { get; init; } = [];

    /// <summary>
    /// Prompt tokens fed per model call while prefilling (through the KV cache); the logits of a
    /// call are [1, chunk, vocabulary] floats, so this bounds prefill memory. 0 feeds the prompt at once.
    /// </summary>
    public int PrefillChunkTokens { get; init; } = 512;

    /// <summary>Most prompt tokens accepted (0: only the context limits it); more fails with <c>context_length_exceeded</c>.</summary>
    public int MaxPromptTokens { get; init; }

    /// <summary>
    /// Feed each step only the new token and the cached keys and values (true, the default), or
    /// the whole sequence again with no cache (a baseline for benchmarks and tests).
    /// </summary>
    public bool UseKvCache { get; init; } = true;
}

/// <summary>
/// What a generation produced: the text (stop sequence excluded), why it ended
/// (<see cref="Contracts.FinishReasons"/>), the prompt's token count and the generated token ids
/// (an end-of-sequence token included: it was generated).
/// </summary>
public sealed record GenerationOutput(string Text, string FinishReason, int PromptTokens, IReadOnlyList<int> Tokens)
{
    public int CompletionTokens => Tokens.Count;
}

/// <summary>A prompt the model cannot take (too long for its context).</summary>
public sealed class GenerationInputException(string code, string message) : Exception(message)
{
    /// <summary>A stable, machine-readable reason (the job error's code).</summary>
    public string Code { get; } = code;
}
