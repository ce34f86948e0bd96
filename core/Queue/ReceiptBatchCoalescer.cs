using System.Collections.Concurrent;
using Amazon.SQS;
using Amazon.SQS.Model;

namespace InferenceGateway.Core.Queue;

/// <summary>
/// Coalesces concurrent DeleteMessage and ChangeMessageVisibility calls (both name a received
/// message by its receipt handle) into DeleteMessageBatch and ChangeMessageVisibilityBatch calls.
/// A lone call goes out at once, as a batch of one, unless a delete window is set: then a delete
/// that finds no call in flight waits up to that long for others to share its call (a full batch
/// goes at once). Deletes are never urgent, as the job's end is already recorded, and the jobs of
/// one model batch finish within a few milliseconds of each other: sent one by one as they came,
/// they went out about five to a call. Calls that arrive while a
/// batch call of the same kind on the same queue is in flight wait for it to return and go out
/// together in the next call, up to SQS's <see cref="MaxEntries"/> entries; a backlog of full
/// batches goes out on up to <see cref="MaxCallsInFlight"/> calls at once. Each caller hears its
/// own entry's outcome: an entry SQS failed (a <see cref="BatchResultErrorEntry"/>) fails only
/// its caller, with <see cref="SqsBatchEntryException"/>; a call that failed as a whole fails
/// every caller in it, with the call's exception.
/// </summary>
/// <param name="sqs">The client the batch calls go out on.</param>
/// <param name="deleteWindow">How long a delete that finds no call in flight waits for others; zero: none.</param>
/// <param name="time">The clock of the delete window.</param>
public sealed class ReceiptBatchCoalescer(IAmazonSQS sqs, TimeSpan deleteWindow = default, TimeProvider? time = null)
{
    /// <summary>Entries per batch call: SQS's limit.</summary>
    public const int MaxEntries = 10;

    /// <summary>Batch calls of one kind on one queue in flight at once (only full batches start a second one).</summary>
    public const int MaxCallsInFlight = 4;

    private readonly ConcurrentDictionary<string, Lane> _deletes = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, Lane> _visibility = new(StringComparer.Ordinal);

    /// <summary>Deletes a received message; completes when SQS has answered for this entry.</summary>
    public Task DeleteAsync(string queueUrl, string receiptHandle) =>
        LaneOf(_deletes, queueUrl, delete: true, deleteWindow).Enqueue(new Entry(receiptHandle, 0));

    /// <summary>Sets a received message's visibility timeout (0 makes it visible at once); completes when SQS has answered for this entry.</summary>
    public Task ChangeVisibilityAsync(string queueUrl, string receiptHandle, int visibilityTimeoutSeconds) =>
        LaneOf(_visibility, queueUrl, delete: false, TimeSpan.Zero).Enqueue(new Entry(receiptHandle, visibilityTimeoutSeconds));

    private Lane LaneOf(ConcurrentDictionary<string, Lane> lanes, string queueUrl, bool delete, TimeSpan window) =>
        lanes.TryGetValue(queueUrl, out var lane) ? lane : lanes.GetOrAdd(queueUrl, _ => new Lane(sqs, queueUrl, delete, window, time ?? TimeProvider.System));

