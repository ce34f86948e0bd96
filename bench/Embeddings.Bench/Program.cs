using BenchmarkDotNet.Running;
using InferenceGateway.Bench;

BenchmarkSwitcher.FromAssembly(typeof(EmbeddingBenchmarks).Assembly).Run(args);
