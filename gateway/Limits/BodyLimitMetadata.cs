namespace InferenceGateway.Gateway.Limits;

/// <summary>Endpoint metadata: which of <see cref="RequestLimits"/> bounds this route's body.</summary>
public sealed record BodyLimitMetadata(Func<RequestLimits, long> Select);
