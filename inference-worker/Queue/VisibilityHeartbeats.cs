using Amazon.SQS;
using Amazon.SQS.Model;
using InferenceGateway.Core.Queue;

namespace InferenceGateway.Worker.Queue;

/// <summary>
/// Keeps the messages of running jobs invisible, one scheduler for all of them: a message is
/// extended to the full visibility timeout each time <see cref="WorkerOptions.HeartbeatFraction"/>
/// of it passes, and the messages due together go out in ChangeMessageVisibilityBatch calls of up
/// to 10. An extension gets a short limit of its own and, when it fails (the call, or only its
/// entry), is retried after 250 ms, up to 3 attempts a period, well before the visibility lapses.
/// A message stops being extended when its job ends and the lease is disposed: nothing is
/// cancelled and nothing throws.
/// </summary>
public sealed class VisibilityHeartbeats
{
    private const int AttemptsPerPeriod = 3;
    private static readonly TimeSpan RetryDelay = TimeSpan.FromMilliseconds(250);

    private readonly IAmazonSQS _sqs;
    private readonly string _queueUrl;
    private readonly int _visibilitySeconds;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly long _period;
    private readonly long _gather;
    private readonly long _retry;
    private readonly TimeSpan _limit;
    private readonly Lock _lock = new();
    private readonly LinkedList<Lease> _schedule = new();
    private TaskCompletionSource? _sleeping;
    private long _sleepingUntil;
    private int _tracked;

    /// <summary>A scheduler for the messages of <paramref name="queueUrl"/>, extending each by <paramref name="visibilitySeconds"/> every <paramref name="fraction"/> of it.</summary>
    public VisibilityHeartbeats(IAmazonSQS sqs, string queueUrl, int visibilitySeconds, double fraction, TimeProvider time, ILogger logger)
    {
        _sqs = sqs;
        _queueUrl = queueUrl;
        _visibilitySeconds = visibilitySeconds;
        _time = time;
        _logger = logger;
        var period = TimeSpan.FromSeconds(visibilitySeconds * fraction);
        _period = Ticks(period);
        // Messages due within this much of each other go out in the same batch (a little early).
        _gather = Ticks(TimeSpan.FromTicks(Math.Min(period.Ticks / 10, TimeSpan.TicksPerSecond)));
        _retry = Ticks(RetryDelay);
        // Each attempt's limit, so that a hung call leaves time for the retries.
        _limit = TimeSpan.FromSeconds(Math.Max(1, period.TotalSeconds / 4));
    }

    /// <summary>Messages whose jobs are running (leases not disposed).</summary>
    public int Tracked => Volatile.Read(ref _tracked);

    /// <summary>Messages waiting for their next extension (not in a call now).</summary>
    internal int Scheduled
    {
        get
        {
            lock (_lock)
            {
                return _schedule.Count;
            }
        }
    }

    /// <summary>Starts extending a received message's visibility; dispose the lease when its job ends.</summary>
    public Lease Track(string messageId, string receiptHandle)
    {
        var lease = new Lease(this, messageId, receiptHandle);
        var due = _time.GetTimestamp() + _period;
        lease.TickDue = due;
        lease.Due = due;
        Interlocked.Increment(ref _tracked);
        TaskCompletionSource? wake;
        lock (_lock)
        {
            // Every message has the same period, so a new one is never due before those in the list.
            _schedule.AddLast(lease.Node);
            wake = WakeLocked(due);
        }

        wake?.TrySetResult();
        return lease;
    }

    /// <summary>Runs the schedule until <paramref name="stop"/>; extensions in flight then finish on their own.</summary>
    public async Task RunAsync(CancellationToken stop)
    {
        using var stopping = stop.Register(() =>
        {
            TaskCompletionSource? wake;
            lock (_lock)
            {
                wake = WakeLocked(long.MinValue);
            }

            wake?.TrySetResult();
        });
        while (!stop.IsCancellationRequested)
        {
            var now = _time.GetTimestamp();
            List<Lease>? due = null;
            Task? sleep = null;
            var wait = -1L;
            lock (_lock)
            {
                if (_schedule.First is { } head && head.Value.Due <= now)
                {
                    _sleeping = null;
                    due = [];
                    while (_schedule.First is { } next && next.Value.Due <= now + _gather)
                    {
                        _schedule.RemoveFirst();
                        due.Add(next.Value);
                    }
                }
                else if (stop.IsCancellationRequested)
                {
                    break;
                }
                else
                {
                    // Asleep until the head is due, or until a message due sooner is scheduled.
                    _sleeping = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                    _sleepingUntil = _schedule.First?.Value.Due ?? long.MaxValue;
                    sleep = _sleeping.Task;
                    wait = _schedule.First is { } first ? first.Value.Due - now : -1;
                }
            }

            if (due is not null)
            {
                for (var start = 0; start < due.Count; start += ReceiptBatchCoalescer.MaxEntries)
                {
                    _ = ExtendAsync(due.GetRange(start, Math.Min(ReceiptBatchCoalescer.MaxEntries, due.Count - start)));
                }
            }
            else if (wait < 0)
            {
                await sleep!;
            }
            else
            {
                // The head may end meanwhile: the schedule is read again when this passes. The clock
                // may also have moved between reading it and arming the timer: then read again now.
                var delay = Task.Delay(_time.GetElapsedTime(0, wait), _time, CancellationToken.None);
                if (_time.GetTimestamp() < now + wait)
                {
                    await Task.WhenAny(sleep!, delay);
                }
            }
        }
    }

