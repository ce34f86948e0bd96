using System.Collections.Concurrent;
using InferenceGateway.Tests.Infrastructure;
using InferenceGateway.Worker.Queue;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;

namespace InferenceGateway.Tests.Worker;

/// <summary>
/// The one visibility schedule for every running job's message, against a fake SQS client and a
/// fake clock: a 40 s visibility timeout and a fraction of 0.25, so an extension every 10 s.
/// </summary>
[TestFixture]
public sealed class VisibilityHeartbeatsTests
{
    private const string Queue = "http://sqs.local/000000000000/jobs";
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan Period = TimeSpan.FromSeconds(10);

    private FakeSqs _sqs = null!;
    private FakeTimeProvider _time = null!;
    private CapturingLogger _log = null!;
    private VisibilityHeartbeats _heartbeats = null!;
    private CancellationTokenSource _stop = null!;
    private Task _running = null!;

    [SetUp]
    public void Start()
    {
        _sqs = new FakeSqs();
        _time = new FakeTimeProvider();
        _log = new CapturingLogger();
        _heartbeats = new VisibilityHeartbeats(_sqs, Queue, 40, 0.25, _time, _log);
        _stop = new CancellationTokenSource();
        _running = _heartbeats.RunAsync(_stop.Token);
    }

    [TearDown]
    public async Task StopAsync()
    {
        await _stop.CancelAsync();
        await _running.WaitAsync(Timeout);
        _stop.Dispose();
        _sqs.Dispose();
    }

    [Test]
    public async Task MessagesDueTogether_AreExtendedToTheFullTimeout_InBatchesOfAtMostTen_EveryPeriod()
    {
        var leases = Enumerable.Range(0, 25).Select(i => _heartbeats.Track($"m-{i}", $"h-{i}")).ToList();

        _time.Advance(Period - TimeSpan.FromSeconds(2));
        await Task.Delay(100);
        Assert.That(_sqs.Calls, Is.Empty, "nothing is due before the period");

        await AdvanceAsync(TimeSpan.FromSeconds(2), calls: 3);
        var first = _sqs.Calls.ToArray();
        Assert.That(first.Select(c => c.Entries.Count), Is.EquivalentTo(new[] { 10, 10, 5 }));
        Assert.That(first.SelectMany(c => c.Entries).Select(e => e.VisibilityTimeout), Has.All.EqualTo(40));
        Assert.That(first.SelectMany(c => c.Handles), Is.EquivalentTo(Enumerable.Range(0, 25).Select(i => $"h-{i}")));
        Assert.That(first, Has.All.Matches<FakeSqs.Call>(c => c.Operation == "visibility" && c.QueueUrl == Queue));

        await AdvanceAsync(Period, calls: 6);
        Assert.That(_sqs.Calls.Skip(3).SelectMany(c => c.Handles), Is.EquivalentTo(Enumerable.Range(0, 25).Select(i => $"h-{i}")), "the next period extends them all again");
        leases.ForEach(l => l.Dispose());
    }

    [Test]
    public async Task MessagesDueWithinASecondOfEachOther_GoInTheSameCall()
    {
        using var a = _heartbeats.Track("m-a", "h-a");
        _time.Advance(TimeSpan.FromMilliseconds(600));
        using var b = _heartbeats.Track("m-b", "h-b");

        await AdvanceAsync(Period - TimeSpan.FromMilliseconds(600), calls: 1);

        Assert.That(_sqs.Calls.Single().Handles, Is.EqualTo(new[] { "h-a", "h-b" }));
    }

    [Test]
    public async Task AFailedEntry_IsRetriedAlone250MsLater_AndLogged_WhileTheOthersWaitForTheNextPeriod()
    {
        var leases = Enumerable.Range(0, 5).Select(i => _heartbeats.Track($"m-{i}", $"h-{i}")).ToList();
        var attempts = 0;
        _sqs.Answer = call => Task.FromResult(Interlocked.Increment(ref attempts) == 1 ? call.Entries.Where(e => e.ReceiptHandle == "h-2").Select(e => e.Id).ToArray() : []);

        await AdvanceAsync(Period, calls: 1);
        await AdvanceAsync(TimeSpan.FromMilliseconds(250), calls: 2);

        Assert.That(_sqs.Calls.Last().Handles, Is.EqualTo(new[] { "h-2" }));
        Assert.That(_log.Warnings, Has.Count.EqualTo(1));
        Assert.That(_log.Warnings.Single(), Does.Contain("m-2"));
        Assert.That(_log.Exceptions.Single(), Is.InstanceOf<Core.Queue.SqsBatchEntryException>());
        leases.ForEach(l => l.Dispose());
    }

