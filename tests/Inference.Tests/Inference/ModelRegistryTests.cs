using InferenceGateway.Tests.Infrastructure;
using System.Text.Json;
using InferenceGateway.Inference;
using InferenceGateway.Inference.Embeddings;
using InferenceGateway.Inference.Hosting;
using InferenceGateway.Inference.Onnx;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace InferenceGateway.Tests.Inference;

/// <summary>The model catalog in configuration: the default entry, another model as "configuration plus a file", placement, validation (retired keys included), the published spec.</summary>
[TestFixture]
public sealed class ModelRegistryTests
{
    private string _directory = null!;

    [SetUp]
    public void SetUp() => _directory = InferenceTestModels.TempDirectory("model-registry");

    [TearDown]
    public void TearDown() => InferenceTestModels.DeleteDirectory(_directory);

    [Test]
    public void NoConfiguration_ServesAllMiniLmL6V2()
    {
        using var host = InferenceTestModels.Host(new InferenceOptions { ModelCacheDirectory = string.Empty }, new FakeTimeProvider());

        Assert.That(host.Models, Is.EqualTo(new[]
        {
            new ModelSpec
            {
                Name = "all-minilm-l6-v2", Runtime = "sentence-embedding", Dimensions = 384, MaxSequenceLength = 256,
                MaxTexts = 256, MaxTextLength = 10_000, Pooling = "mean", Normalize = true, ExecutionProvider = "cpu",
            },
        }));
        Assert.That(host.DefaultModel, Is.EqualTo(MiniLmEmbedder.ModelName));
    }

    [Test]
    public void ModelSpec_SerialisesToCamelCaseJson()
    {
        var spec = ModelSpec.From("m", MiniLmEmbedder.DefaultModel, ExecutionProviderSelection.Cpu);

        var json = JsonSerializer.Serialize(spec);

        Assert.That(json, Is.EqualTo("""{"name":"m","runtime":"sentence-embedding","kind":"embedding","dimensions":384,"maxSequenceLength":256,"maxTexts":256,"maxTextLength":10000,"pooling":"mean","normalize":true,"executionProvider":"cpu"}"""));
    }

    [Test]
    public async Task ASecondModel_FromAModelFileAndVocab_LoadsAndEmbedsAsTheBuiltInOne()
    {
        var (model, vocab) = InferenceTestModels.ExtractEmbeddedModel(_directory);
        var options = Options(new Dictionary<string, string?>
        {
            ["Models:minilm-from-file:Source"] = model,
            ["Models:minilm-from-file:VocabPath"] = vocab,
            ["Models:minilm-from-file:Dimensions"] = "384",
            ["Models:minilm-from-file:MaxTexts"] = "16",
        });
        using var host = InferenceTestModels.Host(new InferenceOptions { ModelCacheDirectory = Path.Combine(_directory, "cache") }, new FakeTimeProvider(), options);

        Assert.That(host.Models.Select(m => (m.Name, m.Dimensions, m.MaxTexts)), Is.EqualTo(new[] { ("all-minilm-l6-v2", 384, 256), ("minilm-from-file", 384, 16) }));
        using var builtIn = await host.AcquireAsync(MiniLmEmbedder.ModelName, CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(60));
        using var fromFile = await host.AcquireAsync("minilm-from-file", CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(60));
        Assert.That(fromFile.Model, Is.Not.SameAs(builtIn.Model));
        Assert.That((fromFile.Model.Name, fromFile.Model.EmbeddingDimensions), Is.EqualTo(("minilm-from-file", 384)));
        var expected = builtIn.Model.Embed(InferenceTestModels.Sentences);
        var actual = fromFile.Model.Embed(InferenceTestModels.Sentences);
        for (var i = 0; i < expected.Length; i++)
        {
            Assert.That(Similarity.Cosine(actual[i], expected[i]), Is.GreaterThanOrEqualTo(0.9999), $"sentence {i}");
        }
    }

    [Test]
    public void AModelFile_WithWrongDimensions_FailsToLoadWithTheReason()
    {
        var (model, vocab) = InferenceTestModels.ExtractEmbeddedModel(_directory);
        var spec = new ModelOptions { Source = model, VocabPath = vocab, Dimensions = 768 };

        var ex = Assert.Throws<InvalidOperationException>(() => MiniLmEmbedder.Load("wrong", spec, new InferenceOptions { ModelCacheDirectory = string.Empty }, ExecutionProviderSelection.Cpu));

        Assert.That(ex!.Message, Does.Contain("Dimensions 768").And.Contain("384"));
    }

    [Test]
    public void Configuration_OverridesOneSettingOfTheBuiltInModel_AndKeepsTheRest()
    {
        var options = Options(new Dictionary<string, string?> { ["Models:all-minilm-l6-v2:MaxTexts"] = "8" });

        var model = options.Models[MiniLmEmbedder.ModelName];
        Assert.That((model.MaxTexts, model.Source, model.Dimensions), Is.EqualTo((8, ModelOptions.EmbeddedMiniLm, 384)));
    }

    [Test]
    public void Configuration_WithBadModels_ReportsEveryProblemAtStart()
    {
        var ex = Assert.Throws<OptionsValidationException>(() => Options(new Dictionary<string, string?>
        {
            ["Models:missing-files:Source"] = Path.Combine(_directory, "nope.onnx"),
            ["Models:missing-files:Dimensions"] = "384",
            ["Models:bad-runtime:Runtime"] = "speech-to-text",
            ["Models:bad-runtime:Source"] = ModelOptions.EmbeddedMiniLm,
            ["Models:bad-runtime:Dimensions"] = "384",
            ["Models:bad-runtime:Pooling"] = "max",
        }));

        Assert.That(ex!.Failures, Has.Some.Contains("Models:missing-files:Source"));
        Assert.That(ex.Failures, Has.Some.Contains("Models:missing-files:VocabPath is missing"));
        Assert.That(ex.Failures, Has.Some.Contains("Models:bad-runtime:Runtime is 'speech-to-text'"));
        Assert.That(ex.Failures, Has.Some.Contains("Models:bad-runtime:Pooling is 'max'"));
    }

