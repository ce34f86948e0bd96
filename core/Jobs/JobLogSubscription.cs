using StackExchange.Redis;

namespace InferenceGateway.Core.Jobs;

/// <summary>A subscription to a job's wake-up channel (<see cref="JobKeys.Notify"/>), which every append publishes to; dispose to unsubscribe.</summary>
internal sealed class JobLogSubscription(ISubscriber subscriber, RedisChannel channel, Action<RedisChannel, RedisValue> handler) : IAsyncDisposable
{
    private int _disposed;

    /// <summary>Subscribes <paramref name="onAppended"/> to the channel of <paramref name="jobId"/>'s log.</summary>
    public static async Task<IAsyncDisposable> SubscribeAsync(IConnectionMultiplexer redis, string jobId, Action<long> onAppended)
    {
        var subscriber = redis.GetSubscriber();
        var channel = RedisChannel.Literal(JobKeys.Notify(jobId));
        Action<RedisChannel, RedisValue> handler = (_, value) => onAppended(value.TryParse(out long seq) ? seq : long.MaxValue);
        try
        {
            await subscriber.SubscribeAsync(channel, handler);
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            // The client registers the handler before SUBSCRIBE goes out; a failed attempt would
            // leave it registered (and the channel subscribed for good once Redis is back).
            try
            {
                await subscriber.UnsubscribeAsync(channel, handler);
            }
            catch (Exception cleanup) when (cleanup is RedisException or TimeoutException)
            {
                // The handler is removed locally first; only the UNSUBSCRIBE itself failed.
            }

            throw;
        }

        return new JobLogSubscription(subscriber, channel, handler);
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            await subscriber.UnsubscribeAsync(channel, handler);
        }
    }
}
