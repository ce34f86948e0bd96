using System.Globalization;

namespace InferenceGateway.Gateway.Latency;

/// <summary>
/// Where a route or a model belongs given its latency budget, from recorded p99s.
/// <list type="bullet">
/// <item><c>edge</c>: its p99 served at the edge fits the budget (for a route: its own p99; for a
/// model: <c>edge:&lt;model&gt;</c>).</item>
/// <item><c>queue</c> (models): not at the edge (over budget there, or not served there), but its
/// queued end-to-end p99 (<c>e2e:&lt;model&gt;</c>) fits.</item>
/// <item><c>over-budget</c>: nothing measured fits (for a route: a candidate to move onto the queue).</item>
/// <item><c>insufficient-data</c>: a series the verdict needs has fewer than the minimum samples
/// (for a model's edge series: it has some, but too few to rule the edge in or out).</item>
/// <item><c>no-budget</c>: no budget is configured; percentiles only.</item>
/// </list>
/// </summary>
public static class PlacementVerdicts
{
    public const string Edge = "edge";
    public const string Queue = "queue";
    public const string OverBudget = "over-budget";
    public const string InsufficientData = "insufficient-data";
    public const string NoBudget = "no-budget";

    public static Placement ForRoute(double? budgetMs, SeriesStats? measured, int minCount)
    {
        var count = measured?.Count ?? 0;
        var p99 = measured?.P99Ms;
        string verdict, reason;
        if (budgetMs is not { } budget)
        {
            (verdict, reason) = (NoBudget, "No budget is configured for this route.");
        }
        else if (count < minCount || p99 is not { } value)
        {
            (verdict, reason) = (InsufficientData, Text($"{count} samples, fewer than the {minCount} a verdict needs."));
        }
        else if (value <= budget)
        {
            (verdict, reason) = (Edge, Text($"p99 {value} ms is within the {budget} ms budget."));
        }
        else
        {
            (verdict, reason) = (OverBudget, Text($"p99 {value} ms is over the {budget} ms budget: a candidate for the queue."));
        }

        return new Placement(verdict, new VerdictEvidence(reason, budgetMs, measured?.Series, p99, count, null, null, 0));
    }

    public static Placement ForModel(double? budgetMs, SeriesStats? edge, SeriesStats? endToEnd, int minCount)
    {
        var edgeCount = edge?.Count ?? 0;
        var queueCount = endToEnd?.Count ?? 0;
        var edgeP99 = edge?.P99Ms;
        var queueP99 = endToEnd?.P99Ms;
        string verdict, reason;
        if (budgetMs is not { } budget)
        {
            (verdict, reason) = (NoBudget, "No budget is configured for this model.");
        }
        else if (edgeCount >= minCount && edgeP99 <= budget)
        {
            (verdict, reason) = (Edge, Text($"Edge p99 {edgeP99} ms is within the {budget} ms budget."));
        }
        else if (edgeCount is > 0 && edgeCount < minCount)
        {
            (verdict, reason) = (InsufficientData, Text($"Edge has {edgeCount} samples, fewer than the {minCount} needed to rule it in or out."));
        }
        else
        {
            var edgeSays = edgeCount == 0 ? "not served at the edge" : Text($"edge p99 {edgeP99} ms is over the {budget} ms budget");
            if (queueCount < minCount || queueP99 is not { } queued)
            {
                (verdict, reason) = (InsufficientData, Text($"The queue has {queueCount} completed jobs, fewer than the {minCount} a verdict needs; {edgeSays}."));
            }
            else if (queued <= budget)
            {
                (verdict, reason) = (Queue, Text($"Queued end-to-end p99 {queued} ms is within the {budget} ms budget; {edgeSays}."));
            }
            else
            {
                (verdict, reason) = (OverBudget, Text($"Queued end-to-end p99 {queued} ms is over the {budget} ms budget; {edgeSays}."));
            }
        }

        return new Placement(verdict, new VerdictEvidence(reason, budgetMs, edge?.Series, edgeP99, edgeCount, endToEnd?.Series, queueP99, queueCount));
    }

    private static string Text(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
