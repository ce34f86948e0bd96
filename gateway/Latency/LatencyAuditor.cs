using System.Text.Json;
using System.Text.RegularExpressions;
using InferenceGateway.Core.Latency;
using Microsoft.Extensions.Options;
using StackExchange.Redis;
using Yarp.ReverseProxy;

namespace InferenceGateway.Gateway.Latency;

/// <summary>
/// Builds the latency audit: flushes this instance's samples, reads the fleet's histograms for the
/// window, groups series into routes and models, places each against its budget
/// (<see cref="PlacementVerdicts"/>), compares with the previous report stored in Redis and stores
/// this one in its place. Redis failures propagate (the endpoint answers 503).
/// </summary>
public sealed partial class LatencyAuditor(
    LatencyRecorder recorder,
    LatencyReader reader,
    IConnectionMultiplexer redis,
    IOptionsMonitor<LatencyAuditOptions> options,
    IOptions<LatencyOptions> latencyOptions,
    TimeProvider time,
    IServiceProvider services)
{
    /// <summary>How long the last report is kept to compare the next one with.</summary>
    public static readonly TimeSpan SnapshotRetention = TimeSpan.FromDays(7);

    private static readonly HashSet<string> RouteKinds = new(StringComparer.Ordinal) { LatencySeries.RouteKind, LatencySeries.TtfbKind };

    private static readonly HashSet<string> ModelKinds = new(StringComparer.Ordinal)
    {
        LatencySeries.QueueKind, LatencySeries.ColdStartKind, LatencySeries.ExecutionKind, LatencySeries.EndToEndKind, LatencySeries.EdgeKind,
    };

    /// <summary>The longest window a report may cover: the histograms' retention.</summary>
    public int MaxMinutes => (int)latencyOptions.Value.Retention.TotalMinutes;

    public async Task<LatencyAuditReport> ReportAsync(int? minutes, CancellationToken cancellationToken)
    {
        await recorder.FlushAsync(cancellationToken);
        var settings = options.CurrentValue;
        var span = TimeSpan.FromMinutes(Math.Clamp(minutes ?? (int)Math.Ceiling(settings.ReportWindow.TotalMinutes), 1, MaxMinutes));
        var to = time.GetUtcNow();
        // Whole windows: the one holding `to` and those before it, `span` in all.
        var from = LatencyKeys.WindowOf(to) - span + LatencyKeys.Window;
        var names = await reader.ListSeriesAsync(from);
        var histograms = await reader.ReadAsync(names, from, to);

        var routes = new SortedDictionary<string, Dictionary<string, SeriesStats>>(StringComparer.Ordinal);
        var models = new SortedDictionary<string, Dictionary<string, SeriesStats>>(StringComparer.Ordinal);
        var other = new List<SeriesStats>();
        foreach (var (name, histogram) in histograms.OrderBy(h => h.Key, StringComparer.Ordinal))
        {
            if (histogram.Count == 0)
            {
                continue;
            }

            var stats = Stats(name, histogram);
            if (LatencySeries.TryParse(name, out var kind, out var subject) && (RouteKinds.Contains(kind) || ModelKinds.Contains(kind)))
            {
                var group = RouteKinds.Contains(kind) ? routes : models;
                if (!group.TryGetValue(subject, out var series))
                {
                    group[subject] = series = new Dictionary<string, SeriesStats>(StringComparer.Ordinal);
                }

                series[kind] = stats;
            }
            else
            {
                other.Add(stats);
            }
        }

        var budgets = new Dictionary<string, double>(settings.Budgets, StringComparer.OrdinalIgnoreCase);
        foreach (var subject in budgets.Keys)
        {
            // A budgeted subject with no samples is still reported (insufficient-data).
            var group = RouteName().IsMatch(subject) ? routes : models;
            if (!group.Keys.Any(k => string.Equals(k, subject, StringComparison.OrdinalIgnoreCase)))
            {
                group[subject] = new Dictionary<string, SeriesStats>(StringComparer.Ordinal);
            }
        }

        var db = redis.GetDatabase();
        var snapshotKey = LatencyKeys.LastReport(latencyOptions.Value.KeyPrefix);
        var previous = Parse(await db.StringGetAsync(snapshotKey));
        var previousRoutes = previous?.Routes.ToDictionary(s => s.Name, StringComparer.Ordinal);
        var previousModels = previous?.Models.ToDictionary(s => s.Name, StringComparer.Ordinal);

        var proxy = services.GetService<IProxyStateLookup>();
        var routeAudits = routes.Select(r =>
        {
            var measured = r.Value.GetValueOrDefault(LatencySeries.RouteKind) ?? r.Value.GetValueOrDefault(LatencySeries.TtfbKind);
            double? budget = null;
            string? source = null;
            if (budgets.TryGetValue(r.Key, out var configured))
            {
                (budget, source) = (configured, RouteBudgets.FromConfig);
            }
            else if (RouteBudgets.FromProxy(proxy, r.Key) is { } routeBudget)
            {
                (budget, source) = (routeBudget, RouteBudgets.FromProxyRoute);
            }

            return Audit(r.Key, budget, source, r.Value, PlacementVerdicts.ForRoute(budget, measured, settings.MinCount), previousRoutes);
        }).ToList();
        // A model with no configured budget is held to the budget it is served under at the edge, if it is.
        var edgeModels = services.GetService<InferenceGateway.Gateway.Edge.EdgeModels>()?.Models
            .ToDictionary(e => e.Name, e => e.Edge.LatencyBudgetMs, StringComparer.Ordinal) ?? [];
        var modelAudits = models.Select(m =>
        {
            double? budget = null;
            string? source = null;
            if (budgets.TryGetValue(m.Key, out var configured))
            {
                (budget, source) = (configured, RouteBudgets.FromConfig);
            }
            else if (edgeModels.TryGetValue(m.Key, out var edgeBudget))
            {
                (budget, source) = (edgeBudget, RouteBudgets.FromEdgeModel);
            }

            var placement = PlacementVerdicts.ForModel(budget, m.Value.GetValueOrDefault(LatencySeries.EdgeKind), m.Value.GetValueOrDefault(LatencySeries.EndToEndKind), settings.MinCount);
            return Audit(m.Key, budget, source, m.Value, placement, previousModels);
        }).ToList();

        var report = new LatencyAuditReport(
            to,
            new AuditWindow(from, to, (int)span.TotalMinutes),
            settings.MinCount,
            previous?.GeneratedAt,
            routeAudits,
            modelAudits,
            other,
            new RecorderStatus(recorder.Flushes, recorder.FlushFailures, recorder.DroppedSamples, recorder.SeriesCount));
        await db.StringSetAsync(snapshotKey, JsonSerializer.Serialize(report, LatencyJsonContext.Default.LatencyAuditReport), SnapshotRetention);
        return report;
    }

    private static SubjectAudit Audit(string name, double? budget, string? budgetSource, Dictionary<string, SeriesStats> series, Placement placement, Dictionary<string, SubjectAudit>? previous)
    {
        SubjectChanges? changes = null;
        if (previous is not null)
        {
            var before = previous.GetValueOrDefault(name);
            var deltas = series.ToDictionary(
                s => s.Key,
                s => Delta(s.Value, before?.Series.GetValueOrDefault(s.Key)),
                StringComparer.Ordinal);
            foreach (var (kind, gone) in before?.Series ?? new Dictionary<string, SeriesStats>())
            {
                // A series that had samples then and has none now.
                deltas.TryAdd(kind, new SeriesDelta(-gone.Count, null, null, null));
            }

            changes = new SubjectChanges(before?.Verdict, before?.Verdict != placement.Verdict, deltas);
        }

        return new SubjectAudit(name, budget, budgetSource, series, placement.Verdict, placement.Evidence, changes);
    }

    private static SeriesDelta Delta(SeriesStats now, SeriesStats? then) =>
        new(now.Count - (then?.Count ?? 0), Minus(now.P50Ms, then?.P50Ms), Minus(now.P95Ms, then?.P95Ms), Minus(now.P99Ms, then?.P99Ms));

    private static double? Minus(double? a, double? b) => a is { } x && b is { } y ? Math.Round(x - y, 3) : null;

    private static SeriesStats Stats(string name, LatencyHistogram histogram) =>
        new(name, histogram.Count, Round(histogram.Percentile(0.50)), Round(histogram.Percentile(0.95)), Round(histogram.Percentile(0.99)));

    private static double? Round(double? value) => value is { } v ? Math.Round(v, 3) : null;

    private static LatencyAuditReport? Parse(RedisValue stored)
    {
        if (stored.IsNullOrEmpty)
        {
            return null;
        }

        try
        {
            return JsonSerializer.Deserialize(stored.ToString(), LatencyJsonContext.Default.LatencyAuditReport);
        }
        catch (JsonException)
        {
            // A snapshot of another shape (an older version): compare with nothing.
            return null;
        }
    }

    /// <summary>Budget keys that name a route (<c>POST /v1/jobs</c>) rather than a model.</summary>
    [GeneratedRegex("^[A-Za-z]+ /")]
    private static partial Regex RouteName();
}
