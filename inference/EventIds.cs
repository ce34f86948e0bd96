namespace InferenceGateway.Inference;

/// <summary>
/// Every log event id of this assembly, in one table so none collides inside a process: Inference owns 2000-2999
/// (core 1000s, inference 2000s, gateway 3000s, worker 4000s), a block of 100 per log class.
/// A test (<c>LogEventIdTests</c>) checks that no two events of the four assemblies share an id.
/// </summary>
internal static class EventIds
{
    // BatchingLog (Batching/BatchingLog.cs)
    public const int BatchEmbedded = 2001;
    public const int BatchFailed = 2002;

    // InferenceLog (InferenceLog.cs)
    public const int ColdStart = 2101;
    public const int Unloaded = 2102;
    public const int ModelCacheProblem = 2103;
    public const int ExecutionProviderSelected = 2104;
    public const int ExecutionProviderFallback = 2105;
    public const int ExecutionProviderUnavailable = 2106;
    public const int Provisioned = 2107;
    public const int Prepared = 2108;
    public const int PrepareFailed = 2109;
    public const int EmbeddingThreads = 2110;
    public const int GenerationThreads = 2111;
}
