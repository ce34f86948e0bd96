using InferenceGateway.Gateway.RateLimiting;
using Microsoft.Extensions.Time.Testing;

namespace InferenceGateway.Tests.RateLimiting;

/// <summary>The one local GCRA (the fallback of request and token limits when Redis is down), on a fake clock.</summary>
[TestFixture]
public sealed class LocalRateLimiterTests
{
    private const double OnePerSecond = 1_000_000;

    [Test]
    public void Acquire_WithCostOne_AllowsTheBurst_ThenRefusesUntilOneIntervalPasses()
    {
        var time = new FakeTimeProvider();
        var limiter = new LocalRateLimiter(time);

        var answers = Enumerable.Range(0, 4).Select(_ => limiter.Acquire("k", OnePerSecond, 1, 3)).ToArray();

        Assert.That(answers.Select(a => a.Allowed), Is.EqualTo(new[] { true, true, true, false }));
        Assert.That(answers.Select(a => a.Remaining), Is.EqualTo(new long[] { 2, 1, 0, 0 }));
        Assert.That(answers[3].RetryAfter, Is.EqualTo(TimeSpan.FromSeconds(1)));
        Assert.That(answers[2].Reset, Is.EqualTo(TimeSpan.FromSeconds(3)), "full again after three intervals");

        time.Advance(TimeSpan.FromSeconds(1));
        Assert.That(limiter.Acquire("k", OnePerSecond, 1, 3).Allowed, Is.True);
        Assert.That(limiter.Acquire("k", OnePerSecond, 1, 3).Allowed, Is.False);
    }

    [Test]
    public void Acquire_ChargesTheWholeCost_AllOrNothing()
    {
        var time = new FakeTimeProvider();
        var limiter = new LocalRateLimiter(time);

        var first = limiter.Acquire("k", OnePerSecond, 50, 60);
        var tooMany = limiter.Acquire("k", OnePerSecond, 20, 60);
        var fits = limiter.Acquire("k", OnePerSecond, 10, 60);

        Assert.That((first.Allowed, first.Remaining), Is.EqualTo((true, 10L)));
        Assert.That((tooMany.Allowed, tooMany.Remaining, tooMany.RetryAfter), Is.EqualTo((false, 10L, TimeSpan.FromSeconds(10))), "refused whole, nothing taken, ready once 10 more units refill");
        Assert.That((fits.Allowed, fits.Remaining), Is.EqualTo((true, 0L)));
    }

    [Test]
    public void Refund_GivesUnitsBack_NeverMoreThanTheBucketHolds()
    {
        var time = new FakeTimeProvider();
        var limiter = new LocalRateLimiter(time);
        limiter.Acquire("k", OnePerSecond, 60, 60);

        limiter.Refund("k", OnePerSecond, 30);
        Assert.That(limiter.Acquire("k", OnePerSecond, 30, 60), Is.EqualTo((true, 0L, TimeSpan.Zero, TimeSpan.FromSeconds(60))));

        limiter.Refund("k", OnePerSecond, 1000);
        Assert.That(limiter.Acquire("k", OnePerSecond, 1, 60).Remaining, Is.EqualTo(59), "a refund fills the bucket at most");
    }

    [Test]
    public void Acquire_WithAFractionalInterval_RefillsAtThatRate()
    {
        var time = new FakeTimeProvider();
        var limiter = new LocalRateLimiter(time);
        var interval = TimeSpan.FromMinutes(1).TotalMicroseconds / 7; // 7 units a minute

        Assert.That(limiter.Acquire("k", interval, 7, 7).Allowed, Is.True);
        var refused = limiter.Acquire("k", interval, 1, 7);

        Assert.That(refused.Allowed, Is.False);
        Assert.That(refused.RetryAfter.TotalMicroseconds, Is.EqualTo(interval).Within(1));
        time.Advance(refused.RetryAfter + TimeSpan.FromMilliseconds(1)); // the clock is read in whole milliseconds
        Assert.That(limiter.Acquire("k", interval, 1, 7).Allowed, Is.True);
    }

    [Test]
    public void Buckets_AreKeptPerKey()
    {
        var limiter = new LocalRateLimiter(new FakeTimeProvider());

        limiter.Acquire("a", OnePerSecond, 1, 1);

        Assert.That(limiter.Acquire("a", OnePerSecond, 1, 1).Allowed, Is.False);
        Assert.That(limiter.Acquire("b", OnePerSecond, 1, 1).Allowed, Is.True);
    }

    [Test]
    public void RequestBucket_AnswersARateDecision_MarkedLocal()
    {
        var limiter = new LocalRateLimiter(new FakeTimeProvider());
        var bucket = new RateBucket("requests", 1, 2);

        var first = limiter.Acquire("t", bucket);
        limiter.Acquire("t", bucket);
        var refused = limiter.Acquire("t", bucket);

        Assert.That(first, Is.EqualTo(new RateDecision(true, 2, 1, TimeSpan.Zero, TimeSpan.FromSeconds(1), Local: true)));
        Assert.That(refused, Is.EqualTo(new RateDecision(false, 2, 0, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(2), Local: true)));
    }
}
