using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace InferenceGateway.Core.Latency;

/// <summary>Reads the fleet's histograms back from Redis, merged over a span of one-minute windows.</summary>
public sealed class LatencyReader(IConnectionMultiplexer redis, IOptions<LatencyOptions> options)
{
    private readonly LatencyOptions _options = options.Value;

    /// <summary>Every series flushed since <paramref name="since"/>, in ordinal order.</summary>
    public async Task<IReadOnlyList<string>> ListSeriesAsync(DateTimeOffset since)
    {
        var members = await redis.GetDatabase().SortedSetRangeByScoreAsync(LatencyKeys.Series(_options.KeyPrefix), since.ToUnixTimeMilliseconds() - LatencyKeys.Window.TotalMilliseconds);
        return [.. members.Select(m => m.ToString()).Order(StringComparer.Ordinal)];
    }

    /// <summary>
    /// Each series' histogram over the windows from the one holding <paramref name="from"/> to the
    /// one holding <paramref name="to"/>, both included; a series with no data has an empty one.
    /// </summary>
    public async Task<IReadOnlyDictionary<string, LatencyHistogram>> ReadAsync(IEnumerable<string> series, DateTimeOffset from, DateTimeOffset to)
    {
        var windows = new List<DateTimeOffset>();
        for (var window = LatencyKeys.WindowOf(from); window <= to; window += LatencyKeys.Window)
        {
            windows.Add(window);
        }

        var batch = redis.GetDatabase().CreateBatch();
        var reads = series.Distinct(StringComparer.Ordinal)
            .Select(name => (Name: name, Windows: windows.Select(w => batch.HashGetAllAsync(LatencyKeys.Histogram(_options.KeyPrefix, name, w))).ToList()))
            .ToList();
        batch.Execute();

        var histograms = new Dictionary<string, LatencyHistogram>(StringComparer.Ordinal);
        foreach (var (name, windowReads) in reads)
        {
            var histogram = new LatencyHistogram();
            foreach (var entries in await Task.WhenAll(windowReads))
            {
                foreach (var entry in entries)
                {
                    if (int.TryParse(entry.Name.ToString(), out var bucket) && bucket is >= 0 and < LatencyBuckets.Count
                        && entry.Value.TryParse(out long count) && count > 0)
                    {
                        histogram.AddToBucket(bucket, count);
                    }
                }
            }

            histograms[name] = histogram;
        }

        return histograms;
    }
}
