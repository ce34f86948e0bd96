using System.Collections.Concurrent;
using InferenceGateway.Worker.Streaming;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;
using Polly;
using StackExchange.Redis;

namespace InferenceGateway.Tests.Streaming;

/// <summary>The stream writer's append retry (a Polly pipeline) on a fake clock: backoff with jitter, capped, limited, logged, transient errors only.</summary>
[TestFixture]
public sealed class AppendRetryTests
{
    [Test]
    public async Task TransientFailures_AreRetriedAppendRetriesTimes_WithDoublingJitteredDelays_EachLogged_ThenTheErrorIsThrown()
    {
        var time = new FakeTimeProvider();
        var logger = new RetryLogger();
        var pipeline = JobStreamWriter.AppendRetry(new StreamingOptions { AppendRetries = 5, RetryBaseDelayMs = 50 }, time, logger, "job-1");
        var attempts = 0;
        var run = Execute(pipeline, () =>
        {
            attempts++;
            throw new RedisConnectionException(ConnectionFailureType.UnableToConnect, CommandFlags.None, "down", null, CommandStatus.WaitingToBeSent);
        });

        await AdvanceUntilDoneAsync(time, run);

        Assert.That(async () => await run, Throws.InstanceOf<RedisConnectionException>());
        Assert.That(attempts, Is.EqualTo(6), "the first attempt and five retries");
        Assert.That(logger.Attempts, Is.EqualTo(new[] { 1, 2, 3, 4, 5 }));
        for (var i = 0; i < 5; i++)
        {
            var expected = 50 * Math.Pow(2, i);
            Assert.That(logger.Delays[i], Is.InRange(expected * 0.8, expected * 1.2), $"retry {i + 1}: doubled from 50 ms, ±20 %");
        }

        Assert.That(logger.Types, Is.All.EqualTo("token"), "each warning names the item");
    }

    [Test]
    public async Task Delays_AreCappedAtTwoSeconds()
    {
        var time = new FakeTimeProvider();
        var logger = new RetryLogger();
        var pipeline = JobStreamWriter.AppendRetry(new StreamingOptions { AppendRetries = 4, RetryBaseDelayMs = 1000 }, time, logger, "job-1");
        var run = Execute(pipeline, () => throw new RedisTimeoutException(CommandFlags.None, "slow", CommandStatus.Sent));

        await AdvanceUntilDoneAsync(time, run);

        Assert.That(logger.Delays.Skip(2), Is.All.EqualTo(2000));
    }

    [Test]
    public async Task ASuccessfulRetry_EndsTheRetries()
    {
        var time = new FakeTimeProvider();
        var pipeline = JobStreamWriter.AppendRetry(new StreamingOptions(), time, new RetryLogger(), "job-1");
        var attempts = 0;
        var run = Execute(pipeline, () =>
        {
            if (++attempts < 3)
            {
                throw new RedisConnectionException(ConnectionFailureType.SocketFailure, CommandFlags.None, "down", null, CommandStatus.WaitingToBeSent);
            }
        });

        await AdvanceUntilDoneAsync(time, run);

        await run;
        Assert.That(attempts, Is.EqualTo(3));
    }

    [Test]
    public async Task OtherErrors_AndZeroRetries_AreNotRetried()
    {
        var time = new FakeTimeProvider();
        var attempts = 0;
        var other = Execute(JobStreamWriter.AppendRetry(new StreamingOptions(), time, new RetryLogger(), "job-1"), () =>
        {
            attempts++;
            throw new InvalidOperationException("bug");
        });
        Assert.That(async () => await other, Throws.InvalidOperationException);
        Assert.That(attempts, Is.EqualTo(1));

        attempts = 0;
        var none = Execute(JobStreamWriter.AppendRetry(new StreamingOptions { AppendRetries = 0 }, time, new RetryLogger(), "job-1"), () =>
        {
            attempts++;
            throw new RedisConnectionException(ConnectionFailureType.UnableToConnect, CommandFlags.None, "down", null, CommandStatus.WaitingToBeSent);
        });
        Assert.That(async () => await none, Throws.InstanceOf<RedisConnectionException>());
        Assert.That(attempts, Is.EqualTo(1));
    }

    private static Task Execute(ResiliencePipeline pipeline, Action attempt)
    {
        var context = ResilienceContextPool.Shared.Get(CancellationToken.None);
        context.Properties.Set(JobStreamWriter.ItemKey, new TokenItem(7, "x"));
        return pipeline.ExecuteAsync(_ =>
        {
            attempt();
            return ValueTask.CompletedTask;
        }, context).AsTask();
    }

    private static async Task AdvanceUntilDoneAsync(FakeTimeProvider time, Task run)
    {
        for (var i = 0; i < 10_000 && !run.IsCompleted; i++)
        {
            time.Advance(TimeSpan.FromMilliseconds(100));
            await Task.Delay(1);
        }

        await Task.WhenAny(run, Task.Delay(TimeSpan.FromSeconds(30)));
        Assert.That(run.IsCompleted, Is.True, "the retries ended");
    }

    /// <summary>Keeps the Attempt, DelayMs and Type of each warning.</summary>
    private sealed class RetryLogger : ILogger
    {
        private readonly ConcurrentQueue<(int Attempt, double Delay, string Type)> _retries = new();

        public int[] Attempts => [.. _retries.Select(r => r.Attempt)];

        public double[] Delays => [.. _retries.Select(r => r.Delay)];

        public string[] Types => [.. _retries.Select(r => r.Type)];

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (state is IReadOnlyList<KeyValuePair<string, object?>> fields && fields.FirstOrDefault(f => f.Key == "DelayMs").Value is double delay)
            {
                _retries.Enqueue(((int)fields.First(f => f.Key == "Attempt").Value!, delay, (string)fields.First(f => f.Key == "Type").Value!));
            }
        }
    }
}
