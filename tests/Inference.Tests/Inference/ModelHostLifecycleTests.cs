using InferenceGateway.Inference;
using InferenceGateway.Inference.Embeddings;
using InferenceGateway.Inference.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Time.Testing;

namespace InferenceGateway.Tests.Inference;

/// <summary>The serverless lifecycle: the init phase at start, cold start, warm, unload after the keep-warm window, leases that hold the model, provisioned mode.</summary>
[TestFixture]
public sealed class ModelHostLifecycleTests
{
    private static readonly TimeSpan KeepWarm = TimeSpan.FromSeconds(300);

    private string _cache = null!;
    private FakeTimeProvider _time = null!;

    [SetUp]
    public void SetUp()
    {
        _cache = InferenceTestModels.TempDirectory("lifecycle-cache");
        _time = new FakeTimeProvider(new DateTimeOffset(2026, 11, 28, 12, 0, 0, TimeSpan.Zero));
    }

    [TearDown]
    public void TearDown() => InferenceTestModels.DeleteDirectory(_cache);

    [Test]
    public async Task Acquire_ColdThenWarmThenAfterKeepWarm_UnloadsAndPaysAColdStartAgain()
    {
        using var host = InferenceTestModels.Host(Options(), _time);
        Assert.That(host.GetState(MiniLmEmbedder.ModelName).Status, Is.EqualTo(ModelStatus.Cold));

        using (var first = await host.AcquireAsync(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(60)))
        {
            Assert.That(first.ColdStart, Is.True);
            Assert.That(first.InitMs, Is.GreaterThan(0));
        }

        _time.Advance(TimeSpan.FromSeconds(10));
        using (var second = await host.AcquireAsync(MiniLmEmbedder.ModelName, CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(60)))
        {
            Assert.That(second.ColdStart, Is.False);
            Assert.That(second.InitMs, Is.Zero);
            Assert.That(host.GetState(MiniLmEmbedder.ModelName).ActiveLeases, Is.EqualTo(1));
        }

        _time.Advance(KeepWarm - TimeSpan.FromSeconds(1));
        Assert.That(host.GetState(MiniLmEmbedder.ModelName).Status, Is.EqualTo(ModelStatus.Warm), "still inside the keep-warm window");

        _time.Advance(TimeSpan.FromSeconds(2));
        var unloaded = host.GetState(MiniLmEmbedder.ModelName);
        Assert.That(unloaded.Status, Is.EqualTo(ModelStatus.Cold));
        Assert.That(unloaded.Unloads, Is.EqualTo(1));

        using var third = await host.AcquireAsync(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(60));
        Assert.That(third.ColdStart, Is.True);
        Assert.That(third.InitMs, Is.GreaterThan(0));
        Assert.That(third.Model.Embed(["scale to zero"])[0], Has.Length.EqualTo(384));
        var state = host.GetState(MiniLmEmbedder.ModelName);
        Assert.That((state.Status, state.Loads, state.Unloads), Is.EqualTo((ModelStatus.Warm, 2L, 1L)));
        Assert.That(state.LoadedAt, Is.EqualTo(_time.GetUtcNow()));
    }

    [Test]
    public async Task OutstandingLease_PreventsUnload_UntilItIsDisposed()
    {
        using var host = InferenceTestModels.Host(Options(), _time);
        var lease = await host.AcquireAsync(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(60));

        _time.Advance(KeepWarm * 3);
        Assert.That(host.GetState(MiniLmEmbedder.ModelName).Status, Is.EqualTo(ModelStatus.Warm));
        Assert.That(lease.Model.Embed(["still loaded"])[0], Has.Length.EqualTo(384));

        lease.Dispose();
        lease.Dispose(); // idempotent: the count must not go negative
        Assert.That(host.GetState(MiniLmEmbedder.ModelName).ActiveLeases, Is.Zero);
        _time.Advance(KeepWarm + TimeSpan.FromSeconds(1));

        Assert.That(host.GetState(MiniLmEmbedder.ModelName).Status, Is.EqualTo(ModelStatus.Cold));
    }

    [Test]
    public async Task Provisioned_LoadsAtStartAndNeverUnloads()
    {
        using var host = InferenceTestModels.Host(Options() with { Provisioned = true }, _time);

        await host.LoadProvisionedAsync(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(60));
        Assert.That(host.GetState(MiniLmEmbedder.ModelName).Status, Is.EqualTo(ModelStatus.Warm));

        _time.Advance(KeepWarm * 10);
        using (var lease = await host.AcquireAsync(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(60)))
        {
            Assert.That(lease.ColdStart, Is.False);
            Assert.That(lease.InitMs, Is.Zero);
        }

        _time.Advance(KeepWarm * 10);
        var state = host.GetState(MiniLmEmbedder.ModelName);
        Assert.That((state.Status, state.Loads, state.Unloads, state.Provisioned), Is.EqualTo((ModelStatus.Warm, 1L, 0L, true)));
    }

