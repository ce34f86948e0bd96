using System.Collections.Concurrent;
using System.Reflection;
using Amazon.SQS;
using Amazon.SQS.Model;
using InferenceGateway.Core.Queue;

namespace InferenceGateway.Tests.Jobs;

/// <summary>
/// The gateway's SQS send coalescer against a fake SQS whose calls the test holds open and answers:
/// a lone send goes out at once and alone; sends made while a call is in flight share calls of at
/// most ten entries and SQS's batch payload limit; each caller gets its own entry's outcome.
/// </summary>
[TestFixture]
public sealed class SqsSendCoalescerTests
{
    private const string QueueUrl = "http://sqs.test/000000000000/jobs";
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    [Test]
    public async Task LoneSend_IssuesOneCallWithOneEntry_AtOnce()
    {
        var sqs = FakeSqs.Create();
        var coalescer = new SqsSendCoalescer(sqs.Client);

        var sent = coalescer.SendAsync(QueueUrl, "lone", Attributes("job_1"));

        // Observed synchronously: the call was issued before the caller awaited anything, so nothing
        // (no timer, no other send) held it back. The coalescer has no clock to wait on at all.
        Assert.That(sqs.Calls, Has.Count.EqualTo(1));
        Assert.That(sqs.Calls[0].Request.QueueUrl, Is.EqualTo(QueueUrl));
        Assert.That(sqs.Calls[0].Request.Entries.Select(e => e.MessageBody), Is.EqualTo(new[] { "lone" }));
        Assert.That(sqs.Calls[0].Request.Entries[0].MessageAttributes["JobId"].StringValue, Is.EqualTo("job_1"));
        sqs.Calls[0].Succeed();
        Assert.That(await sent.WaitAsync(Timeout), Is.EqualTo("id-lone"));
    }

    [Test]
    public async Task ConcurrentSends_WhileACallIsInFlight_ShareFewerCalls_OfAtMostTenEntries_EachSentOnce()
    {
        const int Sends = 26;
        var sqs = FakeSqs.Create();
        var coalescer = new SqsSendCoalescer(sqs.Client);

        var first = coalescer.SendAsync(QueueUrl, "m0");
        var rest = Enumerable.Range(1, Sends - 1).Select(i => coalescer.SendAsync(QueueUrl, $"m{i}")).ToList();

        // The first call is still in flight: 25 more filled two calls of ten at once, five wait.
        Assert.That(sqs.Calls.Select(c => c.Request.Entries.Count), Is.EqualTo(new[] { 1, 10, 10 }));
        sqs.Calls[0].Succeed();
        await sqs.WaitForCallsAsync(4, Timeout);
        Assert.That(sqs.Calls[3].Request.Entries, Has.Count.EqualTo(5), "the five waiting went out as the call in flight ended");
        foreach (var call in sqs.Calls.Skip(1))
        {
            call.Succeed();
        }

        var ids = await Task.WhenAll(rest.Prepend(first)).WaitAsync(Timeout);
        Assert.That(ids, Is.EqualTo(Enumerable.Range(0, Sends).Select(i => $"id-m{i}")), "each caller gets its own message's id");
        Assert.That(sqs.Calls, Has.Count.LessThan(Sends));
        Assert.That(sqs.Calls.SelectMany(c => c.Request.Entries).Select(e => e.MessageBody), Is.EquivalentTo(Enumerable.Range(0, Sends).Select(i => $"m{i}")), "every message exactly once");
        foreach (var call in sqs.Calls)
        {
            Assert.That(call.Request.Entries, Has.Count.InRange(1, SqsSendCoalescer.MaxEntriesPerCall));
            Assert.That(call.Request.Entries.Select(e => e.Id), Is.Unique, "entry ids are unique within a call");
        }
    }

