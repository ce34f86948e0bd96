using InferenceGateway.Core.Jobs;
using InferenceGateway.Gateway.RateLimiting;
using InferenceGateway.Tests.Infrastructure;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace InferenceGateway.Tests.RateLimiting;

/// <summary>
/// The one script a submission runs on its tenant's keys (request bucket, tokens per minute, a
/// place under the active-jobs cap), on real Redis: each stage only when the one before allowed
/// it, and nothing charged by a stage that refused or by one whose later stage refused.
/// </summary>
[TestFixture]
public sealed class TenantAdmissionTests
{
    /// <summary>How long the jobs of these tests could be queued or running (their places' lease, less the margin).</summary>
    private static readonly TimeSpan JobBound = TimeSpan.FromHours(1);

    private static IDatabase Db => TestStack.Multiplexer.GetDatabase();

    [Test]
    public async Task AllowedSubmission_TakesARequest_ChargesItsTokens_AndTakesItsPlace_InOneScript()
    {
        var tenant = TestStack.UniqueName("adm");
        var admission = Admission(burst: 5, tokensPerMinute: 600, maxActiveJobs: 2);

        var admitted = await admission.AdmitAsync(tenant, "p", RateLimitMetadata.Requests, tokens: 100, "job_a", 2, JobBound);

        Assert.That(admitted.Request, Is.Not.Null);
        Assert.That((admitted.Request!.Allowed, admitted.Request.Limit, admitted.Request.Remaining), Is.EqualTo((true, 5, 4)));
        Assert.That((admitted.Tokens!.Allowed, admitted.Tokens.Limit), Is.EqualTo((true, 600L)));
        Assert.That(admitted.Tokens.Remaining, Is.InRange(499, 500));
        Assert.That(admitted.Reserved, Is.True);
        Assert.That(await Db.SortedSetRankAsync(ActiveJobs.Key(tenant), "job_a"), Is.Not.Null);
        Assert.That(await Db.KeyExistsAsync(TokenRateLimiter.KeyOf(tenant)), Is.True);
        Assert.That(await Db.KeyExistsAsync(RedisRateLimiter.KeyOf(tenant, RateLimitMetadata.Requests)), Is.True);
    }

    [Test]
    public async Task AtTheCap_TheRequestIsTaken_ButTheTokensAreNot()
    {
        var tenant = TestStack.UniqueName("adm");
        var admission = Admission(burst: 5, tokensPerMinute: 600, maxActiveJobs: 1);
        await admission.AdmitAsync(tenant, "p", RateLimitMetadata.Requests, tokens: 100, "job_a", 1, JobBound);
        var tokensBefore = (string?)await Db.StringGetAsync(TokenRateLimiter.KeyOf(tenant));

        var refused = await admission.AdmitAsync(tenant, "p", RateLimitMetadata.Requests, tokens: 100, "job_b", 1, JobBound);

        Assert.That(refused.Reserved, Is.False);
        Assert.That(refused.Request!.Remaining, Is.EqualTo(3), "the request was counted");
        Assert.That(refused.Tokens!.Allowed, Is.True, "the tokens would fit; the cap refused");
        Assert.That((string?)await Db.StringGetAsync(TokenRateLimiter.KeyOf(tenant)), Is.EqualTo(tokensBefore), "nothing charged for a job that was not taken");
        Assert.That(await Db.SortedSetLengthAsync(ActiveJobs.Key(tenant)), Is.EqualTo(1));
    }

    [Test]
    public async Task OverTheRequestLimit_NothingElseIsAsked()
    {
        var tenant = TestStack.UniqueName("adm");
        var admission = Admission(burst: 1, tokensPerMinute: 600, maxActiveJobs: 0);
        await admission.AdmitAsync(tenant, "p", RateLimitMetadata.Requests, tokens: 100, "job_a", 0, JobBound);
        var tokensBefore = (string?)await Db.StringGetAsync(TokenRateLimiter.KeyOf(tenant));

        var refused = await admission.AdmitAsync(tenant, "p", RateLimitMetadata.Requests, tokens: 100, "job_b", 0, JobBound);

        Assert.That(refused.Request!.Allowed, Is.False);
        Assert.That(refused.Request.RetryAfter, Is.GreaterThan(TimeSpan.Zero));
        Assert.That(refused.Tokens, Is.Null);
        Assert.That(refused.Reserved, Is.Null);
        Assert.That((string?)await Db.StringGetAsync(TokenRateLimiter.KeyOf(tenant)), Is.EqualTo(tokensBefore));
        Assert.That(await Db.SortedSetRankAsync(ActiveJobs.Key(tenant), "job_b"), Is.Null);
    }

