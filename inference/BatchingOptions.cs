using System.ComponentModel.DataAnnotations;

namespace InferenceGateway.Inference;

/// <summary>Dynamic batching of concurrent embedding jobs. Section <c>Batching</c>.</summary>
public sealed record BatchingOptions
{
    public const string Section = "Batching";

    /// <summary>Whether concurrent jobs for the same model are merged; <c>false</c> runs each job's texts alone.</summary>
    public bool Enabled { get; init; } = true;

    /// <summary>
    /// How long the first waiting job holds the batch open for others to join, in milliseconds.
    /// 0 (the default): none; a batch starts as soon as one of the model's runs is free, so a lone
    /// job is not delayed and, under load, batches fill with the jobs that arrive while every run
    /// is busy.
    /// </summary>
    [Range(0, 1000)]
    public int WindowMs { get; init; }

    /// <summary>
    /// Texts a batch may hold; reaching it closes the window early, and jobs waiting beyond it go in
    /// the next batch. A job with more texts than this runs as a batch of its own (the model still splits it into calls of <see cref="InferenceOptions.MaxBatchSize"/>).
    /// </summary>
    [Range(1, 4096)]
    public int MaxBatchTexts { get; init; } = 32;
}
