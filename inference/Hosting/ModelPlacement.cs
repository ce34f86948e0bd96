using System.ComponentModel.DataAnnotations;

namespace InferenceGateway.Inference.Hosting;

/// <summary>
/// Where one model runs: section <c>Models:&lt;name&gt;:Placement</c>. On workers (<see cref="Worker"/>:
/// gateways accept jobs for it even before a worker has registered it), in-process on gateways
/// (<see cref="Edge"/>: <c>POST /v1/embeddings</c>), or both, with the edge's budget for it.
/// A request is served at the edge when its estimated run time, <see cref="FixedMs"/> +
/// <see cref="PerTokenMs"/> × its tokens (counted with the model's own tokenizer, special tokens
/// included), is within <see cref="LatencyBudgetMs"/>; otherwise <see cref="OverBudget"/> decides.
/// The defaults are the fit measured end to end over HTTP on the 2-core development box under load
/// (5.4 ms + 0.535 ms/token for requests up to 640 tokens; about 190 tokens fit the default 100 ms):
/// <c>dotnet run -c Release --project bench/LoadTest -- edge</c> prints the fit for the machine it runs on.
/// </summary>
public sealed record ModelPlacement
{
    /// <summary>Workers serve it: jobs for it are queued (<c>POST /v1/jobs</c>).</summary>
    public bool Worker { get; init; } = true;

    /// <summary>Gateways serve it in-process (<c>POST /v1/embeddings</c>; sentence-embedding models only).</summary>
    public bool Edge { get; init; }

    /// <summary>Edge: the longest a request may be expected to run at the edge, in milliseconds.</summary>
    [Range(1, 60_000)]
    public double LatencyBudgetMs { get; init; } = 100;

    /// <summary>Edge: fixed cost of one request (tokenizing, one ONNX Runtime call, the answer), in milliseconds.</summary>
    [Range(0, 60_000)]
    public double FixedMs { get; init; } = 5;

    /// <summary>Edge: cost of each token, in milliseconds.</summary>
    [Range(0, 1_000)]
    public double PerTokenMs { get; init; } = 0.5;

    /// <summary>Edge: what to do with a request over budget: <c>Queue</c> it as a job (202) or <c>Refuse</c> it (413).</summary>
    [EnumDataType(typeof(OverBudgetPolicy))]
    public OverBudgetPolicy OverBudget { get; init; } = OverBudgetPolicy.Queue;

    /// <summary>Whether the model runs on <paramref name="where"/>.</summary>
    public bool On(ModelRunsOn where) => where == ModelRunsOn.Worker ? Worker : Edge;

    /// <summary>The estimated run time at the edge of a request of <paramref name="tokens"/> tokens, in milliseconds.</summary>
    public double EstimateMs(long tokens) => FixedMs + (PerTokenMs * tokens);
}

/// <summary>The two places a model runs.</summary>
public enum ModelRunsOn
{
    /// <summary>Workers, taking jobs from the queue.</summary>
    Worker,

    /// <summary>Gateways, in-process and synchronously.</summary>
    Edge,
}

/// <summary>What becomes of an edge request over its latency budget.</summary>
public enum OverBudgetPolicy
{
    /// <summary>Enqueued as a normal job, answered 202 as <c>POST /v1/jobs</c> answers (the result stays in the job format).</summary>
    Queue,

    /// <summary>Answered 413 problem+json with the estimate, the budget, and a pointer to <c>POST /v1/jobs</c>.</summary>
    Refuse,
}
