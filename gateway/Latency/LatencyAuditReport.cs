using System.Text.Json.Serialization;

namespace InferenceGateway.Gateway.Latency;

/// <summary>
/// <c>GET /admin/latency-audit</c>: per route and per model, recorded percentiles over the window,
/// a placement verdict with its evidence, and what changed since the previous report.
/// <c>Other</c> lists series of kinds the audit does not place; <c>Recorder</c> is this instance's own flush health.
/// </summary>
public sealed record LatencyAuditReport(
    DateTimeOffset GeneratedAt,
    AuditWindow Window,
    int MinCount,
    DateTimeOffset? PreviousReportAt,
    IReadOnlyList<SubjectAudit> Routes,
    IReadOnlyList<SubjectAudit> Models,
    IReadOnlyList<SeriesStats> Other,
    RecorderStatus Recorder);

/// <summary>The span the percentiles cover: whole one-minute windows from the one holding <c>From</c> to the one holding <c>To</c>.</summary>
public sealed record AuditWindow(DateTimeOffset From, DateTimeOffset To, int Minutes);

/// <summary>
/// A route (<c>POST /v1/jobs</c>) or a model, its series by kind (a route: <c>route</c>, <c>ttfb</c>;
/// a model: <c>queue</c>, <c>coldStart</c>, <c>execution</c>, <c>e2e</c>, <c>edge</c>), its budget,
/// verdict and evidence. <c>BudgetSource</c>: <c>config</c> (<c>LatencyAudit:Budgets</c>) or, for a
/// proxied route, <c>proxy-route</c> (its <c>LatencyBudgetMs</c> metadata). <c>Changes</c> is null
/// when there is no previous report.
/// </summary>
public sealed record SubjectAudit(
    string Name,
    double? BudgetMs,
    string? BudgetSource,
    IReadOnlyDictionary<string, SeriesStats> Series,
    string Verdict,
    VerdictEvidence Evidence,
    SubjectChanges? Changes);

/// <summary>One series' samples in the window and its percentiles (bucket upper bounds, see <see cref="Core.Latency.LatencyHistogram.Percentile"/>).</summary>
public sealed record SeriesStats(string Series, long Count, double? P50Ms, double? P95Ms, double? P99Ms);

/// <summary>A verdict and what it rests on.</summary>
public sealed record Placement(string Verdict, VerdictEvidence Evidence);

/// <summary>
/// The reason in words, the budget, and the p99s compared with it: the edge's (for a route, the
/// route's own) and the queue's (a model's end-to-end), each with its series and sample count.
/// </summary>
public sealed record VerdictEvidence(
    string Reason,
    double? BudgetMs,
    string? EdgeSeries,
    double? EdgeP99Ms,
    long EdgeCount,
    string? QueueSeries,
    double? QueueP99Ms,
    long QueueCount);

/// <summary>Since the previous report: its verdict, whether it changed (a subject new since then counts as changed), and per series kind the deltas.</summary>
public sealed record SubjectChanges(string? PreviousVerdict, bool VerdictChanged, IReadOnlyDictionary<string, SeriesDelta> Series);

/// <summary>This report minus the previous one; a percentile delta is null when either side has none.</summary>
public sealed record SeriesDelta(long CountDelta, double? P50DeltaMs, double? P95DeltaMs, double? P99DeltaMs);

/// <summary>This gateway instance's recorder: flushes that landed and failed, samples dropped, series held.</summary>
public sealed record RecorderStatus(long Flushes, long FlushFailures, long DroppedSamples, int Series);

/// <summary>Source-generated JSON for the audit report (answer and stored snapshot).</summary>
[JsonSourceGenerationOptions(System.Text.Json.JsonSerializerDefaults.Web)]
[JsonSerializable(typeof(LatencyAuditReport))]
public sealed partial class LatencyJsonContext : JsonSerializerContext;
