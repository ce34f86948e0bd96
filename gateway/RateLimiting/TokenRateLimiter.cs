using InferenceGateway.Gateway.Problems;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace InferenceGateway.Gateway.RateLimiting;

/// <summary>
/// Tokens per minute per tenant (<see cref="PlanLimits.TokensPerMinute"/>): a token bucket of one
/// minute's tokens that refills continuously, kept as GCRA (one timestamp) in one atomic Lua script
/// on Redis' own clock, shared by every gateway instance. A request is charged its tokens at once,
/// all or nothing; one larger than the whole bucket can never be allowed and says so
/// (<see cref="TokenDecision.NeverFits"/>) instead of asking the caller to wait. When Redis cannot be
/// asked, <see cref="RateLimitOptions.WhenRedisDown"/> applies as it does to request limits.
/// Endpoints that charge tokens (<c>POST /v1/embeddings</c>, chat completions) call <see cref="TryConsumeAsync"/>.
/// </summary>
public sealed class TokenRateLimiter(
    IConnectionMultiplexer redis,
    LocalRateLimiter localLimiter,
    IOptionsMonitor<RateLimitOptions> options,
    TimeProvider time,
    ILogger<TokenRateLimiter> logger)
{
    /// <summary>The window a plan's tokens are counted over.</summary>
    public static readonly TimeSpan Window = TimeSpan.FromMinutes(1);

    // ARGV: micro-seconds per token, tokens to give back. The bucket's timestamp moves back by their
    // cost, never before now (a bucket cannot hold more than a minute's tokens).
    private const string RefundScript = """
        local t = redis.call('TIME')
        local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
        local tat = tonumber(redis.call('GET', KEYS[1]) or now)
        local back = tat - math.ceil(tonumber(ARGV[1]) * tonumber(ARGV[2]))
        if back <= now then
          redis.call('DEL', KEYS[1])
          return 0
        end
        redis.call('SET', KEYS[1], back, 'PX', math.ceil((back - now) / 1000) + 1)
        return 1
        """;

    private readonly FallbackLog _fallbackLog = new(time, logger);

    /// <summary>
    /// Charges <paramref name="tokens"/> to <paramref name="tenant"/>'s per-minute bucket of its
    /// <paramref name="plan"/> (null: the default plan). Unlimited plans (0) and, with the <c>Allow</c>
    /// Redis-down policy, an unreachable Redis, allow everything.
    /// </summary>
    /// <exception cref="RedisException">Redis is unreachable and the policy is <c>Deny</c> (the exception handler answers 503).</exception>
    public async Task<TokenDecision> TryConsumeAsync(string tenant, string? plan, long tokens)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(tokens);
        var limit = options.CurrentValue.For(plan).TokensPerMinute;
        if (limit <= 0)
        {
            return TokenDecision.Unlimited;
        }

        if (tokens > limit)
        {
            return new TokenDecision(false, limit, 0, TimeSpan.Zero, NeverFits: true);
        }

        var interval = IntervalOf(limit);
        try
        {
            var (allowed, remaining, retryAfter, _) = await GcraScript.AcquireAsync(redis.GetDatabase(), KeyOf(tenant), interval, tokens, limit);
            return new TokenDecision(
                Allowed: allowed,
                Limit: limit,
                Remaining: Math.Clamp(remaining, 0, limit),
                RetryAfter: retryAfter);
        }
        catch (Exception ex) when (ProblemsExtensions.IsDependencyFailure(ex))
        {
            return Fallback(tenant, tokens, limit, ex);
        }
    }

    /// <summary>
    /// The decision when Redis could not be asked (<paramref name="failure"/>), by the
    /// <see cref="RedisDownPolicy"/>: this instance's own bucket, unlimited (allow), or
    /// <paramref name="failure"/> rethrown (deny: a 503 with Retry-After, from the exception handler).
    /// </summary>
    public TokenDecision Fallback(string tenant, long tokens, long limit, Exception failure)
    {
        var policy = options.CurrentValue.WhenRedisDown;
        _fallbackLog.Write(failure, policy);
        if (policy == RedisDownPolicy.Deny)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(failure);
        }

        // Allow takes nothing anywhere: its answer says unlimited, so nothing is refunded either.
        return policy == RedisDownPolicy.Allow
            ? TokenDecision.Unlimited
            : ConsumeLocally(tenant, tokens, limit, IntervalOf(limit));
    }

    /// <summary>Micro-seconds per token of a plan's per-minute bucket of <paramref name="limit"/> tokens (may be fractional).</summary>
    public static double IntervalOf(long limit) => Window.TotalMicroseconds / limit;

    /// <summary>The key of a tenant's token bucket (the tenant's hash tag, so it shares a cluster slot with its other limits).</summary>
    public static string KeyOf(string tenant) => $"tpm:{{{tenant}}}";

    /// <summary>
    /// Gives back <paramref name="tokens"/> that <paramref name="charge"/> (an allowed answer of
    /// <see cref="TryConsumeAsync"/>) took and that were not used: the request was charged and then
    /// not run (its job was refused), or a charged estimate was above the tokens actually used. The
    /// tokens go back where they were taken: Redis, or this instance's bucket when Redis was
    /// unreachable; nothing when nothing was taken (an unlimited plan, the <c>Allow</c> policy).
    /// Best effort: a Redis failure is logged, not thrown.
    /// </summary>
    public async Task RefundAsync(string tenant, string? plan, long tokens, TokenDecision charge)
    {
        var limit = options.CurrentValue.For(plan).TokensPerMinute;
        if (limit <= 0 || tokens <= 0 || !charge.Allowed || charge.Limit <= 0)
        {
            return;
        }

        var interval = IntervalOf(limit);
        if (charge.Local)
        {
            localLimiter.Refund(KeyOf(tenant), interval, tokens);
            return;
        }

        try
        {
            await redis.GetDatabase().ScriptEvaluateAsync(RefundScript, [KeyOf(tenant)], [interval, tokens]);
        }
        catch (Exception ex) when (ProblemsExtensions.IsDependencyFailure(ex))
        {
            _fallbackLog.Write(ex, options.CurrentValue.WhenRedisDown);
        }
    }

    /// <summary>The same GCRA in this instance alone (each gateway then enforces the whole plan by itself).</summary>
    private TokenDecision ConsumeLocally(string tenant, long tokens, long limit, double interval)
    {
        var (allowed, remaining, retryAfter, _) = localLimiter.Acquire(KeyOf(tenant), interval, tokens, limit);
        return new TokenDecision(allowed, limit, remaining, retryAfter, Local: true);
    }
}