    [Test]
    public async Task PartialFailure_FailsExactlyTheRefusedEntriesCallers()
    {
        var sqs = FakeSqs.Create();
        var coalescer = new SqsSendCoalescer(sqs.Client);
        var first = coalescer.SendAsync(QueueUrl, "ok-0");
        var batched = new[] { "ok-1", "bad-2", "ok-3", "bad-4" }.Select(body => coalescer.SendAsync(QueueUrl, body)).ToList();
        sqs.Calls[0].Succeed();
        await sqs.WaitForCallsAsync(2, Timeout);

        sqs.Calls[1].Answer(entry => entry.MessageBody.StartsWith("bad", StringComparison.Ordinal) ? "InternalError" : null);

        Assert.That(await first.WaitAsync(Timeout), Is.EqualTo("id-ok-0"));
        Assert.That(await batched[0].WaitAsync(Timeout), Is.EqualTo("id-ok-1"));
        Assert.That(await batched[2].WaitAsync(Timeout), Is.EqualTo("id-ok-3"));
        foreach (var refused in new[] { batched[1], batched[3] })
        {
            var error = Assert.ThrowsAsync<AmazonSQSException>(() => refused.WaitAsync(Timeout));
            Assert.That(error!.ErrorCode, Is.EqualTo("InternalError"));
        }
    }

    [Test]
    public async Task WholeCallFailure_FailsAllItsCallers_AndOnlyThem()
    {
        var sqs = FakeSqs.Create();
        var coalescer = new SqsSendCoalescer(sqs.Client);
        var first = coalescer.SendAsync(QueueUrl, "first");
        var batched = Enumerable.Range(0, 3).Select(i => coalescer.SendAsync(QueueUrl, $"b{i}")).ToList();
        sqs.Calls[0].Succeed();
        await sqs.WaitForCallsAsync(2, Timeout);

        sqs.Calls[1].Throw(new AmazonSQSException("queue unreachable"));

        Assert.That(await first.WaitAsync(Timeout), Is.EqualTo("id-first"));
        foreach (var send in batched)
        {
            Assert.ThrowsAsync<AmazonSQSException>(() => send.WaitAsync(Timeout));
        }

        var after = coalescer.SendAsync(QueueUrl, "after");
        await sqs.WaitForCallsAsync(3, Timeout);
        sqs.Calls[2].Succeed();
        Assert.That(await after.WaitAsync(Timeout), Is.EqualTo("id-after"), "a failed call leaves the coalescer working");
    }

    [Test]
    public async Task Batches_StayWithinTheBatchPayloadLimit_AndAMessageTooBigToShareGoesAlone()
    {
        var sqs = FakeSqs.Create();
        var coalescer = new SqsSendCoalescer(sqs.Client);
        var hundredKiB = new string('a', 100 * 1024);
        var first = coalescer.SendAsync(QueueUrl, "first");
        var sends = new List<Task<string>>();
        for (var i = 0; i < 5; i++)
        {
            sends.Add(coalescer.SendAsync(QueueUrl, $"{i}{hundredKiB}", Attributes($"job_{i}")));
        }

        var huge = coalescer.SendAsync(QueueUrl, new string('h', SqsSendCoalescer.MaxPayloadBytesPerCall + 1));
        var small = coalescer.SendAsync(QueueUrl, "small");
        var all = Task.WhenAll(sends.Append(first).Append(huge).Append(small));
        using var deadline = new CancellationTokenSource(Timeout);
        while (!all.IsCompleted)
        {
            foreach (var call in sqs.Calls.Where(c => !c.Answered))
            {
                call.Succeed();
            }

            await Task.Delay(5, deadline.Token);
        }

        await all;
        Assert.That(sqs.Calls.Sum(c => c.Request.Entries.Count), Is.EqualTo(8), "every message sent once");
        foreach (var call in sqs.Calls)
        {
            var bytes = call.Request.Entries.Sum(e => SqsSendCoalescer.SizeOf(e.MessageBody, e.MessageAttributes));
            var alone = call.Request.Entries is [var only] && only.MessageBody.StartsWith('h');
            Assert.That(alone || bytes <= SqsSendCoalescer.MaxPayloadBytesPerCall, Is.True, $"a call of {bytes} bytes");
        }

        Assert.That(sqs.Calls.Single(c => c.Request.Entries.Any(e => e.MessageBody.StartsWith('h'))).Request.Entries, Has.Count.EqualTo(1), "the oversized message went alone");
        Assert.That(sqs.Calls.Where(c => c.Request.Entries.Any(e => e.MessageBody.Length > 1000 && !e.MessageBody.StartsWith('h'))).Max(c => c.Request.Entries.Count), Is.EqualTo(2), "two 100 KiB messages share a call, three do not fit");
    }

