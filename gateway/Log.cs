namespace InferenceGateway.Gateway;

internal static partial class Log
{
    [LoggerMessage(1, LogLevel.Warning, "Job {JobId} could not be enqueued; recorded as failed")]
    public static partial void EnqueueFailed(ILogger logger, Exception exception, string jobId);

    [LoggerMessage(2, LogLevel.Warning, "Redis is unreachable; key {KeyId} accepted from the cache")]
    public static partial void StaleKeyUsed(ILogger logger, string keyId);

    [LoggerMessage(3, LogLevel.Warning, "Could not subscribe to key revocations; cached keys still expire within 1 s")]
    public static partial void RevocationSubscribeFailed(ILogger logger, Exception exception);

    [LoggerMessage(4, LogLevel.Warning, "Redis is unreachable for rate limits; policy {Policy} applies")]
    public static partial void RateLimitFallback(ILogger logger, Exception exception, string policy);

    [LoggerMessage(5, LogLevel.Warning, "The model registry could not be read; only the configured models are served for now")]
    public static partial void ModelRegistryUnreadable(ILogger logger, Exception exception);

    [LoggerMessage(6, LogLevel.Warning, "The event stream of job {JobId} ended after seq {LastSeq}: Redis stayed unreachable ({Error}); the client resumes with Last-Event-ID")]
    public static partial void SseStreamInterrupted(ILogger logger, string jobId, long lastSeq, string error);

    [LoggerMessage(7, LogLevel.Information, "The SSE subscriber of job {JobId} took nothing for {Timeout} after seq {LastSeq}; disconnected (it resumes with Last-Event-ID)")]
    public static partial void SseSubscriberTooSlow(ILogger logger, string jobId, long lastSeq, TimeSpan timeout);

    [LoggerMessage(8, LogLevel.Information, "The chat-completions client of job {JobId} went away before the end; the job was cancelled")]
    public static partial void ChatStreamAbandoned(ILogger logger, string jobId);

    [LoggerMessage(9, LogLevel.Warning, "The chat-completions client of job {JobId} went away; the job could not be cancelled ({Error})")]
    public static partial void ChatStreamCancelFailed(ILogger logger, string jobId, string error);
}
