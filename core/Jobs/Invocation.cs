namespace InferenceGateway.Core.Jobs;

/// <summary>What one invocation of a model cost, as added to its tenant's usage when the job ends.</summary>
/// <param name="Tenant">Who is billed.</param>
/// <param name="Model">The model that ran.</param>
/// <param name="BilledMs">Init plus execution, rounded up to whole milliseconds.</param>
/// <param name="InitMs">Cold-start time, rounded up (0 when warm).</param>
/// <param name="ExecutionMs">Model time, rounded up.</param>
/// <param name="ColdStart">Whether this invocation loaded the model.</param>
/// <param name="Texts">Inputs processed.</param>
public sealed record Invocation(string Tenant, string Model, long BilledMs, long InitMs, long ExecutionMs, bool ColdStart, long Texts);
