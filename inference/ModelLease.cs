namespace InferenceGateway.Inference;

/// <summary>
/// A model held for one invocation, and whether this invocation paid to load it. Dispose it when
/// done: the model cannot be unloaded while any lease on it is undisposed.
/// </summary>
public sealed class ModelLease : IDisposable
{
    private readonly Action? _release;
    private int _disposed;

    internal ModelLease(MiniLmEmbedder model, bool coldStart, double initMs, Action? release)
    {
        Model = model;
        ColdStart = coldStart;
        InitMs = initMs;
        _release = release;
    }

    public MiniLmEmbedder Model { get; }

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
