using System.Security.Claims;
using InferenceGateway.Gateway.Auth;
using InferenceGateway.Gateway.Problems;
using InferenceGateway.Gateway.RateLimiting;
using InferenceGateway.Tests.Infrastructure;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace InferenceGateway.Tests.RateLimiting;

/// <summary>Each Redis-down policy of the limiter, against a Redis that is not there.</summary>
[TestFixture]
public sealed class RedisDownPolicyTests
{
    private ConnectionMultiplexer _deadRedis = null!;

    [OneTimeSetUp]
    public async Task ConnectAsync() =>
        _deadRedis = await ConnectionMultiplexer.ConnectAsync($"127.0.0.1:{ExternalProcess.FreePort()},abortConnect=false,connectTimeout=300,asyncTimeout=500,syncTimeout=500");

    [OneTimeTearDown]
    public Task DisposeAsync() => _deadRedis.DisposeAsync().AsTask();

    [Test]
    public async Task Local_AppliesThePlanOnThisInstance()
    {
        var limiter = Limiter(RedisDownPolicy.Local, burst: 2);

        var decisions = new List<RateDecision?>();
        for (var i = 0; i < 3; i++)
        {
            decisions.Add(await limiter.AcquireAsync(Caller(), RateLimitMetadata.Requests));
        }

        Assert.That(decisions.Select(d => d?.Allowed), Is.EqualTo(new bool?[] { true, true, false }));
        Assert.That(decisions.Select(d => d?.Local), Is.All.EqualTo(true));
    }

    [Test]
    public async Task Allow_LetsEverythingThrough()
    {
        var limiter = Limiter(RedisDownPolicy.Allow, burst: 1);

        var decisions = new[] { await limiter.AcquireAsync(Caller(), RateLimitMetadata.Requests), await limiter.AcquireAsync(Caller(), RateLimitMetadata.Requests) };

        Assert.That(decisions, Is.All.Null, "no decision: no limit, no headers");
    }

    [Test]
    public void Deny_RaisesTheRedisFailure_WhichTheGatewayAnswersWith503()
    {
        var limiter = Limiter(RedisDownPolicy.Deny, burst: 1);

        var error = Assert.CatchAsync<Exception>(() => limiter.AcquireAsync(Caller(), RateLimitMetadata.Requests));

        Assert.That(ProblemsExtensions.IsDependencyFailure(error!), Is.True, error!.ToString());
    }

    private TenantRateLimiter Limiter(RedisDownPolicy policy, int burst)
    {
        var options = new RateLimitOptions { WhenRedisDown = policy };
        options.Plans["t"] = new PlanLimits { RequestsPerSecond = 0.001, Burst = burst };
        return new TenantRateLimiter(
            new RedisRateLimiter(_deadRedis),
            new LocalRateLimiter(TimeProvider.System),
            new FixedOptionsMonitor<RateLimitOptions>(options),
            TimeProvider.System,
            NullLogger<TenantRateLimiter>.Instance);
    }

    private static ClaimsPrincipal Caller() =>
        new(new ClaimsIdentity([new Claim(GatewayClaims.Tenant, "down-tenant"), new Claim(GatewayClaims.Plan, "t")], "test"));

    private sealed class FixedOptionsMonitor<T>(T value) : IOptionsMonitor<T>
    {
        public T CurrentValue => value;

        public T Get(string? name) => value;

        public IDisposable? OnChange(Action<T, string?> listener) => null;
    }
}
