using System.ComponentModel.DataAnnotations;

namespace InferenceGateway.Core.Jobs;

/// <summary>Job retention. Section <c>Jobs</c>.</summary>
public sealed record JobStoreOptions
{
    public const string Section = "Jobs";

    /// <summary>How long a job's record and event log are kept after their last change.</summary>
    [Range(typeof(TimeSpan), "00:01:00", "30.00:00:00")]
    public TimeSpan Retention { get; init; } = TimeSpan.FromHours(24);

    /// <summary>
    /// How long a place under its tenant's active-jobs cap outlives its job's own bound (the job's
    /// queue TTL plus its execution limit) before the place is swept: room for a redelivery after
    /// a worker died (the visibility timeout and the release backoff) and for clocks that differ.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:10", "1.00:00:00")]
    public TimeSpan ActiveJobMargin { get; init; } = TimeSpan.FromMinutes(15);
}
