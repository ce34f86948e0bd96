namespace InferenceGateway.Inference.Batching;

/// <summary>What a batcher has run since it was built.</summary>
/// <param name="Batches">Model calls made (a batch that every caller left before it started is not one).</param>
/// <param name="Requests">Callers served by those calls, cancelled ones included.</param>
/// <param name="Texts">Texts embedded by those calls.</param>
public sealed record BatchingStatistics(long Batches, long Requests, long Texts)
{
    /// <summary>Texts per model call; 0 before the first.</summary>
    public double MeanBatchSize => Batches == 0 ? 0 : (double)Texts / Batches;

    /// <summary>Callers per model call; 0 before the first.</summary>
    public double MeanRequestsPerBatch => Batches == 0 ? 0 : (double)Requests / Batches;
}
