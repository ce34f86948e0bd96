using InferenceGateway.Inference.Embeddings;
using InferenceGateway.Inference.Onnx;
using Microsoft.Extensions.Options;

namespace InferenceGateway.Inference.Hosting;

/// <summary>
/// Owns the loaded models the way a serverless platform owns its function instances: one per
/// configured model name; the first invocation loads it (a cold start, timed), later ones find it
/// warm, and after <see cref="InferenceOptions.KeepWarmSeconds"/> with no lease held it is unloaded
/// (scale to zero) and the next invocation pays a cold start again. With
/// <see cref="InferenceOptions.Provisioned"/> every model loads at start and stays loaded.
/// Leases are reference-counted: a model is never unloaded while a job holds one.
/// </summary>
public sealed class ModelHost : IDisposable
{
    private readonly Dictionary<string, ModelSlot> _slots = new(StringComparer.Ordinal);
    private readonly InferenceOptions _options;

    public ModelHost(
        IOptions<InferenceOptions> options,
        IOptions<ModelCatalogOptions> catalog,
        ExecutionProviderSelection executionProvider,
        IHostEnvironment environment,
        TimeProvider time,
        ILogger<ModelHost> logger)
    {
        _options = options.Value;
        ExecutionProvider = executionProvider;
        var inference = _options with
        {
            ModelCacheDirectory = string.IsNullOrWhiteSpace(_options.ModelCacheDirectory)
                ? null
                : ModelFiles.Resolve(environment, _options.ModelCacheDirectory),
        };
        foreach (var (name, model) in catalog.Value.Enabled)
        {
            var resolved = model.Source == ModelOptions.EmbeddedMiniLm || string.IsNullOrEmpty(model.Source)
                ? model
                : model with
                {
                    Source = ModelFiles.Resolve(environment, model.Source),
                    VocabPath = model.VocabPath is null ? null : ModelFiles.Resolve(environment, model.VocabPath),
                };
            _slots[name] = new ModelSlot(name, resolved, inference, executionProvider, time, logger);
        }

        Models = [.. _slots.Values.Select(s => ModelSpec.From(s.Name, s.Model, executionProvider))];
        DefaultModel = _slots.ContainsKey(MiniLmEmbedder.ModelName) ? MiniLmEmbedder.ModelName : _slots.Keys.First();
    }

    /// <summary>What this worker serves, one entry per model name, in name order.</summary>
    public IReadOnlyList<ModelSpec> Models { get; }

    /// <summary>The model <see cref="AcquireAsync(CancellationToken)"/> gives: all-minilm-l6-v2 unless it is disabled.</summary>
    public string DefaultModel { get; }

    /// <summary>The execution provider in use (and the one asked for).</summary>
    public ExecutionProviderSelection ExecutionProvider { get; }

    /// <summary>Every model's lifecycle state, in name order.</summary>
    public IReadOnlyList<ModelHostState> States => [.. _slots.Values.Select(s => s.State)];

    public bool Serves(string model) => _slots.ContainsKey(model);

    /// <summary>The <paramref name="model"/>'s configuration (its source resolved).</summary>
    /// <exception cref="KeyNotFoundException">This worker does not serve <paramref name="model"/>.</exception>
    public ModelOptions OptionsOf(string model) => Slot(model).Model;

    /// <summary>The <paramref name="model"/>'s kind (<see cref="Contracts.ModelKinds"/>), or null when this worker does not serve it.</summary>
    public string? KindOf(string model) => _slots.TryGetValue(model, out var slot) ? slot.Model.Kind : null;

    /// <summary>The <paramref name="model"/>'s lifecycle state.</summary>
    /// <exception cref="KeyNotFoundException">This worker does not serve <paramref name="model"/>.</exception>
    public ModelHostState GetState(string model) => Slot(model).State;

    /// <summary>A lease on the default model; see <see cref="AcquireAsync(string, CancellationToken)"/>.</summary>
    public Task<ModelLease> AcquireAsync(CancellationToken cancellationToken) => AcquireAsync(DefaultModel, cancellationToken);

    /// <summary>
    /// A lease on <paramref name="model"/>, loading it first when it is cold; dispose the lease when
    /// the job is done with the model (<c>using var lease = await host.AcquireAsync(name, ct)</c>).
    /// </summary>
    /// <exception cref="KeyNotFoundException">This worker does not serve <paramref name="model"/>.</exception>
    public Task<ModelLease> AcquireAsync(string model, CancellationToken cancellationToken) => Slot(model).AcquireAsync(cancellationToken);

    /// <summary>
    /// The init phase, as a serverless function's runs before its first invocation: each model's
    /// start-up work that does not depend on a job and is kept across unloads (the embedding
    /// tokenizers), on pool threads, models in parallel. Loads are not started and no memory is held
    /// for the models themselves: a cold start still loads the model. A model whose preparation fails
    /// is left to its first load, which tries again and fails the way a load fails.
    /// </summary>
    /// <returns>The models whose preparation failed, with the reason.</returns>
    public async Task<IReadOnlyList<(string Model, Exception Error)>> PrepareAsync()
    {
        var prepared = await Task.WhenAll(_slots.Values.Select(slot => Task.Run(() =>
        {
            try
            {
                slot.Prepare();
                return ((string, Exception)?)null;
            }
            catch (Exception ex)
            {
                return (slot.Name, ex);
            }
        })));
        return [.. prepared.OfType<(string, Exception)>()];
    }

    /// <summary>With <see cref="InferenceOptions.Provisioned"/>: loads every model now (at start, before jobs are received).</summary>
    public async Task LoadProvisionedAsync(CancellationToken cancellationToken)
    {
        if (!_options.Provisioned)
        {
            return;
        }

        foreach (var slot in _slots.Values)
        {
            using var lease = await slot.AcquireAsync(cancellationToken);
        }
    }

    public void Dispose()
    {
        foreach (var slot in _slots.Values)
        {
            slot.Dispose();
        }
    }

    private ModelSlot Slot(string model) =>
        _slots.TryGetValue(model, out var slot) ? slot : throw new KeyNotFoundException($"Model '{model}' is not served by this worker.");
}

/// <summary>Where a model is in its lifecycle.</summary>
public enum ModelStatus
{
    /// <summary>Not loaded: the next lease pays a cold start.</summary>
    Cold,

    /// <summary>A cold start is in progress.</summary>
    Loading,

    /// <summary>Loaded: leases are immediate.</summary>
    Warm,
}

/// <summary>One model's lifecycle, for the registry and health: state, when it loaded and was last used, and how often it loaded and unloaded.</summary>
public sealed record ModelHostState(
    string Name,
    ModelStatus Status,
    DateTimeOffset? LoadedAt,
    DateTimeOffset? LastUsedAt,
    long Loads,
    long Unloads,
    int ActiveLeases,
    bool Provisioned,
    double? LastInitMs,
    string ExecutionProvider);