    [Test]
    public void Configuration_BindsWhatEachModelIs_AndWhereItRuns_AndTheWorkerServesOnlyItsOwn()
    {
        using var host = WorkerHost(new Dictionary<string, string?>
        {
            ["Models:edge-copy:Source"] = ModelOptions.EmbeddedMiniLm,
            ["Models:edge-copy:Dimensions"] = "384",
            ["Models:edge-copy:MaxTexts"] = "7",
            ["Models:edge-copy:Pooling"] = "cls",
            ["Models:edge-copy:Placement:Worker"] = "false",
            ["Models:edge-copy:Placement:Edge"] = "true",
            ["Models:edge-copy:Placement:LatencyBudgetMs"] = "40",
            ["Models:edge-copy:Placement:FixedMs"] = "2",
            ["Models:edge-copy:Placement:PerTokenMs"] = "0.25",
            ["Models:edge-copy:Placement:OverBudget"] = "Refuse",
            ["Models:all-minilm-l6-v2:Placement:Edge"] = "false",
        });
        var catalog = host.Services.GetRequiredService<IOptions<ModelCatalogOptions>>().Value;

        var copy = catalog.Models["edge-copy"];
        Assert.That((copy.Source, copy.Dimensions, copy.MaxTexts, copy.Pooling, copy.Kind), Is.EqualTo((ModelOptions.EmbeddedMiniLm, 384, 7, "cls", "embedding")));
        Assert.That(copy.Placement, Is.EqualTo(new ModelPlacement { Worker = false, Edge = true, LatencyBudgetMs = 40, FixedMs = 2, PerTokenMs = 0.25, OverBudget = OverBudgetPolicy.Refuse }));
        Assert.That(catalog.Models[MiniLmEmbedder.ModelName].Placement, Is.EqualTo(new ModelPlacement { Worker = true, Edge = false }));
        Assert.That(catalog.On(ModelRunsOn.Edge).Select(m => m.Key), Is.EqualTo(new[] { "edge-copy" }));
        Assert.That(catalog.On(ModelRunsOn.Worker).Select(m => m.Key), Is.EqualTo(new[] { MiniLmEmbedder.ModelName }));
        Assert.That(host.Services.GetRequiredService<ModelHost>().Models.Select(m => m.Name), Is.EqualTo(new[] { MiniLmEmbedder.ModelName }));
    }

    [Test]
    public void Configuration_ByDefault_PlacesAllMiniLmOnWorkersAndAtTheEdge()
    {
        var placement = Options([]).Models[MiniLmEmbedder.ModelName].Placement;

        Assert.That((placement.Worker, placement.Edge), Is.EqualTo((true, true)));
    }

    [Test]
    public void Configuration_WithTheRetiredGatewayKeys_FailsAtStartNamingTheNewOnes()
    {
        var ex = Assert.Throws<OptionsValidationException>(() => Options(new Dictionary<string, string?>
        {
            ["Models:Served:old-model:MaxTexts"] = "10",
            ["Models:kinded:Kind"] = "text-generation",
            ["Models:kinded:Source"] = ModelOptions.EmbeddedMiniLm,
            ["Models:kinded:Dimensions"] = "384",
        }));

        Assert.That(ex!.Failures, Has.Some.Contains("Models:Served:old-model is no longer read: it is Models:old-model now"));
        Assert.That(ex.Failures, Has.Some.Contains("Models:kinded:Kind is not a setting: the kind follows Models:kinded:Runtime"));
    }

    [Test]
    public void Configuration_WithAModelPlacedNowhere_OrAGeneratorAtTheEdge_FailsAtStart()
    {
        var ex = Assert.Throws<OptionsValidationException>(() => Options(new Dictionary<string, string?>
        {
            ["Models:nowhere:Source"] = ModelOptions.EmbeddedMiniLm,
            ["Models:nowhere:Dimensions"] = "384",
            ["Models:nowhere:Placement:Worker"] = "false",
            ["Models:edge-llm:Runtime"] = "text-generation",
            ["Models:edge-llm:Source"] = "unused",
            ["Models:edge-llm:Placement:Worker"] = "false",
            ["Models:edge-llm:Placement:Edge"] = "true",
            ["Models:edge-llm:Placement:LatencyBudgetMs"] = "0",
        }));

        Assert.That(ex!.Failures, Has.Some.Contains("Models:nowhere:Placement runs it nowhere"));
        Assert.That(ex.Failures, Has.Some.Contains("Models:edge-llm:Placement:Edge is for 'sentence-embedding' models"));
        Assert.That(ex.Failures, Has.Some.Contains("Models:edge-llm:Placement: The field LatencyBudgetMs must be between 1 and 60000."));
        Assert.That(ex.Failures, Has.None.Contains("Models:edge-llm:Source"), "a model's files are checked only where it runs");
    }

    /// <summary>The catalog as the worker binds and validates it from configuration.</summary>
    private static ModelCatalogOptions Options(Dictionary<string, string?> configuration)
    {
        using var host = WorkerHost(configuration);
        return host.Services.GetRequiredService<IOptions<ModelCatalogOptions>>().Value;
    }

    private static IHost WorkerHost(Dictionary<string, string?> configuration)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { EnvironmentName = "Testing", ContentRootPath = AppContext.BaseDirectory });
        builder.Configuration.AddInMemoryCollection(configuration);
        builder.Services.AddInference();
        return builder.Build();
    }
}
