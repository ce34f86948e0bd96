using InferenceGateway.Worker.Queue;
using MassTransit;
using StackExchange.Redis;

namespace InferenceGateway.Worker.Jobs;

/// <summary>The MassTransit middleware around the inference consumer.</summary>
public static class InferencePipeline
{
    /// <summary>
    /// Retry of transient Redis errors inside one delivery, and the per-invocation timeout filter,
    /// which cancels the consumer's token when <see cref="WorkerOptions.InvocationTimeoutSeconds"/>
    /// pass. Concurrency is capped once, by the event source: it holds at most
    /// <see cref="WorkerOptions.MaxConcurrency"/> messages (<see cref="ReceiveSlots"/>), so at most
    /// that many invocations run at once.
    /// </summary>
    public static void Configure(IMediatorConfigurator mediator, WorkerOptions options)
    {
        if (options.TransientRetries > 0)
        {
            mediator.UseMessageRetry(retry =>
            {
                retry.Exponential(options.TransientRetries, TimeSpan.FromMilliseconds(100), TimeSpan.FromSeconds(2), TimeSpan.FromMilliseconds(200));
                retry.Handle<RedisConnectionException>();
                retry.Handle<RedisTimeoutException>();
            });
        }

        mediator.UseTimeout(timeout => timeout.Timeout = TimeSpan.FromSeconds(options.InvocationTimeoutSeconds));
    }
}
