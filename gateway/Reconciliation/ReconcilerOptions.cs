using System.ComponentModel.DataAnnotations;

namespace InferenceGateway.Gateway.Reconciliation;

/// <summary>
/// The job reconciler (<see cref="JobReconciler"/>). Section <c>Jobs:Reconciler</c>.
/// </summary>
public sealed record ReconcilerOptions : IValidatableObject
{
    public const string Section = "Jobs:Reconciler";

    /// <summary>Whether this gateway takes part (one gateway at a time reconciles a queue, through a lease).</summary>
    public bool Enabled { get; init; } = true;

    /// <summary>How often the lease holder looks at the outbox and the queued jobs.</summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "00:01:00")]
    public TimeSpan Interval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>How long a job may stay in the outbox (its message not confirmed sent) before it is sent again.</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "01:00:00")]
    public TimeSpan UnsentGrace { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// How long a sent job may stay unstarted before it is sent again, and then only when workers have
    /// started jobs accepted this long after it, or the queue is empty (see <see cref="JobReconciler"/>).
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "1.00:00:00")]
    public TimeSpan QueuedGrace { get; init; } = TimeSpan.FromMinutes(2);

    /// <summary>How long the lease lasts without renewal: how soon another gateway takes over from one that died.</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:10:00")]
    public TimeSpan LeaseDuration { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>The most jobs of each kind (unsent, unstarted) looked at per tick.</summary>
    [Range(1, 10_000)]
    public int BatchSize { get; init; } = 256;

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (LeaseDuration <= Interval * 2)
        {
            yield return new ValidationResult(
                $"{Section}:LeaseDuration ({LeaseDuration}) must be longer than twice {Section}:Interval ({Interval}): the holder renews it every tick.",
                [nameof(LeaseDuration)]);
        }
    }
}
