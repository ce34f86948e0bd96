namespace InferenceGateway.Core.Latency;

/// <summary>
/// Counts of latencies per <see cref="LatencyBuckets"/> bucket, and percentiles read from them.
/// Not thread-safe: the <see cref="LatencyRecorder"/> accumulates concurrently on its own; this is
/// what is read back and merged.
/// </summary>
public sealed class LatencyHistogram
{
    private readonly long[] _counts = new long[LatencyBuckets.Count];

    /// <summary>Values recorded.</summary>
    public long Count { get; private set; }

    /// <summary>The count in bucket <paramref name="index"/>.</summary>
    public long this[int index] => _counts[index];

    public void Add(double milliseconds, long times = 1) => AddToBucket(LatencyBuckets.IndexOf(milliseconds), times);

    public void AddToBucket(int index, long times)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(times);
        _counts[index] += times;
        Count += times;
    }

    public void Merge(LatencyHistogram other)
    {
        for (var i = 0; i < _counts.Length; i++)
        {
            _counts[i] += other._counts[i];
        }

        Count += other.Count;
    }

    /// <summary>
    /// The <paramref name="quantile"/> (0 to 1) by nearest rank, reported as the upper bound of the
    /// bucket that holds it: a bound the true value does not exceed, at most 19 % above it (the
    /// overflow bucket reports its lower bound). Null when nothing was recorded.
    /// </summary>
    public double? Percentile(double quantile)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(quantile, 0);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(quantile, 1);
        if (Count == 0)
        {
            return null;
        }

        // Nearest rank: the smallest value with at least quantile · Count values at or below it.
        // The epsilon keeps 0.99 · 100 from rounding up to rank 100.
        var rank = Math.Max(1, (long)Math.Ceiling((quantile * Count) - 1e-9));
        long seen = 0;
        for (var i = 0; i < _counts.Length; i++)
        {
            seen += _counts[i];
            if (seen >= rank)
            {
                return LatencyBuckets.UpperBound(i);
            }
        }

        return LatencyBuckets.UpperBound(LatencyBuckets.Overflow);
    }
}
