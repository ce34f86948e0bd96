using InferenceGateway.Inference.Embeddings;
using InferenceGateway.Inference.Onnx;
using Microsoft.Extensions.Options;

namespace InferenceGateway.Inference.Batching;

/// <summary>
/// Dynamic batching for embedding jobs: concurrent callers for the same model instance share
/// <see cref="MiniLmEmbedder.Embed"/> calls (which sort the merged texts by length, so each ONNX
/// Runtime run pads to similar lengths), and each caller gets exactly its own vectors back, in its
/// order. Up to the model's <see cref="ModelThreading.ConcurrentRuns"/> batches run at once, each
/// on a dedicated <c>onnx-run-N</c> thread; a batch starts as soon as a run is free (after
/// <see cref="BatchingOptions.WindowMs"/>, when set), callers that arrive while every run is
/// busy collect into the next batch, up to <see cref="BatchingOptions.MaxBatchTexts"/> texts, and
/// callers waiting when several runs are free are shared evenly among them. See
/// <see cref="MicroBatcher{TModel}"/> for the rules.
/// </summary>
/// <remarks>
/// Cancellation: a caller cancelled while waiting leaves the batch; one cancelled while its batch
/// runs gets <see cref="OperationCanceledException"/> at once while the batch goes on for the
/// others; when every caller of a running batch has cancelled, the ONNX Runtime run is terminated.
/// An exception from the model fails every caller of that batch, and only them.
/// With <see cref="BatchingOptions.Enabled"/> off, each caller's texts run alone, on the same
/// threads under the same cap.
/// </remarks>
public sealed class EmbeddingBatcher(
    IOptions<BatchingOptions> options,
    TimeProvider timeProvider,
    ILogger<EmbeddingBatcher> logger) : IDisposable, IAsyncDisposable
{
    private readonly MicroBatcher<MiniLmEmbedder> _core = new(
        options.Value,
        timeProvider,
        logger,
        static model => model.Threading.ConcurrentRuns,
        static (model, texts, cancellationToken) => model.Embed(texts, cancellationToken));

    /// <summary>Model calls, callers and texts since construction (and the mean batch size).</summary>
    public BatchingStatistics Statistics => _core.Statistics;

    /// <summary>
    /// One L2-normalised vector per text of <paramref name="texts"/>, in order, computed in a batch
    /// with other callers' texts for <paramref name="model"/>.
    /// </summary>
    public Task<float[][]> EmbedAsync(MiniLmEmbedder model, IReadOnlyList<string> texts, CancellationToken cancellationToken) =>
        _core.EmbedAsync(model, texts, cancellationToken);

    /// <summary>Texts now waiting for <paramref name="model"/>'s next batch.</summary>
    internal int WaitingTexts(MiniLmEmbedder model) => _core.WaitingTexts(model);

    /// <summary>Fails waiting callers with <see cref="ObjectDisposedException"/>; running batches finish.</summary>
    public void Dispose() => _core.Dispose();

    /// <summary>As <see cref="Dispose"/>, then waits for running batches to end (before the model is disposed).</summary>
    public ValueTask DisposeAsync() => _core.DisposeAsync();
}