    [Test]
    public async Task OverTheTokenLimit_TheRequestIsTaken_ButNoPlace()
    {
        var tenant = TestStack.UniqueName("adm");
        var admission = Admission(burst: 5, tokensPerMinute: 600, maxActiveJobs: 0);
        await admission.AdmitAsync(tenant, "p", RateLimitMetadata.Requests, tokens: 550, "job_a", 0, JobBound);

        var refused = await admission.AdmitAsync(tenant, "p", RateLimitMetadata.Requests, tokens: 100, "job_b", 0, JobBound);

        Assert.That(refused.Request!.Remaining, Is.EqualTo(3));
        Assert.That(refused.Tokens!.Allowed, Is.False);
        Assert.That(refused.Tokens.RetryAfter, Is.GreaterThan(TimeSpan.Zero));
        Assert.That(refused.Reserved, Is.Null);
        Assert.That(await Db.SortedSetRankAsync(ActiveJobs.Key(tenant), "job_b"), Is.Null);
    }

    [Test]
    public async Task AChargeThatCanNeverFit_IsRefusedWithoutTakingAPlace_AndAnUnlimitedPlanChargesNothing()
    {
        var tenant = TestStack.UniqueName("adm");
        var limited = Admission(burst: 5, tokensPerMinute: 600, maxActiveJobs: 0);
        var unlimited = Admission(burst: 5, tokensPerMinute: 0, maxActiveJobs: 0);

        var never = await limited.AdmitAsync(tenant, "p", RateLimitMetadata.Requests, tokens: 601, "job_a", 0, JobBound);
        var free = await unlimited.AdmitAsync(tenant, "p", requestBucket: null, tokens: 601, "job_b", 0, JobBound);

        Assert.That((never.Tokens!.Allowed, never.Tokens.NeverFits, never.Reserved), Is.EqualTo((false, true, (bool?)null)));
        Assert.That(never.Request!.Remaining, Is.EqualTo(4), "the request still counts, as it did when the middleware took it first");
        Assert.That((free.Request, free.Tokens, free.Reserved), Is.EqualTo(((RateDecision?)null, TokenDecision.Unlimited, (bool?)true)));
        Assert.That(await Db.KeyExistsAsync(TokenRateLimiter.KeyOf(tenant)), Is.False);
    }

    private static TenantAdmission Admission(int burst, long tokensPerMinute, int maxActiveJobs)
    {
        var options = new StaticOptionsMonitor(new RateLimitOptions
        {
            DefaultPlan = "p",
            Plans = new(StringComparer.Ordinal)
            {
                ["p"] = new PlanLimits { RequestsPerSecond = 0.001, Burst = burst, TokensPerMinute = tokensPerMinute, MaxActiveJobs = maxActiveJobs },
            },
        });
        var redis = TestStack.Multiplexer;
        var time = TimeProvider.System;
        var local = new LocalRateLimiter(time);
        return new TenantAdmission(
            redis,
            new TenantRateLimiter(new RedisRateLimiter(redis), local, options, time, NullLogger<TenantRateLimiter>.Instance),
            new TokenRateLimiter(redis, local, options, time, NullLogger<TokenRateLimiter>.Instance),
            new ActiveJobs(redis, Options.Create(new JobStoreOptions()), time),
            options,
            time);
    }

    private sealed class StaticOptionsMonitor(RateLimitOptions value) : IOptionsMonitor<RateLimitOptions>
    {
        public RateLimitOptions CurrentValue => value;

        public RateLimitOptions Get(string? name) => value;

        public IDisposable? OnChange(Action<RateLimitOptions, string?> listener) => null;
    }
}