    [Test]
    public async Task AWholeCallThatFails_IsRetriedForEveryMessageInIt()
    {
        var leases = Enumerable.Range(0, 3).Select(i => _heartbeats.Track($"m-{i}", $"h-{i}")).ToList();
        var attempts = 0;
        _sqs.Answer = _ => Interlocked.Increment(ref attempts) == 1 ? Task.FromException<string[]>(new HttpRequestException("connection reset")) : Task.FromResult(Array.Empty<string>());

        await AdvanceAsync(Period, calls: 1);
        await AdvanceAsync(TimeSpan.FromMilliseconds(250), calls: 2);

        Assert.That(_sqs.Calls.Last().Handles, Is.EquivalentTo(new[] { "h-0", "h-1", "h-2" }));
        Assert.That(_log.Warnings, Has.Count.EqualTo(3), "one warning per message, as before");
        leases.ForEach(l => l.Dispose());
    }

    [Test]
    public async Task ThreeFailedAttempts_ThenTheMessageWaitsForTheNextPeriod()
    {
        using var lease = _heartbeats.Track("m-0", "h-0");
        _sqs.Answer = call => Task.FromResult(call.Entries.Select(e => e.Id).ToArray());

        await AdvanceAsync(Period, calls: 1);
        await AdvanceAsync(TimeSpan.FromMilliseconds(250), calls: 2);
        await AdvanceAsync(TimeSpan.FromMilliseconds(250), calls: 3);
        _time.Advance(TimeSpan.FromSeconds(5));
        await Task.Delay(100);
        Assert.That(_sqs.Calls, Has.Count.EqualTo(3), "no fourth attempt within the period");

        await AdvanceAsync(TimeSpan.FromSeconds(5), calls: 4);
        Assert.That(_log.Warnings, Has.Count.EqualTo(4));
    }

    [Test]
    public async Task AnEndedJobsMessage_IsNotExtended_AndNothingIsCancelled()
    {
        var leases = Enumerable.Range(0, 3).Select(i => _heartbeats.Track($"m-{i}", $"h-{i}")).ToList();
        leases[1].Dispose();
        leases[1].Dispose();
        Assert.That(_heartbeats.Tracked, Is.EqualTo(2));

        await AdvanceAsync(Period, calls: 1);

        Assert.That(_sqs.Calls.Single().Handles, Is.EqualTo(new[] { "h-0", "h-2" }));
        leases[0].Dispose();
        leases[2].Dispose();
        Assert.That(_heartbeats.Tracked, Is.Zero);
        Assert.That(_heartbeats.Scheduled, Is.Zero);
    }

    /// <summary>Moves the clock, then waits for the schedule to have made <paramref name="calls"/> calls in all and taken their answers in.</summary>
    private async Task AdvanceAsync(TimeSpan by, int calls)
    {
        _time.Advance(by);
        await Eventually.HoldsAsync(() => _sqs.Calls.Count >= calls && _heartbeats.Scheduled == _heartbeats.Tracked, Timeout, $"{calls} calls answered");
        Assert.That(_sqs.Calls, Has.Count.EqualTo(calls));
    }

    private sealed class CapturingLogger : ILogger
    {
        private readonly ConcurrentQueue<(LogLevel Level, string Message, Exception? Exception)> _entries = new();

        public List<string> Warnings => [.. _entries.Where(e => e.Level == LogLevel.Warning).Select(e => e.Message)];

        public List<Exception> Exceptions => [.. _entries.Where(e => e.Exception is not null).Select(e => e.Exception!)];

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            _entries.Enqueue((logLevel, formatter(state, exception), exception));
    }
}