/// <summary>A token limiter's answer.</summary>
/// <param name="Allowed">Whether the tokens were charged and the request may proceed.</param>
/// <param name="Limit">The plan's tokens per minute (0: unlimited).</param>
/// <param name="Remaining">Tokens left in the bucket (after this charge when allowed).</param>
/// <param name="RetryAfter">When refused, how long until the bucket holds enough.</param>
/// <param name="NeverFits">Refused because the request alone exceeds the whole per-minute budget: retrying cannot help.</param>
/// <param name="Local">Decided without Redis (unreachable).</param>
public sealed record TokenDecision(bool Allowed, long Limit, long Remaining, TimeSpan RetryAfter, bool NeverFits = false, bool Local = false)
{
    public static readonly TokenDecision Unlimited = new(true, 0, 0, TimeSpan.Zero);

    /// <summary>
    /// Writes <c>x-ratelimit-limit-tokens</c> and <c>x-ratelimit-remaining-tokens</c> (as OpenAI
    /// names them) and, when refused and a retry can help, <c>Retry-After</c> in whole seconds.
    /// Nothing for an unlimited plan.
    /// </summary>
    public void WriteHeaders(HttpResponse response)
    {
        if (Limit <= 0)
        {
            return;
        }

        response.Headers["x-ratelimit-limit-tokens"] = Limit.ToString(System.Globalization.CultureInfo.InvariantCulture);
        response.Headers["x-ratelimit-remaining-tokens"] = Remaining.ToString(System.Globalization.CultureInfo.InvariantCulture);
        if (!Allowed && !NeverFits)
        {
            response.Headers.RetryAfter = TenantRateLimitMiddleware.Seconds(RetryAfter);
        }
    }

    /// <summary>The 429 for a refused charge of <paramref name="tokens"/>, as problem+json (headers via <see cref="WriteHeaders"/>).</summary>
    public Microsoft.AspNetCore.Http.HttpResults.ProblemHttpResult ToProblem(long tokens) => NeverFits
        ? TypedResults.Problem(
            statusCode: StatusCodes.Status429TooManyRequests,
            title: "Request Exceeds The Token Limit",
            detail: $"This request needs {tokens} tokens; this tenant's plan allows {Limit} tokens per minute in all, so it can never fit. Send fewer or shorter inputs.",
            extensions: new Dictionary<string, object?> { ["tokens"] = tokens, ["tokensPerMinute"] = Limit, ["neverFits"] = true })
        : TypedResults.Problem(
            statusCode: StatusCodes.Status429TooManyRequests,
            title: "Too Many Tokens",
            detail: $"This request needs {tokens} tokens and this tenant has {Remaining} of its {Limit} tokens per minute left; retry after {TenantRateLimitMiddleware.Seconds(RetryAfter)} s.",
            extensions: new Dictionary<string, object?> { ["tokens"] = tokens, ["tokensPerMinute"] = Limit, ["remainingTokens"] = Remaining });
}
