using System.Text.Json;
using System.Text.Json.Serialization;
using InferenceGateway.Core.Models;
using InferenceGateway.Gateway.Problems;
using InferenceGateway.Inference.Hosting;
using Microsoft.Extensions.Options;

namespace InferenceGateway.Gateway.Jobs;

/// <summary>
/// The models the gateway accepts jobs for: the union of what workers publish in the
/// <see cref="ModelRegistry"/> and the models the one catalog places on workers (<see cref="ModelCatalogOptions"/>,
/// <c>Models:&lt;name&gt;:Placement:Worker</c>: the fallback that keeps jobs accepted while every worker is scaled to zero). The registry read is cached for
/// <see cref="CacheFor"/>, so submissions do not read Redis for it each time; when Redis cannot be
/// read the configured models stand alone.
/// </summary>
public sealed class ModelCatalog(ModelRegistry registry, IOptionsMonitor<ModelCatalogOptions> options, TimeProvider time, ILogger<ModelCatalog> logger)
{
    /// <summary>How long one read of the registry is used.</summary>
    public static readonly TimeSpan CacheFor = TimeSpan.FromSeconds(2);

    public const string SourceRegistry = "registry";
    public const string SourceConfig = "config";

    private readonly Lock _gate = new();
    private Task<IReadOnlyList<RegisteredModel>>? _registryRead;
    private DateTimeOffset _readAt;

    // The merged views, built once per registry read and options value (each request used to build its own).
    private CatalogView? _queued;
    private CatalogView? _all;

    /// <summary>The most texts, and characters of one, that a limit here may be (a worker's spec or the configuration above it is cut to them).</summary>
    public const int MaxTextsLimit = 100_000;
    public const int MaxTextLengthLimit = 1_000_000;

    public const string PlacementQueue = "queue";
    public const string PlacementEdge = "edge";

    /// <summary>
    /// Every model jobs can be queued for now, by id, in id order; with <paramref name="includeEdgeOnly"/>
    /// also the models only gateways serve in-process (<c>placement: ["edge"]</c>), as <c>GET /v1/models</c> lists them.
    /// </summary>
    public async Task<IReadOnlyDictionary<string, CatalogModel>> GetAsync(bool includeEdgeOnly = false)
    {
        var read = ReadRegistryAsync();
        var registered = await read;
        var settings = options.CurrentValue;
        var cached = includeEdgeOnly ? _all : _queued;
        if (cached is not null && ReferenceEquals(cached.Read, read) && ReferenceEquals(cached.Options, settings))
        {
            return cached.Models;
        }

        var view = new CatalogView(read, settings, Build(registered, settings, includeEdgeOnly));
        if (includeEdgeOnly)
        {
            _all = view;
        }
        else
        {
            _queued = view;
        }

        return view.Models;
    }

    private static System.Collections.ObjectModel.ReadOnlyDictionary<string, CatalogModel> Build(IReadOnlyList<RegisteredModel> registered, ModelCatalogOptions settings, bool includeEdgeOnly)
    {
        var configured = settings.On(ModelRunsOn.Worker).ToDictionary(m => m.Key, m => m.Value, StringComparer.Ordinal);
        var models = new SortedDictionary<string, CatalogModel>(StringComparer.Ordinal);
        foreach (var (id, limits) in configured)
        {
            models[id] = new CatalogModel(id, limits.Kind, null, limits.Dimensions, Math.Min(limits.MaxTexts, MaxTextsLimit), Math.Min(limits.MaxTextLength, MaxTextLengthLimit), null, 0, 0, null, [SourceConfig], [PlacementQueue])
            {
                MaxNewTokens = limits.MaxNewTokens,
                MaxCompletionTokens = limits.MaxCompletionTokens,
            };
        }

        foreach (var model in registered)
        {
            var queued = model.QueueServed || configured.ContainsKey(model.Name);
            if (!queued && !includeEdgeOnly)
            {
                continue;
            }

            var merged = Merge(model, configured.GetValueOrDefault(model.Name));
            var placement = new List<string>(2);
            if (model.EdgeInstances > 0)
            {
                placement.Add(PlacementEdge);
            }

            if (queued)
            {
                placement.Add(PlacementQueue);
            }

            models[model.Name] = merged with { Placement = placement, EdgeGateways = model.EdgeInstances };
        }

        return new System.Collections.ObjectModel.ReadOnlyDictionary<string, CatalogModel>(models);
    }

    /// <summary>A merged view and what it was built from: one registry read and one options value.</summary>
    private sealed record CatalogView(Task<IReadOnlyList<RegisteredModel>> Read, ModelCatalogOptions Options, IReadOnlyDictionary<string, CatalogModel> Models);

    /// <summary>One registry read per <see cref="CacheFor"/>, shared by concurrent callers; empty when Redis cannot be read.</summary>
    private Task<IReadOnlyList<RegisteredModel>> ReadRegistryAsync()
    {
        lock (_gate)
        {
            var now = time.GetUtcNow();
            if (_registryRead is null || now - _readAt >= CacheFor || now < _readAt)
            {
                _readAt = now;
                _registryRead = ReadOrFallBackAsync();
            }

            return _registryRead;
        }
    }

