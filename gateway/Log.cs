namespace InferenceGateway.Gateway;

internal static partial class Log
{
    [LoggerMessage(1, LogLevel.Warning, "Job {JobId} could not be enqueued; recorded as failed")]
    public static partial void EnqueueFailed(ILogger logger, Exception exception, string jobId);
}
