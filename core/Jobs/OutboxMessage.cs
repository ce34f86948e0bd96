namespace InferenceGateway.Core.Jobs;

/// <summary>
/// A job's queue message as the gateway keeps it on the record until the job starts
/// (<see cref="RedisJobStore.CreateAsync"/>): the queue it goes to (<c>Sqs:QueueName</c>), its body and
/// the trace context it was first sent with, so that a message never sent, or lost by the queue, can
/// be sent again.
/// </summary>
public sealed record OutboxMessage(string Queue, string Body, string TraceParent);
