using Microsoft.Extensions.Logging;

namespace InferenceGateway.Core.Latency;

internal static partial class LatencyLog
{
    [LoggerMessage(EventIds.FlushFailed, LogLevel.Warning, "Latency histograms of {Series} series could not be flushed to Redis; {Kept} samples kept for the next flush (logged once until a flush succeeds)")]
    public static partial void FlushFailed(ILogger logger, Exception exception, int series, long kept);

    [LoggerMessage(EventIds.FlushRecovered, LogLevel.Information, "Latency histograms flush to Redis again ({Failures} failed flushes so far)")]
    public static partial void FlushRecovered(ILogger logger, long failures);

    [LoggerMessage(EventIds.FinalFlushFailed, LogLevel.Warning, "The final latency flush on stop failed")]
    public static partial void FinalFlushFailed(ILogger logger, Exception exception);
}
