using System.Net;
using System.Text;
using System.Text.Json;
using InferenceGateway.Tests.Infrastructure;

namespace InferenceGateway.Tests.Jobs;

/// <summary>The gateway with its Redis gone: clear 503s with Retry-After, never a 500 or a hang.</summary>
[TestFixture]
public sealed class DependencyOutageTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    [Test]
    public async Task Submit_WhileRedisIsDown_Returns503ProblemWithRetryAfter_AndReadyzSaysWhy()
    {
        var redis = await TestStack.StartRedisAsync();
        var configuration = TestStack.Configuration(TestStack.UniqueName("outage"));
        configuration["Redis:Configuration"] = $"127.0.0.1:{redis.Port},connectTimeout=500,syncTimeout=1000,asyncTimeout=1000";
        await using var gateway = await GatewayServer.StartAsync(configuration);
        var key = await gateway.CreateKeyAsync(TestStack.UniqueName("tenant"));
        await redis.DisposeAsync();
        using var client = gateway.CreateClient(key);

        using var submit = await client.PostAsync("/v1/jobs", new StringContent("{\"model\": \"all-minilm-l6-v2\", \"input\": {\"texts\": [\"x\"]}}", Encoding.UTF8, "application/json")).WaitAsync(Timeout);
        using var ready = await client.GetAsync("/readyz").WaitAsync(Timeout);
        using var health = await client.GetAsync("/healthz").WaitAsync(Timeout);

        Assert.That(submit.StatusCode, Is.EqualTo(HttpStatusCode.ServiceUnavailable), await submit.Content.ReadAsStringAsync());
        Assert.That(submit.Content.Headers.ContentType?.MediaType, Is.EqualTo("application/problem+json"));
        Assert.That(submit.Headers.RetryAfter, Is.Not.Null);
        Assert.That(ready.StatusCode, Is.EqualTo(HttpStatusCode.ServiceUnavailable));
        var readyBody = await ready.Content.ReadAsStringAsync();
        var checks = JsonDocument.Parse(readyBody).RootElement.GetProperty("checks");
        Assert.That(checks.GetProperty("redis").GetString(), Does.StartWith("unreachable"), readyBody);
        Assert.That(checks.GetProperty("sqs").GetString(), Is.EqualTo("ok"));
        Assert.That(health.StatusCode, Is.EqualTo(HttpStatusCode.OK));
    }
}
