using System.ComponentModel.DataAnnotations;

namespace InferenceGateway.Worker.Inference;

/// <summary>How the worker runs models. Section <c>Inference</c>.</summary>
public sealed record InferenceOptions
{
    public const string Section = "Inference";

    /// <summary>ONNX Runtime intra-op threads; 0 lets ONNX Runtime use every core.</summary>
    [Range(0, 256)]
    public int IntraOpThreads { get; init; }

    /// <summary>Texts per ONNX Runtime call; longer jobs run in several calls.</summary>
    [Range(1, 1024)]
    public int MaxBatchSize { get; init; } = 32;

    /// <summary>Tokens per text, special tokens included; longer texts are truncated (the model's own limit is 256).</summary>
    [Range(8, 512)]
    public int MaxSequenceLength { get; init; } = 256;
}
