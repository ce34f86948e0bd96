using System.ComponentModel.DataAnnotations;

namespace InferenceGateway.Worker.Streaming;

/// <summary>How a running job streams partial results to its event log. Section <c>Streaming</c>.</summary>
public sealed record StreamingOptions
{
    public const string Section = "Streaming";

    /// <summary>
    /// Texts per slice of a job with <c>input.stream: true</c>: each slice is embedded, then its
    /// vectors are streamed as one <c>chunk</c> event. One dynamic batch by default: early partial
    /// results without one event per text.
    /// </summary>
    [Range(1, 4096)]
    public int ChunkTexts { get; init; } = 32;

    /// <summary>
    /// While an append is in flight, items written meanwhile merge into one pending event (chunks:
    /// contiguous vectors; tokens: concatenated text) of at most this many texts or tokens, which
    /// bounds the size of one event and the number of Redis round trips.
    /// </summary>
    [Range(1, 100_000)]
    public int MaxCoalescedItems { get; init; } = 256;

    /// <summary>Retries of an append that failed with a Redis error before the stream gives up (and the delivery is retried).</summary>
    [Range(0, 20)]
    public int AppendRetries { get; init; } = 5;

    /// <summary>Delay before the first retry, doubled for each one after, with jitter, capped at 2 s.</summary>
    [Range(1, 10_000)]
    public int RetryBaseDelayMs { get; init; } = 50;
}