    [Test]
    public async Task ConcurrentAcquires_DuringAColdStart_LoadOnce()
    {
        using var host = InferenceTestModels.Host(Options(), _time);

        var leases = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => host.AcquireAsync(CancellationToken.None))).WaitAsync(TimeSpan.FromSeconds(60));

        Assert.That(leases.Count(l => l.ColdStart), Is.EqualTo(1));
        Assert.That(leases.Select(l => l.Model).Distinct().Count(), Is.EqualTo(1));
        Assert.That(host.GetState(MiniLmEmbedder.ModelName).ActiveLeases, Is.EqualTo(4));
        foreach (var lease in leases)
        {
            lease.Dispose();
        }

        Assert.That(host.GetState(MiniLmEmbedder.ModelName).Loads, Is.EqualTo(1));
    }

    [Test]
    public void Acquire_AModelNotServed_Throws()
    {
        using var host = InferenceTestModels.Host(Options(), _time);

        Assert.That(host.Serves("gpt-17"), Is.False);
        Assert.ThrowsAsync<KeyNotFoundException>(() => host.AcquireAsync("gpt-17", CancellationToken.None));
    }

    [Test]
    public async Task PrepareAsync_BuildsTheTokenizerBeforeAnyJob_AndColdStartsReuseItAcrossAnUnload()
    {
        var spec = FileModel();
        using var host = InferenceTestModels.Host(Options(), _time, Catalog(spec));

        var failures = await host.PrepareAsync().WaitAsync(TimeSpan.FromSeconds(60));

        Assert.That(failures, Is.Empty);
        Assert.That(BertTokenizers.BuildCount(host.OptionsOf(FileModelName)), Is.EqualTo(1));
        Assert.That(host.GetState(FileModelName).Status, Is.EqualTo(ModelStatus.Cold), "the init phase loads no model");

        float[] expected;
        using (var first = await host.AcquireAsync(FileModelName, CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(60)))
        {
            Assert.That(first.ColdStart, Is.True);
            expected = first.Model.Embed(["This is an example sentence"])[0];
            Assert.That(expected.Take(3), Is.EqualTo(new[] { 0.0677f, 0.0635f, 0.0487f }).Within(0.001f));
        }

        _time.Advance(KeepWarm + TimeSpan.FromSeconds(1));
        Assert.That(host.GetState(FileModelName).Unloads, Is.EqualTo(1));

        using var second = await host.AcquireAsync(FileModelName, CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(60));
        Assert.That(second.ColdStart, Is.True);
        Assert.That(second.Model.Embed(["This is an example sentence"])[0], Is.EqualTo(expected).Within(1e-5f));
        Assert.That(BertTokenizers.BuildCount(host.OptionsOf(FileModelName)), Is.EqualTo(1), "both cold starts used the tokenizer the init phase built");
    }

    [Test]
    public async Task PrepareAsync_WithAMissingVocabulary_ReportsTheModel_AndLeavesTheFailureToItsLoads()
    {
        var spec = FileModel();
        var vocab = spec.VocabPath!;
        File.Move(vocab, vocab + ".away");
        using var host = InferenceTestModels.Host(Options(), _time, Catalog(spec));

        var failures = await host.PrepareAsync().WaitAsync(TimeSpan.FromSeconds(60));

        Assert.That(failures.Select(f => (f.Model, f.Error.GetType())), Is.EqualTo(new[] { (FileModelName, typeof(FileNotFoundException)) }));
        Assert.ThrowsAsync<FileNotFoundException>(() => host.AcquireAsync(FileModelName, CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(60)));
        Assert.That(host.GetState(FileModelName).Status, Is.EqualTo(ModelStatus.Cold));

        // A failed build is not kept: once the vocabulary is back, the next cold start builds it.
        File.Move(vocab + ".away", vocab);
        using var lease = await host.AcquireAsync(FileModelName, CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(60));
        Assert.That(lease.Model.Embed(["back"])[0], Has.Length.EqualTo(384));
        Assert.That(BertTokenizers.BuildCount(host.OptionsOf(FileModelName)), Is.EqualTo(1));
    }

    [Test]
    public async Task HostStart_RunsTheInitPhase_BeforeItReturns_WithoutLoadingTheModel()
    {
        var spec = FileModel();
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { EnvironmentName = "Testing", ContentRootPath = AppContext.BaseDirectory });
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Inference:ModelCacheDirectory"] = _cache,
            [$"Models:{MiniLmEmbedder.ModelName}:Enabled"] = "false",
            [$"Models:{FileModelName}:Source"] = spec.Source,
            [$"Models:{FileModelName}:VocabPath"] = spec.VocabPath,
            [$"Models:{FileModelName}:Dimensions"] = "384",
        });
        builder.Services.AddInference();
        using var app = builder.Build();

        await app.StartAsync().WaitAsync(TimeSpan.FromSeconds(60));
        try
        {
            var host = app.Services.GetRequiredService<ModelHost>();
            Assert.That(BertTokenizers.BuildCount(host.OptionsOf(FileModelName)), Is.EqualTo(1), "built during start, before a poller registered after the inference services would take a job");
            Assert.That(host.GetState(FileModelName).Status, Is.EqualTo(ModelStatus.Cold));
        }
        finally
        {
            await app.StopAsync().WaitAsync(TimeSpan.FromSeconds(30));
        }
    }

    private const string FileModelName = "minilm-from-file";

    /// <summary>all-MiniLM-L6-v2 as a model file and vocabulary of this test's own: a tokenizer no other test shares.</summary>
    private ModelOptions FileModel()
    {
        var directory = Path.Combine(_cache, "model");
        Directory.CreateDirectory(directory);
        var (model, vocab) = InferenceTestModels.ExtractEmbeddedModel(directory);
        return new ModelOptions { Source = model, VocabPath = vocab, Dimensions = 384 };
    }

    private static ModelCatalogOptions Catalog(ModelOptions spec)
    {
        var catalog = new ModelCatalogOptions();
        catalog.Models[MiniLmEmbedder.ModelName] = catalog.Models[MiniLmEmbedder.ModelName] with { Enabled = false };
        catalog.Models[FileModelName] = spec;
        return catalog;
    }

    private InferenceOptions Options() => new() { KeepWarmSeconds = (int)KeepWarm.TotalSeconds, ModelCacheDirectory = _cache };
}
