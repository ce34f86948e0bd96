using InferenceGateway.Inference.Onnx;

namespace InferenceGateway.Inference.Hosting;

/// <summary>A model a <see cref="ModelSlot"/> holds while warm: an embedder or a text generator.</summary>
public interface ILoadedModel : IDisposable
{
    /// <summary>The model's name in the registry.</summary>
    string Name { get; }

    /// <summary>How the session was built: from the optimised-model cache or not, and why not.</summary>
    ModelLoadInfo LoadInfo { get; }
}
