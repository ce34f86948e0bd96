using System.Text.Json;
using InferenceGateway.Contracts;
using InferenceGateway.Core.Jobs;
using InferenceGateway.Worker.Streaming;
using StackExchange.Redis;

namespace InferenceGateway.Tests.Streaming;

/// <summary>
/// An in-memory job log for <see cref="JobStreamWriter"/> tests: appends can be held (a slow
/// Redis), made to fail before or after they take effect (a refused command, a timeout whose
/// command ran), or refused as Redis refuses an append to a closed log.
/// </summary>
internal sealed class FakeEventLog : IJobEventLog
{
    private readonly Lock _gate = new();
    private readonly List<JobEvent> _events = [];
    private TaskCompletionSource? _hold;

    public FakeEventLog(long lastSeq = 2)
    {
        for (var seq = 1; seq <= lastSeq; seq++)
        {
            _events.Add(new JobEvent("job", seq, seq == 1 ? JobEventTypes.Queued : JobEventTypes.Started, DateTimeOffset.UtcNow, null));
        }
    }

    /// <summary>The next this many appends throw before taking effect.</summary>
    public int FailBefore { get; set; }

    /// <summary>The next this many appends take effect, then throw (the reply was lost).</summary>
    public int FailAfter { get; set; }

    /// <summary>Appends answer as for a log that already holds its terminal event.</summary>
    public bool Closed { get; set; }

    /// <summary>Append calls so far, including failed ones.</summary>
    public int Calls { get; private set; }

    /// <summary>Completes when an append starts while held.</summary>
    public TaskCompletionSource AppendWaiting { get; private set; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public IReadOnlyList<JobEvent> Events
    {
        get
        {
            lock (_gate)
            {
                return [.. _events];
            }
        }
    }

    /// <summary>Appends wait until <see cref="Release"/>.</summary>
    public void Hold()
    {
        _hold = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        AppendWaiting = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    public void Release() => _hold?.TrySetResult();

    public async Task<AppendResult> AppendAsync(string jobId, string? runToken, string type, string dataJson)
    {
        Calls++;
        if (_hold is { } hold)
        {
            AppendWaiting.TrySetResult();
            await hold.Task.WaitAsync(TimeSpan.FromSeconds(10));
        }

        await Task.Yield();
        if (FailBefore > 0)
        {
            FailBefore--;
            throw new RedisConnectionException(ConnectionFailureType.SocketFailure, CommandFlags.None, "injected: refused before it ran", null, CommandStatus.WaitingToBeSent);
        }

        if (Closed)
        {
            return new AppendResult(AppendOutcome.AlreadyTerminal, 0);
        }

        long seq;
        lock (_gate)
        {
            seq = _events.Count + 1;
            _events.Add(new JobEvent(jobId, seq, type, DateTimeOffset.UtcNow, JsonDocument.Parse(dataJson).RootElement.Clone()));
        }

        if (FailAfter > 0)
        {
            FailAfter--;
            throw new RedisTimeoutException(CommandFlags.None, "injected: ran, reply lost", CommandStatus.Sent);
        }

        return new AppendResult(AppendOutcome.Appended, seq);
    }

    public Task<IReadOnlyList<JobEvent>> ReadEventsAsync(string jobId, long afterSeq, int max)
    {
        lock (_gate)
        {
            return Task.FromResult<IReadOnlyList<JobEvent>>([.. _events.Where(e => e.Seq > afterSeq).Take(max)]);
        }
    }
}
