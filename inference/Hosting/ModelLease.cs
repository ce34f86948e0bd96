using InferenceGateway.Inference.Embeddings;

namespace InferenceGateway.Inference.Hosting;

/// <summary>
/// A model held for one invocation, and whether this invocation paid to load it. Dispose it when
/// done: the model cannot be unloaded while any lease on it is undisposed.
/// </summary>
public sealed class ModelLease : IDisposable
{
    private readonly Action? _release;
    private int _disposed;

    internal ModelLease(ILoadedModel model, bool coldStart, double initMs, Action? release)
    {
        Loaded = model;
        ColdStart = coldStart;
        InitMs = initMs;
        _release = release;
    }

    /// <summary>The model held: a <see cref="MiniLmEmbedder"/> or a <see cref="TextGeneration.TextGenerator"/>.</summary>
    public ILoadedModel Loaded { get; }

    /// <summary>The embedder held.</summary>
    /// <exception cref="InvalidOperationException">The model is not an embedding model.</exception>
    public MiniLmEmbedder Model => Loaded as MiniLmEmbedder
        ?? throw new InvalidOperationException($"Model {Loaded.Name} is not an embedding model.");

    /// <summary>The text generator held.</summary>
    /// <exception cref="InvalidOperationException">The model is not a text-generation model.</exception>
    public TextGeneration.TextGenerator Generator => Loaded as TextGeneration.TextGenerator
        ?? throw new InvalidOperationException($"Model {Loaded.Name} is not a text-generation model.");

    /// <summary>True when this acquisition loaded the model.</summary>
    public bool ColdStart { get; }

    /// <summary>Milliseconds this acquisition spent loading the model; 0 when it was warm.</summary>
    public double InitMs { get; }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            _release?.Invoke();
        }
    }
}
