
namespace InferenceGateway.Gateway.Latency;

internal static partial class LatencyAuditLog
{
    [LoggerMessage(EventIds.LatencyAuditQueueDepthUnreadable, LogLevel.Warning, "The jobs queue's depth could not be read; the 202 shows it as null")]
    public static partial void QueueDepthUnreadable(ILogger logger, Exception exception);

    [LoggerMessage(EventIds.LatencyAuditLatencyUnreadable, LogLevel.Warning, "The recorded latency of model {Model} could not be read; its start estimate is null")]
    public static partial void LatencyUnreadable(ILogger logger, Exception exception, string model);

    [LoggerMessage(EventIds.LatencyAuditQueueEstimateFailed, LogLevel.Warning, "The queue estimate failed; the 202 shows the queue as unknown")]
    public static partial void QueueEstimateFailed(ILogger logger, Exception exception);
}
