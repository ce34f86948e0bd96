namespace InferenceGateway.Contracts;

/// <summary>The body of a job message on the jobs queue.</summary>
public sealed record JobMessage
{
    /// <summary>The body schema this build writes. Readers reject versions they do not know.</summary>
    public const int CurrentSchemaVersion = 1;

    public required int SchemaVersion { get; init; }

    public required string JobId { get; init; }

    public required string Tenant { get; init; }

    public required string Model { get; init; }

    public required JobInput Input { get; init; }

    public required DateTimeOffset CreatedAt { get; init; }
}
