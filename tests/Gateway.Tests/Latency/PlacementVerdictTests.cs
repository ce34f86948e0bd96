using InferenceGateway.Gateway.Latency;

namespace InferenceGateway.Tests.Latency;

/// <summary>Placement verdicts from given percentiles (unit level: no I/O).</summary>
[TestFixture]
public sealed class PlacementVerdictTests
{
    private const int MinCount = 20;

    private static SeriesStats? Stats(string series, long count, double? p99) =>
        count == 0 ? null : new SeriesStats(series, count, p99 / 2, p99, p99);

    [TestCase(100.0, 50L, 40.0, 50L, 400.0, "edge", TestName = "Model_EdgeP99WithinBudget_IsEdge")]
    [TestCase(100.0, 50L, 150.0, 50L, 90.0, "queue", TestName = "Model_EdgeOverButQueueWithin_IsQueue")]
    [TestCase(100.0, 0L, null, 50L, 90.0, "queue", TestName = "Model_NotAtTheEdgeAndQueueWithin_IsQueue")]
    [TestCase(100.0, 50L, 150.0, 50L, 400.0, "over-budget", TestName = "Model_EdgeAndQueueOver_IsOverBudget")]
    [TestCase(100.0, 0L, null, 50L, 400.0, "over-budget", TestName = "Model_NotAtTheEdgeAndQueueOver_IsOverBudget")]
    [TestCase(100.0, 5L, 40.0, 50L, 90.0, "insufficient-data", TestName = "Model_TooFewEdgeSamples_IsInsufficientData")]
    [TestCase(100.0, 50L, 150.0, 19L, 90.0, "insufficient-data", TestName = "Model_EdgeOverAndTooFewQueueSamples_IsInsufficientData")]
    [TestCase(100.0, 0L, null, 0L, null, "insufficient-data", TestName = "Model_NoSamples_IsInsufficientData")]
    [TestCase(null, 50L, 40.0, 50L, 90.0, "no-budget", TestName = "Model_NoBudget_IsNoBudget")]
    [TestCase(100.0, 20L, 100.0, 0L, null, "edge", TestName = "Model_EdgeP99EqualToTheBudgetAtTheMinimumCount_IsEdge")]
    public void Model(double? budget, long edgeCount, double? edgeP99, long queueCount, double? queueP99, string expected)
    {
        var placement = PlacementVerdicts.ForModel(budget, Stats("edge:m", edgeCount, edgeP99), Stats("e2e:m", queueCount, queueP99), MinCount);

        Assert.That(placement.Verdict, Is.EqualTo(expected), placement.Evidence.Reason);
        Assert.That(placement.Evidence.EdgeP99Ms, Is.EqualTo(edgeCount == 0 ? null : edgeP99));
        Assert.That(placement.Evidence.QueueP99Ms, Is.EqualTo(queueCount == 0 ? null : queueP99));
        Assert.That(placement.Evidence.EdgeCount, Is.EqualTo(edgeCount));
        Assert.That(placement.Evidence.QueueCount, Is.EqualTo(queueCount));
        Assert.That(placement.Evidence.BudgetMs, Is.EqualTo(budget));
    }

    [TestCase(50.0, 100L, 12.5, "edge")]
    [TestCase(10.0, 100L, 12.5, "over-budget")]
    [TestCase(50.0, 19L, 12.5, "insufficient-data")]
    [TestCase(null, 100L, 12.5, "no-budget")]
    public void Route(double? budget, long count, double p99, string expected)
    {
        var placement = PlacementVerdicts.ForRoute(budget, Stats("route:POST /x", count, p99), MinCount);

        Assert.That(placement.Verdict, Is.EqualTo(expected));
        Assert.That(placement.Evidence.EdgeSeries, Is.EqualTo("route:POST /x"));
        Assert.That(placement.Evidence.EdgeP99Ms, Is.EqualTo(p99));
    }

    [TestCase(10L, 2, 1, 50.0, 900.0, 250L, TestName = "Estimate_WarmWorkers_SplitTheQueue")]
    [TestCase(10L, 2, 4, 50.0, 900.0, 63L, TestName = "Estimate_WorkerConcurrency_MultipliesTheSlots_RoundedUp")]
    [TestCase(10L, 0, 1, 50.0, 900.0, 1400L, TestName = "Estimate_NoWarmWorker_AddsAColdStart")]
    [TestCase(0L, 1, 1, null, null, 0L, TestName = "Estimate_EmptyQueueAndAWarmWorker_IsZeroWithoutData")]
    [TestCase(10L, 1, 1, null, 900.0, null, TestName = "Estimate_WithoutExecutionData_IsNull")]
    [TestCase(10L, 0, 1, 50.0, null, null, TestName = "Estimate_ColdWithoutColdStartData_IsNull")]
    [TestCase(null, 2, 1, 50.0, 900.0, null, TestName = "Estimate_UnknownDepth_IsNull")]
    public void Estimate(long? depth, int warm, int concurrency, double? executionP50, double? coldStartP50, long? expectedMs)
    {
        var createdAt = new DateTimeOffset(2026, 11, 28, 9, 0, 0, TimeSpan.Zero);

        var view = QueueEstimator.Estimate(new QueueState(depth, warm + 1, warm, executionP50, coldStartP50), createdAt, concurrency);

        Assert.That(view.EstimatedStartMs, Is.EqualTo(expectedMs));
        Assert.That(view.EstimatedStartAt, Is.EqualTo(expectedMs is { } ms ? createdAt.AddMilliseconds(ms) : null));
        Assert.That(view.Depth, Is.EqualTo(depth));
        Assert.That(view.WarmWorkers, Is.EqualTo(warm));
        Assert.That(view.Workers, Is.EqualTo(warm + 1));
    }
}
