using System.Net;
using System.Net.Http.Json;
using InferenceGateway.Gateway.Auth;
using InferenceGateway.Inference.Hosting;
using InferenceGateway.Tests.Infrastructure;

namespace InferenceGateway.Tests.Jobs;

/// <summary>
/// A request repeated with the same <c>Idempotency-Key</c> answers the first one's job again
/// (<c>Idempotent-Replayed: true</c>) and is charged once: the tokens the repeat was charged are
/// given back, on every way in that charges (<c>POST /v1/jobs</c> and chat completions share the
/// one charged-submit path). The plan's 100 tokens a minute hold two 40-token jobs: had the repeat
/// kept its charge, the next job would be refused.
/// </summary>
[TestFixture]
public sealed class ReplayChargeTests
{
    private const string ChatModel = "tiny-chat";
    private const string Plan = "hundred";
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    // 160 characters: 40 tokens by the estimate (one per four characters).
    private static readonly string Text = new('a', 160);

    private GatewayServer _gateway = null!;

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        var configuration = TestStack.Configuration(TestStack.UniqueName("replay-charge"));
        configuration[$"RateLimits:Plans:{Plan}:TokensPerMinute"] = "100";
        configuration[$"RateLimits:Plans:{Plan}:RequestsPerSecond"] = "10000";
        configuration[$"RateLimits:Plans:{Plan}:Burst"] = "10000";
        configuration[$"Models:{ChatModel}:Runtime"] = ModelRuntimes.TextGeneration;
        configuration[$"Models:{ChatModel}:MaxCompletionTokens"] = "64";
        _gateway = await GatewayServer.StartAsync(configuration);
    }

    [OneTimeTearDown]
    public async Task StopAsync() => await _gateway.DisposeAsync();

    [TestCase("/v1/jobs")]
    [TestCase("/v1/chat/completions")]
    public async Task ARepeatedRequest_IsChargedOnce_SoTheTenantsTokensStillAdmitAnotherJob(string path)
    {
        var key = await _gateway.CreateKeyAsync(new NewApiKey(TestStack.UniqueName("tenant"), "replay", [Scopes.JobsRead, Scopes.JobsWrite], Plan));
        using var client = _gateway.CreateClient(key);

        using var first = await PostAsync(client, path, "first");
        using var repeated = await PostAsync(client, path, "first");
        using var next = await PostAsync(client, path, "next");

        Assert.That(new[] { first.StatusCode, repeated.StatusCode, next.StatusCode }, Is.EqualTo(new[] { HttpStatusCode.Accepted, HttpStatusCode.Accepted, HttpStatusCode.Accepted }), await next.Content.ReadAsStringAsync());
        Assert.Multiple(() =>
        {
            Assert.That(first.Headers.Contains("Idempotent-Replayed"), Is.False);
            Assert.That(repeated.Headers.TryGetValues("Idempotent-Replayed", out var replayed) ? replayed.Single() : null, Is.EqualTo("true"));
            Assert.That(repeated.Headers.Location, Is.EqualTo(first.Headers.Location), "the repeat answers the first request's job");
            Assert.That(next.Headers.Location, Is.Not.EqualTo(first.Headers.Location));
        });
    }

    private static async Task<HttpResponseMessage> PostAsync(HttpClient client, string path, string idempotencyKey)
    {
        object body = path == "/v1/jobs"
            ? new { model = "all-minilm-l6-v2", input = new { texts = new[] { Text } } }
            : new { model = ChatModel, messages = new[] { new { role = "user", content = Text[..40] } }, max_tokens = 30 };
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = JsonContent.Create(body) };
        request.Headers.Add("Idempotency-Key", idempotencyKey + "-" + path.Replace('/', '-'));
        request.Headers.Add("Prefer", "respond-async");
        return await client.SendAsync(request).WaitAsync(Timeout);
    }
}
