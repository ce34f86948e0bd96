
namespace InferenceGateway.Inference.Batching;

internal static partial class BatchingLog
{
    [LoggerMessage(EventIds.BatchEmbedded, LogLevel.Debug, "Embedded a batch of {Texts} texts from {Requests} callers in {ElapsedMs:F1} ms")]
    public static partial void BatchEmbedded(ILogger logger, int texts, int requests, double elapsedMs);

    [LoggerMessage(EventIds.BatchFailed, LogLevel.Debug, "A batch of {Texts} texts from {Requests} callers failed in the model")]
    public static partial void BatchFailed(ILogger logger, Exception exception, int texts, int requests);
}
