using InferenceGateway.Inference;
using InferenceGateway.Inference.Batching;
using InferenceGateway.Inference.Embeddings;
using InferenceGateway.Inference.Hosting;
using InferenceGateway.Inference.Onnx;
using Microsoft.Extensions.Options;

namespace InferenceGateway.Gateway.Edge;

/// <summary>
/// The models this gateway serves in-process: a <see cref="ModelHost"/> of the shared inference
/// library (the same code the workers run, on the CPU, provisioned: loaded once at start and kept)
/// and an <see cref="EmbeddingBatcher"/> that merges concurrent requests into one model call.
/// </summary>
public sealed class EdgeModels : IAsyncDisposable
{
    private readonly Dictionary<string, EdgeModel> _models;
    private readonly ModelHost? _host;
    private readonly EmbeddingBatcher _batcher;

    public EdgeModels(IOptions<EdgeOptions> options, IOptions<ModelCatalogOptions> catalog, IHostEnvironment environment, TimeProvider time, ILoggerFactory loggers)
    {
        var edge = options.Value;
        _models = edge.Served(catalog.Value).ToDictionary(m => m.Name, StringComparer.Ordinal);
        var inference = edge.Inference with { Provisioned = true, ExecutionProvider = ExecutionProviderKind.Cpu };
        if (_models.Count > 0)
        {
            _host = new ModelHost(Options.Create(inference), Options.Create(catalog.Value.RunningOn(ModelRunsOn.Edge)), ExecutionProviderSelection.Cpu, environment, time, loggers.CreateLogger<ModelHost>());
        }

        _batcher = new EmbeddingBatcher(Options.Create(edge.Batching), time, loggers.CreateLogger<EmbeddingBatcher>());
    }

    /// <summary>Whether any model is served at the edge.</summary>
    public bool Any => _models.Count > 0;

    /// <summary>The served models, in name order.</summary>
    public IEnumerable<EdgeModel> Models => _models.Values.OrderBy(m => m.Name, StringComparer.Ordinal);

    /// <summary>What each model publishes to the registry: the library's spec (the provider in use included).</summary>
    public IReadOnlyList<ModelSpec> Specs => _host?.Models ?? [];

    /// <summary>True once every edge model is loaded (and always when none is served).</summary>
    public bool Ready => _host is null || _host.States.All(s => s.Status == ModelStatus.Warm);

    /// <summary>Each model's lifecycle state.</summary>
    public IReadOnlyList<ModelHostState> States => _host?.States ?? [];

    /// <summary>Model calls, callers and texts merged by the batcher since start.</summary>
    public BatchingStatistics Batching => _batcher.Statistics;

    public bool TryGet(string name, out EdgeModel model) => _models.TryGetValue(name, out model!);

    /// <summary>Loads every edge model (the gateway does it at start, in the background; <c>/readyz</c> waits for it).</summary>
    public Task LoadAsync(CancellationToken cancellationToken) => _host?.LoadProvisionedAsync(cancellationToken) ?? Task.CompletedTask;

    /// <summary>A lease on <paramref name="name"/>; waits for its load when the gateway has only just started.</summary>
    public Task<ModelLease> AcquireAsync(string name, CancellationToken cancellationToken) =>
        (_host ?? throw new KeyNotFoundException($"Model '{name}' is not served at the edge.")).AcquireAsync(name, cancellationToken);

    /// <summary>One vector per text, in order, in a batch with concurrent requests for the same model.</summary>
    public Task<float[][]> EmbedAsync(MiniLmEmbedder model, IReadOnlyList<string> texts, CancellationToken cancellationToken) =>
        _batcher.EmbedAsync(model, texts, cancellationToken);

    public async ValueTask DisposeAsync()
    {
        await _batcher.DisposeAsync();
        _host?.Dispose();
    }
}
