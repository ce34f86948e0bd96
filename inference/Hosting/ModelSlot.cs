using System.Diagnostics;
using InferenceGateway.Inference.Embeddings;
using InferenceGateway.Inference.Onnx;

namespace InferenceGateway.Inference.Hosting;

/// <summary>One model's instance: load on demand, reference-counted leases, unload after the keep-warm window.</summary>
internal sealed class ModelSlot : IDisposable
{
    private readonly Lock _gate = new();
    private readonly SemaphoreSlim _loadLock = new(1, 1);
    private readonly InferenceOptions _options;
    private readonly ExecutionProviderSelection _provider;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly ITimer _idleTimer;
    private readonly TimeSpan _keepWarm;

    private ILoadedModel? _model;
    private ModelStatus _status = ModelStatus.Cold;
    private int _leases;
    private DateTimeOffset? _loadedAt;
    private DateTimeOffset? _lastUsedAt;
    private long _loads;
    private long _unloads;
    private double? _lastInitMs;
    private bool _disposed;

    public ModelSlot(string name, ModelOptions model, InferenceOptions options, ExecutionProviderSelection provider, TimeProvider time, ILogger logger)
    {
        Name = name;
        Model = model;
        _options = options;
        _provider = provider;
        _time = time;
        _logger = logger;
        _keepWarm = TimeSpan.FromSeconds(options.KeepWarmSeconds);
        _idleTimer = time.CreateTimer(static state => ((ModelSlot)state!).OnIdle(), this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
    }

    public string Name { get; }

    public ModelOptions Model { get; }

    public ModelHostState State
    {
        get
        {
            lock (_gate)
            {
                return new ModelHostState(Name, _status, _loadedAt, _lastUsedAt, _loads, _unloads, _leases, _options.Provisioned, _lastInitMs, _provider.ActiveName);
            }
        }
    }

    public async Task<ModelLease> AcquireAsync(CancellationToken cancellationToken)
    {
        if (TryLeaseWarm() is { } warm)
        {
            return warm;
        }

        await _loadLock.WaitAsync(cancellationToken);
        try
        {
            if (TryLeaseWarm() is { } loadedMeanwhile)
            {
                return loadedMeanwhile;
            }

            lock (_gate)
            {
                ObjectDisposedException.ThrowIf(_disposed, this);
                _status = ModelStatus.Loading;
            }

            // The load itself is not cancellable; once paid for, the model stays (warm for the next job).
            var started = Stopwatch.GetTimestamp();
            ILoadedModel model;
            try
            {
                model = await Task.Run(Load, CancellationToken.None);
            }
            catch
            {
                lock (_gate)
                {
                    _status = ModelStatus.Cold;
                }

                throw;
            }

            var initMs = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
            lock (_gate)
            {
                _model = model;
                _status = ModelStatus.Warm;
                _leases++;
                _loads++;
                _loadedAt = _lastUsedAt = _time.GetUtcNow();
                _lastInitMs = initMs;
            }

            InferenceLog.ColdStart(_logger, Name, initMs, _provider.ActiveName, model.LoadInfo.Cache);
            LogThreading();
            if (model.LoadInfo.Problem is { } problem)
            {
                InferenceLog.ModelCacheProblem(_logger, Name, problem);
            }

            return new ModelLease(model, coldStart: true, initMs, Release);
        }
        finally
        {
            _loadLock.Release();
        }
    }

    public void Dispose()
    {
        ILoadedModel? model;
        lock (_gate)
        {
            _disposed = true;
            model = _model;
            _model = null;
            _status = ModelStatus.Cold;
        }

        _idleTimer.Dispose();
        model?.Dispose();
        _loadLock.Dispose();
    }

    /// <summary>
    /// The model's start-up work that no job needs to wait for and that outlives an unload (the
    /// embedding tokenizer); the next load waits for it if it has not finished.
    /// </summary>
    public void Prepare()
    {
        if (Model.Runtime != ModelRuntimes.TextGeneration)
        {
            MiniLmEmbedder.Prepare(Model);
        }
    }

    /// <summary>What the model's runs were given: batches at once and intra-op threads (<see cref="ModelThreading"/>).</summary>
    private void LogThreading()
    {
        var threading = ModelThreading.For(Model, _options, _provider.Active);
        if (Model.Runtime == ModelRuntimes.TextGeneration)
        {
            InferenceLog.GenerationThreads(_logger, Name, threading.IntraOpThreads, Environment.ProcessorCount);
        }
        else
        {
            InferenceLog.EmbeddingThreads(_logger, Name, threading.ConcurrentRuns, threading.IntraOpThreads, Environment.ProcessorCount);
        }
    }

    /// <summary>Loads the model with the runtime its configuration names.</summary>
    private ILoadedModel Load() => Model.Runtime == ModelRuntimes.TextGeneration
        ? TextGeneration.TextGenerator.Load(Name, Model, _options, _provider)
        : MiniLmEmbedder.Load(Name, Model, _options, _provider);

    private ModelLease? TryLeaseWarm()
    {
        lock (_gate)
        {
            if (_model is not { } model)
            {
                return null;
            }

            _leases++;
            _lastUsedAt = _time.GetUtcNow();
            return new ModelLease(model, coldStart: false, initMs: 0, Release);
        }
    }

    private void Release()
    {
        lock (_gate)
        {
            _leases--;
            _lastUsedAt = _time.GetUtcNow();
            if (_leases == 0 && !_options.Provisioned && !_disposed)
            {
                _idleTimer.Change(_keepWarm, Timeout.InfiniteTimeSpan);
            }
        }
    }

    /// <summary>The keep-warm window ran out: unload unless a lease was taken since (scale to zero).</summary>
    private void OnIdle()
    {
        ILoadedModel? model;
        TimeSpan idle;
        lock (_gate)
        {
            if (_model is null || _leases > 0 || _options.Provisioned || _disposed)
            {
                return;
            }

            idle = _time.GetUtcNow() - (_lastUsedAt ?? _time.GetUtcNow());
            if (idle < _keepWarm)
            {
                _idleTimer.Change(_keepWarm - idle, Timeout.InfiniteTimeSpan);
                return;
            }

            model = _model;
            _model = null;
            _status = ModelStatus.Cold;
            _unloads++;
        }

        model.Dispose();
        InferenceLog.Unloaded(_logger, Name, idle.TotalSeconds);
    }
}
