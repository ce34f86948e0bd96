using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using InferenceGateway.Core.Models;
using InferenceGateway.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace InferenceGateway.Tests.Jobs;

/// <summary>
/// <c>GET /v1/models</c> and submission against what workers publish in the model registry (here
/// written through <see cref="ModelRegistry.HeartbeatAsync"/>, as a worker does) together with the
/// gateway's configured models. Model names are unique per fixture: the registry is shared Redis.
/// </summary>
[TestFixture]
public sealed class ModelRegistryApiTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    private GatewayServer _gateway = null!;
    private ModelRegistry _registry = null!;
    private string _queueName = null!;
    private string _key = null!;
    private string _registered = null!;
    private string _both = null!;
    private string _configured = null!;
    private string _bare = null!;

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        var suffix = Guid.NewGuid().ToString("N")[..12];
        _registered = $"registered-{suffix}";
        _both = $"both-{suffix}";
        _configured = $"configured-{suffix}";
        _bare = $"bare-{suffix}";
        _queueName = TestStack.UniqueName("models");
        var configuration = TestStack.Configuration(_queueName);
        configuration[$"Models:{_configured}:Dimensions"] = "16";
        configuration[$"Models:{_both}:Dimensions"] = "384";
        configuration[$"Models:{_both}:MaxTexts"] = "10";
        configuration[$"Models:{_both}:MaxTextLength"] = "100";
        _gateway = await GatewayServer.StartAsync(configuration);
        _registry = _gateway.Services.GetRequiredService<ModelRegistry>();

        // Registered before the gateway's first read, so its short cache cannot hide them.
        await _registry.HeartbeatAsync("worker-a-" + suffix, _registered, Spec(_registered, maxTexts: 3, maxTextLength: 50), warm: true);
        await _registry.HeartbeatAsync("worker-b-" + suffix, _registered, Spec(_registered, maxTexts: 3, maxTextLength: 50), warm: false);
        await _registry.HeartbeatAsync("worker-c-" + suffix, _both, Spec(_both, maxTexts: 20, maxTextLength: 50), warm: false);
        await _registry.HeartbeatAsync("worker-d-" + suffix, _bare, JsonSerializer.Serialize(new { name = _bare }), warm: false);
        _key = await _gateway.CreateKeyAsync(TestStack.UniqueName("tenant"));
    }

    [OneTimeTearDown]
    public async Task StopAsync()
    {
        await _gateway.DisposeAsync();
    }

    [Test]
    public async Task Models_ShowsARegisteredModel_WithItsSpecLiveAndWarmWorkers_AndSourceRegistry()
    {
        var model = await ModelAsync(_registered);

        Assert.That(model.GetProperty("kind").GetString(), Is.EqualTo("embedding"));
        Assert.That(model.GetProperty("runtime").GetString(), Is.EqualTo("onnx"));
        Assert.That(model.GetProperty("dimensions").GetInt32(), Is.EqualTo(8));
        Assert.That(model.GetProperty("maxTexts").GetInt32(), Is.EqualTo(3));
        Assert.That(model.GetProperty("maxTextLength").GetInt32(), Is.EqualTo(50));
        Assert.That(model.GetProperty("maxSequenceLength").GetInt32(), Is.EqualTo(128));
        Assert.That(model.GetProperty("workers").GetInt32(), Is.EqualTo(2));
        Assert.That(model.GetProperty("warmWorkers").GetInt32(), Is.EqualTo(1));
        Assert.That(model.GetProperty("executionProvider").GetString(), Is.EqualTo("cpu"));
        Assert.That(Sources(model), Is.EqualTo(new[] { "registry" }));
    }

    [Test]
    public async Task Models_ShowsAConfiguredModelNoWorkerServes_WithNoWorkers_AndSourceConfig()
    {
        var model = await ModelAsync(_configured);

        Assert.That(model.GetProperty("dimensions").GetInt32(), Is.EqualTo(16));
        Assert.That(model.GetProperty("workers").GetInt32(), Is.EqualTo(0));
        Assert.That(model.GetProperty("warmWorkers").GetInt32(), Is.EqualTo(0));
        Assert.That(model.TryGetProperty("executionProvider", out _), Is.False, "unknown until a worker says");
        Assert.That(Sources(model), Is.EqualTo(new[] { "config" }));
    }

    [Test]
    public async Task Models_InBothConfigAndRegistry_ShowsBothSources_AndTheSmallerOfEachLimit()
    {
        var model = await ModelAsync(_both);

        Assert.That(Sources(model), Is.EqualTo(new[] { "config", "registry" }));
        Assert.That(model.GetProperty("maxTexts").GetInt32(), Is.EqualTo(10), "the configuration's 10 under the worker's 20");
        Assert.That(model.GetProperty("maxTextLength").GetInt32(), Is.EqualTo(50), "the worker's 50 under the configuration's 100");
        Assert.That(model.GetProperty("workers").GetInt32(), Is.EqualTo(1));
    }

    [Test]
    public async Task Models_ForASpecWithoutLimits_ShowsTheDefaults()
    {
        var model = await ModelAsync(_bare);

        Assert.That(model.GetProperty("maxTexts").GetInt32(), Is.EqualTo(256));
        Assert.That(model.GetProperty("maxTextLength").GetInt32(), Is.EqualTo(10_000));
        Assert.That(model.GetProperty("dimensions").ValueKind, Is.EqualTo(JsonValueKind.Null));
        Assert.That(model.GetProperty("runtime").ValueKind, Is.EqualTo(JsonValueKind.Null));
    }

    [Test]
    public async Task Submit_ForAModelOnlyTheRegistryKnows_IsAccepted_WithinItsSpecLimits()
    {
        using var client = _gateway.CreateClient(_key);

        using var accepted = await client.PostAsJsonAsync("/v1/jobs", new { model = _registered, input = new { texts = new[] { "a", "b", "c" } } }).WaitAsync(Timeout);
        using var tooMany = await client.PostAsJsonAsync("/v1/jobs", new { model = _registered, input = new { texts = new[] { "a", "b", "c", "d" } } }).WaitAsync(Timeout);
        using var tooLong = await client.PostAsJsonAsync("/v1/jobs", new { model = _registered, input = new { texts = new[] { new string('x', 51) } } }).WaitAsync(Timeout);

        Assert.That(accepted.StatusCode, Is.EqualTo(HttpStatusCode.Accepted), await accepted.Content.ReadAsStringAsync());
        await AssertValidationProblemAsync(tooMany, "input.texts");
        await AssertValidationProblemAsync(tooLong, "input.texts");
    }

    [Test]
    public async Task Submit_ForAnUnknownModel_IsStill400_AndNothingIsEnqueued()
    {
        var before = await TestStack.QueuedCountAsync(_queueName);
        using var client = _gateway.CreateClient(_key);

        using var response = await client.PostAsJsonAsync("/v1/jobs", new { model = "nobody-serves-" + Guid.NewGuid().ToString("N"), input = new { texts = new[] { "a" } } }).WaitAsync(Timeout);

        await AssertValidationProblemAsync(response, "model");
        Assert.That(await TestStack.QueuedCountAsync(_queueName), Is.EqualTo(before));
    }

    [Test]
    public async Task Models_ShowsAModelRegisteredAfterTheGatewayReadTheRegistry_OnceTheShortCachePasses()
    {
        var late = "late-" + Guid.NewGuid().ToString("N")[..12];
        using var client = _gateway.CreateClient(_key);
        Assert.That(await TryModelAsync(client, late), Is.Null, "not yet registered");

        await _registry.HeartbeatAsync("worker-late", late, Spec(late, maxTexts: 4, maxTextLength: 40), warm: true);

        using var cts = new CancellationTokenSource(Timeout);
        JsonElement? seen;
        while ((seen = await TryModelAsync(client, late)) is null)
        {
            using var tick = new PeriodicTimer(TimeSpan.FromMilliseconds(100));
            try
            {
                await tick.WaitForNextTickAsync(cts.Token);
            }
            catch (OperationCanceledException) when (cts.IsCancellationRequested)
            {
                Assert.Fail($"{late} never appeared in GET /v1/models");
            }
        }

        Assert.That(seen.Value.GetProperty("warmWorkers").GetInt32(), Is.EqualTo(1));
    }

    [Test]
    public async Task Models_WhileRedisIsDown_StillListsTheConfiguredModels()
    {
        var redis = await TestStack.StartRedisAsync();
        var configuration = TestStack.Configuration(TestStack.UniqueName("models-outage"));
        configuration["Redis:Configuration"] = $"127.0.0.1:{redis.Port},connectTimeout=500,syncTimeout=1000,asyncTimeout=1000";
        await using var gateway = await GatewayServer.StartAsync(configuration);
        var key = await gateway.CreateKeyAsync(TestStack.UniqueName("tenant"));
        using var client = gateway.CreateClient(key);

        // Any authenticated call verifies (and caches) the key while Redis is up; this one does not
        // touch the model catalog, so its first registry read happens with Redis gone.
        using var warmUp = await client.GetAsync("/v1/jobs/job_00000000000000000000000000000000").WaitAsync(Timeout);
        Assert.That(warmUp.StatusCode, Is.EqualTo(HttpStatusCode.NotFound));
        await redis.DisposeAsync();

        using var response = await client.GetAsync("/v1/models").WaitAsync(Timeout);

        var body = await response.Content.ReadAsStringAsync();
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), body);
        var ids = JsonDocument.Parse(body).RootElement.GetProperty("data").EnumerateArray().Select(m => m.GetProperty("id").GetString()).ToList();
        Assert.That(ids, Is.EqualTo(new[] { "all-minilm-l6-v2" }));
    }

    private static string Spec(string name, int maxTexts, int maxTextLength) => JsonSerializer.Serialize(new
    {
        name,
        runtime = "onnx",
        dimensions = 8,
        maxSequenceLength = 128,
        maxTexts,
        maxTextLength,
        executionProvider = "cpu",
    });

    private static string[] Sources(JsonElement model) =>
        [.. model.GetProperty("source").EnumerateArray().Select(s => s.GetString()!)];

    private async Task<JsonElement> ModelAsync(string id)
    {
        using var client = _gateway.CreateClient(_key);
        return await TryModelAsync(client, id) ?? throw new AssertionException($"{id} is not in GET /v1/models");
    }

    private static async Task<JsonElement?> TryModelAsync(HttpClient client, string id)
    {
        using var response = await client.GetAsync("/v1/models").WaitAsync(Timeout);
        var body = await response.Content.ReadAsStringAsync();
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), body);
        foreach (var model in JsonDocument.Parse(body).RootElement.GetProperty("data").EnumerateArray())
        {
            if (model.GetProperty("id").GetString() == id)
            {
                return model.Clone();
            }
        }

        return null;
    }

    private static async Task AssertValidationProblemAsync(HttpResponseMessage response, string field)
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest), body);
        Assert.That(response.Content.Headers.ContentType?.MediaType, Is.EqualTo("application/problem+json"), body);
        Assert.That(JsonDocument.Parse(body).RootElement.GetProperty("errors").TryGetProperty(field, out _), Is.True, body);
    }
}
