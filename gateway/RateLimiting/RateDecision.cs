namespace InferenceGateway.Gateway.RateLimiting;

/// <summary>A limiter's answer, with what the RateLimit headers report.</summary>
/// <param name="Allowed">Whether the request may proceed.</param>
/// <param name="Limit">The bucket's size (the burst).</param>
/// <param name="Remaining">Requests left in the bucket after this one.</param>
/// <param name="RetryAfter">When refused, how long until one more request is allowed.</param>
/// <param name="Reset">How long until the bucket is full again.</param>
/// <param name="Local">True when decided by this instance alone (Redis unreachable).</param>
public sealed record RateDecision(bool Allowed, int Limit, int Remaining, TimeSpan RetryAfter, TimeSpan Reset, bool Local = false);

/// <summary>A bucket: its key part, sustained rate and burst.</summary>
public sealed record RateBucket(string Name, double PerSecond, int Burst)
{
    /// <summary>Microseconds between two requests at the sustained rate.</summary>
    public long EmissionIntervalMicros => Math.Max(1, (long)Math.Round(1_000_000 / PerSecond));
}
