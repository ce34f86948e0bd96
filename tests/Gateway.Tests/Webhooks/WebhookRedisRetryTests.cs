using InferenceGateway.Gateway.Webhooks;
using StackExchange.Redis;

namespace InferenceGateway.Tests.Webhooks;

/// <summary>A delivery's Redis calls are retried in place on connection errors and timeouts, not on server errors.</summary>
[TestFixture]
public sealed class WebhookRedisRetryTests
{
    [Test]
    public async Task AConnectionErrorOrTimeout_IsRetriedInPlace_UntilTheCallSucceeds()
    {
        var calls = 0;
        var result = await WebhookRedisRetry.RunAsync(
            _ => ++calls switch
            {
                1 => throw new RedisConnectionException(ConnectionFailureType.SocketFailure, CommandFlags.None, "blip", null, CommandStatus.Sent),
                2 => throw new RedisTimeoutException(CommandFlags.None, "slow", CommandStatus.Sent),
                _ => Task.FromResult("read"),
            },
            CancellationToken.None).AsTask().WaitAsync(TimeSpan.FromSeconds(30));

        Assert.That(result, Is.EqualTo("read"));
        Assert.That(calls, Is.EqualTo(3));
    }

    [Test]
    public void AServerError_IsNotRetried_AndAFailureThatLasts_IsThrownAfterMaxAttempts()
    {
        var serverCalls = 0;
        Assert.ThrowsAsync<RedisServerException>(async () => await WebhookRedisRetry.RunAsync(
            _ =>
            {
                serverCalls++;
                throw new RedisServerException(RedisErrorKind.UnknownError, CommandFlags.None, "WRONGTYPE");
            },
            CancellationToken.None).AsTask().WaitAsync(TimeSpan.FromSeconds(30)));
        Assert.That(serverCalls, Is.EqualTo(1));

        var downCalls = 0;
        Assert.ThrowsAsync<RedisConnectionException>(async () => await WebhookRedisRetry.RunAsync(
            _ =>
            {
                downCalls++;
                throw new RedisConnectionException(ConnectionFailureType.UnableToConnect, CommandFlags.None, "down", null, CommandStatus.Unknown);
            },
            CancellationToken.None).AsTask().WaitAsync(TimeSpan.FromSeconds(30)));
        Assert.That(downCalls, Is.EqualTo(WebhookRedisRetry.MaxAttempts));
    }
}
