using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using Amazon.Runtime;
using Amazon.SQS;
using Amazon.SQS.Model;

namespace InferenceGateway.Core.Queue;

/// <summary>
/// Sends SQS messages, coalescing concurrent sends into <c>SendMessageBatch</c> calls. A send that
/// finds no call in flight to its queue goes out at once, alone: nothing waits on a timer. Sends
/// that arrive while a call is in flight wait for it and go out together in the next call, which is
/// issued as soon as the one in flight ends, or at once when they fill a call (<see cref="MaxEntriesPerCall"/>
/// messages or <see cref="MaxPayloadBytesPerCall"/> bytes), so a send waits at most about one call's
/// round trip and throughput is never capped by it. A message too big to share a call goes alone.
/// Each caller gets its own message's outcome: the message id, or an <see cref="AmazonSQSException"/>
/// for an entry SQS refused (partial failure), or the exception of a call that failed as a whole.
/// </summary>
public sealed class SqsSendCoalescer(IAmazonSQS sqs)
{
    /// <summary>SQS takes at most ten entries per <c>SendMessageBatch</c>.</summary>
    public const int MaxEntriesPerCall = 10;

    /// <summary>
    /// SQS's limit on one <c>SendMessageBatch</c>: the sum of its messages' sizes (body and
    /// attributes' names, types and values), 256 KiB.
    /// </summary>
    public const int MaxPayloadBytesPerCall = 262_144;

    private static readonly string[] EntryIds = [.. Enumerable.Range(0, MaxEntriesPerCall).Select(i => i.ToString(CultureInfo.InvariantCulture))];

    private readonly ConcurrentDictionary<string, Lane> _lanes = new(StringComparer.Ordinal);

    /// <summary>
    /// Sends one message to <paramref name="queueUrl"/> and returns its SQS message id. A
    /// <paramref name="cancellationToken"/> cancelled while the message still waits for a call takes
    /// it out; once it is in a call, the call's outcome is awaited (the SDK's timeout bounds it), so a
    /// caller never gives up on a message that may have been sent.
    /// </summary>
    public Task<string> SendAsync(string queueUrl, string body, Dictionary<string, MessageAttributeValue>? attributes = null, CancellationToken cancellationToken = default)
    {
        if (cancellationToken.IsCancellationRequested)
        {
            return Task.FromCanceled<string>(cancellationToken);
        }

        var lane = _lanes.GetOrAdd(queueUrl, static url => new Lane(url));
        var message = new PendingMessage(body, attributes, SizeOf(body, attributes));
        List<PendingMessage>? full = null;
        List<PendingMessage>? now = null;
        lock (lane.Gate)
        {
            if (lane.InFlight == 0)
            {
                lane.InFlight++;
                now = [message];
            }
            else
            {
                if (lane.Waiting.Count > 0 && lane.WaitingBytes + message.Bytes > MaxPayloadBytesPerCall)
                {
                    // It does not fit with those waiting: they go now, it waits alone.
                    full = lane.TakeWaiting();
                }

                lane.Waiting.Add(message);
                lane.WaitingBytes += message.Bytes;
                if (lane.Waiting.Count == MaxEntriesPerCall || lane.WaitingBytes >= MaxPayloadBytesPerCall)
                {
                    now = lane.TakeWaiting();
                }
            }
        }

        if (full is not null)
        {
            _ = SendBatchAsync(lane, full);
        }

        if (now is not null)
        {
            _ = SendBatchAsync(lane, now);
        }
        else if (cancellationToken.CanBeCanceled)
        {
            message.Cancellation = cancellationToken.UnsafeRegister(
                static (state, token) =>
                {
                    var (waitingIn, waiting) = ((Lane, PendingMessage))state!;
                    waitingIn.Withdraw(waiting, token);
                },
                (lane, message));
        }

        return message.Outcome.Task;
    }

    /// <summary>A message's size as SQS counts it against a batch: its body and each attribute's name, data type and value, in bytes.</summary>
    public static int SizeOf(string body, Dictionary<string, MessageAttributeValue>? attributes)
    {
        var size = Encoding.UTF8.GetByteCount(body);
        foreach (var (name, value) in attributes ?? [])
        {
            size += Encoding.UTF8.GetByteCount(name) + Encoding.UTF8.GetByteCount(value.DataType ?? string.Empty);
            size += value.StringValue is { } text ? Encoding.UTF8.GetByteCount(text) : (int)(value.BinaryValue?.Length ?? 0);
        }

        return size;
    }

