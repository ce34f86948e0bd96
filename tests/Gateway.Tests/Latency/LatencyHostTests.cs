using System.Net;
using InferenceGateway.Core.Latency;
using InferenceGateway.Tests.Infrastructure;
using Microsoft.Extensions.Options;

namespace InferenceGateway.Tests.Latency;

/// <summary>The recorder inside a real gateway host: what it holds when the host stops is flushed, not lost.</summary>
[TestFixture]
public sealed class LatencyHostTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    [Test]
    public async Task Stop_FlushesWhatTheLastRequestsRecorded()
    {
        var prefix = TestStack.UniqueName("lat");
        var configuration = TestStack.Configuration(TestStack.UniqueName("lat-stop"));
        configuration["LatencyAudit:KeyPrefix"] = prefix;
        configuration["LatencyAudit:FlushInterval"] = "00:01:00"; // no periodic flush within the test
        var gateway = await GatewayServer.StartAsync(configuration);
        var startedAt = DateTimeOffset.UtcNow;
        try
        {
            using var client = gateway.CreateClient();
            for (var i = 0; i < 3; i++)
            {
                using var health = await client.GetAsync("/healthz").WaitAsync(Timeout);
                Assert.That(health.StatusCode, Is.EqualTo(HttpStatusCode.OK));
            }
        }
        finally
        {
            await gateway.DisposeAsync();
        }

        var reader = new LatencyReader(TestStack.Multiplexer, Options.Create(new LatencyOptions { KeyPrefix = prefix }));
        var read = await reader.ReadAsync(["route:GET /healthz"], startedAt, DateTimeOffset.UtcNow).WaitAsync(Timeout);
        Assert.That(read["route:GET /healthz"].Count, Is.EqualTo(3));
    }
}
