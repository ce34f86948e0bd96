namespace InferenceGateway.Contracts;

/// <summary>What one invocation cost, in the terms a serverless GPU platform bills.</summary>
public sealed record JobMetrics
{
    /// <summary>Milliseconds between the job being accepted and a worker starting it.</summary>
    public long? QueueMs { get; init; }

    /// <summary>True when this invocation had to load the model first.</summary>
    public bool? ColdStart { get; init; }

    /// <summary>Milliseconds spent loading the model for this invocation (0 when warm).</summary>
    public double? InitMs { get; init; }

    /// <summary>Milliseconds spent running the model.</summary>
    public double? ExecutionMs { get; init; }

    /// <summary>Init plus execution, rounded up to whole milliseconds.</summary>
    public long? BilledMs { get; init; }

    /// <summary>The ONNX Runtime execution provider that ran the model (<c>cpu</c> or <c>cuda</c>).</summary>
    public string? Provider { get; init; }
}
