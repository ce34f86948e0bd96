using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace InferenceGateway.Core.Latency;

/// <summary>
/// Records latencies into fleet-wide histograms. <see cref="Record(string, double)"/> is for the hot
/// path: it only increments a bucket count in memory (no allocation for a series seen before, no
/// I/O). <see cref="FlushAsync"/>, run every <see cref="LatencyOptions.FlushInterval"/> by the
/// <see cref="LatencyFlusher"/>, adds what accumulated to Redis with HINCRBY into the current
/// one-minute window (<see cref="LatencyKeys"/>), so every gateway instance and worker adds to the
/// same histograms. A flush that fails is logged and counted and its counts are kept for the next
/// one; memory stays bounded (one fixed array per series, at most <see cref="LatencyOptions.MaxSeries"/>).
/// Series names: see <see cref="LatencySeries"/> (for edge inference: <c>Record(LatencySeries.Edge(model), ms)</c>).
/// Samples are attributed to the window in which they are flushed (at most one flush interval late).
/// </summary>
public sealed class LatencyRecorder(IConnectionMultiplexer redis, IOptions<LatencyOptions> options, TimeProvider time, ILogger<LatencyRecorder> logger) : IDisposable
{
    private readonly LatencyOptions _options = options.Value;
    private readonly ConcurrentDictionary<string, long[]> _pending = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _flushGate = new(1, 1);
    private long _flushes;
    private long _flushFailures;
    private long _droppedSamples;
    private bool _failing;

    /// <summary>Flushes that reached Redis.</summary>
    public long Flushes => Interlocked.Read(ref _flushes);

    /// <summary>Flushes that failed (their counts were kept for the next one).</summary>
    public long FlushFailures => Interlocked.Read(ref _flushFailures);

    /// <summary>Samples refused: a new series past <see cref="LatencyOptions.MaxSeries"/>, a name too long, or not a finite, non-negative number.</summary>
    public long DroppedSamples => Interlocked.Read(ref _droppedSamples);

    /// <summary>Series this process has accumulated.</summary>
    public int SeriesCount => _pending.Count;

    /// <summary>Records one latency of <paramref name="milliseconds"/> in <paramref name="series"/>.</summary>
    public void Record(string series, double milliseconds)
    {
        if (!double.IsFinite(milliseconds) || milliseconds < 0 || CountsOf(series) is not { } counts)
        {
            Interlocked.Increment(ref _droppedSamples);
            return;
        }

        Interlocked.Increment(ref counts[LatencyBuckets.IndexOf(milliseconds)]);
    }

    public void Record(string series, TimeSpan elapsed) => Record(series, elapsed.TotalMilliseconds);

    /// <summary>
    /// Adds everything recorded since the last flush to Redis. Never throws for a Redis failure:
    /// returns false, counts it, and keeps the counts whose increments did not land.
    /// </summary>
    public async Task<bool> FlushAsync(CancellationToken cancellationToken = default)
    {
        await _flushGate.WaitAsync(cancellationToken);
        try
        {
            return await FlushCoreAsync();
        }
        finally
        {
            _flushGate.Release();
        }
    }

    public void Dispose() => _flushGate.Dispose();

    private long[]? CountsOf(string series)
    {
        if (_pending.TryGetValue(series, out var counts))
        {
            return counts;
        }

        if (series.Length is 0 or > LatencySeries.MaxLength || _pending.Count >= _options.MaxSeries)
        {
            return null;
        }

        return _pending.GetOrAdd(series, static _ => new long[LatencyBuckets.Count]);
    }

    private async Task<bool> FlushCoreAsync()
    {
        // Take the counts out bucket by bucket: a Record racing with this lands either in what is
        // taken now or in what stays for the next flush, never lost.
        var taken = new List<(string Series, long[] Counts, long[] Snapshot)>();
        foreach (var (series, counts) in _pending)
        {
            long[]? snapshot = null;
            for (var i = 0; i < counts.Length; i++)
            {
                if (Volatile.Read(ref counts[i]) != 0 && Interlocked.Exchange(ref counts[i], 0) is var count and not 0)
                {
                    (snapshot ??= new long[LatencyBuckets.Count])[i] = count;
                }
            }

            if (snapshot is not null)
            {
                taken.Add((series, counts, snapshot));
            }
        }

        if (taken.Count == 0)
        {
            return true;
        }

        var now = time.GetUtcNow();
        var window = LatencyKeys.WindowOf(now);
        var increments = new List<(long[] Snapshot, int Bucket, Task Write)>();
        var others = new List<Task>();
        try
        {
            var batch = redis.GetDatabase().CreateBatch();
            foreach (var (series, _, snapshot) in taken)
            {
                var key = LatencyKeys.Histogram(_options.KeyPrefix, series, window);
                for (var i = 0; i < snapshot.Length; i++)
                {
                    if (snapshot[i] != 0)
                    {
                        increments.Add((snapshot, i, batch.HashIncrementAsync(key, i, snapshot[i])));
                    }
                }

                others.Add(batch.KeyExpireAsync(key, _options.Retention + LatencyKeys.Window));
            }

            var index = LatencyKeys.Series(_options.KeyPrefix);
            var seen = now.ToUnixTimeMilliseconds();
            others.Add(batch.SortedSetAddAsync(index, [.. taken.Select(t => new SortedSetEntry(t.Series, seen))]));
            others.Add(batch.SortedSetRemoveRangeByScoreAsync(index, double.NegativeInfinity, seen - _options.Retention.TotalMilliseconds));
            others.Add(batch.KeyExpireAsync(index, _options.Retention + LatencyKeys.Window));
            batch.Execute();
            await Task.WhenAll(increments.Select(i => i.Write).Concat(others));
        }
        catch (Exception ex)
        {
            // Keep what did not land for the next flush: every count except the increments Redis
            // confirmed (WhenAll waits for all of them, so none is still in flight).
            var landed = increments.Where(i => i.Write.IsCompletedSuccessfully).Select(i => (i.Snapshot, i.Bucket));
            foreach (var (snapshot, bucket) in landed)
            {
                snapshot[bucket] = 0;
            }

            var kept = 0L;
            foreach (var (_, counts, snapshot) in taken)
            {
                for (var i = 0; i < snapshot.Length; i++)
                {
                    if (snapshot[i] != 0)
                    {
                        Interlocked.Add(ref counts[i], snapshot[i]);
                        kept += snapshot[i];
                    }
                }
            }

            Interlocked.Increment(ref _flushFailures);
            if (!_failing)
            {
                _failing = true;
                LatencyLog.FlushFailed(logger, ex, taken.Count, kept);
            }

            return false;
        }

        Interlocked.Increment(ref _flushes);
        if (_failing)
        {
            _failing = false;
            LatencyLog.FlushRecovered(logger, FlushFailures);
        }

        return true;
    }
}
