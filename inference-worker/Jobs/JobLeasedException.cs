namespace InferenceGateway.Worker.Jobs;

/// <summary>
/// The delivery found the job running under another run's live lease and did not run it: the event
/// source releases the message for about <see cref="Remaining"/> (never deletes it).
/// </summary>
public sealed class JobLeasedException(string jobId, TimeSpan remaining)
    : Exception($"Job {jobId} is running under another run's lease for {remaining.TotalMilliseconds:F0} ms more.")
{
    public TimeSpan Remaining { get; } = remaining;
}
