using InferenceGateway.Contracts;

namespace InferenceGateway.Worker.Jobs;

/// <summary>One delivery of a job, as the event source hands it to the inference consumer.</summary>
/// <param name="Job">The job message read from the queue.</param>
/// <param name="MessageId">The SQS message id (for logs).</param>
/// <param name="ReceiveCount">SQS's ApproximateReceiveCount: 1 on the first delivery.</param>
public sealed record RunJob(JobMessage Job, string MessageId, int ReceiveCount)
{
    /// <summary>
    /// This delivery's run token, random: the run's lease on its job and the fence on its appends
    /// (<see cref="RunLease"/>). One per delivery, so the consumer's own retries of a transient
    /// Redis error keep the lease they took.
    /// </summary>
    public string RunToken { get; init; } = Guid.NewGuid().ToString("N");
}