    private async Task SendBatchAsync(Lane lane, List<PendingMessage> batch)
    {
        try
        {
            var entries = new List<SendMessageBatchRequestEntry>(batch.Count);
            for (var i = 0; i < batch.Count; i++)
            {
                entries.Add(new SendMessageBatchRequestEntry { Id = EntryIds[i], MessageBody = batch[i].Body, MessageAttributes = batch[i].Attributes });
            }

            SendMessageBatchResponse response;
            try
            {
                // Not the callers' tokens: once sent, a message's outcome is what its caller needs.
                response = await sqs.SendMessageBatchAsync(new SendMessageBatchRequest { QueueUrl = lane.QueueUrl, Entries = entries }, CancellationToken.None);
            }
            catch (Exception ex)
            {
                foreach (var message in batch)
                {
                    message.Fail(ex);
                }

                return;
            }

            foreach (var sent in response.Successful ?? [])
            {
                if (IndexOf(sent.Id, batch.Count) is { } i)
                {
                    batch[i].Succeed(sent.MessageId);
                }
            }

            foreach (var refused in response.Failed ?? [])
            {
                if (IndexOf(refused.Id, batch.Count) is { } i)
                {
                    batch[i].Fail(new AmazonSQSException($"SQS refused the message ({refused.Code}): {refused.Message}")
                    {
                        ErrorCode = refused.Code,
                        ErrorType = refused.SenderFault == true ? ErrorType.Sender : ErrorType.Receiver,
                    });
                }
            }

            foreach (var message in batch)
            {
                if (!message.Outcome.Task.IsCompleted)
                {
                    message.Fail(new AmazonSQSException("SQS answered the batch without a result for this message."));
                }
            }
        }
        finally
        {
            List<PendingMessage>? next = null;
            lock (lane.Gate)
            {
                lane.InFlight--;
                if (lane.Waiting.Count > 0)
                {
                    next = lane.TakeWaiting();
                }
            }

            if (next is not null)
            {
                _ = SendBatchAsync(lane, next);
            }
        }
    }

    private static int? IndexOf(string? id, int count) =>
        int.TryParse(id, NumberStyles.None, CultureInfo.InvariantCulture, out var i) && i < count ? i : null;

    /// <summary>The calls to one queue: how many are in flight and the messages waiting for the next.</summary>
    private sealed class Lane(string queueUrl)
    {
        public readonly Lock Gate = new();
        public readonly List<PendingMessage> Waiting = new(MaxEntriesPerCall);

        public string QueueUrl { get; } = queueUrl;

        public int InFlight { get; set; }

        public int WaitingBytes { get; set; }

        /// <summary>Takes the waiting messages for a call that is about to be issued (counted in flight).</summary>
        public List<PendingMessage> TakeWaiting()
        {
            List<PendingMessage> batch = [.. Waiting];
            Waiting.Clear();
            WaitingBytes = 0;
            InFlight++;
            return batch;
        }

        /// <summary>A cancelled caller's message leaves, unless a call already carries it.</summary>
        public void Withdraw(PendingMessage message, CancellationToken token)
        {
            lock (Gate)
            {
                if (!Waiting.Remove(message))
                {
                    return;
                }

                WaitingBytes -= message.Bytes;
            }

            message.Outcome.TrySetCanceled(token);
        }
    }

    private sealed class PendingMessage(string body, Dictionary<string, MessageAttributeValue>? attributes, int bytes)
    {
        public string Body { get; } = body;

        public Dictionary<string, MessageAttributeValue>? Attributes { get; } = attributes;

        public int Bytes { get; } = bytes;

        public TaskCompletionSource<string> Outcome { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public CancellationTokenRegistration Cancellation { get; set; }

        public void Succeed(string messageId)
        {
            Cancellation.Unregister();
            Outcome.TrySetResult(messageId);
        }

        public void Fail(Exception exception)
        {
            Cancellation.Unregister();
            Outcome.TrySetException(exception);
        }
    }
}