    /// <summary>
    /// One caller's entry: its receipt handle and the task it awaits. Its caller continues on the
    /// thread pool, not on the thread that read SQS's answer, so one caller never holds up the others.
    /// </summary>
    private sealed class Entry(string receiptHandle, int seconds) : TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)
    {
        public string ReceiptHandle { get; } = receiptHandle;

        public int Seconds { get; } = seconds;
    }

    /// <summary>The waiting entries and calls in flight of one kind of call on one queue.</summary>
    private sealed class Lane(IAmazonSQS sqs, string queueUrl, bool delete, TimeSpan window, TimeProvider time)
    {
        private readonly Lock _lock = new();
        private readonly Queue<Entry> _waiting = new();
        private int _calls;
        private ITimer? _windowTimer;

        public Task Enqueue(Entry entry)
        {
            Entry[]? batch;
            lock (_lock)
            {
                _waiting.Enqueue(entry);
                batch = TakeLocked();
            }

            if (batch is not null)
            {
                _ = SendAsync(batch);
            }

            return entry.Task;
        }

        /// <summary>
        /// The next batch to send now, or null: a batch starts when no call is in flight (a lone
        /// entry goes at once, or once the lane's window has passed, <paramref name="waited"/>), or
        /// when a full batch is waiting and fewer than the cap are in flight.
        /// </summary>
        private Entry[]? TakeLocked(bool waited = false)
        {
            if (_waiting.Count == 0 || _calls >= MaxCallsInFlight || (_calls > 0 && _waiting.Count < MaxEntries))
            {
                return null;
            }

            if (_waiting.Count < MaxEntries && window > TimeSpan.Zero && !waited)
            {
                _windowTimer ??= time.CreateTimer(static state => ((Lane)state!).WindowPassed(), this, window, Timeout.InfiniteTimeSpan);
                return null;
            }

            var batch = new Entry[Math.Min(_waiting.Count, MaxEntries)];
            for (var i = 0; i < batch.Length; i++)
            {
                batch[i] = _waiting.Dequeue();
            }

            _calls++;
            return batch;
        }

        private void WindowPassed()
        {
            Entry[]? batch;
            lock (_lock)
            {
                _windowTimer?.Dispose();
                _windowTimer = null;
                batch = TakeLocked(waited: true);
            }

            if (batch is not null)
            {
                _ = SendAsync(batch);
            }
        }

        private async Task SendAsync(Entry[] batch)
        {
            List<string>? succeeded = null;
            List<BatchResultErrorEntry>? failed = null;
            Exception? callFailure = null;
            try
            {
                (succeeded, failed) = await CallAsync(batch);
            }
            catch (Exception ex)
            {
                callFailure = ex;
            }

            List<Entry[]>? next = null;
            lock (_lock)
            {
                _calls--;

                // What gathered while this call was in flight has waited long enough.
                while (TakeLocked(waited: true) is { } more)
                {
                    (next ??= []).Add(more);
                }
            }

            // What gathered while this call was in flight is on its way before its callers hear back.
            foreach (var more in next ?? [])
            {
                _ = SendAsync(more);
            }

            Complete(batch, succeeded, failed, callFailure);
        }

        private async Task<(List<string>? Succeeded, List<BatchResultErrorEntry>? Failed)> CallAsync(Entry[] batch)
        {
            if (delete)
            {
                var entries = new List<DeleteMessageBatchRequestEntry>(batch.Length);
                for (var i = 0; i < batch.Length; i++)
                {
                    entries.Add(new DeleteMessageBatchRequestEntry { Id = SqsBatchEntries.Id(i), ReceiptHandle = batch[i].ReceiptHandle });
                }

                var response = await sqs.DeleteMessageBatchAsync(new DeleteMessageBatchRequest { QueueUrl = queueUrl, Entries = entries }, CancellationToken.None);
                return (response.Successful?.ConvertAll(s => s.Id), response.Failed);
            }
            else
            {
                var entries = new List<ChangeMessageVisibilityBatchRequestEntry>(batch.Length);
                for (var i = 0; i < batch.Length; i++)
                {
                    entries.Add(new ChangeMessageVisibilityBatchRequestEntry { Id = SqsBatchEntries.Id(i), ReceiptHandle = batch[i].ReceiptHandle, VisibilityTimeout = batch[i].Seconds });
                }

                var response = await sqs.ChangeMessageVisibilityBatchAsync(new ChangeMessageVisibilityBatchRequest { QueueUrl = queueUrl, Entries = entries }, CancellationToken.None);
                return (response.Successful?.ConvertAll(s => s.Id), response.Failed);
            }
        }

        private void Complete(Entry[] batch, List<string>? succeeded, List<BatchResultErrorEntry>? failed, Exception? callFailure)
        {
            if (callFailure is not null)
            {
                foreach (var entry in batch)
                {
                    entry.TrySetException(callFailure);
                }

                return;
            }

            var operation = delete ? "DeleteMessageBatch" : "ChangeMessageVisibilityBatch";
            foreach (var error in failed ?? [])
            {
                if (SqsBatchEntries.IndexOf(error.Id, batch.Length) is var i and >= 0)
                {
                    batch[i].TrySetException(new SqsBatchEntryException(operation, error));
                }
            }

            foreach (var id in succeeded ?? [])
            {
                if (SqsBatchEntries.IndexOf(id, batch.Length) is var i and >= 0)
                {
                    batch[i].TrySetResult();
                }
            }

            // SQS answers for every entry; one it left out is not known to have happened.
            foreach (var entry in batch)
            {
                entry.TrySetException(new SqsBatchEntryException(operation, new BatchResultErrorEntry { Code = "MissingFromResponse", Message = "The batch response named neither success nor failure for this entry.", SenderFault = false }));
            }
        }
    }
}

/// <summary>Batch entry ids as this project writes them: the entry's index in its request, "0" to "9".</summary>
public static class SqsBatchEntries
{
    private static readonly string[] Ids = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"];

    /// <summary>The entry id for index <paramref name="index"/> (0 to 9).</summary>
    public static string Id(int index) => Ids[index];

    /// <summary>The index an entry id names, or -1 when it names none of a request's <paramref name="count"/> entries.</summary>
    public static int IndexOf(string? id, int count) =>
        id is { Length: 1 } && id[0] - '0' is var i && i >= 0 && i < count ? i : -1;
}
