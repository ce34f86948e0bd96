using System.Net;
using InferenceGateway.Gateway.Edge;
using InferenceGateway.Tests.Infrastructure;
using InferenceGateway.Tests.Proxy;
using static InferenceGateway.Tests.Edge.EdgeTestClient;

namespace InferenceGateway.Tests.Edge;

/// <summary>
/// The edge's latency budget: with a cost model of 1 ms per token and a 20 ms budget, a short text
/// runs at the edge and a long one is over budget: queued as a job (202 with the job's links, as
/// <c>POST /v1/jobs</c> answers, and a message on the real SQS queue) or refused (413 with the
/// estimate and the budget, nothing queued), by the model's policy.
/// </summary>
[TestFixture]
public sealed class EdgeBudgetTests
{
    private const string Short = "hello there";
    private const string Long = "This sentence is long enough that its tokens, at one millisecond each, are far over the twenty millisecond budget of the edge.";

    [Test]
    public async Task OverBudget_WithPolicyQueue_IsQueuedAsAJob_AndAnswers202WithTheJobsLinks()
    {
        var queue = TestStack.UniqueName("edge-q");
        await using var gateway = await StartAsync(queue, "Queue");
        using var client = gateway.CreateClient(await gateway.CreateKeyAsync(TestStack.UniqueName("tenant")));

        using var fits = await PostAsync(client, new { model = Model, input = Short });
        using var over = await PostAsync(client, new { model = Model, input = new[] { Short, Long } });

        Assert.That(Header(fits, EmbeddingsApi.PlacementHeader), Is.EqualTo("edge"));
        await ReadJsonAsync(fits, HttpStatusCode.OK);
        var accepted = await ReadJsonAsync(over, HttpStatusCode.Accepted);
        var id = accepted.GetProperty("id").GetString()!;
        Assert.Multiple(() =>
        {
            Assert.That(Header(over, EmbeddingsApi.PlacementHeader), Is.EqualTo("queue"));
            Assert.That(id, Does.Match("^job_[0-9a-f]{32}$"));
            Assert.That(accepted.GetProperty("status").GetString(), Is.EqualTo("queued"));
            Assert.That(over.Headers.Location?.ToString(), Is.EqualTo($"/v1/jobs/{id}"));
            Assert.That(accepted.GetProperty("links").GetProperty("self").GetString(), Is.EqualTo($"/v1/jobs/{id}"));
            Assert.That(accepted.GetProperty("links").GetProperty("events").GetString(), Is.EqualTo($"/v1/jobs/{id}/events"));
            Assert.That(Header(over, "x-ratelimit-remaining-tokens"), Is.Not.Empty);
        });
        Assert.That(await TestStack.QueuedCountAsync(queue), Is.EqualTo(1));
        using var job = await client.GetAsync($"/v1/jobs/{id}").WaitAsync(RequestTimeout);
        Assert.That((await ReadJsonAsync(job, HttpStatusCode.OK)).GetProperty("status").GetString(), Is.EqualTo("queued"));
    }

    [Test]
    public async Task OverBudget_WithPolicyRefuse_Is413WithTheEstimateAndTheBudget_AndNothingIsQueued()
    {
        var queue = TestStack.UniqueName("edge-r");
        await using var gateway = await StartAsync(queue, "Refuse");
        using var client = gateway.CreateClient(await gateway.CreateKeyAsync(TestStack.UniqueName("tenant")));

        using var fits = await PostAsync(client, new { model = Model, input = Short });
        using var over = await PostAsync(client, new { model = Model, input = Long });

        await ReadJsonAsync(fits, HttpStatusCode.OK);
        var problem = await ProblemAssert.IsProblemAsync(over, HttpStatusCode.RequestEntityTooLarge);
        Assert.Multiple(() =>
        {
            Assert.That(problem.GetProperty("latencyBudgetMs").GetDouble(), Is.EqualTo(20));
            Assert.That(problem.GetProperty("estimatedMs").GetDouble(), Is.GreaterThan(20));
            Assert.That(problem.GetProperty("tokens").GetInt64(), Is.EqualTo((long)problem.GetProperty("estimatedMs").GetDouble()));
            Assert.That(problem.GetProperty("detail").GetString(), Does.Contain("/v1/jobs"));
        });
        Assert.That(await TestStack.QueuedCountAsync(queue), Is.Zero);
    }

    private static Task<GatewayServer> StartAsync(string queue, string policy)
    {
        var configuration = Configuration(queue);
        configuration[$"Models:{Model}:Placement:FixedMs"] = "0";
        configuration[$"Models:{Model}:Placement:PerTokenMs"] = "1";
        configuration[$"Models:{Model}:Placement:LatencyBudgetMs"] = "20";
        configuration[$"Models:{Model}:Placement:OverBudget"] = policy;
        return GatewayServer.StartAsync(configuration);
    }
}
