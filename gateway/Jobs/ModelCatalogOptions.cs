using System.ComponentModel.DataAnnotations;

namespace InferenceGateway.Gateway.Jobs;

/// <summary>
/// The models the gateway accepts jobs for even when no worker has registered them (workers scaled
/// to zero), with their input limits. Section <c>Models</c>. Models that workers register are
/// accepted too (see <see cref="ModelCatalog"/>).
/// </summary>
public sealed record ModelCatalogOptions
{
    public const string Section = "Models";

    public Dictionary<string, ModelLimits> Served { get; init; } = new(StringComparer.Ordinal)
    {
        ["all-minilm-l6-v2"] = new ModelLimits(),
    };
}

/// <summary>What one job for a model may carry.</summary>
public sealed record ModelLimits
{
    public string Kind { get; init; } = "embedding";

    public int Dimensions { get; init; } = 384;

    public const int MaxTextsLimit = 100_000;
    public const int MaxTextLengthLimit = 1_000_000;

    [Range(1, MaxTextsLimit)]
    public int MaxTexts { get; init; } = 256;

    [Range(1, MaxTextLengthLimit)]
    public int MaxTextLength { get; init; } = 10_000;

    /// <summary>Text generation: the largest <c>max_tokens</c> a job may ask for; null for <c>Chat:MaxTokensLimit</c>.</summary>
    [Range(1, 1_000_000)]
    public int? MaxCompletionTokens { get; init; }

    /// <summary>Text generation: the tokens a job that gives no <c>max_tokens</c> may generate (what its estimate charges); null for the worker's.</summary>
    [Range(1, 1_000_000)]
    public int? MaxNewTokens { get; init; }
}
