using System.Collections.Concurrent;
using Amazon.Runtime;
using Amazon.SQS;
using Amazon.SQS.Model;

namespace InferenceGateway.Tests.Worker;

/// <summary>
/// An SQS client whose batch deletes and visibility changes the test answers: each call is
/// recorded, <see cref="Answer"/> may hold it open, throw (the whole call fails) or name entries to
/// fail (<c>ReceiptHandleIsInvalid</c>). Any other call goes to an address where nothing listens.
/// </summary>
public sealed class FakeSqs()
    : AmazonSQSClient(new BasicAWSCredentials("test", "test"), new AmazonSQSConfig { ServiceURL = "http://127.0.0.1:9", AuthenticationRegion = "us-east-1", MaxErrorRetry = 0 })
{
    private int _inFlight;
    private int _maxInFlight;

    public ConcurrentQueue<Call> Calls { get; } = new();

    /// <summary>The ids of the entries to fail; every entry succeeds unless set.</summary>
    public Func<Call, Task<string[]>> Answer { get; set; } = _ => Task.FromResult(Array.Empty<string>());

    /// <summary>The most calls that were in flight at once.</summary>
    public int MaxInFlight => Volatile.Read(ref _maxInFlight);

    public override async Task<DeleteMessageBatchResponse> DeleteMessageBatchAsync(DeleteMessageBatchRequest request, CancellationToken cancellationToken = default)
    {
        var call = new Call("delete", request.QueueUrl, [.. request.Entries.Select(e => new Entry(e.Id, e.ReceiptHandle, 0))]);
        var failed = await AnswerAsync(call);
        return new DeleteMessageBatchResponse
        {
            Successful = [.. call.Entries.Where(e => !failed.Contains(e.Id)).Select(e => new DeleteMessageBatchResultEntry { Id = e.Id })],
            Failed = [.. failed.Select(Failure)],
        };
    }

    public override async Task<ChangeMessageVisibilityBatchResponse> ChangeMessageVisibilityBatchAsync(ChangeMessageVisibilityBatchRequest request, CancellationToken cancellationToken = default)
    {
        var call = new Call("visibility", request.QueueUrl, [.. request.Entries.Select(e => new Entry(e.Id, e.ReceiptHandle, e.VisibilityTimeout ?? -1))]);
        var failed = await AnswerAsync(call);
        return new ChangeMessageVisibilityBatchResponse
        {
            Successful = [.. call.Entries.Where(e => !failed.Contains(e.Id)).Select(e => new ChangeMessageVisibilityBatchResultEntry { Id = e.Id })],
            Failed = [.. failed.Select(Failure)],
        };
    }

    private static BatchResultErrorEntry Failure(string id) =>
        new() { Id = id, Code = "ReceiptHandleIsInvalid", Message = "The input receipt handle is invalid.", SenderFault = true };

    private async Task<string[]> AnswerAsync(Call call)
    {
        var now = Interlocked.Increment(ref _inFlight);
        int seen;
        while (now > (seen = Volatile.Read(ref _maxInFlight)) && Interlocked.CompareExchange(ref _maxInFlight, now, seen) != seen)
        {
        }

        try
        {
            // Answered first, so whatever the answer sets up is in place once the call is seen.
            var answer = Answer(call);
            Calls.Enqueue(call);
            return await answer;
        }
        finally
        {
            Interlocked.Decrement(ref _inFlight);
        }
    }

    /// <summary>One batch call as it was made.</summary>
    public sealed record Call(string Operation, string QueueUrl, IReadOnlyList<Entry> Entries)
    {
        public IEnumerable<string> Handles => Entries.Select(e => e.ReceiptHandle);
    }

    /// <summary>One entry of a batch call.</summary>
    public sealed record Entry(string Id, string ReceiptHandle, int VisibilityTimeout);
}
