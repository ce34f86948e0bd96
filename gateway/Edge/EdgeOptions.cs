using System.ComponentModel.DataAnnotations;
using InferenceGateway.Inference;
using InferenceGateway.Inference.Batching;
using InferenceGateway.Inference.Embeddings;
using InferenceGateway.Inference.Hosting;

namespace InferenceGateway.Gateway.Edge;

/// <summary>
/// Models the gateway serves in-process, synchronously (<c>POST /v1/embeddings</c>), with the same
/// inference library as the workers. Section <c>Edge</c>: <c>Edge:Enabled</c>, each model under
/// <c>Edge:Models:&lt;name&gt;</c> (the fields of <see cref="ModelOptions"/> plus those of
/// <see cref="EdgeModelOptions"/>), ONNX Runtime settings under <c>Edge:Inference</c>
/// (<see cref="InferenceOptions"/>; models are always provisioned: loaded at start, never unloaded)
/// and micro-batching of concurrent requests under <c>Edge:Batching</c> (<see cref="BatchingOptions"/>).
/// all-minilm-l6-v2 is served at the edge by default (90 MB of weights; the gateway's resident memory
/// measured 111 MB without it and 282 MB with it loaded); <c>Edge:Enabled=false</c> or
/// <c>Edge:Models:all-minilm-l6-v2:Enabled=false</c> turns it off.
/// </summary>
public sealed class EdgeOptions
{
    public const string Section = "Edge";

    public bool Enabled { get; set; } = true;

    /// <summary>The models, by name: what runs them, and the edge's budget for them.</summary>
    public Dictionary<string, EdgeModel> Models { get; } = new(StringComparer.Ordinal)
    {
        [MiniLmEmbedder.ModelName] = new EdgeModel(MiniLmEmbedder.ModelName, MiniLmEmbedder.DefaultModel, new EdgeModelOptions()),
    };

    public InferenceOptions Inference { get; set; } = new() { Provisioned = true, KeepWarmSeconds = 0 };

    /// <summary>
    /// Edge requests are small and want their answer now: no window. A request alone runs at once;
    /// requests that arrive while a batch runs share the next one (batching only under load).
    /// </summary>
    public BatchingOptions Batching { get; set; } = new() { WindowMs = 0, MaxBatchTexts = 32 };

    /// <summary>The enabled models, in name order; none when <see cref="Enabled"/> is false.</summary>
    public IEnumerable<EdgeModel> Served =>
        Enabled ? Models.Values.Where(m => m.Model.Enabled).OrderBy(m => m.Name, StringComparer.Ordinal) : [];
}

/// <summary>One edge model: what the shared library runs (<paramref name="Model"/>) and the edge's rules for it.</summary>
public sealed record EdgeModel(string Name, ModelOptions Model, EdgeModelOptions Edge);

/// <summary>
/// The edge's rules for one model. A request is served at the edge when its estimated run time,
/// <see cref="FixedMs"/> + <see cref="PerTokenMs"/> × its tokens (counted with the model's own
/// tokenizer, special tokens included), is within <see cref="LatencyBudgetMs"/>; otherwise
/// <see cref="OverBudget"/> decides. The defaults are the fit measured end to end over HTTP on the
/// 2-core development box under load (5.4 ms + 0.535 ms/token for requests up to 640 tokens; about
/// 190 tokens fit the default 100 ms): <c>dotnet run -c Release --project bench/LoadTest -- edge</c>
/// prints the fit for the machine it runs on.
/// </summary>
public sealed record EdgeModelOptions
{
    /// <summary>The longest a request may be expected to run at the edge, in milliseconds.</summary>
    [Range(1, 60_000)]
    public double LatencyBudgetMs { get; init; } = 100;

    /// <summary>Fixed cost of one request (tokenizing, one ONNX Runtime call, the answer), in milliseconds.</summary>
    [Range(0, 60_000)]
    public double FixedMs { get; init; } = 5;

    /// <summary>Cost of each token, in milliseconds.</summary>
    [Range(0, 1_000)]
    public double PerTokenMs { get; init; } = 0.5;

    /// <summary>What to do with a request over budget: <c>Queue</c> it as a job (202) or <c>Refuse</c> it (413).</summary>
    [EnumDataType(typeof(OverBudgetPolicy))]
    public OverBudgetPolicy OverBudget { get; init; } = OverBudgetPolicy.Queue;

    /// <summary>The estimated run time of a request of <paramref name="tokens"/> tokens, in milliseconds.</summary>
    public double EstimateMs(long tokens) => FixedMs + (PerTokenMs * tokens);
}

/// <summary>What becomes of an edge request over its latency budget.</summary>
public enum OverBudgetPolicy
{
    /// <summary>Enqueued as a normal job, answered 202 as <c>POST /v1/jobs</c> answers (the result stays in the job format).</summary>
    Queue,

    /// <summary>Answered 413 problem+json with the estimate, the budget, and a pointer to <c>POST /v1/jobs</c>.</summary>
    Refuse,
}
