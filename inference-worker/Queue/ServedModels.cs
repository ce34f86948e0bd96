using InferenceGateway.Worker.Inference;

namespace InferenceGateway.Worker.Queue;

/// <summary>The models this worker runs; a job for any other is poison here.</summary>
public sealed class ServedModels
{
    public bool Serves(string model) => string.Equals(model, MiniLmEmbedder.ModelName, StringComparison.Ordinal);
}
