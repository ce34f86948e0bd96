namespace InferenceGateway.Core;

/// <summary>
/// Every log event id of this assembly, in one table so none collides inside a process: Core owns 1000-1999
/// (core 1000s, inference 2000s, gateway 3000s, worker 4000s), a block of 100 per log class.
/// A test (<c>LogEventIdTests</c>) checks that no two events of the four assemblies share an id.
/// </summary>
internal static class EventIds
{
    // LatencyLog (Latency/LatencyLog.cs)
    public const int FlushFailed = 1001;
    public const int FlushRecovered = 1002;
    public const int FinalFlushFailed = 1003;

    // QueueWarmup (Queue/QueueWarmup.cs)
    public const int QueueResolved = 1101;
    public const int QueueUnresolved = 1102;
}
