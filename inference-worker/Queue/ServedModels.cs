using InferenceGateway.Worker.Inference;

namespace InferenceGateway.Worker.Queue;

/// <summary>The models this worker runs (the <c>Models</c> registry); a job for any other is poison here.</summary>
public sealed class ServedModels(ModelHost models)
{
    public bool Serves(string model) => models.Serves(model);
}
