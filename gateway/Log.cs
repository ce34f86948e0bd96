namespace InferenceGateway.Gateway;

internal static partial class Log
{
    [LoggerMessage(EventIds.EnqueueFailed, LogLevel.Warning, "Job {JobId} could not be enqueued; recorded as failed")]
    public static partial void EnqueueFailed(ILogger logger, Exception exception, string jobId);

    [LoggerMessage(EventIds.StaleKeyUsed, LogLevel.Warning, "Redis is unreachable; key {KeyId} accepted from the cache")]
    public static partial void StaleKeyUsed(ILogger logger, string keyId);

    [LoggerMessage(EventIds.RevocationSubscribeFailed, LogLevel.Warning, "Could not subscribe to key revocations; cached keys still expire within 1 s")]
    public static partial void RevocationSubscribeFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventIds.RateLimitFallback, LogLevel.Warning, "Redis is unreachable for rate limits; policy {Policy} applies")]
    public static partial void RateLimitFallback(ILogger logger, Exception exception, string policy);

    [LoggerMessage(EventIds.ModelRegistryUnreadable, LogLevel.Warning, "The model registry could not be read; only the configured models are served for now")]
    public static partial void ModelRegistryUnreadable(ILogger logger, Exception exception);

    [LoggerMessage(EventIds.SseStreamInterrupted, LogLevel.Warning, "The event stream of job {JobId} ended after seq {LastSeq}: Redis stayed unreachable ({Error}); the client resumes with Last-Event-ID")]
    public static partial void SseStreamInterrupted(ILogger logger, string jobId, long lastSeq, string error);

    [LoggerMessage(EventIds.SseSubscriberTooSlow, LogLevel.Information, "The SSE subscriber of job {JobId} took nothing for {Timeout} after seq {LastSeq}; disconnected (it resumes with Last-Event-ID)")]
    public static partial void SseSubscriberTooSlow(ILogger logger, string jobId, long lastSeq, TimeSpan timeout);

    [LoggerMessage(EventIds.ChatStreamAbandoned, LogLevel.Information, "The chat-completions client of job {JobId} went away before the end; the job was cancelled")]
    public static partial void ChatStreamAbandoned(ILogger logger, string jobId);

    [LoggerMessage(EventIds.ChatStreamCancelFailed, LogLevel.Warning, "The chat-completions client of job {JobId} went away; the job could not be cancelled ({Error})")]
    public static partial void ChatStreamCancelFailed(ILogger logger, string jobId, string error);
}