    /// <summary>The sleeping loop's signal, taken, when a message due at <paramref name="due"/> should wake it.</summary>
    private TaskCompletionSource? WakeLocked(long due)
    {
        if (_sleeping is null || due >= _sleepingUntil)
        {
            return null;
        }

        var wake = _sleeping;
        _sleeping = null;
        return wake;
    }

    private async Task ExtendAsync(List<Lease> batch)
    {
        var entries = new List<ChangeMessageVisibilityBatchRequestEntry>(batch.Count);
        for (var i = 0; i < batch.Count; i++)
        {
            entries.Add(new ChangeMessageVisibilityBatchRequestEntry { Id = SqsBatchEntries.Id(i), ReceiptHandle = batch[i].ReceiptHandle, VisibilityTimeout = _visibilitySeconds });
        }

        ChangeMessageVisibilityBatchResponse? response = null;
        Exception? callFailure = null;
        try
        {
            using var limit = new CancellationTokenSource(_limit, _time);
            response = await _sqs.ChangeMessageVisibilityBatchAsync(new ChangeMessageVisibilityBatchRequest { QueueUrl = _queueUrl, Entries = entries }, limit.Token);
        }
        catch (Exception ex)
        {
            callFailure = ex;
        }

        var outcomes = new Exception?[batch.Count];
        if (callFailure is not null)
        {
            Array.Fill(outcomes, callFailure);
        }
        else
        {
            Array.Fill(outcomes, new SqsBatchEntryException("ChangeMessageVisibilityBatch", new BatchResultErrorEntry { Code = "MissingFromResponse", Message = "The batch response named neither success nor failure for this entry.", SenderFault = false }));
            foreach (var ok in response!.Successful ?? [])
            {
                if (SqsBatchEntries.IndexOf(ok.Id, batch.Count) is var i and >= 0)
                {
                    outcomes[i] = null;
                }
            }

            foreach (var error in response.Failed ?? [])
            {
                if (SqsBatchEntries.IndexOf(error.Id, batch.Count) is var i and >= 0)
                {
                    outcomes[i] = new SqsBatchEntryException("ChangeMessageVisibilityBatch", error);
                }
            }
        }

        var now = _time.GetTimestamp();
        for (var i = 0; i < batch.Count; i++)
        {
            var lease = batch[i];
            if (outcomes[i] is { } failure)
            {
                Log.HeartbeatFailed(_logger, failure, lease.MessageId);
                if (++lease.Attempt < AttemptsPerPeriod)
                {
                    lease.Due = now + _retry;
                }
                else
                {
                    // Out of quick retries: try again at the next tick.
                    lease.Attempt = 0;
                    lease.TickDue += _period;
                    lease.Due = Math.Max(lease.TickDue, now + _retry);
                }
            }
            else
            {
                Log.Heartbeat(_logger, lease.MessageId, _visibilitySeconds);
                lease.Attempt = 0;
                lease.TickDue = now + _period;
                lease.Due = lease.TickDue;
            }

            Reschedule(lease);
        }
    }

    private void Reschedule(Lease lease)
    {
        TaskCompletionSource? wake;
        lock (_lock)
        {
            if (lease.Ended)
            {
                return;
            }

            // From the back: a message extended now is due after every other one.
            var after = _schedule.Last;
            while (after is not null && after.Value.Due > lease.Due)
            {
                after = after.Previous;
            }

            if (after is null)
            {
                _schedule.AddFirst(lease.Node);
            }
            else
            {
                _schedule.AddAfter(after, lease.Node);
            }

            wake = WakeLocked(lease.Due);
        }

        wake?.TrySetResult();
    }

    private void End(Lease lease)
    {
        lock (_lock)
        {
            if (lease.Ended)
            {
                return;
            }

            lease.Ended = true;
            if (lease.Node.List is not null)
            {
                _schedule.Remove(lease.Node);
            }
        }

        Interlocked.Decrement(ref _tracked);
    }

    private long Ticks(TimeSpan span) => (long)(span.TotalSeconds * _time.TimestampFrequency);

    /// <summary>One running job's message on the schedule; dispose it when the job ends.</summary>
    public sealed class Lease : IDisposable
    {
        private readonly VisibilityHeartbeats _owner;

        internal Lease(VisibilityHeartbeats owner, string messageId, string receiptHandle)
        {
            _owner = owner;
            MessageId = messageId;
            ReceiptHandle = receiptHandle;
            Node = new LinkedListNode<Lease>(this);
        }

        internal string MessageId { get; }

        internal string ReceiptHandle { get; }

        internal LinkedListNode<Lease> Node { get; }

        /// <summary>When the next extension of this period is due (a timestamp).</summary>
        internal long TickDue { get; set; }

        /// <summary>When this message is next sent: its tick, or a retry after a failed attempt.</summary>
        internal long Due { get; set; }

        internal int Attempt { get; set; }

        internal bool Ended { get; set; }

        /// <summary>Stops extending the message (idempotent).</summary>
        public void Dispose() => _owner.End(this);
    }
}
