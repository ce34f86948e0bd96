using InferenceGateway.Inference;
using InferenceGateway.Inference.Batching;
using InferenceGateway.Inference.Hosting;

namespace InferenceGateway.Gateway.Edge;

/// <summary>
/// How the gateway serves models in-process, synchronously (<c>POST /v1/embeddings</c>), with the same
/// inference library as the workers. Section <c>Edge</c>: <c>Edge:Enabled</c>, ONNX Runtime settings
/// under <c>Edge:Inference</c> (<see cref="InferenceOptions"/>; models are always provisioned: loaded
/// at start, never unloaded) and micro-batching of concurrent requests under <c>Edge:Batching</c>
/// (<see cref="BatchingOptions"/>). Which models run here, and the edge's budget for each, is the one
/// model catalog's: <c>Models:&lt;name&gt;:Placement</c> (<see cref="ModelPlacement"/>).
/// all-minilm-l6-v2 is placed at the edge by default (90 MB of weights; the gateway's resident memory
/// measured 111 MB without it and 282 MB with it loaded); <c>Edge:Enabled=false</c> or
/// <c>Models:all-minilm-l6-v2:Placement:Edge=false</c> turns it off.
/// </summary>
public sealed class EdgeOptions
{
    public const string Section = "Edge";

    public bool Enabled { get; set; } = true;

    public InferenceOptions Inference { get; set; } = new() { Provisioned = true, KeepWarmSeconds = 0 };

    /// <summary>
    /// Edge requests are small and want their answer now: no window. A request alone runs at once;
    /// requests that arrive while a batch runs share the next one (batching only under load).
    /// </summary>
    public BatchingOptions Batching { get; set; } = new() { WindowMs = 0, MaxBatchTexts = 32 };

    /// <summary>Settings of the retired <c>Edge:Models</c> section, found when binding: each is a startup error naming its new key.</summary>
    public List<string> RetiredSettings { get; } = [];

    /// <summary>The models of <paramref name="catalog"/> placed at the edge, in name order; none when <see cref="Enabled"/> is false.</summary>
    public IEnumerable<EdgeModel> Served(ModelCatalogOptions catalog) =>
        Enabled ? catalog.On(ModelRunsOn.Edge).Select(m => new EdgeModel(m.Key, m.Value)) : [];
}

/// <summary>One edge model: what the shared library runs (<paramref name="Model"/>) and, in its placement, the edge's budget for it.</summary>
public sealed record EdgeModel(string Name, ModelOptions Model)
{
    /// <summary>The edge's rules for it: its latency budget, the cost fit, what becomes of a request over budget.</summary>
    public ModelPlacement Edge => Model.Placement;
}
