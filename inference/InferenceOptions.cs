using System.ComponentModel.DataAnnotations;
using InferenceGateway.Inference.Hosting;

namespace InferenceGateway.Inference;

/// <summary>How the worker runs models. Section <c>Inference</c>.</summary>
public sealed record InferenceOptions
{
    public const string Section = "Inference";

    /// <summary>
    /// ONNX Runtime intra-op threads of each run. 0 (the default): the processors
    /// (<see cref="Environment.ProcessorCount"/>, which follows a container's CPU limit) divided
    /// among the model's <see cref="ConcurrentRuns"/>, at least 1; with both left at 0 on the CPU,
    /// one thread for each of one run per processor.
    /// </summary>
    [Range(0, 256)]
    public int IntraOpThreads { get; init; }

    /// <summary>
    /// Batches of one embedding model that run at once, each on its own <c>onnx-run-N</c> thread
    /// over the one session (model instances, as Triton's <c>instance_group</c> count); requests that
    /// arrive while every run is busy collect into the next batch. 0 (the default): on the CPU, the
    /// processors divided by <see cref="IntraOpThreads"/> (one run per processor, each on one
    /// intra-op thread, when both are 0); on CUDA, 1 (one GPU stream). Measured on the 2-core
    /// development box: two runs of one thread embed about 25 % more texts a second than one run of
    /// two threads, for less CPU per text.
    /// </summary>
    [Range(0, 64)]
    public int ConcurrentRuns { get; init; }

    /// <summary>
    /// Let ONNX Runtime's intra-op threads spin between calls. Off by default: in a worker that
    /// also talks to SQS and Redis (and shares cores with them), spinning burns the CPU the rest of
    /// the pipeline needs; a dedicated inference box with back-to-back calls may gain from it.
    /// </summary>
    public bool AllowSpinning { get; init; }

    /// <summary>Texts per ONNX Runtime call; longer jobs run in several calls.</summary>
    [Range(1, 1024)]
    public int MaxBatchSize { get; init; } = 32;

    /// <summary>
    /// Tokens per text, special tokens included; longer texts are truncated. A model's own
    /// <see cref="ModelOptions.MaxSequenceLength"/> caps it further.
    /// </summary>
    [Range(8, 512)]
    public int MaxSequenceLength { get; init; } = 256;

    /// <summary>Where ONNX Runtime runs the models: <c>cpu</c> (default) or <c>cuda</c>.</summary>
    [EnumDataType(typeof(ExecutionProviderKind))]
    public ExecutionProviderKind ExecutionProvider { get; init; } = ExecutionProviderKind.Cpu;

    /// <summary>The GPU the CUDA execution provider uses.</summary>
    [Range(0, 64)]
    public int CudaDeviceId { get; init; }

    /// <summary>With <c>cuda</c> and no usable GPU: run on the CPU with a warning instead of refusing to start.</summary>
    public bool FallbackToCpu { get; init; }

    /// <summary>Idle seconds (no lease held, no job) after which a model is unloaded: scale to zero.</summary>
    [Range(0, 7 * 24 * 3600)]
    public int KeepWarmSeconds { get; init; } = 300;

    /// <summary>Load every model at start, before any job is received, and never unload (provisioned concurrency).</summary>
    public bool Provisioned { get; init; }

    /// <summary>
    /// Where graph-optimised models are cached between processes, so a later cold start skips the
    /// optimisation; relative paths are under the content root; empty turns the cache off.
    /// Default: <c>inference-gateway/model-cache</c> under the system temp directory.
    /// </summary>
    public string? ModelCacheDirectory { get; init; } = Path.Combine(Path.GetTempPath(), "inference-gateway", "model-cache");
}

/// <summary>The ONNX Runtime execution provider a model session runs on.</summary>
public enum ExecutionProviderKind
{
    Cpu,
    Cuda,
}
