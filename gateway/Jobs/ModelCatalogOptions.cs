using System.ComponentModel.DataAnnotations;

namespace InferenceGateway.Gateway.Jobs;

/// <summary>The models the gateway accepts jobs for, with their input limits. Section <c>Models</c>.</summary>
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

    [Range(1, 100_000)]
    public int MaxTexts { get; init; } = 256;

    [Range(1, 1_000_000)]
    public int MaxTextLength { get; init; } = 10_000;
}
