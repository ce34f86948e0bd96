using BenchmarkDotNet.Attributes;
using InferenceGateway.Inference;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace InferenceGateway.Bench;

/// <summary>
/// Dynamic batching, side by side on the same <see cref="Texts"/> one-sentence texts: (a) the bare
/// model on chunks of 1 to 64 texts (one ONNX Runtime call per chunk), which shows the best batch
/// size; (b) as many concurrent single-text callers through <see cref="EmbeddingBatcher"/> (window
/// 5 ms, at most 32 texts a batch), as jobs reach the worker; (c) the same callers each calling the
/// model directly, as the worker runs jobs without batching. Every mean is per text
/// (<c>OperationsPerInvoke</c>), so texts/s is 1 s over the mean.
/// </summary>
[MemoryDiagnoser]
public class BatchingBenchmarks
{
    public const int Texts = 256;

    private static readonly string[] Subjects =
    [
        "GPU workers", "The queue", "A cold start", "The rate limiter", "Each job", "The edge gateway",
        "Mean pooling", "The tokenizer",
    ];

    private static readonly string[] Predicates =
    [
        "scales to zero when nothing is waiting.",
        "loads the model before the first request arrives.",
        "protects the service from noisy neighbours.",
        "returns a result to the caller through the hub.",
        "is measured, not guessed.",
        "runs on ONNX Runtime with every core it can find.",
    ];

    private static readonly string[] Sentences =
        [.. Enumerable.Range(0, Texts).Select(i => $"{Subjects[i % Subjects.Length]} number {i} {Predicates[i % Predicates.Length]}")];

    private MiniLmEmbedder _model = null!;
    private EmbeddingBatcher _batcher = null!;

    [GlobalSetup]
    public void Setup()
    {
        // One ONNX Runtime call per chunk even for chunks of 64 (the default splits at 32).
        _model = MiniLmEmbedder.Load(new InferenceOptions { MaxBatchSize = 1024 });
        _batcher = new EmbeddingBatcher(
            Options.Create(new BatchingOptions { WindowMs = 5, MaxBatchTexts = 32 }),
            TimeProvider.System,
            NullLogger<EmbeddingBatcher>.Instance);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        var stats = _batcher.Statistics;
        if (stats.Batches > 0)
        {
            // Lands in the benchmark's log: how the callers were actually merged.
            Console.WriteLine($"// EmbeddingBatcher: {stats.Batches} batches, {stats.Requests} callers, {stats.Texts} texts, mean batch size {stats.MeanBatchSize:F1}");
        }

        _batcher.Dispose();
        _model.Dispose();
    }

    [Benchmark(OperationsPerInvoke = Texts, Description = "(a) bare model, batch 1")]
    public int Bare1() => EmbedInChunks(1);

    [Benchmark(OperationsPerInvoke = Texts, Description = "(a) bare model, batch 8")]
    public int Bare8() => EmbedInChunks(8);

    [Benchmark(OperationsPerInvoke = Texts, Description = "(a) bare model, batch 16")]
    public int Bare16() => EmbedInChunks(16);

    [Benchmark(OperationsPerInvoke = Texts, Baseline = true, Description = "(a) bare model, batch 32")]
    public int Bare32() => EmbedInChunks(32);

    [Benchmark(OperationsPerInvoke = Texts, Description = "(a) bare model, batch 64")]
    public int Bare64() => EmbedInChunks(64);

    [Benchmark(OperationsPerInvoke = Texts, Description = "(b) concurrent callers, EmbeddingBatcher")]
    public async Task<int> Batched()
    {
        var results = await Task.WhenAll(Sentences.Select(text => Task.Run(() => _batcher.EmbedAsync(_model, [text], CancellationToken.None))));
        return results.Length;
    }

    [Benchmark(OperationsPerInvoke = Texts, Description = "(c) concurrent callers, model.Embed each")]
    public async Task<int> Unbatched()
    {
        var results = await Task.WhenAll(Sentences.Select(text => Task.Run(() => _model.Embed([text]))));
        return results.Length;
    }

    private int EmbedInChunks(int size)
    {
        var total = 0;
        foreach (var chunk in Sentences.Chunk(size))
        {
            total += _model.Embed(chunk).Length;
        }

        return total;
    }
}
