using System.ComponentModel.DataAnnotations;

namespace InferenceGateway.Inference.Batching;

/// <summary>Dynamic batching of concurrent embedding jobs. Section <c>Batching</c>.</summary>
public sealed record BatchingOptions
{
    public const string Section = "Batching";

    /// <summary>Whether concurrent jobs for the same model are merged; <c>false</c> runs each job's texts alone.</summary>
    public bool Enabled { get; init; } = true;

    /// <summary>
    /// How long the first waiting job holds the batch open for others to join, in milliseconds
    /// (Triton's <c>max_queue_delay</c>): a batch starts when a run of the model is free and the
    /// window has closed (elapsed, or <see cref="MaxBatchTexts"/> reached). 0: no window, a batch
    /// starts as soon as a run is free (the edge's setting: a lone request is not delayed).
    /// The default, 2, is for the worker: with two runs at once and no window, a run that comes free
    /// takes the next job alone and batches fragment. Measured on the 2-core box (one process,
    /// callers in a closed loop, texts/s and CPU-ms a text): 32 callers, no window 395 and 4.0 (mean
    /// batch 2.6), 1, 2 or 5 ms about 485 and 3.1 (16); one caller, no window 192, 1 ms 118, 2 ms 111,
    /// 5 ms 78: the window is what a lone job waits.
    /// </summary>
    [Range(0, 1000)]
    public int WindowMs { get; init; } = 2;

    /// <summary>
    /// Texts a batch may hold; reaching it closes the window early, and jobs waiting beyond it go in
    /// the next batch. A job with more texts than this runs as a batch of its own (the model still
    /// splits it into calls of <see cref="InferenceOptions.MaxBatchSize"/>).
    /// </summary>
    [Range(1, 4096)]
    public int MaxBatchTexts { get; init; } = 32;
}
