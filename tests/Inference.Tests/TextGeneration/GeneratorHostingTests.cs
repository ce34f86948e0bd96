using System.Text.Json;
using InferenceGateway.Inference;
using InferenceGateway.Inference.Embeddings;
using InferenceGateway.Inference.Hosting;
using InferenceGateway.Inference.TextGeneration;
using InferenceGateway.Tests.Inference;
using InferenceGateway.Tools.TinyModels;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace InferenceGateway.Tests.TextGeneration;

/// <summary>A text-generation model in the model host: its registry spec, and the same cold start, warm lease and unload as an embedder.</summary>
[TestFixture]
public sealed class GeneratorHostingTests
{
    [Test]
    public void Spec_SaysKindTextGeneration_WithContextLengthAndMaxNewTokens()
    {
        using var host = Host(new FakeTimeProvider());

        var spec = host.Models.Single(m => m.Name == TinyModelWriter.ModelName);
        var json = JsonSerializer.Serialize(spec);

        Assert.That((spec.Kind, spec.Runtime, spec.ContextLength, spec.MaxNewTokens), Is.EqualTo(("text-generation", "text-generation", (int?)TinyModelWriter.ContextLength, (int?)256)));
        Assert.That(json, Does.Contain("\"kind\":\"text-generation\"").And.Contain("\"contextLength\":2048").And.Contain("\"maxNewTokens\":256"));
        Assert.That(JsonSerializer.Serialize(host.Models.Single(m => m.Name == MiniLmEmbedder.ModelName)), Does.Not.Contain("contextLength"), "embedding specs are as they were, plus kind");
    }

    [Test]
    public async Task Generator_ColdStartsOnce_IsWarmAfter_AndUnloadsAfterTheKeepWarmWindow()
    {
        var time = new FakeTimeProvider();
        using var host = Host(time);

        using (var cold = await host.AcquireAsync(TinyModelWriter.ModelName, CancellationToken.None))
        {
            Assert.That(cold.ColdStart, Is.True);
            var output = cold.Generator.Generate(cold.Generator.Tokenizer.Encode("hi"), new GenerationSettings { MaxNewTokens = 3 });
            Assert.That(output.CompletionTokens, Is.EqualTo(3));
            Assert.Throws<InvalidOperationException>(() => _ = cold.Model);
        }

        using (var warm = await host.AcquireAsync(TinyModelWriter.ModelName, CancellationToken.None))
        {
            Assert.That(warm.ColdStart, Is.False);
        }

        time.Advance(TimeSpan.FromSeconds(61));

        Assert.That(host.GetState(TinyModelWriter.ModelName).Status, Is.EqualTo(ModelStatus.Cold));
        Assert.That(host.GetState(TinyModelWriter.ModelName).Unloads, Is.EqualTo(1));
    }

    [Test]
    public void Configuration_OfAGenerationModel_IsCheckedAtStart()
    {
        var missing = Path.Combine(Path.GetTempPath(), $"no-model-{Guid.NewGuid():N}");
        var builder = Microsoft.Extensions.Hosting.Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { EnvironmentName = "Testing", ContentRootPath = AppContext.BaseDirectory });
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Models:good:Runtime"] = "text-generation",
            ["Models:good:Source"] = TinyModel.Directory,
            ["Models:gone:Runtime"] = "text-generation",
            ["Models:gone:Source"] = missing,
            ["Models:bad-template:Runtime"] = "text-generation",
            ["Models:bad-template:Source"] = TinyModel.Directory,
            ["Models:bad-template:ChatTemplate"] = "jinja-please",
        });
        builder.Services.AddInference();
        using var host = builder.Build();

        var ex = Assert.Throws<OptionsValidationException>(() => _ = host.Services.GetRequiredService<IOptions<ModelCatalogOptions>>().Value);

        Assert.That(ex!.Failures, Has.Some.Contains($"Models:gone:Source '{missing}' does not exist"));
        Assert.That(ex.Failures, Has.Some.Contains("Models:bad-template:ChatTemplate 'jinja-please'"));
        Assert.That(ex.Failures, Has.None.Contains("Models:good"));
    }

    private static ModelHost Host(TimeProvider time)
    {
        var catalog = new ModelCatalogOptions();
        catalog.Models[TinyModelWriter.ModelName] = TinyModel.Options();
        return InferenceTestModels.Host(new InferenceOptions { ModelCacheDirectory = string.Empty, KeepWarmSeconds = 60 }, time, catalog);
    }
}
