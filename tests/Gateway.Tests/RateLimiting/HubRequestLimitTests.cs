using System.Net;
using InferenceGateway.Contracts;
using InferenceGateway.Core.Jobs;
using InferenceGateway.Gateway.Auth;
using InferenceGateway.Tests.Infrastructure;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.DependencyInjection;

namespace InferenceGateway.Tests.RateLimiting;

/// <summary>
/// Hub method calls draw from the tenant's request bucket, the one its HTTP requests draw from
/// (docs/api.md, "Request rate"); the hub handshake has a bucket of its own. Real gateway, Redis,
/// SignalR client.
/// </summary>
[TestFixture]
public sealed class HubRequestLimitTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    [Test]
    public async Task HubMethodCalls_DrawFromTheRequestBucket_SharedWithHttp_AndOverItAreRefused()
    {
        var configuration = TestStack.Configuration(TestStack.UniqueName("rl-hub"));
        configuration["RateLimits:Plans:three:RequestsPerSecond"] = "0.001";
        configuration["RateLimits:Plans:three:Burst"] = "3";
        configuration["RateLimits:Plans:three:HubConnectsPerSecond"] = "100";
        configuration["RateLimits:Plans:three:HubConnectBurst"] = "100";
        await using var gateway = await GatewayServer.StartAsync(configuration);
        var tenant = TestStack.UniqueName("tenant");
        var key = await gateway.CreateKeyAsync(new NewApiKey(tenant, "hub", [Scopes.JobsRead, Scopes.JobsWrite], "three"));
        var jobId = "job_" + Guid.NewGuid().ToString("N");
        await gateway.Services.GetRequiredService<RedisJobStore>().CreateAsync(jobId, tenant, "all-minilm-l6-v2", DateTimeOffset.UtcNow).WaitAsync(Timeout);
        await using var hub = gateway.CreateHubConnection(key);
        using var cts = new CancellationTokenSource(Timeout);
        await hub.StartAsync(cts.Token);
        using var client = gateway.CreateClient(key);

        var first = await FirstEventAsync(hub, jobId, cts.Token);
        var second = await FirstEventAsync(hub, jobId, cts.Token);
        using var third = await client.GetAsync("/v1/models").WaitAsync(Timeout);
        var refused = Assert.ThrowsAsync<HubException>(() => FirstEventAsync(hub, jobId, cts.Token));
        using var afterHub = await client.GetAsync("/v1/models").WaitAsync(Timeout);

        Assert.That((first.Type, second.Type), Is.EqualTo((JobEventTypes.Queued, JobEventTypes.Queued)), "the handshake took nothing from the request bucket");
        Assert.That(third.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(third.Headers.GetValues("RateLimit-Remaining").Single(), Is.EqualTo("0"), "the two hub calls drew from the bucket HTTP draws from");
        Assert.That(refused!.Message, Does.Contain("Too many requests"));
        Assert.That(afterHub.StatusCode, Is.EqualTo(HttpStatusCode.TooManyRequests));
    }

    /// <summary>One <c>StreamJob</c> call: the first event it streams (the job's <c>queued</c>).</summary>
    private static async Task<JobEvent> FirstEventAsync(HubConnection hub, string jobId, CancellationToken cancellationToken)
    {
        await using var events = hub.StreamAsync<JobEvent>("StreamJob", jobId, 0L, cancellationToken).GetAsyncEnumerator(cancellationToken);
        Assert.That(await events.MoveNextAsync(), Is.True);
        return events.Current;
    }
}
