namespace InferenceGateway.Gateway.Jobs;

/// <summary>
/// What the 202 for a queued job says about the queue ahead of it (<see cref="JobAccepted.Queue"/>);
/// implemented by the latency feature, which holds the queue's depth and the fleet's recorded timings.
/// </summary>
public interface IQueueOutlook
{
    /// <summary>
    /// Reads what the view for a job of <paramref name="model"/> needs; started alongside the
    /// submission, never throws, and never holds it long. The function it gives is the view for a job
    /// created at the time it is given.
    /// </summary>
    Task<Func<DateTimeOffset, QueueView>> ReadAsync(string model);
}

/// <summary>
/// The queue ahead of a job as its 202 shows it: messages waiting on the jobs queue (read within the
/// last ~2 s, so it may or may not count this job; null when it could not be read), the model's
/// warm and live workers, and when the job should start (null without the data to say).
/// </summary>
public sealed record QueueView(long? Depth, int WarmWorkers, int Workers, DateTimeOffset? EstimatedStartAt, long? EstimatedStartMs);
