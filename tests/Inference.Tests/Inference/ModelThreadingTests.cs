using System.ComponentModel.DataAnnotations;
using System.Diagnostics;
using InferenceGateway.Inference;
using InferenceGateway.Inference.Embeddings;
using InferenceGateway.Inference.Hosting;
using InferenceGateway.Inference.Onnx;
using Microsoft.ML.OnnxRuntime;

namespace InferenceGateway.Tests.Inference;

/// <summary>
/// How a model's runs and intra-op threads are chosen from <c>Inference:ConcurrentRuns</c> and
/// <c>Inference:IntraOpThreads</c> (0: auto), and that the threads ONNX Runtime starts for a
/// session are named as the model's (<c>onnx-</c>).
/// </summary>
[TestFixture]
public sealed class ModelThreadingTests
{
    private static readonly ModelOptions Embedding = MiniLmEmbedder.DefaultModel;
    private static readonly ModelOptions Generation = new() { Runtime = ModelRuntimes.TextGeneration, Source = "unused" };

    [TestCase(1, 1, 1)]
    [TestCase(2, 2, 1)]
    [TestCase(16, 16, 1)]
    public void For_AutoOnTheCpu_OneSingleThreadedRunPerProcessor(int processors, int runs, int intraOp)
    {
        Assert.That(ModelThreading.For(Embedding, new InferenceOptions(), ExecutionProviderKind.Cpu, processors), Is.EqualTo(new ModelThreading(runs, intraOp)));
    }

    [TestCase(2, 2, 1, 2)]
    [TestCase(16, 4, 4, 4)]
    [TestCase(3, 2, 1, 2)]
    [TestCase(2, 4, 1, 4)]
    public void For_IntraOpThreadsSet_RunsFillTheProcessors(int processors, int intraOpSet, int runs, int intraOp)
    {
        var options = new InferenceOptions { IntraOpThreads = intraOpSet };
        Assert.That(ModelThreading.For(Embedding, options, ExecutionProviderKind.Cpu, processors), Is.EqualTo(new ModelThreading(runs, intraOp)));
    }

    [TestCase(2, 1, 1, 2)]
    [TestCase(16, 4, 4, 4)]
    [TestCase(2, 4, 4, 1)]
    public void For_ConcurrentRunsSet_IntraOpThreadsShareTheProcessors(int processors, int runsSet, int runs, int intraOp)
    {
        var options = new InferenceOptions { ConcurrentRuns = runsSet };
        Assert.That(ModelThreading.For(Embedding, options, ExecutionProviderKind.Cpu, processors), Is.EqualTo(new ModelThreading(runs, intraOp)));
    }

    [Test]
    public void For_BothSet_TakesBothAsTheyAre()
    {
        var options = new InferenceOptions { ConcurrentRuns = 3, IntraOpThreads = 5 };
        Assert.That(ModelThreading.For(Embedding, options, ExecutionProviderKind.Cpu, 2), Is.EqualTo(new ModelThreading(3, 5)));
    }

    [Test]
    public void For_AutoOnCuda_OneRunWithEveryProcessor()
    {
        Assert.That(ModelThreading.For(Embedding, new InferenceOptions(), ExecutionProviderKind.Cuda, 8), Is.EqualTo(new ModelThreading(1, 8)));
        Assert.That(ModelThreading.For(Embedding, new InferenceOptions { ConcurrentRuns = 2 }, ExecutionProviderKind.Cuda, 8), Is.EqualTo(new ModelThreading(2, 4)));
    }

    [Test]
    public void For_TextGeneration_OneRunAJobWithEveryProcessorUnlessSet()
    {
        Assert.That(ModelThreading.For(Generation, new InferenceOptions(), ExecutionProviderKind.Cpu, 4), Is.EqualTo(new ModelThreading(1, 4)));
        Assert.That(ModelThreading.For(Generation, new InferenceOptions { ConcurrentRuns = 4 }, ExecutionProviderKind.Cpu, 4), Is.EqualTo(new ModelThreading(1, 4)));
        Assert.That(ModelThreading.For(Generation, new InferenceOptions { IntraOpThreads = 1 }, ExecutionProviderKind.Cpu, 4), Is.EqualTo(new ModelThreading(1, 1)));
    }

    [Test]
    public void Load_ByDefault_ResolvesFromThisProcessorsCount()
    {
        using var embedder = MiniLmEmbedder.Load(new InferenceOptions { ModelCacheDirectory = string.Empty });
        Assert.That(embedder.Threading, Is.EqualTo(new ModelThreading(Environment.ProcessorCount, 1)));
    }

    [TestCase(-1, false)]
    [TestCase(0, true)]
    [TestCase(64, true)]
    [TestCase(65, false)]
    public void ConcurrentRuns_IsValidatedFromZeroTo64(int value, bool valid)
    {
        var options = new InferenceOptions { ConcurrentRuns = value };
        Assert.That(Validator.TryValidateObject(options, new ValidationContext(options), [], validateAllProperties: true), Is.EqualTo(valid));
    }

    [Test]
    public async Task Load_WithTwoIntraOpThreads_TheSessionsOwnThreadIsNamedOnnxInit()
    {
        Assume.That(OperatingSystem.IsLinux(), "thread names from /proc");
        _ = OrtEnv.Instance(); // the environment's own thread, once a process, is not the session's
        var before = OnnxThreadStats.Names().Count(n => n == "onnx-init");

        // ONNX Runtime starts intra-op threads - 1 threads with the session; they take the name of
        // the thread that built it (onnx-init, which itself ends as the load returns).
        using (var embedder = MiniLmEmbedder.Load(new InferenceOptions { ConcurrentRuns = 1, IntraOpThreads = 2, ModelCacheDirectory = string.Empty }))
        {
            Assert.That(embedder.Threading, Is.EqualTo(new ModelThreading(1, 2)));
            Assert.That(embedder.Embed(["named threads"])[0], Has.Length.EqualTo(384));
            Assert.That(await OnnxInitThreadsAsync(before + 1), Is.EqualTo(before + 1));
        }

        Assert.That(await OnnxInitThreadsAsync(before), Is.EqualTo(before), "they end with the session");
    }

    /// <summary>Threads named onnx-init once there are <paramref name="expected"/> (a thread that ends leaves /proc a moment later), or after the deadline.</summary>
    private static async Task<int> OnnxInitThreadsAsync(int expected)
    {
        var clock = Stopwatch.StartNew();
        int count;
        while ((count = OnnxThreadStats.Names().Count(n => n == "onnx-init")) != expected && clock.Elapsed < TimeSpan.FromSeconds(10))
        {
            await Task.Delay(20);
        }

        return count;
    }
}
