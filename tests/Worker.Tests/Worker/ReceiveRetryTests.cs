using System.Collections.Concurrent;
using InferenceGateway.Worker.Queue;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;

namespace InferenceGateway.Tests.Worker;

/// <summary>The event source's receive retry (a Polly pipeline) on a fake clock: backoff, no limit, logged, stops on shutdown.</summary>
[TestFixture]
public sealed class ReceiveRetryTests
{
    [Test]
    public async Task FailedReceives_AreRetriedUntilOneSucceeds_WithBackoffDoubledFrom200MsUpTo10s_EachLogged()
    {
        var time = new FakeTimeProvider();
        var logger = new DelayLogger();
        var pipeline = SqsEventSource.ReceiveRetry(time, logger);
        var attempts = 0;
        var run = pipeline.ExecuteAsync(
            _ =>
            {
                attempts++;
                return attempts <= 8 ? throw new InvalidOperationException("queue down") : ValueTask.FromResult(attempts);
            },
            CancellationToken.None).AsTask();

        for (var i = 0; i < 10_000 && !run.IsCompleted; i++)
        {
            time.Advance(TimeSpan.FromSeconds(10));
            await Task.Delay(1);
        }

        Assert.That(await run.WaitAsync(TimeSpan.FromSeconds(30)), Is.EqualTo(9), "retried until the receive succeeded");
        Assert.That(logger.Delays, Is.EqualTo(new double[] { 200, 400, 800, 1600, 3200, 6400, 10_000, 10_000 }), "one warning per retry, with its delay");
    }

    [Test]
    public void Stopping_EndsTheRetries_WithoutAnotherAttempt()
    {
        var time = new FakeTimeProvider();
        var pipeline = SqsEventSource.ReceiveRetry(time, new DelayLogger());
        using var stop = new CancellationTokenSource();
        var attempts = 0;
        var run = pipeline.ExecuteAsync<int>(
            _ =>
            {
                attempts++;
                throw new InvalidOperationException("queue down");
            },
            stop.Token).AsTask();

        stop.Cancel();
        time.Advance(TimeSpan.FromSeconds(10));

        Assert.That(async () => await run.WaitAsync(TimeSpan.FromSeconds(30)), Throws.InstanceOf<OperationCanceledException>());
        Assert.That(attempts, Is.EqualTo(1));
    }

    /// <summary>Keeps the DelayMs of each warning.</summary>
    private sealed class DelayLogger : ILogger
    {
        private readonly ConcurrentQueue<double> _delays = new();

        public double[] Delays => [.. _delays];

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (state is IReadOnlyList<KeyValuePair<string, object?>> fields && fields.FirstOrDefault(f => f.Key == "DelayMs").Value is double delay)
            {
                _delays.Enqueue(delay);
            }
        }
    }
}
