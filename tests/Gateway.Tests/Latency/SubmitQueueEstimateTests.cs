using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using InferenceGateway.Core.Latency;
using InferenceGateway.Core.Models;
using InferenceGateway.Tests.Infrastructure;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace InferenceGateway.Tests.Latency;

/// <summary>
/// The <c>queue</c> object on the 202 of <c>POST /v1/jobs</c>, with no worker consuming: messages
/// put on the fixture's own queue beforehand set a floor under the depth; warm and live workers come
/// from the model registry (heartbeats as a worker writes them, for models unique to the fixture);
/// execution percentiles from a recorder flushing under the fixture's own key prefix, as a worker would.
/// </summary>
[TestFixture]
public sealed class SubmitQueueEstimateTests
{
    private const int Waiting = 3;
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    private GatewayServer _gateway = null!;
    private HttpClient _client = null!;
    private string _warmModel = null!;
    private string _coldModel = null!;

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        var suffix = Guid.NewGuid().ToString("N")[..12];
        _warmModel = $"warm-{suffix}";
        _coldModel = $"cold-{suffix}";
        var queueName = TestStack.UniqueName("estimate");
        var prefix = TestStack.UniqueName("lat");
        var configuration = TestStack.Configuration(queueName);
        configuration[$"Models:{_warmModel}:Dimensions"] = "8";
        configuration[$"Models:{_coldModel}:Dimensions"] = "8";
        configuration["LatencyAudit:KeyPrefix"] = prefix;
        configuration["LatencyAudit:QueueDepthCacheFor"] = "00:00:00.200";

        // A worker's doing, written before the gateway's first read: two warm workers and a cold
        // one for one model, and its jobs' execution times (each 100 ms: p50 is the bucket's 102.4 ms).
        var registry = new ModelRegistry(TestStack.Multiplexer, TimeProvider.System);
        var spec = JsonSerializer.Serialize(new { name = _warmModel, kind = "embedding", dimensions = 8 });
        await registry.HeartbeatAsync("w1-" + suffix, _warmModel, spec, warm: true);
        await registry.HeartbeatAsync("w2-" + suffix, _warmModel, spec, warm: true);
        await registry.HeartbeatAsync("w3-" + suffix, _warmModel, spec, warm: false);
        using var recorder = new LatencyRecorder(TestStack.Multiplexer, Options.Create(new LatencyOptions { KeyPrefix = prefix }), TimeProvider.System, NullLogger<LatencyRecorder>.Instance);
        for (var i = 0; i < 5; i++)
        {
            recorder.Record(LatencySeries.Execution(_warmModel), 100);
        }

        Assert.That(await recorder.FlushAsync(), Is.True);

        _gateway = await GatewayServer.StartAsync(configuration);
        using var sqs = TestStack.CreateSqsClient();
        var url = (await sqs.GetQueueUrlAsync(queueName)).QueueUrl;
        for (var i = 0; i < Waiting; i++)
        {
            await sqs.SendMessageAsync(url, "{}");
        }

        _client = _gateway.CreateClient(await _gateway.CreateKeyAsync(TestStack.UniqueName("tenant")));
    }

    [OneTimeTearDown]
    public async Task StopAsync()
    {
        _client.Dispose();
        await _gateway.DisposeAsync();
    }

    [Test]
    public async Task Submit_WithWarmWorkersAndRecordedExecution_ShowsDepthWorkersAndTheEstimatedStart()
    {
        var accepted = await SubmitUntilDepthIsKnownAsync(_warmModel);

        var queue = accepted.GetProperty("queue");
        var depth = queue.GetProperty("depth").GetInt64();
        Assert.That(depth, Is.GreaterThanOrEqualTo(Waiting));
        Assert.That(queue.GetProperty("warmWorkers").GetInt32(), Is.EqualTo(2));
        Assert.That(queue.GetProperty("workers").GetInt32(), Is.EqualTo(3));
        var expected = (long)Math.Ceiling(102.4 * depth / 2);
        Assert.That(queue.GetProperty("estimatedStartMs").GetInt64(), Is.EqualTo(expected), "p50 execution × depth ÷ 2 warm workers");
        Assert.That(
            queue.GetProperty("estimatedStartAt").GetDateTimeOffset(),
            Is.EqualTo(accepted.GetProperty("createdAt").GetDateTimeOffset().AddMilliseconds(expected)));

        // What clients already read is unchanged.
        var id = accepted.GetProperty("id").GetString();
        Assert.That(accepted.GetProperty("status").GetString(), Is.EqualTo("queued"));
        Assert.That(accepted.GetProperty("links").GetProperty("self").GetString(), Is.EqualTo($"/v1/jobs/{id}"));
        Assert.That(accepted.TryGetProperty("expiresAt", out _), Is.True);
    }

    [Test]
    public async Task Submit_ForAModelWithNoWorkersAndNoData_ShowsTheDepth_AndANullEstimate()
    {
        var accepted = await SubmitUntilDepthIsKnownAsync(_coldModel);

        var queue = accepted.GetProperty("queue");
        Assert.That(queue.GetProperty("depth").GetInt64(), Is.GreaterThanOrEqualTo(Waiting));
        Assert.That(queue.GetProperty("warmWorkers").GetInt32(), Is.Zero);
        Assert.That(queue.GetProperty("workers").GetInt32(), Is.Zero);
        Assert.That(queue.GetProperty("estimatedStartMs").ValueKind, Is.EqualTo(JsonValueKind.Null));
        Assert.That(queue.GetProperty("estimatedStartAt").ValueKind, Is.EqualTo(JsonValueKind.Null));
    }

    /// <summary>
    /// Submits until an answer carries a depth: the very first read may take longer than a
    /// submission waits for it (then the depth is null and the read lands for the next one).
    /// </summary>
    private async Task<JsonElement> SubmitUntilDepthIsKnownAsync(string model)
    {
        JsonElement accepted = default;
        await Eventually.HoldsAsync(
            async () =>
            {
                using var response = await _client.PostAsJsonAsync("/v1/jobs", new { model, input = new { texts = new[] { "how long will I wait" } } }).WaitAsync(Timeout);
                var body = await response.Content.ReadAsStringAsync();
                Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Accepted), body);
                accepted = JsonDocument.Parse(body).RootElement.Clone();
                return accepted.GetProperty("queue").GetProperty("depth").ValueKind == JsonValueKind.Number;
            },
            Timeout,
            "a 202 with the queue's depth");
        return accepted;
    }
}
