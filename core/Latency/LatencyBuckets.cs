namespace InferenceGateway.Core.Latency;

/// <summary>
/// The fixed, log-scale buckets every latency histogram shares, so histograms from any process
/// merge by adding counts. Bucket 0 holds [0, 0.05 ms); bucket <c>i</c> (1 to 95) holds
/// [<see cref="UpperBound"/>(i - 1), <see cref="UpperBound"/>(i)), each 2^(1/4) ≈ 1.19 times the
/// one before; bucket 96 holds everything from 0.05 · 2^(95/4) ≈ 705 s (11.8 min) up. A value
/// reported from a bucket is therefore within 19 % above the true one.
/// </summary>
public static class LatencyBuckets
{
    /// <summary>The upper bound of bucket 0, in milliseconds.</summary>
    public const double Smallest = 0.05;

    /// <summary>Buckets per doubling.</summary>
    public const int PerDoubling = 4;

    /// <summary>How many buckets there are, the overflow bucket included.</summary>
    public const int Count = 97;

    /// <summary>The overflow bucket's index.</summary>
    public const int Overflow = Count - 1;

    /// <summary>Each bucket's width relative to the one before.</summary>
    public static readonly double Growth = Math.Pow(2, 1.0 / PerDoubling);

    private static readonly double[] UpperBounds = [.. Enumerable.Range(0, Overflow).Select(i => Smallest * Math.Pow(2, (double)i / PerDoubling))];

    /// <summary>The bucket <paramref name="milliseconds"/> falls in (negative values count as 0).</summary>
    public static int IndexOf(double milliseconds)
    {
        if (!(milliseconds >= 0))
        {
            return 0;
        }

        // The first bound above the value: the bounds array decides, so values on a bound are exact.
        var found = Array.BinarySearch(UpperBounds, milliseconds);
        return found >= 0 ? found + 1 : ~found;
    }

    /// <summary>The exclusive upper bound of bucket <paramref name="index"/>; for the overflow bucket, its lower bound.</summary>
    public static double UpperBound(int index)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(index, Overflow);
        return UpperBounds[Math.Min(index, Overflow - 1)];
    }

    /// <summary>The inclusive lower bound of bucket <paramref name="index"/> (0 for bucket 0).</summary>
    public static double LowerBound(int index)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(index, Overflow);
        return index == 0 ? 0 : UpperBounds[index - 1];
    }
}
