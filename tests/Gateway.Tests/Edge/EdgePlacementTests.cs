using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using InferenceGateway.Gateway.Edge;
using InferenceGateway.Inference.Hosting;
using InferenceGateway.Tests.Infrastructure;
using Microsoft.Extensions.Options;
using static InferenceGateway.Tests.Edge.EdgeTestClient;

namespace InferenceGateway.Tests.Edge;

/// <summary>
/// The one model catalog's placement (<c>Models:&lt;name&gt;:Placement</c>) decides where a model is
/// served: a gateway with three copies of the embedded MiniLM, placed at the edge only, on workers only,
/// and both, answers <c>POST /v1/embeddings</c> for the edge ones, accepts jobs for the worker ones, and
/// lists each in <c>GET /v1/models</c> with that placement. Names are unique per fixture (the registry is shared Redis).
/// </summary>
[TestFixture]
public sealed class EdgePlacementTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    private GatewayServer _gateway = null!;
    private string _key = null!;
    private string _edgeOnly = null!;
    private string _workerOnly = null!;
    private string _both = null!;

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        var suffix = Guid.NewGuid().ToString("N")[..12];
        _edgeOnly = $"edge-only-{suffix}";
        _workerOnly = $"worker-only-{suffix}";
        _both = $"both-{suffix}";
        var configuration = Configuration(TestStack.UniqueName("edge-placement"));
        configuration[$"Models:{Model}:Placement:Edge"] = "false";
        foreach (var name in new[] { _edgeOnly, _workerOnly, _both })
        {
            configuration[$"Models:{name}:Source"] = ModelOptions.EmbeddedMiniLm;
            configuration[$"Models:{name}:Dimensions"] = "384";
        }

        configuration[$"Models:{_edgeOnly}:Placement:Worker"] = "false";
        configuration[$"Models:{_edgeOnly}:Placement:Edge"] = "true";
        configuration[$"Models:{_both}:Placement:Edge"] = "true";
        _gateway = await GatewayServer.StartAsync(configuration);
        _key = await _gateway.CreateKeyAsync(TestStack.UniqueName("tenant"));

        // Two copies of the model load in the background; /readyz answers 200 once both are in memory.
        using var client = _gateway.CreateClient();
        await Eventually.HoldsAsync(
            async () =>
            {
                using var response = await client.GetAsync("/readyz");
                return response.StatusCode == HttpStatusCode.OK;
            },
            TimeSpan.FromMinutes(3),
            "the edge models loaded");
    }

    [OneTimeTearDown]
    public async Task StopAsync()
    {
        await _gateway.DisposeAsync();
    }

    [Test]
    public async Task Embeddings_AreServedAtTheEdge_OnlyForModelsPlacedThere()
    {
        using var client = _gateway.CreateClient(_key);
        foreach (var (model, expected) in new[] { (_edgeOnly, HttpStatusCode.OK), (_both, HttpStatusCode.OK), (_workerOnly, HttpStatusCode.BadRequest), (Model, HttpStatusCode.BadRequest) })
        {
            using var response = await PostAsync(client, new { model, input = "where does this run?" });
            var answer = await ReadJsonAsync(response, expected);
            if (expected == HttpStatusCode.OK)
            {
                Assert.That(Header(response, EmbeddingsApi.PlacementHeader), Is.EqualTo("edge"), model);
                Assert.That(Vectors(answer)[0], Has.Length.EqualTo(384), model);
            }
            else
            {
                Assert.That(answer.GetProperty("errors").GetProperty("model")[0].GetString(), Does.Contain("is not served at the edge"), model);
            }
        }
    }

    [Test]
    public async Task Jobs_AreAccepted_OnlyForModelsPlacedOnWorkers()
    {
        using var client = _gateway.CreateClient(_key);
        foreach (var (model, expected) in new[] { (_workerOnly, HttpStatusCode.Accepted), (_both, HttpStatusCode.Accepted), (_edgeOnly, HttpStatusCode.BadRequest) })
        {
            using var response = await client.PostAsJsonAsync("/v1/jobs", new { model, input = new { texts = new[] { "queued?" } } }).WaitAsync(Timeout);
            var body = await response.Content.ReadAsStringAsync();
            Assert.That(response.StatusCode, Is.EqualTo(expected), $"{model}: {body}");
        }
    }

    [Test]
    public async Task Models_ListsEachWithItsPlacement()
    {
        using var client = _gateway.CreateClient(_key);
        var expected = new Dictionary<string, string[]>
        {
            [_edgeOnly] = ["edge"],
            [_workerOnly] = ["queue"],
            [_both] = ["edge", "queue"],
        };

        // The edge models are published to the registry once loaded; the catalog reads it every 2 s.
        var placements = new Dictionary<string, string[]>();
        await Eventually.HoldsAsync(
            async () =>
            {
                using var response = await client.GetAsync("/v1/models").WaitAsync(Timeout);
                var body = await response.Content.ReadAsStringAsync();
                Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), body);
                placements = JsonDocument.Parse(body).RootElement.GetProperty("data").EnumerateArray()
                    .Where(m => expected.ContainsKey(m.GetProperty("id").GetString()!))
                    .ToDictionary(m => m.GetProperty("id").GetString()!, m => m.GetProperty("placement").EnumerateArray().Select(p => p.GetString()!).ToArray());
                return expected.All(e => placements.TryGetValue(e.Key, out var placement) && placement.SequenceEqual(e.Value));
            },
            Timeout,
            "every model listed with its placement");

        foreach (var (model, placement) in expected)
        {
            Assert.That(placements[model], Is.EqualTo(placement), model);
        }
    }

    [Test]
    public void Start_WithTheRetiredEdgeModelsSection_FailsNamingTheNewKeys()
    {
        var configuration = Configuration(TestStack.UniqueName("edge-retired"));
        configuration[$"Edge:Models:{Model}:LatencyBudgetMs"] = "50";

        var error = Assert.ThrowsAsync<OptionsValidationException>(() => GatewayServer.StartAsync(configuration));

        var failure = error!.Failures.SingleOrDefault(f => f.StartsWith($"Edge:Models:{Model} is no longer read", StringComparison.Ordinal));
        Assert.That(failure, Does.Contain($"Models:{Model}:Placement:Edge=true").And.Contain($"Models:{Model}:Placement:LatencyBudgetMs"), string.Join(" | ", error.Failures));
    }
}
