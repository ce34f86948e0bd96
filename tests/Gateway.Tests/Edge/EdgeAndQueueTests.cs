using System.Net;
using System.Text.Json;
using InferenceGateway.Gateway.Edge;
using InferenceGateway.Tests.Infrastructure;
using static InferenceGateway.Tests.Edge.EdgeTestClient;

namespace InferenceGateway.Tests.Edge;

/// <summary>
/// The edge and the queue run the same code: a gateway with the edge on and a real worker on the
/// real SQS emulator. Embeddings answered at the edge equal the worker's for the same texts, and
/// a request over the edge budget is queued and completed by the worker, its result in the job format.
/// </summary>
[TestFixture]
public sealed class EdgeAndQueueTests
{
    private static readonly string[] Texts = ["This is an example sentence", "Each sentence is converted", "Serverless GPUs pay a cold start; the edge does not."];

    private GatewayServer _gateway = null!;
    private WorkerServer _worker = null!;
    private string _key = null!;

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        var configuration = Configuration(TestStack.UniqueName("edge-e2e"));

        // One text of these fits the budget; all three do not, and are queued.
        configuration[$"Models:{Model}:Placement:FixedMs"] = "0";
        configuration[$"Models:{Model}:Placement:PerTokenMs"] = "1";
        configuration[$"Models:{Model}:Placement:LatencyBudgetMs"] = "20";
        _gateway = await GatewayServer.StartAsync(configuration);
        _worker = await WorkerServer.StartAsync(configuration);
        _key = await _gateway.CreateKeyAsync(TestStack.UniqueName("tenant"));
    }

    [OneTimeTearDown]
    public async Task StopAsync()
    {
        await _worker.DisposeAsync();
        await _gateway.DisposeAsync();
    }

    [Test]
    public async Task EdgeEmbeddings_EqualTheWorkersForTheSameTexts()
    {
        using var client = _gateway.CreateClient(_key);
        var edge = new List<float[]>();
        foreach (var text in Texts)
        {
            using var response = await PostAsync(client, new { model = Model, input = text });
            Assert.That(Header(response, EmbeddingsApi.PlacementHeader), Is.EqualTo("edge"));
            edge.Add(Vectors(await ReadJsonAsync(response, HttpStatusCode.OK))[0]);
        }

        var jobId = await _gateway.SubmitJobAsync(_key, Texts);
        var queued = await CompletedEmbeddingsAsync(client, jobId);

        Assert.That(queued, Has.Length.EqualTo(Texts.Length));
        for (var i = 0; i < Texts.Length; i++)
        {
            Assert.That(Similarity.Cosine(edge[i], queued[i]), Is.GreaterThanOrEqualTo(0.9999), $"text {i}");
        }
    }

    [Test]
    public async Task OverBudget_IsQueued_AndTheWorkerCompletesIt_InTheJobFormat()
    {
        using var client = _gateway.CreateClient(_key);

        using var response = await PostAsync(client, new { model = Model, input = Texts });

        var accepted = await ReadJsonAsync(response, HttpStatusCode.Accepted);
        Assert.That(Header(response, EmbeddingsApi.PlacementHeader), Is.EqualTo("queue"));
        var queued = await CompletedEmbeddingsAsync(client, accepted.GetProperty("id").GetString()!);
        using var single = await PostAsync(client, new { model = Model, input = Texts[0] });
        var atTheEdge = Vectors(await ReadJsonAsync(single, HttpStatusCode.OK))[0];
        Assert.That(queued, Has.Length.EqualTo(Texts.Length));
        Assert.That(Similarity.Cosine(atTheEdge, queued[0]), Is.GreaterThanOrEqualTo(0.9999));
    }

    /// <summary>Waits for the job over the hub, then reads its result with GET /v1/jobs/{id}: <c>{"model","dimensions","embeddings"}</c>.</summary>
    private async Task<float[][]> CompletedEmbeddingsAsync(HttpClient client, string jobId)
    {
        var events = await _gateway.StreamJobAsync(_key, jobId, afterSeq: 0, RequestTimeout);
        Assert.That(events[^1].Type, Is.EqualTo("completed"));
        var job = JsonDocument.Parse(await client.GetStringAsync($"/v1/jobs/{jobId}").WaitAsync(RequestTimeout)).RootElement;
        Assert.That(job.GetProperty("status").GetString(), Is.EqualTo("completed"));
        var result = job.GetProperty("result");
        Assert.That(result.GetProperty("dimensions").GetInt32(), Is.EqualTo(384));
        return [.. result.GetProperty("embeddings").EnumerateArray().Select(v => v.EnumerateArray().Select(x => x.GetSingle()).ToArray())];
    }
}
