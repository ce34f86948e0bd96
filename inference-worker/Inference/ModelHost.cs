using System.Diagnostics;
using Microsoft.Extensions.Options;

namespace InferenceGateway.Worker.Inference;

/// <summary>
/// Owns the loaded model the way a serverless function owns its container: the first invocation
/// loads it (a cold start, timed), later ones find it warm.
/// </summary>
public sealed class ModelHost(IOptions<InferenceOptions> options, ILogger<ModelHost> logger) : IDisposable
{
    private readonly SemaphoreSlim _loadLock = new(1, 1);
    private MiniLmEmbedder? _model;

    /// <summary>The loaded model, loading it first when needed.</summary>
    public async Task<ModelLease> AcquireAsync(CancellationToken cancellationToken)
    {
        if (Volatile.Read(ref _model) is { } warm)
        {
            return new ModelLease(warm, ColdStart: false, InitMs: 0);
        }

        await _loadLock.WaitAsync(cancellationToken);
        try
        {
            if (_model is { } loaded)
            {
                return new ModelLease(loaded, ColdStart: false, InitMs: 0);
            }

            var started = Stopwatch.GetTimestamp();
            var model = await Task.Run(() => MiniLmEmbedder.Load(options.Value), cancellationToken);
            var initMs = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
            Volatile.Write(ref _model, model);
            Log.ModelLoaded(logger, MiniLmEmbedder.ModelName, initMs);
            return new ModelLease(model, ColdStart: true, InitMs: initMs);
        }
        finally
        {
            _loadLock.Release();
        }
    }

    public void Dispose()
    {
        _model?.Dispose();
        _loadLock.Dispose();
    }
}

/// <summary>A model ready to run, and whether this invocation paid to load it.</summary>
public sealed record ModelLease(MiniLmEmbedder Model, bool ColdStart, double InitMs) : IDisposable
{
    public void Dispose()
    {
    }
}
