using System.Net;
using System.Text;
using System.Text.Json;
using InferenceGateway.Gateway.Auth;
using InferenceGateway.Tests.Infrastructure;

namespace InferenceGateway.Tests.RateLimiting;

/// <summary>Per-tenant limits on real Redis, shared by gateway instances.</summary>
[TestFixture]
public sealed class RateLimitTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    /// <summary>
    /// A plan whose bucket holds <paramref name="burst"/> and refills once in 1000 s: within a test
    /// exactly the burst is admitted, whatever the timing, so the count is exact.
    /// </summary>
    private static Dictionary<string, string?> WithPlan(string queue, string plan, int burst, int maxActiveJobs = 0, int hubBurst = 1000)
    {
        var configuration = TestStack.Configuration(queue);
        configuration[$"RateLimits:Plans:{plan}:RequestsPerSecond"] = "0.001";
        configuration[$"RateLimits:Plans:{plan}:Burst"] = burst.ToString(System.Globalization.CultureInfo.InvariantCulture);
        configuration[$"RateLimits:Plans:{plan}:MaxActiveJobs"] = maxActiveJobs.ToString(System.Globalization.CultureInfo.InvariantCulture);
        configuration[$"RateLimits:Plans:{plan}:HubConnectsPerSecond"] = "0.001";
        configuration[$"RateLimits:Plans:{plan}:HubConnectBurst"] = hubBurst.ToString(System.Globalization.CultureInfo.InvariantCulture);
        return configuration;
    }

    [Test]
    public async Task TwoInstancesOnOneRedis_AdmitTheLimitExactly_Together()
    {
        const int Limit = 60;
        var configuration = WithPlan(TestStack.UniqueName("rl-two"), "shared", Limit);
        await using var a = await GatewayServer.StartAsync(configuration);
        await using var b = await GatewayServer.StartAsync(configuration);
        var key = await a.CreateKeyAsync(new NewApiKey(TestStack.UniqueName("tenant"), "rl", [Scopes.JobsRead], "shared"));
        using var clientA = a.CreateClient(key);
        using var clientB = b.CreateClient(key);

        // First a third of the bucket one by one, alternating instances; then a concurrent flood
        // over both, three times what is left.
        var responses = new List<HttpResponseMessage>();
        for (var i = 0; i < Limit / 3; i++)
        {
            responses.Add(await (i % 2 == 0 ? clientA : clientB).GetAsync("/v1/models").WaitAsync(Timeout));
        }

        responses.AddRange(await Task.WhenAll(Enumerable.Range(0, 3 * Limit).Select(i => (i % 2 == 0 ? clientA : clientB).GetAsync("/v1/models"))).WaitAsync(Timeout));
        try
        {
            var admitted = responses.Count(r => r.StatusCode == HttpStatusCode.OK);
            var refused = responses.Where(r => r.StatusCode == HttpStatusCode.TooManyRequests).ToList();

            TestContext.Out.WriteLine($"admitted {admitted} of {responses.Count} against a limit of {Limit} over two instances");
            Assert.That(admitted, Is.EqualTo(Limit), "exactly the limit: one atomic script on Redis decides for both instances");
            Assert.That(admitted + refused.Count, Is.EqualTo(responses.Count), "every answer is 200 or 429");
            Assert.That(responses.Where(r => r.StatusCode == HttpStatusCode.OK).Select(r => r.RequestMessage!.RequestUri!.Port).Distinct().Count(), Is.EqualTo(2), "both instances admitted some");
            var sample = refused[0];
            Assert.That(sample.Content.Headers.ContentType?.MediaType, Is.EqualTo("application/problem+json"));
            Assert.That(sample.Headers.RetryAfter?.Delta, Is.GreaterThan(TimeSpan.Zero));
            Assert.That(sample.Headers.GetValues("RateLimit-Remaining").Single(), Is.EqualTo("0"));
            var ok = responses.First(r => r.StatusCode == HttpStatusCode.OK);
            Assert.That(ok.Headers.GetValues("RateLimit-Limit").Single(), Is.EqualTo(Limit.ToString(System.Globalization.CultureInfo.InvariantCulture)));
            Assert.That(int.Parse(ok.Headers.GetValues("RateLimit-Remaining").Single(), System.Globalization.CultureInfo.InvariantCulture), Is.InRange(0, Limit - 1));
            Assert.That(ok.Headers.Contains("RateLimit-Reset"), Is.True);
        }
        finally
        {
            foreach (var response in responses)
            {
                response.Dispose();
            }
        }
    }

    [Test]
    public async Task Limits_ArePerTenant()
    {
        var configuration = WithPlan(TestStack.UniqueName("rl-tenants"), "two", 2);
        await using var gateway = await GatewayServer.StartAsync(configuration);
        using var first = gateway.CreateClient(await gateway.CreateKeyAsync(new NewApiKey(TestStack.UniqueName("t1"), "rl", [Scopes.JobsRead], "two")));
        using var second = gateway.CreateClient(await gateway.CreateKeyAsync(new NewApiKey(TestStack.UniqueName("t2"), "rl", [Scopes.JobsRead], "two")));

        var firstStatuses = new List<HttpStatusCode>();
        for (var i = 0; i < 3; i++)
        {
            using var response = await first.GetAsync("/v1/models").WaitAsync(Timeout);
            firstStatuses.Add(response.StatusCode);
        }

        using var other = await second.GetAsync("/v1/models").WaitAsync(Timeout);

        Assert.That(firstStatuses, Is.EqualTo(new[] { HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.TooManyRequests }));
        Assert.That(other.StatusCode, Is.EqualTo(HttpStatusCode.OK), "another tenant has its own bucket");
    }

    [Test]
    public async Task HubHandshakes_AreLimitedApartFromRequests()
    {
        var configuration = WithPlan(TestStack.UniqueName("rl-hub"), "hubby", burst: 100, hubBurst: 2);
        await using var gateway = await GatewayServer.StartAsync(configuration);
        var key = await gateway.CreateKeyAsync(new NewApiKey(TestStack.UniqueName("tenant"), "rl", [Scopes.JobsRead], "hubby"));
        using var client = gateway.CreateClient(key);

        var negotiations = new List<HttpStatusCode>();
        for (var i = 0; i < 3; i++)
        {
            using var negotiate = await client.PostAsync("/hubs/jobs/negotiate?negotiateVersion=1", null).WaitAsync(Timeout);
            negotiations.Add(negotiate.StatusCode);
        }

        using var request = await client.GetAsync("/v1/models").WaitAsync(Timeout);
        using var poll = await client.GetAsync("/hubs/jobs?id=not-a-connection").WaitAsync(Timeout);

        Assert.That(negotiations, Is.EqualTo(new[] { HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.TooManyRequests }));
        Assert.That(request.StatusCode, Is.EqualTo(HttpStatusCode.OK), "requests draw from another bucket");
        Assert.That(poll.StatusCode, Is.Not.EqualTo(HttpStatusCode.TooManyRequests), "a transport request on a negotiated connection (long polling, SSE) is not a handshake");
    }

    [Test]
    public async Task ActiveJobsCap_RefusesTheJobOverTheCap_AndAdmitsAgainWhenOneEnds()
    {
        var configuration = WithPlan(TestStack.UniqueName("rl-cap"), "capped", burst: 100, maxActiveJobs: 2);
        await using var gateway = await GatewayServer.StartAsync(configuration);
        var key = await gateway.CreateKeyAsync(new NewApiKey(TestStack.UniqueName("tenant"), "rl", [Scopes.JobsRead, Scopes.JobsWrite], "capped"));
        using var client = gateway.CreateClient(key);

        var first = await SubmitAsync(client);
        var second = await SubmitAsync(client);
        using var third = await PostJobAsync(client);

        Assert.That(first.StatusCode, Is.EqualTo(HttpStatusCode.Accepted));
        Assert.That(second.StatusCode, Is.EqualTo(HttpStatusCode.Accepted));
        Assert.That(third.StatusCode, Is.EqualTo(HttpStatusCode.TooManyRequests));
        Assert.That(third.Content.Headers.ContentType?.MediaType, Is.EqualTo("application/problem+json"));
        Assert.That(third.Headers.RetryAfter, Is.Not.Null);

        await using var worker = await WorkerServer.StartAsync(configuration);
        await gateway.StreamJobAsync(key, first.JobId!, 0, Timeout);
        await gateway.StreamJobAsync(key, second.JobId!, 0, Timeout);
        var fourth = await SubmitAsync(client);

        Assert.That(fourth.StatusCode, Is.EqualTo(HttpStatusCode.Accepted), "the places came back when the jobs ended");
    }

    [Test]
    public async Task WhileRedisIsDown_KnownKeysGetLocalLimits_AndSubmitsGet503()
    {
        var redis = await TestStack.StartRedisAsync();
        var configuration = WithPlan(TestStack.UniqueName("rl-down"), "local", burst: 3);
        configuration["Redis:Configuration"] = $"127.0.0.1:{redis.Port},connectTimeout=500,syncTimeout=1000,asyncTimeout=1000";
        await using var gateway = await GatewayServer.StartAsync(configuration);
        var key = await gateway.CreateKeyAsync(new NewApiKey(TestStack.UniqueName("tenant"), "rl", [Scopes.JobsRead, Scopes.JobsWrite], "local"));
        using var client = gateway.CreateClient(key);
        using (var warm = await client.GetAsync("/v1/models").WaitAsync(Timeout))
        {
            Assert.That(warm.StatusCode, Is.EqualTo(HttpStatusCode.OK), "the key is verified and cached while Redis is up");
        }

        await redis.DisposeAsync();
        using var submit = await client.PostAsync("/v1/jobs", new StringContent("{\"model\":\"all-minilm-l6-v2\",\"input\":{\"texts\":[\"x\"]}}", Encoding.UTF8, "application/json")).WaitAsync(Timeout);
        var statuses = new List<HttpStatusCode>();
        for (var i = 0; i < 3; i++)
        {
            using var response = await client.GetAsync("/v1/models").WaitAsync(Timeout);
            statuses.Add(response.StatusCode);
        }

        Assert.That(statuses, Is.EqualTo(new[] { HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.TooManyRequests }), "the local bucket of 3, fresh on this instance, less the submit");
        Assert.That(submit.StatusCode, Is.EqualTo(HttpStatusCode.ServiceUnavailable), await submit.Content.ReadAsStringAsync());
        Assert.That(submit.Headers.RetryAfter, Is.Not.Null);
    }

    private static async Task<(HttpStatusCode StatusCode, string? JobId)> SubmitAsync(HttpClient client)
    {
        using var response = await PostJobAsync(client);
        var body = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, response.StatusCode == HttpStatusCode.Accepted ? JsonDocument.Parse(body).RootElement.GetProperty("id").GetString() : null);
    }

    private static Task<HttpResponseMessage> PostJobAsync(HttpClient client) =>
        client.PostAsync("/v1/jobs", new StringContent("{\"model\":\"all-minilm-l6-v2\",\"input\":{\"texts\":[\"capped\"]}}", Encoding.UTF8, "application/json")).WaitAsync(Timeout);
}
