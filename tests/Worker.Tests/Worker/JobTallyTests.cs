using System.Collections.Concurrent;
using InferenceGateway.Contracts;
using InferenceGateway.Worker.Jobs;
using InferenceGateway.Worker.Queue;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace InferenceGateway.Tests.Worker;

/// <summary>The worker's periodic summary line: jobs by outcome, and how full its receives were.</summary>
[TestFixture]
public sealed class JobTallyTests
{
    [Test]
    public async Task TheSummary_CountsOutcomes_AndMessagesPerReceive_ThenStartsOver()
    {
        var logger = new CapturingLogger();
        var tally = new JobTally(Options.Create(new WorkerOptions { SummaryIntervalSeconds = 60 }), new FakeTimeProvider(), logger);
        tally.Ended(JobEventTypes.Completed);
        tally.Ended(JobEventTypes.Completed);
        tally.Ended(JobEventTypes.Failed);
        tally.Received(10);
        tally.Received(0);
        tally.Received(3);

        await tally.StopAsync(CancellationToken.None);
        Assert.That(logger.Lines, Has.Count.EqualTo(1));
        Assert.That(logger.Lines[0], Does.Contain("2 completed, 1 failed"));
        Assert.That(logger.Lines[0], Does.Contain("13 messages received in 3 receives"));

        tally.Ended(JobEventTypes.Completed);
        tally.Received(1);
        await tally.StopAsync(CancellationToken.None);
        Assert.That(logger.Lines[1], Does.Contain("1 completed, 0 failed").And.Contain("1 messages received in 1 receives"));
    }

    private sealed class CapturingLogger : ILogger<JobTally>
    {
        private readonly ConcurrentQueue<string> _lines = new();

        public List<string> Lines => [.. _lines];

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            _lines.Enqueue(formatter(state, exception));
    }
}
