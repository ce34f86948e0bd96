using System.Net;
using System.Text;
using System.Text.Json;
using InferenceGateway.Core.Jobs;
using InferenceGateway.Gateway.Auth;
using InferenceGateway.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace InferenceGateway.Tests.RateLimiting;

/// <summary>
/// The active-jobs cap through <c>POST /v1/jobs</c> on the real gateway, Redis and SQS emulator
/// (docs/api.md, "Active jobs" and "Tokens per minute"): a place past its deadline is swept, a place
/// lives as long as its job can (its queue TTL and execution limit, and a margin), and a
/// submission refused over the cap keeps none of the tokens it was charged. Each case runs with and
/// without an <c>Idempotency-Key</c>: without one the place is taken in the admission script, with
/// one after the key's claim, so each path is covered.
/// </summary>
[TestFixture]
public sealed class ActiveJobsCapTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    [TestCase(false, TestName = "PlaceOlderThanTheLease_IsSwept_SoASubmitAtTheCapIsAccepted")]
    [TestCase(true, TestName = "PlaceOlderThanTheLease_IsSwept_SoASubmitAtTheCapIsAccepted_WithAnIdempotencyKey")]
    public async Task PlaceOlderThanTheLease_IsSwept(bool withIdempotencyKey)
    {
        await using var gateway = await StartAsync(tokensPerMinute: 0);
        var tenant = TestStack.UniqueName("tenant");
        using var client = gateway.CreateClient(await gateway.CreateKeyAsync(new NewApiKey(tenant, "cap", [Scopes.JobsRead, Scopes.JobsWrite], "one")));

        // A place left by a gateway that died between taking it and enqueueing, never given back:
        // its deadline (the score) passed 3 h ago.
        var db = TestStack.Multiplexer.GetDatabase();
        var leftOver = "job_" + Guid.NewGuid().ToString("N");
        await db.SortedSetAddAsync(ActiveJobs.Key(tenant), leftOver, DateTimeOffset.UtcNow.AddHours(-3).ToUnixTimeMilliseconds());

        using var response = await SubmitAsync(client, "after a crash", withIdempotencyKey);

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Accepted), await response.Content.ReadAsStringAsync());
        var jobId = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("id").GetString();
        var places = (await db.SortedSetRangeByRankAsync(ActiveJobs.Key(tenant))).Select(p => p.ToString());
        Assert.That(places, Is.EqualTo(new[] { jobId }), "the stale place was swept and the new job holds the one place");
    }

    [TestCase(false, TestName = "PlaceOfAJobWithA24HourTtl_TakenThreeHoursAgo_IsNotSwept_ButPastItsOwnBoundItIs")]
    [TestCase(true, TestName = "PlaceOfAJobWithA24HourTtl_TakenThreeHoursAgo_IsNotSwept_ButPastItsOwnBoundItIs_WithAnIdempotencyKey")]
    public async Task PlaceOfAJobWithA24HourTtl_LivesAsLongAsTheJobCan(bool withIdempotencyKey)
    {
        await using var gateway = await StartAsync(tokensPerMinute: 0);
        var tenant = TestStack.UniqueName("tenant");
        using var client = gateway.CreateClient(await gateway.CreateKeyAsync(new NewApiKey(tenant, "cap", [Scopes.JobsRead, Scopes.JobsWrite], "one")));
        var db = TestStack.Multiplexer.GetDatabase();
        var key = ActiveJobs.Key(tenant);

        // No worker runs here: the job stays queued, and may, for its 24 h time to live.
        var day = (long)TimeSpan.FromHours(24).TotalMilliseconds;
        using var accepted = await SubmitAsync(client, "may wait a day", withIdempotencyKey, new { ttlMs = day, executionTimeoutMs = 60_000 });
        Assert.That(accepted.StatusCode, Is.EqualTo(HttpStatusCode.Accepted), await accepted.Content.ReadAsStringAsync());
        var jobId = JsonDocument.Parse(await accepted.Content.ReadAsStringAsync()).RootElement.GetProperty("id").GetString()!;

        // The place as if taken 3 h ago (older than the 2 h every place used to get): moved back in time.
        await db.SortedSetIncrementAsync(key, jobId, -TimeSpan.FromHours(3).TotalMilliseconds);
        using var whileTheJobMayRun = await SubmitAsync(client, "second job", withIdempotencyKey);

        Assert.That(whileTheJobMayRun.StatusCode, Is.EqualTo(HttpStatusCode.TooManyRequests), "the queued job still holds its place");
        Assert.That((await db.SortedSetRangeByRankAsync(key)).Select(p => p.ToString()), Is.EqualTo(new[] { jobId }));
        Assert.That(await db.KeyTimeToLiveAsync(key), Is.GreaterThan(TimeSpan.FromHours(21)), "the key outlives the place in it");

        // Now as if taken past the job's own bound (24 h queued + 1 min running) and the margin: swept.
        var margin = gateway.Services.GetRequiredService<IOptions<JobStoreOptions>>().Value.ActiveJobMargin;
        await db.SortedSetIncrementAsync(key, jobId, -(TimeSpan.FromHours(21) + TimeSpan.FromMinutes(1) + margin + TimeSpan.FromMinutes(1)).TotalMilliseconds);
        using var afterItsBound = await SubmitAsync(client, "third job", withIdempotencyKey);

        Assert.That(afterItsBound.StatusCode, Is.EqualTo(HttpStatusCode.Accepted), await afterItsBound.Content.ReadAsStringAsync());
        var thirdId = JsonDocument.Parse(await afterItsBound.Content.ReadAsStringAsync()).RootElement.GetProperty("id").GetString();
        Assert.That((await db.SortedSetRangeByRankAsync(key)).Select(p => p.ToString()), Is.EqualTo(new[] { thirdId }), "the place past its job's bound was swept");
    }

    [TestCase(false, TestName = "SubmitOverTheActiveJobsCap_KeepsNoneOfItsTokens")]
    [TestCase(true, TestName = "SubmitOverTheActiveJobsCap_KeepsNoneOfItsTokens_WithAnIdempotencyKey")]
    public async Task SubmitOverTheActiveJobsCap_KeepsNoneOfItsTokens(bool withIdempotencyKey)
    {
        // 1 000 tokens a minute (17 a second refill): the first job costs 100, each later one 800.
        await using var gateway = await StartAsync(tokensPerMinute: 1000);
        var tenant = TestStack.UniqueName("tenant");
        using var client = gateway.CreateClient(await gateway.CreateKeyAsync(new NewApiKey(tenant, "cap", [Scopes.JobsRead, Scopes.JobsWrite], "one")));
        var large = new string('x', 3200);

        using var first = await SubmitAsync(client, new string('x', 400), withIdempotencyKey);
        using var overCap = await SubmitAsync(client, large, withIdempotencyKey);
        using var again = await SubmitAsync(client, large, withIdempotencyKey);

        Assert.That(first.StatusCode, Is.EqualTo(HttpStatusCode.Accepted), await first.Content.ReadAsStringAsync());
        foreach (var refused in new[] { overCap, again })
        {
            // Had the first over-cap request kept its 800 tokens, the second would be refused for
            // tokens (100 + 800 + 800 > 1 000; refilling 700 takes 42 s), not for the cap.
            Assert.That(refused.StatusCode, Is.EqualTo(HttpStatusCode.TooManyRequests));
            var problem = JsonDocument.Parse(await refused.Content.ReadAsStringAsync()).RootElement;
            Assert.That(problem.GetProperty("title").GetString(), Is.EqualTo("Too Many Requests"), problem.GetRawText());
            Assert.That(problem.GetProperty("detail").GetString(), Does.Contain("jobs queued or running"));
        }
    }

    private static Task<GatewayServer> StartAsync(int tokensPerMinute)
    {
        var configuration = TestStack.Configuration(TestStack.UniqueName("cap"));
        configuration["RateLimits:Plans:one:RequestsPerSecond"] = "1000";
        configuration["RateLimits:Plans:one:Burst"] = "1000";
        configuration["RateLimits:Plans:one:MaxActiveJobs"] = "1";
        configuration["RateLimits:Plans:one:TokensPerMinute"] = tokensPerMinute.ToString(System.Globalization.CultureInfo.InvariantCulture);
        return GatewayServer.StartAsync(configuration);
    }

    private static async Task<HttpResponseMessage> SubmitAsync(HttpClient client, string text, bool withIdempotencyKey, object? policy = null)
    {
        object body = policy is null
            ? new { model = "all-minilm-l6-v2", input = new { texts = new[] { text } } }
            : new { model = "all-minilm-l6-v2", input = new { texts = new[] { text } }, policy };
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/jobs")
        {
            Content = new StringContent(JsonSerializer.Serialize(body), Encoding.UTF8, "application/json"),
        };
        if (withIdempotencyKey)
        {
            request.Headers.Add("Idempotency-Key", Guid.NewGuid().ToString("N"));
        }

        return await client.SendAsync(request).WaitAsync(Timeout);
    }
}
