using InferenceGateway.Contracts;
using InferenceGateway.Inference.TextGeneration;

namespace InferenceGateway.Worker.Jobs;

/// <summary>What running a job's model came to (<see cref="JobModelRunner"/>), and what it cost.</summary>
internal sealed class ModelOutcome
{
    public float[][]? Vectors { get; set; }

    public GenerationOutput? Generation { get; set; }

    /// <summary>Why the input was refused (the job fails with this error).</summary>
    public JobError? Error { get; set; }

    public bool Stopped { get; set; }

    public Exception? Failure { get; set; }

    public bool ColdStart { get; set; }

    public double InitMs { get; set; }

    public double ExecutionMs { get; set; }

    public int Dimensions { get; set; }
}
