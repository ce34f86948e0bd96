namespace InferenceGateway.Worker.Jobs;

/// <summary>
/// The delivery found the job running under another run's live lease and did not run it: the event
/// source releases the message for about <see cref="Remaining"/>, or deletes it when it is a
/// <see cref="Duplicate"/> (another message of the job than the one the holder runs).
/// </summary>
public sealed class JobLeasedException(string jobId, TimeSpan remaining, bool duplicate = false)
    : Exception($"Job {jobId} is running under another run's lease for {remaining.TotalMilliseconds:F0} ms more.")
{
    public TimeSpan Remaining { get; } = remaining;

    /// <summary>The message is not the one the lease holder was given: the holder's guards the job.</summary>
    public bool Duplicate { get; } = duplicate;
}
