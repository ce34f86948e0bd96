using System.Collections.Concurrent;
using Amazon.Runtime;
using Amazon.SQS;
using Amazon.SQS.Model;
using InferenceGateway.Contracts;
using InferenceGateway.Tests.Infrastructure;

namespace InferenceGateway.Tests.Worker;

/// <summary>
/// A client of the real SQS emulator for a worker under test: it records which job each receive,
/// delete and extension was for, and can spoil a job's receipt handle in its next batch deletes or
/// extensions (a handle from an earlier delivery, say). The emulator then answers as SQS does: an
/// extension fails for that entry (<c>ReceiptHandleIsInvalid</c>); a delete "succeeds" and deletes
/// nothing, so the message comes back after its visibility timeout.
/// </summary>
internal sealed class TamperingSqs()
    : AmazonSQSClient(
        new BasicAWSCredentials("test", "test"),
        // As the worker's own client: long polls are never cut off client-side.
        new AmazonSQSConfig { ServiceURL = TestStack.SqsUrl, AuthenticationRegion = "us-east-1", Timeout = TimeSpan.FromSeconds(40), MaxErrorRetry = 2 })
{
    private readonly ConcurrentDictionary<string, string> _jobOfHandle = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, int> _spoilDeletes = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, int> _spoilExtensions = new(StringComparer.Ordinal);

    /// <summary>Every message received, by job id.</summary>
    public ConcurrentQueue<string> Receives { get; } = new();

    /// <summary>Every DeleteMessageBatch call: the job ids of its entries.</summary>
    public ConcurrentQueue<string[]> DeleteCalls { get; } = new();

    /// <summary>Every extension entry of a ChangeMessageVisibilityBatch call: its job, and SQS's error code (null when it succeeded).</summary>
    public ConcurrentQueue<(string JobId, int Seconds, string? Error)> Extensions { get; } = new();

    public void SpoilDeletes(string jobId, int times) => _spoilDeletes[jobId] = times;

    public void SpoilExtensions(string jobId, int times) => _spoilExtensions[jobId] = times;

    public int ReceivesOf(string jobId) => Receives.Count(j => j == jobId);

    public override async Task<ReceiveMessageResponse> ReceiveMessageAsync(ReceiveMessageRequest request, CancellationToken cancellationToken = default)
    {
        var response = await base.ReceiveMessageAsync(request, cancellationToken);
        foreach (var message in response.Messages ?? [])
        {
            var jobId = message.MessageAttributes?.GetValueOrDefault(JobMessageAttributes.JobId)?.StringValue ?? "?";
            _jobOfHandle[message.ReceiptHandle] = jobId;
            Receives.Enqueue(jobId);
        }

        return response;
    }

    public override Task<DeleteMessageBatchResponse> DeleteMessageBatchAsync(DeleteMessageBatchRequest request, CancellationToken cancellationToken = default)
    {
        var jobs = request.Entries.Select(e => JobOf(e.ReceiptHandle)).ToArray();
        for (var i = 0; i < jobs.Length; i++)
        {
            if (Take(_spoilDeletes, jobs[i]))
            {
                request.Entries[i].ReceiptHandle = "spoiled-" + Guid.NewGuid().ToString("N");
            }
        }

        DeleteCalls.Enqueue(jobs);
        return base.DeleteMessageBatchAsync(request, cancellationToken);
    }

    public override async Task<ChangeMessageVisibilityBatchResponse> ChangeMessageVisibilityBatchAsync(ChangeMessageVisibilityBatchRequest request, CancellationToken cancellationToken = default)
    {
        var jobs = request.Entries.Select(e => JobOf(e.ReceiptHandle)).ToArray();
        for (var i = 0; i < jobs.Length; i++)
        {
            if (Take(_spoilExtensions, jobs[i]))
            {
                request.Entries[i].ReceiptHandle = "spoiled-" + Guid.NewGuid().ToString("N");
            }
        }

        var response = await base.ChangeMessageVisibilityBatchAsync(request, cancellationToken);
        for (var i = 0; i < jobs.Length; i++)
        {
            var id = request.Entries[i].Id;
            Extensions.Enqueue((jobs[i], request.Entries[i].VisibilityTimeout ?? -1, response.Failed?.FirstOrDefault(f => f.Id == id)?.Code));
        }

        return response;
    }

    private static bool Take(ConcurrentDictionary<string, int> spoil, string jobId)
    {
        while (spoil.TryGetValue(jobId, out var left) && left > 0)
        {
            if (spoil.TryUpdate(jobId, left - 1, left))
            {
                return true;
            }
        }

        return false;
    }

    private string JobOf(string receiptHandle) => _jobOfHandle.GetValueOrDefault(receiptHandle, "?");
}
