using System.Text.Json.Serialization;

namespace InferenceGateway.Contracts;

/// <summary>What a job asks the model to work on.</summary>
public sealed record JobInput
{
    public IReadOnlyList<string>? Texts { get; init; }

    /// <summary>
    /// Opt-in: the worker appends a <c>chunk</c> event for each slice of texts as its embeddings are
    /// ready, before the <c>completed</c> event that carries the whole result. Left out of the JSON
    /// when false, so a job that does not stream reads (and fingerprints) as it always did.
    /// </summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)]
    public bool Stream { get; init; }
}
