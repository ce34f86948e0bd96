namespace InferenceGateway.Gateway.RateLimiting;

/// <summary>
/// A limiter's warning that Redis could not be asked and its <see cref="RedisDownPolicy"/> applies:
/// at most one every 10 s per limiter, so an outage does not log once per request.
/// </summary>
internal sealed class FallbackLog(TimeProvider time, ILogger logger)
{
    private static readonly TimeSpan Every = TimeSpan.FromSeconds(10);

    private long _last;

    public void Write(Exception exception, RedisDownPolicy policy)
    {
        var now = time.GetTimestamp();
        var last = Interlocked.Read(ref _last);
        if (last == 0 || time.GetElapsedTime(last, now) > Every)
        {
            Interlocked.Exchange(ref _last, now);
            Log.RateLimitFallback(logger, exception, policy.ToString());
        }
    }
}