    private async Task<IReadOnlyList<RegisteredModel>> ReadOrFallBackAsync()
    {
        try
        {
            return await registry.ListAsync();
        }
        catch (Exception ex) when (ProblemsExtensions.IsDependencyFailure(ex))
        {
            Log.ModelRegistryUnreadable(logger, ex);
            return [];
        }
    }

    /// <summary>
    /// A registered model, with what the gateway's configuration says of it. Where both give a
    /// limit the smaller wins, so the gateway never accepts a job its workers would refuse.
    /// </summary>
    private static CatalogModel Merge(RegisteredModel model, ModelOptions? configured)
    {
        var spec = model.Spec.ValueKind == JsonValueKind.Object ? model.Spec : default;
        var defaults = configured ?? new ModelOptions();
        var maxTexts = PositiveInt(spec, "maxTexts", MaxTextsLimit) is { } specTexts
            ? Math.Min(specTexts, configured?.MaxTexts ?? int.MaxValue)
            : Math.Min(defaults.MaxTexts, MaxTextsLimit);
        var maxTextLength = PositiveInt(spec, "maxTextLength", MaxTextLengthLimit) is { } specLength
            ? Math.Min(specLength, configured?.MaxTextLength ?? int.MaxValue)
            : Math.Min(defaults.MaxTextLength, MaxTextLengthLimit);
        return new CatalogModel(
            model.Name,
            String(spec, "kind") ?? configured?.Kind ?? defaults.Kind,
            String(spec, "runtime"),
            PositiveInt(spec, "dimensions", int.MaxValue) ?? configured?.Dimensions,
            maxTexts,
            maxTextLength,
            PositiveInt(spec, "maxSequenceLength", int.MaxValue),
            model.Workers,
            model.WarmWorkers,
            String(spec, "executionProvider"),
            configured is null ? [SourceRegistry] : [SourceConfig, SourceRegistry],
            [PlacementQueue])
        {
            ContextLength = PositiveInt(spec, "contextLength", int.MaxValue),
            MaxNewTokens = PositiveInt(spec, "maxNewTokens", int.MaxValue) ?? configured?.MaxNewTokens,
            MaxCompletionTokens = PositiveInt(spec, "maxCompletionTokens", int.MaxValue) is { } specMax
                ? Math.Min(specMax, configured?.MaxCompletionTokens ?? int.MaxValue)
                : configured?.MaxCompletionTokens,
        };
    }

    private static string? String(JsonElement spec, string name) =>
        spec.ValueKind == JsonValueKind.Object && spec.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String && value.GetString() is { Length: > 0 and <= 64 } text
            ? text
            : null;

    private static int? PositiveInt(JsonElement spec, string name, int max) =>
        spec.ValueKind == JsonValueKind.Object && spec.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Number
            && value.TryGetInt32(out var number) && number >= 1
            ? Math.Min(number, max)
            : null;
}

/// <summary>
/// A model the gateway accepts jobs for, as <c>GET /v1/models</c> shows it, and where it knows of it from (<c>source</c>: <c>config</c>,
/// <c>registry</c>, or both). <c>Runtime</c>, <c>MaxSequenceLength</c> and <c>ExecutionProvider</c>
/// come from a worker's spec (null when only configured); <c>Dimensions</c> is null when neither says;
/// <c>Workers</c> counts those heard from within <see cref="ModelRegistry.LiveWindow"/>.
/// <c>Placement</c> says where it runs: <c>edge</c> (in-process on gateways, <c>POST /v1/embeddings</c>;
/// <c>EdgeGateways</c> counts them) and/or <c>queue</c> (jobs run by workers).
/// </summary>
public sealed record CatalogModel(
    string Id,
    string Kind,
    string? Runtime,
    int? Dimensions,
    int MaxTexts,
    int MaxTextLength,
    int? MaxSequenceLength,
    int Workers,
    int WarmWorkers,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? ExecutionProvider,
    [property: JsonPropertyName("source")] IReadOnlyList<string> Sources,
    IReadOnlyList<string> Placement,
    int EdgeGateways = 0)
{
    /// <summary>As OpenAI's model objects say (<c>object: model</c>, <c>owned_by</c>), so its clients list models here too.</summary>
    [JsonPropertyName("object")]
    public string ObjectType => "model";

    [JsonPropertyName("owned_by")]
    public string OwnedBy => "inference-gateway";

    /// <summary>Text generation: tokens of prompt and answer together the model takes (from a worker's spec).</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public int? ContextLength { get; init; }

    /// <summary>Text generation: the tokens a job that gives no <c>max_tokens</c> generates at most (a worker's default).</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public int? MaxNewTokens { get; init; }

    /// <summary>Text generation: the largest <c>max_tokens</c> a job may ask for (the smaller of a worker's and the configured limit).</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public int? MaxCompletionTokens { get; init; }
}
