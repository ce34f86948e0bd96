using System.ComponentModel.DataAnnotations;

namespace InferenceGateway.Inference;

/// <summary>How the worker runs models. Section <c>Inference</c>.</summary>
public sealed record InferenceOptions
{
    public const string Section = "Inference";

    /// <summary>ONNX Runtime intra-op threads; 0 lets ONNX Runtime use every core.</summary>
    [Range(0, 256)]
    public int IntraOpThreads { get; init; }

    /// <summary>Texts per ONNX Runtime call; longer jobs run in several calls.</summary>
    /// <summary>
    /// Let ONNX Runtime's intra-op threads spin between calls. Off by default: in a worker that
    /// also talks to SQS and Redis (and shares cores with them), spinning burns the CPU the rest of
    /// the pipeline needs; a dedicated inference box with back-to-back calls may gain from it.
    /// </summary>
    public bool AllowSpinning { get; init; }

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
