using BenchmarkDotNet.Attributes;
using InferenceGateway.Core.Latency;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace InferenceGateway.Bench;

/// <summary>
/// What the latency audit costs a request: <see cref="LatencyRecorder.Record(string, double)"/> on
/// a series seen before (the hot path: a dictionary lookup, a bucket search, an interlocked
/// increment), against a bare interlocked increment as the floor; and a p99 read from a histogram.
/// No Redis: the hot path never touches it (the recorder's connection is never used here).
/// </summary>
[MemoryDiagnoser]
public class LatencyRecorderBenchmarks
{
    private readonly LatencyRecorder _recorder = new(null!, Options.Create(new LatencyOptions()), TimeProvider.System, NullLogger<LatencyRecorder>.Instance);
    private readonly LatencyHistogram _histogram = new();
    private long _counter;

    [GlobalSetup]
    public void SetUp()
    {
        _recorder.Record("route:POST /v1/jobs", 1.0);
        for (var i = 1; i <= 10_000; i++)
        {
            _histogram.Add(i / 10.0);
        }
    }

    [Benchmark(Baseline = true)]
    public long InterlockedIncrement() => Interlocked.Increment(ref _counter);

    [Benchmark]
    public void Record() => _recorder.Record("route:POST /v1/jobs", 3.7);

    [Benchmark]
    public double? P99() => _histogram.Percentile(0.99);
}
