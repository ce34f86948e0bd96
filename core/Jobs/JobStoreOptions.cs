using System.ComponentModel.DataAnnotations;

namespace InferenceGateway.Core.Jobs;

/// <summary>Job retention. Section <c>Jobs</c>.</summary>
public sealed record JobStoreOptions
{
    public const string Section = "Jobs";

    /// <summary>How long a job's record and event log are kept after their last change.</summary>
    [Range(typeof(TimeSpan), "00:01:00", "30.00:00:00")]
    public TimeSpan Retention { get; init; } = TimeSpan.FromHours(24);

    /// <summary>How long a job may hold a place under its tenant's active-jobs cap before the place is swept.</summary>
    [Range(typeof(TimeSpan), "00:00:10", "7.00:00:00")]
    public TimeSpan ActiveJobLease { get; init; } = TimeSpan.FromHours(2);
}
