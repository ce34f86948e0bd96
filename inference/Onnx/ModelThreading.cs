using InferenceGateway.Inference.Batching;
using InferenceGateway.Inference.Hosting;

namespace InferenceGateway.Inference.Onnx;

/// <summary>
/// How one model's ONNX Runtime work is spread over the processors: <see cref="ConcurrentRuns"/>
/// runs at once over its one session (each on its own <c>onnx-run-N</c> thread, see
/// <see cref="EmbeddingBatcher"/>), each with <see cref="IntraOpThreads"/> ONNX Runtime threads
/// (the run's own thread being one of them). Resolved once per model from
/// <see cref="InferenceOptions.ConcurrentRuns"/> and <see cref="InferenceOptions.IntraOpThreads"/>,
/// where 0 means: fill the processors without oversubscribing them.
/// </summary>
/// <param name="ConcurrentRuns">Batches of the model that run at once (text generation: runs of one job, always 1).</param>
/// <param name="IntraOpThreads">ONNX Runtime intra-op threads of each run.</param>
public sealed record ModelThreading(int ConcurrentRuns, int IntraOpThreads)
{
    /// <summary>The threading of <paramref name="model"/> under <paramref name="options"/> on <paramref name="provider"/>, for this process's processors.</summary>
    public static ModelThreading For(ModelOptions model, InferenceOptions options, ExecutionProviderKind provider) =>
        For(model, options, provider, Environment.ProcessorCount);

    /// <summary>As <see cref="For(ModelOptions, InferenceOptions, ExecutionProviderKind)"/> for <paramref name="processors"/> processors.</summary>
    /// <remarks>
    /// An embedding model on the CPU runs processors ÷ intra-op threads batches at once (one thread
    /// each when both are auto: two single-threaded runs beat one two-threaded run on the 2-core
    /// development box); on CUDA one batch at a time (one GPU stream; the intra-op threads then only
    /// serve the nodes left on the CPU). A text generation is one run at a time (token after token,
    /// one job per thread): its auto intra-op threads are all the processors.
    /// </remarks>
    public static ModelThreading For(ModelOptions model, InferenceOptions options, ExecutionProviderKind provider, int processors)
    {
        ArgumentNullException.ThrowIfNull(model);
        return model.Runtime == ModelRuntimes.TextGeneration
            ? Resolve(options with { ConcurrentRuns = 1 }, provider, processors)
            : Resolve(options, provider, processors);
    }

    /// <summary>The threading of a session built with <paramref name="options"/>, by the embedding rules (a generator's options come resolved).</summary>
    internal static ModelThreading Resolve(InferenceOptions options, ExecutionProviderKind provider, int processors)
    {
        ArgumentNullException.ThrowIfNull(options);
        processors = Math.Max(1, processors);
        var runs = options.ConcurrentRuns > 0 ? options.ConcurrentRuns
            : provider == ExecutionProviderKind.Cuda ? 1
            : Math.Max(1, processors / Math.Max(1, options.IntraOpThreads));
        var intraOp = options.IntraOpThreads > 0 ? options.IntraOpThreads : Math.Max(1, processors / runs);
        return new(runs, intraOp);
    }

    /// <summary><paramref name="options"/> with this threading written out, so a session built from them needs no resolving.</summary>
    internal InferenceOptions Apply(InferenceOptions options) => options with { ConcurrentRuns = ConcurrentRuns, IntraOpThreads = IntraOpThreads };
}
