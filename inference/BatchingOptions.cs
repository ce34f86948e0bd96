using System.ComponentModel.DataAnnotations;

namespace InferenceGateway.Inference;

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
    /// The default, 5, is for the worker: with two runs at once and no window, a run that comes free
    /// takes the first job that arrives alone, and batches fragment (measured on the 2-core box,
    /// 32 jobs in a closed loop: a mean batch of 2.9 texts and 4.3 CPU-ms a text with no window,
    /// 28 to 32 texts and 3.3 CPU-ms a text with 1 to 5 ms).
    /// </summary>
    [Range(0, 1000)]
    public int WindowMs { get; init; } = 5;

    /// <summary>
    /// Texts a batch may hold; reaching it closes the window early, and jobs waiting beyond it go in
    /// the next batch. A job with more texts than this runs as a batch of its own (the model still splits it into calls of <see cref="InferenceOptions.MaxBatchSize"/>).
    /// </summary>
    [Range(1, 4096)]
    public int MaxBatchTexts { get; init; } = 32;
}
