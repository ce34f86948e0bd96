using System.Net;
using System.Text;
using System.Text.Json;
using InferenceGateway.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

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

    [Test]
    public async Task Submit_WhileSqsIsDown_Returns503ProblemWithRetryAfter()
    {
        var deadPort = ExternalProcess.FreePort();
        var configuration = TestStack.Configuration(TestStack.UniqueName("no-sqs"));
        configuration["Sqs:ServiceUrl"] = $"http://127.0.0.1:{deadPort}";
        configuration["Sqs:RequestTimeout"] = "00:00:02";
        await using var gateway = await GatewayServer.StartAsync(configuration);
        var key = await gateway.CreateKeyAsync(TestStack.UniqueName("tenant"));
        using var client = gateway.CreateClient(key);

        using var submit = await client.PostAsync("/v1/jobs", new StringContent("{\"model\": \"all-minilm-l6-v2\", \"input\": {\"texts\": [\"x\"]}}", Encoding.UTF8, "application/json")).WaitAsync(Timeout);
        using var ready = await client.GetAsync("/readyz").WaitAsync(Timeout);

        Assert.That(submit.StatusCode, Is.EqualTo(HttpStatusCode.ServiceUnavailable), await submit.Content.ReadAsStringAsync());
        Assert.That(submit.Content.Headers.ContentType?.MediaType, Is.EqualTo("application/problem+json"));
        Assert.That(submit.Headers.RetryAfter, Is.Not.Null);
        Assert.That(ready.StatusCode, Is.EqualTo(HttpStatusCode.ServiceUnavailable));
        var checks = JsonDocument.Parse(await ready.Content.ReadAsStringAsync()).RootElement.GetProperty("checks");
        Assert.That(checks.GetProperty("sqs").GetString(), Does.StartWith("unreachable"));
        Assert.That(checks.GetProperty("redis").GetString(), Is.EqualTo("ok"));
    }

    [Test]
    public async Task Submit_WhenTheSendToSqsFails_ClosesTheRecordAsFailed_AndReturns503()
    {
        // The queue URL is known up front, so the record is written before the send fails: the
        // record must then be closed, not left queued for ever.
        var deadPort = ExternalProcess.FreePort();
        var tenant = TestStack.UniqueName("tenant");
        var configuration = TestStack.Configuration(TestStack.UniqueName("send-fails"));
        configuration["Sqs:ServiceUrl"] = $"http://127.0.0.1:{deadPort}";
        configuration["Sqs:QueueUrl"] = $"http://127.0.0.1:{deadPort}/000000000000/nowhere";
        configuration["Sqs:DeadLetterQueueUrl"] = $"http://127.0.0.1:{deadPort}/000000000000/nowhere-dlq";
        configuration["Sqs:CreateQueues"] = "false";
        configuration["Sqs:RequestTimeout"] = "00:00:02";
        await using var gateway = await GatewayServer.StartAsync(configuration);
        var key = await gateway.CreateKeyAsync(tenant);
        using var client = gateway.CreateClient(key);
        var store = gateway.Services.GetRequiredService<InferenceGateway.Core.Jobs.RedisJobStore>();
        var before = await JobIdsAsync();

        using var submit = await client.PostAsync("/v1/jobs", new StringContent("{\"model\": \"all-minilm-l6-v2\", \"input\": {\"texts\": [\"x\"]}}", Encoding.UTF8, "application/json")).WaitAsync(Timeout);

        Assert.That(submit.StatusCode, Is.EqualTo(HttpStatusCode.ServiceUnavailable), await submit.Content.ReadAsStringAsync());
        var written = (await JobIdsAsync()).Except(before).ToList();
        var ours = new List<InferenceGateway.Core.Jobs.JobRecord>();
        foreach (var id in written)
        {
            if (await store.GetAsync(id) is { } job && job.Tenant == tenant)
            {
                ours.Add(job);
            }
        }

        Assert.That(ours, Has.Count.EqualTo(1));
        Assert.That(ours[0].Status, Is.EqualTo("failed"));
        Assert.That(ours[0].Error?.Code, Is.EqualTo("enqueue_failed"));
        var log = await store.ReadEventsAsync(ours[0].Id, 0, 10);
        Assert.That(log.Select(e => e.Type), Is.EqualTo(new[] { "queued", "failed" }));
    }

    private static async Task<HashSet<string>> JobIdsAsync()
    {
        var server = TestStack.Multiplexer.GetServers()[0];
        var ids = new HashSet<string>(StringComparer.Ordinal);
        await foreach (var key in server.KeysAsync(pattern: "job:{*}", pageSize: 1000))
        {
            var name = key.ToString();
            if (!name.EndsWith(":events", StringComparison.Ordinal))
            {
                ids.Add(name["job:{".Length..^1]);
            }
        }

        return ids;
    }
}
