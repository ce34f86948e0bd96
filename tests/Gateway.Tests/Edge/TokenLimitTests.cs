using System.Net;
using InferenceGateway.Gateway.Auth;
using InferenceGateway.Gateway.Problems;
using InferenceGateway.Gateway.RateLimiting;
using InferenceGateway.Tests.Infrastructure;
using InferenceGateway.Tests.Proxy;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using StackExchange.Redis;
using static InferenceGateway.Tests.Edge.EdgeTestClient;

namespace InferenceGateway.Tests.Edge;

/// <summary>
/// Tokens per minute per tenant, on real Redis: <c>/v1/embeddings</c> charges its prompt tokens;
/// a tenant over its plan gets 429 with Retry-After and the token headers while another tenant on
/// the same plan is unaffected; a request larger than the whole minute's budget is told it can
/// never fit; and the limiter's Redis-down policies act as the request limiter's do.
/// </summary>
[TestFixture]
public sealed class TokenLimitTests
{
    // "This is an example sentence" is 7 tokens: a plan of 20 tokens a minute admits two of them.
    private const string Sentence = "This is an example sentence";

    private GatewayServer _gateway = null!;

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        var configuration = Configuration(TestStack.UniqueName("edge-tpm"));
        configuration["RateLimits:Plans:tiny:TokensPerMinute"] = "20";
        configuration["RateLimits:Plans:tiny:RequestsPerSecond"] = "10000";
        configuration["RateLimits:Plans:tiny:Burst"] = "10000";
        _gateway = await GatewayServer.StartAsync(configuration);
    }

    [OneTimeTearDown]
    public async Task StopAsync() => await _gateway.DisposeAsync();

    [Test]
    public async Task ATenantOverItsTokensPerMinute_Gets429WithRetryAfterAndTheHeaders_WhileAnotherTenantIsUnaffected()
    {
        using var greedy = _gateway.CreateClient(await TinyKeyAsync());
        using var other = _gateway.CreateClient(await TinyKeyAsync());

        using var first = await PostAsync(greedy, new { model = Model, input = Sentence });
        using var second = await PostAsync(greedy, new { model = Model, input = Sentence });
        using var third = await PostAsync(greedy, new { model = Model, input = Sentence });
        using var unaffected = await PostAsync(other, new { model = Model, input = Sentence });

        await ReadJsonAsync(first, HttpStatusCode.OK);
        await ReadJsonAsync(second, HttpStatusCode.OK);
        Assert.Multiple(() =>
        {
            Assert.That(Header(first, "x-ratelimit-limit-tokens"), Is.EqualTo("20"));
            Assert.That(int.Parse(Header(first, "x-ratelimit-remaining-tokens"), System.Globalization.CultureInfo.InvariantCulture), Is.InRange(13, 14));
            Assert.That(int.Parse(Header(second, "x-ratelimit-remaining-tokens"), System.Globalization.CultureInfo.InvariantCulture), Is.InRange(6, 7));
        });
        var problem = await ProblemAssert.IsProblemAsync(third, HttpStatusCode.TooManyRequests);
        Assert.Multiple(() =>
        {
            Assert.That(third.Headers.RetryAfter?.Delta, Is.GreaterThan(TimeSpan.Zero));
            Assert.That(Header(third, "x-ratelimit-limit-tokens"), Is.EqualTo("20"));
            Assert.That(Header(third, "x-ratelimit-remaining-tokens"), Is.Not.Empty);
            Assert.That(problem.GetProperty("tokens").GetInt64(), Is.EqualTo(7));
        });
        await ReadJsonAsync(unaffected, HttpStatusCode.OK);
    }

    [Test]
    public async Task ARequestLargerThanTheWholeMinutesBudget_Is429ThatSaysItCanNeverFit_WithoutRetryAfter()
    {
        using var client = _gateway.CreateClient(await TinyKeyAsync());

        using var response = await PostAsync(client, new { model = Model, input = new[] { Sentence, Sentence, Sentence } });

        var problem = await ProblemAssert.IsProblemAsync(response, HttpStatusCode.TooManyRequests);
        Assert.Multiple(() =>
        {
            Assert.That(problem.GetProperty("neverFits").GetBoolean(), Is.True);
            Assert.That(problem.GetProperty("tokens").GetInt64(), Is.EqualTo(21));
            Assert.That(response.Headers.RetryAfter, Is.Null);
        });
    }

    [Test]
    public async Task TryConsume_ChargesEachTenantApart_OnRedis()
    {
        var limiter = Limiter(TestStack.Multiplexer, RedisDownPolicy.Deny, tokensPerMinute: 100);
        var tenant = TestStack.UniqueName("t");

        var decisions = new[]
        {
            await limiter.TryConsumeAsync(tenant, "p", 60),
            await limiter.TryConsumeAsync(tenant, "p", 60),
            await limiter.TryConsumeAsync(TestStack.UniqueName("t"), "p", 60),
        };

        Assert.That(decisions.Select(d => d.Allowed), Is.EqualTo(new[] { true, false, true }));
        Assert.That(decisions[0].Remaining, Is.InRange(39, 40));
        Assert.That(decisions[1].RetryAfter, Is.GreaterThan(TimeSpan.FromSeconds(5)).And.LessThanOrEqualTo(TimeSpan.FromSeconds(13)));
        Assert.That(decisions.Select(d => d.Local), Is.All.False);
    }

    [Test]
    public async Task Refund_OfAChargeNotTakenFromRedis_GivesRedisNothing()
    {
        var limiter = Limiter(TestStack.Multiplexer, RedisDownPolicy.Deny, tokensPerMinute: 100);
        var tenant = TestStack.UniqueName("t");
        var spent = await limiter.TryConsumeAsync(tenant, "p", 100);

        // Charges decided without Redis (the Allow policy took nothing; a local bucket's charge is
        // that instance's) must not credit the shared bucket when they are settled.
        await limiter.RefundAsync(tenant, "p", 50, TokenDecision.Unlimited);
        await limiter.RefundAsync(tenant, "p", 50, new TokenDecision(true, 100, 50, TimeSpan.Zero, Local: true));
        var after = await limiter.TryConsumeAsync(tenant, "p", 10);

        Assert.That(spent.Allowed, Is.True);
        Assert.That(after.Allowed, Is.False, "the Redis bucket is still empty");
    }

    [Test]
    public async Task Refund_GivesUnusedTokensBack_ButNeverMoreThanAFullBucket()
    {
        var limiter = Limiter(TestStack.Multiplexer, RedisDownPolicy.Deny, tokensPerMinute: 100);
        var tenant = TestStack.UniqueName("t");

        var charged = await limiter.TryConsumeAsync(tenant, "p", 80);
        var refused = await limiter.TryConsumeAsync(tenant, "p", 80);
        await limiter.RefundAsync(tenant, "p", 80, charged);
        var again = await limiter.TryConsumeAsync(tenant, "p", 80);
        await limiter.RefundAsync(tenant, "p", 1000, again);
        var full = await limiter.TryConsumeAsync(tenant, "p", 100);
        var empty = await limiter.TryConsumeAsync(tenant, "p", 1);

        Assert.That(new[] { charged.Allowed, refused.Allowed, again.Allowed, full.Allowed, empty.Allowed }, Is.EqualTo(new[] { true, false, true, true, false }));
    }

    [Test]
    public async Task TryConsume_WhenRedisIsDown_FollowsThePolicy_LocalAllowOrDeny()
    {
        await using var dead = await ConnectionMultiplexer.ConnectAsync($"127.0.0.1:{ExternalProcess.FreePort()},abortConnect=false,connectTimeout=300,asyncTimeout=500,syncTimeout=500");

        var local = Limiter(dead, RedisDownPolicy.Local, tokensPerMinute: 100);
        var allow = Limiter(dead, RedisDownPolicy.Allow, tokensPerMinute: 100);
        var deny = Limiter(dead, RedisDownPolicy.Deny, tokensPerMinute: 100);

        var locally = new[] { await local.TryConsumeAsync("t", "p", 60), await local.TryConsumeAsync("t", "p", 60) };
        Assert.That(locally.Select(d => (d.Allowed, d.Local)), Is.EqualTo(new[] { (true, true), (false, true) }));
        Assert.That((await allow.TryConsumeAsync("t", "p", 60)).Allowed, Is.True);
        Assert.That((await allow.TryConsumeAsync("t", "p", 60)).Allowed, Is.True);
        var error = Assert.CatchAsync<Exception>(() => deny.TryConsumeAsync("t", "p", 60));
        Assert.That(ProblemsExtensions.IsDependencyFailure(error!), Is.True, error!.ToString());
    }

    private Task<string> TinyKeyAsync() =>
        _gateway.CreateKeyAsync(new NewApiKey(TestStack.UniqueName("tenant"), "test", [Scopes.JobsRead, Scopes.JobsWrite], "tiny"));

    private static TokenRateLimiter Limiter(IConnectionMultiplexer redis, RedisDownPolicy policy, long tokensPerMinute)
    {
        var options = new RateLimitOptions
        {
            DefaultPlan = "p",
            Plans = new(StringComparer.Ordinal) { ["p"] = new PlanLimits { TokensPerMinute = tokensPerMinute } },
            WhenRedisDown = policy,
        };
        return new TokenRateLimiter(redis, new LocalRateLimiter(TimeProvider.System), new StaticOptionsMonitor(options), TimeProvider.System, NullLogger<TokenRateLimiter>.Instance);
    }

    private sealed class StaticOptionsMonitor(RateLimitOptions value) : IOptionsMonitor<RateLimitOptions>
    {
        public RateLimitOptions CurrentValue => value;

        public RateLimitOptions Get(string? name) => value;

        public IDisposable? OnChange(Action<RateLimitOptions, string?> listener) => null;
    }
}
