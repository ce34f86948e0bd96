namespace InferenceGateway.Contracts;

/// <summary>What a job asks the model to work on.</summary>
public sealed record JobInput
{
    public IReadOnlyList<string>? Texts { get; init; }
}
