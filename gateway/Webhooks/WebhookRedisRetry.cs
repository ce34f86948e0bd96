using Polly;
using Polly.Retry;
using InferenceGateway.Core.Redis;

namespace InferenceGateway.Gateway.Webhooks;

/// <summary>
/// Retries a delivery's Redis calls (job record, event, secrets, delivery log, acknowledgement) in
/// place on connection errors and timeouts: 5 tries over about 3 s, so a Redis blip or failover does
/// not leave the entry pending (and release its job's chain, letting later events go first) until
/// <see cref="WebhookOptions.ClaimAfter"/>. Server errors (a bad script, wrong type) are not retried.
/// </summary>
public static class WebhookRedisRetry
{
    public const int MaxAttempts = 5;

    private static readonly ResiliencePipeline Pipeline = new ResiliencePipelineBuilder()
        .AddRetry(new RetryStrategyOptions
        {
            ShouldHandle = new PredicateBuilder().Handle<Exception>(RedisFailures.IsTransient),
            MaxRetryAttempts = MaxAttempts - 1,
            BackoffType = DelayBackoffType.Exponential,
            UseJitter = true,
            Delay = TimeSpan.FromMilliseconds(200),
            MaxDelay = TimeSpan.FromSeconds(2),
        })
        .Build();

    /// <summary>Runs <paramref name="call"/>, again after a transient Redis failure; the last failure is thrown.</summary>
    public static ValueTask<T> RunAsync<T>(Func<CancellationToken, Task<T>> call, CancellationToken cancellationToken) =>
        Pipeline.ExecuteAsync(async token => await call(token), cancellationToken);

    /// <inheritdoc cref="RunAsync{T}(Func{CancellationToken, Task{T}}, CancellationToken)"/>
    public static ValueTask RunAsync(Func<CancellationToken, Task> call, CancellationToken cancellationToken) =>
        Pipeline.ExecuteAsync(async token => await call(token), cancellationToken);
}
