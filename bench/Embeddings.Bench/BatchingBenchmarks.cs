using BenchmarkDotNet.Attributes;
using InferenceGateway.Inference;
using InferenceGateway.Inference.Batching;
using InferenceGateway.Inference.Embeddings;
using InferenceGateway.Inference.Onnx;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace InferenceGateway.Bench;

/// <summary>
/// Dynamic batching, side by side on the same <see cref="Texts"/> one-sentence texts: (a) the bare
/// model on chunks of 1 to 64 texts, one ONNX Runtime call at a time with every core as its
/// intra-op threads (<c>Inference:ConcurrentRuns</c> 1), which shows the best batch size; (a2) the
/// same chunks of 32 as two calls at once of one intra-op thread each (the worker's default on
/// two cores); (b) as many concurrent single-text callers through <see cref="EmbeddingBatcher"/>
/// as jobs reach the worker, with its defaults (a 2 ms window, at most 32 texts a batch, as many
/// batches at once as the model's <see cref="ModelThreading.ConcurrentRuns"/>); (b1) the same
/// through the batcher, one batch at a time on every core; (b2) the same with no window
/// (the edge's setting); (c) the same callers with batching off (each caller's text alone, on the
/// same run threads). Every mean is per text (<c>OperationsPerInvoke</c>), so texts/s is 1 s over
/// the mean.
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
    private MiniLmEmbedder _oneRun = null!;
    private EmbeddingBatcher _batcher = null!;
    private EmbeddingBatcher _oneRunBatcher = null!;
    private EmbeddingBatcher _noWindow = null!;
    private EmbeddingBatcher _unbatched = null!;

    [GlobalSetup]
    public void Setup()
    {
        // One ONNX Runtime call per chunk even for chunks of 64 (the default splits at 32).
        _model = MiniLmEmbedder.Load(new InferenceOptions { MaxBatchSize = 1024 });
        _oneRun = MiniLmEmbedder.Load(new InferenceOptions { MaxBatchSize = 1024, ConcurrentRuns = 1 });
        _batcher = Batcher(new BatchingOptions());
        _oneRunBatcher = Batcher(new BatchingOptions());
        _noWindow = Batcher(new BatchingOptions { WindowMs = 0 });
        _unbatched = Batcher(new BatchingOptions { Enabled = false });
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        foreach (var (name, batcher) in new[] { ("(b)", _batcher), ("(b1)", _oneRunBatcher), ("(b2)", _noWindow), ("(c)", _unbatched) })
        {
            var stats = batcher.Statistics;
            if (stats.Batches > 0)
            {
                // Lands in the benchmark's log: how the callers were actually merged.
                Console.WriteLine($"// EmbeddingBatcher {name}: {stats.Batches} batches, {stats.Requests} callers, {stats.Texts} texts, mean batch size {stats.MeanBatchSize:F1}");
            }

            batcher.Dispose();
        }

        _model.Dispose();
        _oneRun.Dispose();
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

    [Benchmark(OperationsPerInvoke = Texts, Description = "(a2) bare model, batch 32, two calls at once of one thread each")]
    public int BareTwoRuns32()
    {
        var chunks = Sentences.Chunk(32).ToArray();
        var next = -1;
        var total = 0;
        var threads = Enumerable.Range(0, 2).Select(_ => new Thread(() =>
        {
            int chunk;
            while ((chunk = Interlocked.Increment(ref next)) < chunks.Length)
            {
                Interlocked.Add(ref total, _model.Embed(chunks[chunk]).Length);
            }
        })).ToArray();
        foreach (var thread in threads)
        {
            thread.Start();
        }

        foreach (var thread in threads)
        {
            thread.Join();
        }

        return total;
    }

    [Benchmark(OperationsPerInvoke = Texts, Description = "(b) concurrent callers, EmbeddingBatcher (defaults)")]
    public Task<int> Batched() => CallersAsync(_batcher, _model);

    [Benchmark(OperationsPerInvoke = Texts, Description = "(b1) concurrent callers, EmbeddingBatcher (one batch at a time on every core)")]
    public Task<int> BatchedOneRun() => CallersAsync(_oneRunBatcher, _oneRun);

    [Benchmark(OperationsPerInvoke = Texts, Description = "(b2) concurrent callers, EmbeddingBatcher (no window)")]
    public Task<int> BatchedNoWindow() => CallersAsync(_noWindow, _model);

    [Benchmark(OperationsPerInvoke = Texts, Description = "(c) concurrent callers, batching off")]
    public Task<int> Unbatched() => CallersAsync(_unbatched, _model);

    private static EmbeddingBatcher Batcher(BatchingOptions options) =>
        new(Options.Create(options), TimeProvider.System, NullLogger<EmbeddingBatcher>.Instance);

    private static async Task<int> CallersAsync(EmbeddingBatcher batcher, MiniLmEmbedder model)
    {
        var results = await Task.WhenAll(Sentences.Select(text => Task.Run(() => batcher.EmbedAsync(model, [text], CancellationToken.None))));
        return results.Length;
    }

    private int EmbedInChunks(int size)
    {
        var total = 0;
        foreach (var chunk in Sentences.Chunk(size))
        {
            total += _oneRun.Embed(chunk).Length;
        }

        return total;
    }
}
