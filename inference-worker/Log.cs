namespace InferenceGateway.Worker;

internal static partial class Log
{
    [LoggerMessage(1, LogLevel.Information, "Model {Model} loaded in {InitMs:F0} ms (cold start)")]
    public static partial void ModelLoaded(ILogger logger, string model, double initMs);

    [LoggerMessage(2, LogLevel.Information, "Polling {QueueUrl}: up to {MaxMessages} messages a receive, {MaxConcurrency} at once")]
    public static partial void Polling(ILogger logger, string queueUrl, int maxMessages, int maxConcurrency);

    [LoggerMessage(3, LogLevel.Warning, "Receiving from the jobs queue failed; retrying in {DelayMs} ms")]
    public static partial void ReceiveFailed(ILogger logger, Exception exception, double delayMs);

    [LoggerMessage(4, LogLevel.Error, "Message {MessageId} is not a job this worker can read ({Reason}); moved to the dead-letter queue")]
    public static partial void PoisonMessage(ILogger logger, string messageId, string reason);

    [LoggerMessage(5, LogLevel.Warning, "Message {MessageId} for job {JobId} left on the queue for redelivery")]
    public static partial void MessageLeft(ILogger logger, Exception exception, string messageId, string jobId);

    [LoggerMessage(6, LogLevel.Information, "Job {JobId} {Status} in {ExecutionMs:F1} ms (queue {QueueMs} ms, cold start {ColdStart})")]
    public static partial void JobFinished(ILogger logger, string jobId, string status, double executionMs, long queueMs, bool coldStart);

    [LoggerMessage(7, LogLevel.Information, "Job {JobId} already ended or expired ({Outcome}); message {MessageId} deleted")]
    public static partial void JobAlreadySettled(ILogger logger, string jobId, string outcome, string messageId);

    [LoggerMessage(8, LogLevel.Warning, "Job {JobId} failed in the model")]
    public static partial void InferenceFailed(ILogger logger, Exception exception, string jobId);

    [LoggerMessage(9, LogLevel.Error, "Message {MessageId} could not be processed; it returns after its visibility timeout")]
    public static partial void ProcessingFailed(ILogger logger, Exception exception, string messageId);
}
