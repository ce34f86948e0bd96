using InferenceGateway.Contracts;

namespace InferenceGateway.Worker.Jobs;

/// <summary>One delivery of a job, as the event source hands it to the inference consumer.</summary>
/// <param name="Job">The job message read from the queue.</param>
/// <param name="MessageId">The SQS message id (for logs).</param>
/// <param name="ReceiveCount">SQS's ApproximateReceiveCount: 1 on the first delivery.</param>
public sealed record RunJob(JobMessage Job, string MessageId, int ReceiveCount);
