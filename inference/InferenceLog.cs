using InferenceGateway.Inference.Onnx;

namespace InferenceGateway.Inference;

internal static partial class InferenceLog
{
    [LoggerMessage(EventIds.ColdStart, LogLevel.Information, "Model {Model} loaded in {InitMs:F0} ms on {ExecutionProvider} (cold start; optimised-model cache: {Cache})")]
    public static partial void ColdStart(ILogger logger, string model, double initMs, string executionProvider, ModelCacheOutcome cache);

    [LoggerMessage(EventIds.Unloaded, LogLevel.Information, "Model {Model} unloaded after {IdleSeconds:F0} s idle (scaled to zero)")]
    public static partial void Unloaded(ILogger logger, string model, double idleSeconds);

    [LoggerMessage(EventIds.ModelCacheProblem, LogLevel.Warning, "Model {Model}: {Problem}")]
    public static partial void ModelCacheProblem(ILogger logger, string model, string problem);

    [LoggerMessage(EventIds.ExecutionProviderSelected, LogLevel.Information, "Inference runs on the {ExecutionProvider} execution provider")]
    public static partial void ExecutionProviderSelected(ILogger logger, string executionProvider);

    [LoggerMessage(EventIds.ExecutionProviderFallback, LogLevel.Warning, "{Reason} Falling back to the cpu execution provider (Inference:FallbackToCpu is true).")]
    public static partial void ExecutionProviderFallback(ILogger logger, string reason);

    [LoggerMessage(EventIds.ExecutionProviderUnavailable, LogLevel.Critical, "{Message}")]
    public static partial void ExecutionProviderUnavailable(ILogger logger, string message);

    [LoggerMessage(EventIds.Provisioned, LogLevel.Information, "Provisioned: {Count} model(s) loaded at start and kept warm")]
    public static partial void Provisioned(ILogger logger, int count);

    [LoggerMessage(EventIds.Prepared, LogLevel.Information, "Init phase done for {Count} model(s) in {ElapsedMs:F0} ms (start-up waited {WaitedMs:F0} ms for it)")]
    public static partial void Prepared(ILogger logger, int count, double elapsedMs, double waitedMs);

    [LoggerMessage(EventIds.PrepareFailed, LogLevel.Warning, "Model {Model}: its init phase failed ({Reason}); its first load tries again")]
    public static partial void PrepareFailed(ILogger logger, string model, string reason);

    [LoggerMessage(EventIds.EmbeddingThreads, LogLevel.Information, "Model {Model} runs up to {ConcurrentRuns} batch(es) at once, each on {IntraOpThreads} ONNX Runtime intra-op thread(s) ({Processors} processors; Inference:ConcurrentRuns, Inference:IntraOpThreads)")]
    public static partial void EmbeddingThreads(ILogger logger, string model, int concurrentRuns, int intraOpThreads, int processors);

    [LoggerMessage(EventIds.GenerationThreads, LogLevel.Information, "Model {Model} generates on {IntraOpThreads} ONNX Runtime intra-op thread(s) a job ({Processors} processors; Inference:IntraOpThreads)")]
    public static partial void GenerationThreads(ILogger logger, string model, int intraOpThreads, int processors);
}
