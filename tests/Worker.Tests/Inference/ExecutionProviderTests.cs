using InferenceGateway.Inference;
using InferenceGateway.Inference.Embeddings;
using InferenceGateway.Inference.Hosting;
using InferenceGateway.Inference.Onnx;
using InferenceGateway.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace InferenceGateway.Tests.Inference;

/// <summary>
/// <c>Inference:ExecutionProvider=cuda</c> on a machine without a usable GPU (the tests run on the
/// CPU build of ONNX Runtime, whose CUDA provider cannot be enabled): the worker refuses to start,
/// with the reason, or with <c>Inference:FallbackToCpu</c> runs on the CPU and says so.
/// </summary>
[TestFixture]
public sealed class ExecutionProviderTests
{
    private const string Unavailable = "Inference:ExecutionProvider is 'cuda' but ONNX Runtime could not enable CUDA";

    [Test]
    public void Probe_Cpu_SelectsCpu()
    {
        var selection = ExecutionProviderSelection.Probe(new InferenceOptions());

        Assert.That(selection, Is.EqualTo(ExecutionProviderSelection.Cpu));
    }

    [Test]
    public void Probe_CudaWithoutAGpu_ThrowsNamingTheCauseAndTheWayOut()
    {
        var ex = Assert.Throws<InvalidOperationException>(() => ExecutionProviderSelection.Probe(new InferenceOptions { ExecutionProvider = ExecutionProviderKind.Cuda }));

        Assert.That(ex!.Message, Does.StartWith(Unavailable));
        Assert.That(ex.Message, Does.Contain("-p:OnnxRuntimeFlavor=gpu").And.Contain("Inference:FallbackToCpu=true"));
    }

    [Test]
    public void Probe_CudaWithFallback_SelectsCpuAndKeepsTheReason()
    {
        var selection = ExecutionProviderSelection.Probe(new InferenceOptions { ExecutionProvider = ExecutionProviderKind.Cuda, FallbackToCpu = true, CudaDeviceId = 1 });

        Assert.That((selection.Requested, selection.Active, selection.CudaDeviceId), Is.EqualTo((ExecutionProviderKind.Cuda, ExecutionProviderKind.Cpu, 1)));
        Assert.That(selection.FallbackReason, Does.StartWith(Unavailable));
    }

    [Test]
    public void Probe_CudaThatWorks_SelectsCuda()
    {
        var selection = ExecutionProviderSelection.Probe(new InferenceOptions { ExecutionProvider = ExecutionProviderKind.Cuda, CudaDeviceId = 2 }, cudaProbe: _ => null);

        Assert.That((selection.Active, selection.ActiveName, selection.FallbackReason), Is.EqualTo((ExecutionProviderKind.Cuda, "cuda", (string?)null)));
    }

    [Test]
    public async Task WorkerProcess_WithCudaAndNoGpu_ExitsNonZeroAtStartWithTheReason()
    {
        await using var worker = WorkerProcess.Start(new Dictionary<string, string?>
        {
            ["Inference:ExecutionProvider"] = "cuda",
        });

        Assert.That(await worker.WaitForExitAsync(TimeSpan.FromSeconds(60)), Is.True, "the worker should stop by itself:\n" + worker.Output);
        Assert.That(worker.ExitCode, Is.EqualTo(1), "a refused start, not a crash:\n" + worker.Output);
        Assert.That(worker.Output, Does.Contain(Unavailable).And.Contain("Inference:FallbackToCpu=true"));
        Assert.That(worker.Output, Does.Not.Contain("Polling"), "the poller must not start");
    }

    [Test]
    public async Task WorkerProcess_WithCudaAndFallback_StartsOnTheCpuAndSaysWhy()
    {
        await using var worker = WorkerProcess.Start(new Dictionary<string, string?>
        {
            ["Inference:ExecutionProvider"] = "cuda",
            ["Inference:FallbackToCpu"] = "true",
            ["Inference:Provisioned"] = "true",
            ["Logging:LogLevel:Default"] = "Information",
            ["Inference:ModelCacheDirectory"] = string.Empty,
        });

        Assert.That(await worker.WaitForOutputAsync("Polling", TimeSpan.FromSeconds(90)), Is.True, "the worker should start polling:\n" + worker.Output);
        Assert.That(worker.HasExited, Is.False, worker.Output);
        Assert.That(worker.Output, Does.Contain(Unavailable).And.Contain("Falling back to the cpu execution provider"));
        Assert.That(worker.Output, Does.Contain("Inference runs on the cpu execution provider"));
        Assert.That(worker.Output, Does.Contain($"Model {MiniLmEmbedder.ModelName} loaded in").And.Contain("on cpu"));
    }

    [Test]
    public async Task WorkerHost_WithCudaAndFallback_ReportsCpuAndEmbeds()
    {
        var configuration = TestStack.Configuration(TestStack.UniqueName("provider-fallback"));
        configuration["Inference:ExecutionProvider"] = "cuda";
        configuration["Inference:FallbackToCpu"] = "true";
        configuration["Inference:ModelCacheDirectory"] = string.Empty;
        await using var worker = await WorkerServer.StartAsync(configuration);
        var host = worker.Services.GetRequiredService<ModelHost>();

        Assert.That(host.ExecutionProvider.Requested, Is.EqualTo(ExecutionProviderKind.Cuda));
        Assert.That(host.ExecutionProvider.Active, Is.EqualTo(ExecutionProviderKind.Cpu));
        Assert.That(host.Models.Single().ExecutionProvider, Is.EqualTo("cpu"));
        using var lease = await host.AcquireAsync(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(60));
        var vector = lease.Model.Embed(["This is an example sentence"])[0];
        Assert.That(vector.Take(3), Is.EqualTo(new[] { 0.0677f, 0.0635f, 0.0487f }).Within(0.001f));
        Assert.That(host.GetState(MiniLmEmbedder.ModelName).ExecutionProvider, Is.EqualTo("cpu"));
    }
}
