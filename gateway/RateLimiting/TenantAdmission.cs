using InferenceGateway.Core.Jobs;
using InferenceGateway.Gateway.Problems;
using StackExchange.Redis;

namespace InferenceGateway.Gateway.RateLimiting;

/// <summary>
/// What a submission asks of its tenant, in one Redis round trip: a request from the plan's request
/// bucket (for an endpoint that takes it itself, see <see cref="DeferredRequestLimit"/>), its
/// estimated tokens from the tokens per minute, and a place under the active-jobs cap
/// (<see cref="ActiveJobs"/>), in that order, each only when the one before allowed it; the same
/// decisions, on the same keys, as <see cref="RedisRateLimiter"/>, <see cref="TokenRateLimiter"/>
/// and <see cref="ActiveJobs.TryReserveAsync"/> one after another. Every key carries the tenant's
/// hash tag, so the script stays in one cluster slot. The tokens are charged only once the place
/// is taken (over the cap, the tenant keeps them: what a charge and its refund did before). When
/// Redis cannot be asked, each limit falls back by <see cref="RateLimitOptions.WhenRedisDown"/> as
/// it does alone, and the place is left to the caller to take the usual way.
/// </summary>
public sealed class TenantAdmission(
    IConnectionMultiplexer redis,
    TenantRateLimiter requestLimiter,
    TokenRateLimiter tokenLimiter,
    ActiveJobs activeJobs,
    Microsoft.Extensions.Options.IOptionsMonitor<RateLimitOptions> options,
    TimeProvider time)
{
    // KEYS: request bucket, token bucket, active places.
    // ARGV: [1] request interval µs (0: no request asked), [2] request burst,
    //       [3] token interval µs (0: no tokens asked), [4] tokens, [5] token bucket size,
    //       [6] job id to reserve ('' : none), [7] now ms (gateway clock, as ActiveJobs), [8] the place's lease ms
    //       (its job's bound and the margin: the place's score is now + lease, swept once past), [9] cap (0: none).
    // Returns {request allowed (-1 not asked), remaining, retry-after µs, reset µs,
    //          tokens allowed (-1 not asked), remaining, retry-after µs, reserved (-1 not asked)}.
    private const string Script = GcraScript.Functions + """
        local t = redis.call('TIME')
        local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
        local r = {-1, 0, 0, 0, -1, 0, 0, -1}
        local rinterval = tonumber(ARGV[1])
        if rinterval > 0 then
          local allowed, remaining, retry_after, reset, next_tat = gcra(KEYS[1], rinterval, 1, tonumber(ARGV[2]), now)
          r[1] = allowed; r[3] = retry_after; r[4] = reset
          if allowed == 0 then
            return r
          end
          gcra_take(KEYS[1], next_tat, now)
          r[2] = remaining
        end
        local tinterval = tonumber(ARGV[3])
        local tokens_tat = nil
        if tinterval > 0 then
          local allowed, remaining, retry_after, _, next_tat = gcra(KEYS[2], tinterval, tonumber(ARGV[4]), tonumber(ARGV[5]), now)
          r[5] = allowed; r[6] = remaining; r[7] = retry_after
          if allowed == 0 then
            return r
          end
          tokens_tat = next_tat
        end
        if ARGV[6] ~= '' then
          local lease = tonumber(ARGV[8])
          redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', ARGV[7])
          local max = tonumber(ARGV[9])
          if max > 0 and redis.call('ZCARD', KEYS[3]) >= max then
            r[8] = 0
            return r
          end
          redis.call('ZADD', KEYS[3], tonumber(ARGV[7]) + lease, ARGV[6])
          if redis.call('PTTL', KEYS[3]) < lease then
            redis.call('PEXPIRE', KEYS[3], lease)
          end
          r[8] = 1
        end
        if tokens_tat then
          gcra_take(KEYS[2], tokens_tat, now)
        end
        return r
        """;

    /// <summary>
    /// Admits a submission of <paramref name="tokens"/> for <paramref name="tenant"/> on
    /// <paramref name="plan"/> (null: the default plan): a request from <paramref name="requestBucket"/>
    /// when named, the tokens, and, when <paramref name="reserveJobId"/> is given, a place for that job
    /// under <paramref name="maxActiveJobs"/> (0: no cap), held for <paramref name="jobBound"/> (how long
    /// the job can be queued or running) and the margin (<see cref="ActiveJobs.LeaseMillisecondsFor"/>).
    /// </summary>
    /// <exception cref="RedisException">Redis is unreachable and the policy is <c>Deny</c> (the exception handler answers 503).</exception>
    public async Task<Admission> AdmitAsync(string tenant, string? plan, string? requestBucket, long tokens, string? reserveJobId, int maxActiveJobs, TimeSpan jobBound)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(tokens);
        var bucket = requestBucket is null ? null : requestLimiter.BucketOf(plan, requestBucket);
        var limit = options.CurrentValue.For(plan).TokensPerMinute;

        // Decided without Redis: an unlimited plan, or a charge no bucket of this plan can ever hold.
        TokenDecision? tokensKnown = limit <= 0 ? TokenDecision.Unlimited
            : tokens > limit ? new TokenDecision(false, limit, 0, TimeSpan.Zero, NeverFits: true)
            : null;
        var reserve = tokensKnown is not { Allowed: false } ? reserveJobId : null;
        if (bucket is null && tokensKnown is not null && reserve is null)
        {
            return new Admission(null, tokensKnown, null);
        }

        var interval = tokensKnown is null ? TokenRateLimiter.IntervalOf(limit) : 0;
        RedisResult[] result;
        try
        {
            result = (RedisResult[])(await redis.GetDatabase().ScriptEvaluateAsync(
                Script,
                [RedisRateLimiter.KeyOf(tenant, bucket?.Name ?? RateLimitMetadata.Requests), TokenRateLimiter.KeyOf(tenant), ActiveJobs.Key(tenant)],
                [
                    bucket?.EmissionIntervalMicros ?? 0,
                    bucket?.Burst ?? 0,
                    interval,
                    tokens,
                    limit,
                    reserve ?? string.Empty,
                    time.GetUtcNow().ToUnixTimeMilliseconds(),
                    activeJobs.LeaseMillisecondsFor(jobBound),
                    maxActiveJobs,
                ]))!;
        }
        catch (Exception ex) when (ProblemsExtensions.IsDependencyFailure(ex))
        {
            // Each limit as it falls back alone; the place is not taken here (Reserved null), so the
            // caller reserves it the usual way, which fails as it would have (a 503).
            var fallback = bucket is null ? null : requestLimiter.Fallback(tenant, bucket, ex);
            if (fallback is { Allowed: false })
            {
                return new Admission(fallback, null, null);
            }

            return new Admission(fallback, tokensKnown ?? tokenLimiter.Fallback(tenant, tokens, limit, ex), null);
        }

        RateDecision? request = null;
        if (bucket is not null)
        {
            request = new RateDecision(
                Allowed: (long)result[0] == 1,
                Limit: bucket.Burst,
                Remaining: (int)Math.Max(0, (long)result[1]),
                RetryAfter: TimeSpan.FromMicroseconds((long)result[2]),
                Reset: TimeSpan.FromMicroseconds((long)result[3]));
            if (!request.Allowed)
            {
                return new Admission(request, null, null);
            }
        }

        var charge = tokensKnown ?? new TokenDecision(
            Allowed: (long)result[4] == 1,
            Limit: limit,
            Remaining: Math.Clamp((long)result[5], 0, limit),
            RetryAfter: TimeSpan.FromMicroseconds((long)result[6]));
        bool? reserved = (long)result[7] switch
        {
            1 => true,
            0 => false,
            _ => null,
        };
        return new Admission(request, charge, reserved);
    }
}

/// <summary>What <see cref="TenantAdmission.AdmitAsync"/> decided.</summary>
/// <param name="Request">The request bucket's decision; null when none was asked or the <c>Allow</c> policy let it through.</param>
/// <param name="Tokens">The token charge; null when the request was refused first. An allowed charge with
/// <paramref name="Reserved"/> false was not taken (the tenant keeps the tokens); refund an allowed charge that
/// was taken (<paramref name="Reserved"/> true or null) when the job is then not queued.</param>
/// <param name="Reserved">True: the place was taken; false: the tenant is at its cap (nothing was charged);
/// null: no place was asked, or Redis could not be asked and the caller must take it the usual way.</param>
public sealed record Admission(RateDecision? Request, TokenDecision? Tokens, bool? Reserved);
