using System.Text.Json;

namespace InferenceGateway.Contracts;

/// <summary>One entry of a job's event log, as pushed to subscribers.</summary>
/// <param name="JobId">The job the event belongs to.</param>
/// <param name="Seq">1-based, gap-free position in the job's log.</param>
/// <param name="Type">One of <see cref="JobEventTypes"/>.</param>
/// <param name="At">When the event was recorded.</param>
/// <param name="Data">Type-specific payload, or null.</param>
public sealed record JobEvent(string JobId, long Seq, string Type, DateTimeOffset At, JsonElement? Data);