    [Test]
    public async Task AWaitingSend_WhoseCallerCancels_IsNotSent()
    {
        var sqs = FakeSqs.Create();
        var coalescer = new SqsSendCoalescer(sqs.Client);
        var first = coalescer.SendAsync(QueueUrl, "first");
        using var cancel = new CancellationTokenSource();
        var withdrawn = coalescer.SendAsync(QueueUrl, "withdrawn", cancellationToken: cancel.Token);
        var kept = coalescer.SendAsync(QueueUrl, "kept");

        await cancel.CancelAsync();
        sqs.Calls[0].Succeed();
        await sqs.WaitForCallsAsync(2, Timeout);
        sqs.Calls[1].Succeed();

        Assert.That(await kept.WaitAsync(Timeout), Is.EqualTo("id-kept"));
        Assert.ThrowsAsync<TaskCanceledException>(() => withdrawn.WaitAsync(Timeout));
        Assert.That(sqs.Calls.SelectMany(c => c.Request.Entries).Select(e => e.MessageBody), Is.EqualTo(new[] { "first", "kept" }));
        Assert.That(await first.WaitAsync(Timeout), Is.EqualTo("id-first"));
    }

    private static Dictionary<string, MessageAttributeValue> Attributes(string jobId) =>
        new() { ["JobId"] = new MessageAttributeValue { DataType = "String", StringValue = jobId } };

    /// <summary>One <c>SendMessageBatch</c> call the fake holds open until the test answers it.</summary>
    internal sealed class HeldCall(SendMessageBatchRequest request)
    {
        private readonly TaskCompletionSource<SendMessageBatchResponse> _response = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public SendMessageBatchRequest Request { get; } = request;

        public bool Answered => _response.Task.IsCompleted;

        public Task<SendMessageBatchResponse> Response => _response.Task;

        public void Succeed() => Answer(_ => null);

        /// <summary>Answers every entry: refused with the code <paramref name="refusal"/> returns, or sent (id <c>id-{body}</c>).</summary>
        public void Answer(Func<SendMessageBatchRequestEntry, string?> refusal)
        {
            var response = new SendMessageBatchResponse { Successful = [], Failed = [] };
            foreach (var entry in Request.Entries)
            {
                if (refusal(entry) is { } code)
                {
                    response.Failed.Add(new BatchResultErrorEntry { Id = entry.Id, Code = code, Message = "refused by the test", SenderFault = false });
                }
                else
                {
                    response.Successful.Add(new SendMessageBatchResultEntry { Id = entry.Id, MessageId = "id-" + entry.MessageBody });
                }
            }

            _response.SetResult(response);
        }

        public void Throw(Exception exception) => _response.SetException(exception);
    }

    /// <summary>
    /// An <see cref="IAmazonSQS"/> that records <c>SendMessageBatchAsync</c> calls and holds each open;
    /// anything else is not expected. (A <see cref="DispatchProxy"/>, which cannot be sealed.)
    /// </summary>
    internal class FakeSqs : DispatchProxy
    {
        private readonly ConcurrentQueue<HeldCall> _calls = new();

        public IAmazonSQS Client { get; private set; } = null!;

        public IReadOnlyList<HeldCall> Calls => [.. _calls];

        public static FakeSqs Create()
        {
            var client = DispatchProxy.Create<IAmazonSQS, FakeSqs>();
            var fake = (FakeSqs)(object)client;
            fake.Client = client;
            return fake;
        }

        public async Task WaitForCallsAsync(int count, TimeSpan timeout)
        {
            using var deadline = new CancellationTokenSource(timeout);
            while (_calls.Count < count)
            {
                await Task.Delay(5, deadline.Token);
            }
        }

        protected override object? Invoke(MethodInfo? targetMethod, object?[]? args)
        {
            if (targetMethod?.Name == nameof(IAmazonSQS.SendMessageBatchAsync) && args?[0] is SendMessageBatchRequest request)
            {
                var call = new HeldCall(request);
                _calls.Enqueue(call);
                return call.Response;
            }

            if (targetMethod?.Name == nameof(IDisposable.Dispose))
            {
                return null;
            }

            throw new NotSupportedException($"The fake SQS does not answer {targetMethod?.Name}.");
        }
    }
}
