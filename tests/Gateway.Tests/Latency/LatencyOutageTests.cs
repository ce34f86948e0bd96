using System.Net;
using System.Text.Json;
using InferenceGateway.Core.Latency;
using InferenceGateway.Gateway.Auth;
using InferenceGateway.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace InferenceGateway.Tests.Latency;

/// <summary>The gateway with its own Redis, which goes away: the audit answers 503, requests go on being served, the recorder counts its failed flushes.</summary>
[TestFixture]
public sealed class LatencyOutageTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    [Test]
    public async Task RedisDown_AuditAnswers503Problem_WhileRequestsKeepWorking_AndFailedFlushesAreCounted()
    {
        var redis = await TestStack.StartRedisAsync();
        var configuration = TestStack.Configuration(TestStack.UniqueName("lat-outage"));
        configuration["Redis:Configuration"] = $"127.0.0.1:{redis.Port},connectTimeout=500,syncTimeout=1000,asyncTimeout=1000";
        configuration["LatencyAudit:KeyPrefix"] = TestStack.UniqueName("lat");
        configuration["LatencyAudit:FlushInterval"] = "00:00:00.100";
        await using var gateway = await GatewayServer.StartAsync(configuration);
        using var admin = gateway.CreateClient(await gateway.CreateKeyAsync(TestStack.UniqueName("ops"), Scopes.Admin));
        using var client = gateway.CreateClient(await gateway.CreateKeyAsync(TestStack.UniqueName("tenant")));
        // Both keys are verified (and cached) while Redis is up.
        using (var up = await admin.GetAsync("/admin/latency-audit").WaitAsync(Timeout))
        {
            Assert.That(up.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        }

        using (var models = await client.GetAsync("/v1/models").WaitAsync(Timeout))
        {
            Assert.That(models.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        }

        await redis.DisposeAsync();
        var recorder = gateway.Services.GetRequiredService<LatencyRecorder>();

        using var audit = await admin.GetAsync("/admin/latency-audit").WaitAsync(Timeout);
        var auditBody = await audit.Content.ReadAsStringAsync();
        using var served = await client.GetAsync("/v1/models").WaitAsync(Timeout);
        using var health = await client.GetAsync("/healthz").WaitAsync(Timeout);

        Assert.That(audit.StatusCode, Is.EqualTo(HttpStatusCode.ServiceUnavailable), auditBody);
        Assert.That(audit.Content.Headers.ContentType?.MediaType, Is.EqualTo("application/problem+json"));
        Assert.That(audit.Headers.RetryAfter, Is.Not.Null);
        Assert.That(JsonDocument.Parse(auditBody).RootElement.GetProperty("title").GetString(), Is.EqualTo("Latency Data Unavailable"));
        Assert.That(served.StatusCode, Is.EqualTo(HttpStatusCode.OK), "a request is never failed by the latency recorder");
        Assert.That(health.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        await Eventually.HoldsAsync(() => recorder.FlushFailures > 0, Timeout, "failed flushes are counted");
        Assert.That(recorder.SeriesCount, Is.GreaterThanOrEqualTo(2), "what was recorded is still held for the next flush");
    }
}
