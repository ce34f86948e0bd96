using InferenceGateway.Core.Latency;

namespace InferenceGateway.Tests.Latency;

/// <summary>The shared bucket layout and percentiles read from it, from known inputs.</summary>
[TestFixture]
public sealed class LatencyHistogramTests
{
    /// <summary>The upper bound of bucket <paramref name="index"/>, written out independently of the code under test.</summary>
    private static double Bound(int index) => 0.05 * Math.Pow(2, index / 4.0);

    [TestCase(0.0, 0)]
    [TestCase(0.049, 0)]
    [TestCase(0.05, 1, TestName = "IndexOf_AValueOnABound_FallsInTheBucketAboveIt")]
    [TestCase(0.06, 2)]
    [TestCase(1.0, 18)]
    [TestCase(51.2, 41)]
    [TestCase(100.0, 44)]
    [TestCase(600_000.0, 95)]
    [TestCase(1e9, 96)]
    [TestCase(-3.0, 0)]
    [TestCase(double.NaN, 0)]
    public void IndexOf_PutsAValueInTheBucketWhoseBoundsHoldIt(double milliseconds, int expected)
    {
        Assert.That(LatencyBuckets.IndexOf(milliseconds), Is.EqualTo(expected));
    }

    [Test]
    public void Buckets_GrowByTheFourthRootOfTwo_From50MicrosecondsToPast10Minutes()
    {
        Assert.That(LatencyBuckets.Count, Is.EqualTo(97));
        Assert.That(LatencyBuckets.UpperBound(0), Is.EqualTo(0.05));
        Assert.That(LatencyBuckets.UpperBound(40), Is.EqualTo(51.2).Within(1e-9));
        Assert.That(LatencyBuckets.LowerBound(0), Is.EqualTo(0));
        Assert.That(LatencyBuckets.LowerBound(LatencyBuckets.Overflow), Is.EqualTo(Bound(95)).Within(1e-6));
        Assert.That(LatencyBuckets.LowerBound(LatencyBuckets.Overflow), Is.GreaterThan(600_000), "10 minutes sit below the overflow bucket");
        for (var i = 1; i < LatencyBuckets.Overflow; i++)
        {
            Assert.That(LatencyBuckets.UpperBound(i) / LatencyBuckets.UpperBound(i - 1), Is.EqualTo(1.189207).Within(1e-6), $"bucket {i}");
            Assert.That(LatencyBuckets.LowerBound(i), Is.EqualTo(LatencyBuckets.UpperBound(i - 1)));
        }
    }

    [Test]
    public void Percentiles_ByNearestRank_ReportTheUpperBoundOfTheBucketHoldingThem()
    {
        var histogram = new LatencyHistogram();
        histogram.Add(1.0, 90);
        histogram.Add(100.0, 8);
        histogram.Add(10_000.0, 2);

        Assert.That(histogram.Count, Is.EqualTo(100));
        Assert.That(histogram.Percentile(0.50), Is.EqualTo(Bound(18)).Within(1e-9), "rank 50 is 1 ms: bucket [0.951, 1.131)");
        Assert.That(histogram.Percentile(0.90), Is.EqualTo(Bound(18)).Within(1e-9), "rank 90 is still 1 ms");
        Assert.That(histogram.Percentile(0.91), Is.EqualTo(102.4).Within(1e-9), "rank 91 is 100 ms: bucket [86.1, 102.4)");
        Assert.That(histogram.Percentile(0.95), Is.EqualTo(102.4).Within(1e-9));
        Assert.That(histogram.Percentile(0.99), Is.EqualTo(Bound(71)).Within(1e-6), "rank 99 is 10 s: bucket [9268, 11022)");
        Assert.That(histogram.Percentile(0), Is.EqualTo(Bound(18)).Within(1e-9), "rank 1");
    }

    [Test]
    public void Percentile_OfASingleValue_IsItsBucketForEveryQuantile()
    {
        var histogram = new LatencyHistogram();
        histogram.Add(0.3);

        Assert.That(new[] { 0.5, 0.95, 0.99 }.Select(q => histogram.Percentile(q)), Is.All.EqualTo(Bound(11)).Within(1e-9));
        Assert.That(0.3, Is.InRange(Bound(10), Bound(11)));
    }

    [Test]
    public void Percentile_OfNothing_IsNull_AndOfTheOverflowBucket_IsItsLowerBound()
    {
        var histogram = new LatencyHistogram();
        Assert.That(histogram.Percentile(0.5), Is.Null);

        histogram.Add(3_600_000);
        Assert.That(histogram.Percentile(0.99), Is.EqualTo(Bound(95)).Within(1e-6));
    }

    [Test]
    public void Merge_AddsCountsBucketByBucket()
    {
        var a = new LatencyHistogram();
        a.Add(1.0, 3);
        a.Add(100.0);
        var b = new LatencyHistogram();
        b.Add(1.0);
        b.Add(100.0, 5);

        a.Merge(b);

        Assert.That(a.Count, Is.EqualTo(10));
        Assert.That(a[18], Is.EqualTo(4));
        Assert.That(a[44], Is.EqualTo(6));
        Assert.That(a.Percentile(0.4), Is.EqualTo(Bound(18)).Within(1e-9));
        Assert.That(a.Percentile(0.5), Is.EqualTo(102.4).Within(1e-9));
    }
}
