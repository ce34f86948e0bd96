namespace InferenceGateway.Inference.Onnx;

/// <summary>What became of the optimised-model cache when a model loaded.</summary>
public enum ModelCacheOutcome
{
    /// <summary>No cache directory is configured.</summary>
    Disabled,

    /// <summary>Loaded from a whole cached optimised model.</summary>
    Hit,

    /// <summary>Optimised from the source and written to the cache (the first load, or a rebuild of a bad file).</summary>
    Written,

    /// <summary>The cache directory could not be used; loaded from the source.</summary>
    Unavailable,
}

/// <summary>How a model's session was built; <see cref="Problem"/> says what went wrong with the cache, if anything.</summary>
public sealed record ModelLoadInfo(ModelCacheOutcome Cache, string? Problem);
