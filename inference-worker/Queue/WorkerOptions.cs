using System.ComponentModel.DataAnnotations;

namespace InferenceGateway.Worker.Queue;

/// <summary>The event source: how the worker pulls jobs. Section <c>Worker</c>.</summary>
public sealed record WorkerOptions
{
    public const string Section = "Worker";

    /// <summary>How much longer than the long-poll wait an SQS request may take before the client gives up.</summary>
    public static readonly TimeSpan LongPollMargin = TimeSpan.FromSeconds(10);

    /// <summary>Messages asked for per receive (SQS allows at most 10).</summary>
    [Range(1, 10)]
    public int MaxMessages { get; init; } = 10;

    /// <summary>Long-poll wait per receive, in seconds (SQS allows at most 20).</summary>
    [Range(0, 20)]
    public int WaitTimeSeconds { get; init; } = 20;

    /// <summary>Jobs run at once by this worker.</summary>
    [Range(1, 256)]
    public int MaxConcurrency { get; init; } = 2;
}
