using BenchmarkDotNet.Attributes;
using InferenceGateway.Inference;
using InferenceGateway.Inference.Hosting;
using InferenceGateway.Inference.Onnx;
using InferenceGateway.Inference.TextGeneration;
using InferenceGateway.Tools.TinyModels;

namespace InferenceGateway.Bench;

/// <summary>
/// Decoding speed of the tiny generated model (tiny-llm) on the CPU, greedy, a 16-token prompt and
/// <see cref="Tokens"/> new tokens per operation: with the KV cache (each step feeds one token and
/// the cached keys and values) against the baseline that recomputes the whole sequence every step,
/// in the same run. Times are per generated token (OperationsPerInvoke), so tokens/s = 1 s / mean.
/// </summary>
[MemoryDiagnoser]
public class TextGenerationBenchmarks
{
    private const int Tokens = 128;

    private string _directory = null!;
    private TextGenerator _generator = null!;
    private int[] _prompt = null!;

    [GlobalSetup]
    public void Setup()
    {
        _directory = Path.Combine(Path.GetTempPath(), $"tiny-llm-bench-{Guid.NewGuid():N}");
        TinyModelWriter.Write(_directory);
        _generator = TextGenerator.Load(
            TinyModelWriter.ModelName,
            new ModelOptions { Runtime = ModelRuntimes.TextGeneration, Source = _directory },
            new InferenceOptions { ModelCacheDirectory = string.Empty, IntraOpThreads = 1 },
            ExecutionProviderSelection.Cpu);
        _prompt = _generator.Tokenizer.Encode("Benchmarks measure tokens per second of the tiny model");
        _prompt = [.. Enumerable.Repeat(_prompt, 4).SelectMany(p => p).Take(16)];
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _generator.Dispose();
        Directory.Delete(_directory, recursive: true);
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = Tokens, Description = "no KV cache (whole sequence each step), per token")]
    public GenerationOutput Recompute() => _generator.Generate(_prompt, new GenerationSettings { MaxNewTokens = Tokens, UseKvCache = false });

    [Benchmark(OperationsPerInvoke = Tokens, Description = "KV cache, per token")]
    public GenerationOutput Cached() => _generator.Generate(_prompt, new GenerationSettings { MaxNewTokens = Tokens });
}
