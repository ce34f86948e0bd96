namespace InferenceGateway.Core.Jobs;

/// <summary>The small part of a job record that relays need: owner, status and log length.</summary>
public sealed record JobProgress(string Tenant, string Status, long LastSeq);
