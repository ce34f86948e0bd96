using InferenceGateway.Core.Queue;
using InferenceGateway.Tests.Infrastructure;
using Microsoft.Extensions.Time.Testing;

namespace InferenceGateway.Tests.Worker;

/// <summary>
/// The coalescer of deletes and visibility changes against a fake SQS client: when calls go out,
/// what goes together, and whose failure is whose.
/// </summary>
[TestFixture]
public sealed class ReceiptBatchCoalescerTests
{
    private const string Queue = "http://sqs.local/000000000000/jobs";
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    [Test]
    public async Task LoneDelete_GoesOutAtOnce_AsABatchOfOne()
    {
        var sqs = new FakeSqs();
        var gate = new TaskCompletionSource<string[]>();
        sqs.Answer = _ => gate.Task;
        var coalescer = new ReceiptBatchCoalescer(sqs);

        var deleted = coalescer.DeleteAsync(Queue, "h-1");

        // Sent before DeleteAsync returned: no timer, no window.
        Assert.That(sqs.Calls.Select(c => c.Handles.ToArray()), Is.EqualTo(new[] { new[] { "h-1" } }));
        Assert.That(sqs.Calls.Single().Operation, Is.EqualTo("delete"));
        Assert.That(deleted.IsCompleted, Is.False, "it completes when SQS answers");
        gate.SetResult([]);
        await deleted.WaitAsync(Timeout);
    }

    [Test]
    public async Task DeletesArrivingWhileACallIsInFlight_GoTogetherInTheNextCall()
    {
        var sqs = new FakeSqs();
        var gates = new Queue<TaskCompletionSource<string[]>>();
        sqs.Answer = _ =>
        {
            var gate = new TaskCompletionSource<string[]>(TaskCreationOptions.RunContinuationsAsynchronously);
            lock (gates)
            {
                gates.Enqueue(gate);
            }

            return gate.Task;
        };
        var coalescer = new ReceiptBatchCoalescer(sqs);

        var first = coalescer.DeleteAsync(Queue, "h-0");
        var waiting = Enumerable.Range(1, 5).Select(i => coalescer.DeleteAsync(Queue, $"h-{i}")).ToArray();
        Assert.That(sqs.Calls, Has.Count.EqualTo(1), "the five wait for the call in flight");

        Release(gates);
        await first.WaitAsync(Timeout);
        await Eventually.HoldsAsync(() => sqs.Calls.Count == 2, Timeout, "the next call");
        Release(gates);
        await Task.WhenAll(waiting).WaitAsync(Timeout);

        Assert.That(sqs.Calls.Select(c => c.Handles.ToArray()), Is.EqualTo(new[]
        {
            new[] { "h-0" },
            new[] { "h-1", "h-2", "h-3", "h-4", "h-5" },
        }));
    }

    [Test]
    public async Task ABacklogOfDeletes_GoesOutInFullBatchesOfTen_OnAFewCallsAtOnce()
    {
        var sqs = new FakeSqs();
        var release = new TaskCompletionSource<string[]>(TaskCreationOptions.RunContinuationsAsynchronously);
        sqs.Answer = _ => release.Task;
        var coalescer = new ReceiptBatchCoalescer(sqs);

        var all = Enumerable.Range(0, 53).Select(i => coalescer.DeleteAsync(Queue, $"h-{i}")).ToArray();
        Assert.That(sqs.Calls.Select(c => c.Entries.Count), Is.EqualTo(new[] { 1, 10, 10, 10 }), "a lone one at once, then full batches while fewer than four calls are in flight");

        release.SetResult([]);
        await Task.WhenAll(all).WaitAsync(Timeout);

        var sizes = sqs.Calls.Select(c => c.Entries.Count).ToArray();
        Assert.That(sizes.Sum(), Is.EqualTo(53));
        Assert.That(sizes, Has.All.LessThanOrEqualTo(ReceiptBatchCoalescer.MaxEntries));
        Assert.That(sizes, Has.Length.EqualTo(7), "1 + 10 + 10 + 10, then the 22 left in 10 + 10 + 2");
        Assert.That(sqs.MaxInFlight, Is.LessThanOrEqualTo(ReceiptBatchCoalescer.MaxCallsInFlight));
        Assert.That(sqs.Calls.SelectMany(c => c.Handles), Is.EquivalentTo(Enumerable.Range(0, 53).Select(i => $"h-{i}")));
    }

    [Test]
    public async Task FailedEntries_FailExactlyTheirOwnCallers()
    {
        var sqs = new FakeSqs();
        var gate = new TaskCompletionSource<string[]>(TaskCreationOptions.RunContinuationsAsynchronously);
        sqs.Answer = call => call.Entries.Count == 1 ? gate.Task : Task.FromResult(call.Entries.Where(e => e.ReceiptHandle is "h-2" or "h-4").Select(e => e.Id).ToArray());
        var coalescer = new ReceiptBatchCoalescer(sqs);

        var first = coalescer.DeleteAsync(Queue, "h-0");
        var batched = Enumerable.Range(1, 5).Select(i => (Handle: $"h-{i}", Task: coalescer.DeleteAsync(Queue, $"h-{i}"))).ToArray();
        gate.SetResult([]);
        await first.WaitAsync(Timeout);
        await Task.WhenAny(Task.WhenAll(batched.Select(b => b.Task)), Task.Delay(Timeout));

        Assert.That(sqs.Calls.Last().Entries, Has.Count.EqualTo(5), "the five went in one call");
        foreach (var (handle, task) in batched)
        {
            if (handle is "h-2" or "h-4")
            {
                var failure = Assert.ThrowsAsync<SqsBatchEntryException>(() => task.WaitAsync(Timeout));
                Assert.That(failure!.ErrorCode, Is.EqualTo("ReceiptHandleIsInvalid"));
                Assert.That(failure.SenderFault, Is.True);
            }
            else
            {
                Assert.That(task.IsCompletedSuccessfully, Is.True, handle);
            }
        }
    }

    [Test]
    public async Task AWholeCallThatFails_FailsEveryCallerOfThatCall_AndNotTheNextCall()
    {
        var sqs = new FakeSqs();
        var gate = new TaskCompletionSource<string[]>(TaskCreationOptions.RunContinuationsAsynchronously);
        var calls = 0;
        sqs.Answer = _ => Interlocked.Increment(ref calls) switch
        {
            1 => gate.Task,
            2 => Task.FromException<string[]>(new HttpRequestException("connection reset")),
            _ => Task.FromResult(Array.Empty<string>()),
        };
        var coalescer = new ReceiptBatchCoalescer(sqs);

        var first = coalescer.ChangeVisibilityAsync(Queue, "h-0", 0);
        var second = Enumerable.Range(1, 3).Select(i => coalescer.ChangeVisibilityAsync(Queue, $"h-{i}", 30)).ToArray();
        gate.SetResult([]);
        await first.WaitAsync(Timeout);
        foreach (var task in second)
        {
            Assert.ThrowsAsync<HttpRequestException>(() => task.WaitAsync(Timeout));
        }

        await coalescer.ChangeVisibilityAsync(Queue, "h-9", 30).WaitAsync(Timeout);
        Assert.That(sqs.Calls.Select(c => c.Entries.Count), Is.EqualTo(new[] { 1, 3, 1 }));
    }

    [Test]
    public async Task VisibilityChanges_CarryEachTheirOwnTimeout_AndQueuesAreNotMixed()
    {
        var sqs = new FakeSqs();
        var gate = new TaskCompletionSource<string[]>(TaskCreationOptions.RunContinuationsAsynchronously);
        sqs.Answer = call => call.Handles.First() == "a-0" ? gate.Task : Task.FromResult(Array.Empty<string>());
        var coalescer = new ReceiptBatchCoalescer(sqs);

        var a0 = coalescer.ChangeVisibilityAsync(Queue, "a-0", 0);
        var a1 = coalescer.ChangeVisibilityAsync(Queue, "a-1", 7);
        var a2 = coalescer.ChangeVisibilityAsync(Queue, "a-2", 120);
        var other = coalescer.ChangeVisibilityAsync(Queue + "-other", "b-0", 5);
        var delete = coalescer.DeleteAsync(Queue, "d-0");
        await Task.WhenAll(other, delete).WaitAsync(Timeout);
        gate.SetResult([]);
        await Task.WhenAll(a0, a1, a2).WaitAsync(Timeout);

        var calls = sqs.Calls.ToArray();
        Assert.That(calls.Select(c => (c.Operation, c.QueueUrl, c.Entries.Count)), Is.EquivalentTo(new[]
        {
            ("visibility", Queue, 1),
            ("visibility", Queue + "-other", 1),
            ("delete", Queue, 1),
            ("visibility", Queue, 2),
        }));
        var batched = calls.Single(c => c.Entries.Count == 2);
        Assert.That(batched.Entries.Select(e => (e.ReceiptHandle, e.VisibilityTimeout)), Is.EqualTo(new[] { ("a-1", 7), ("a-2", 120) }));
    }

    [Test]
    public async Task WithADeleteWindow_ALoneDeleteWaitsForIt_ThenGoesAlone()
    {
        var sqs = new FakeSqs();
        var time = new FakeTimeProvider();
        var coalescer = new ReceiptBatchCoalescer(sqs, TimeSpan.FromMilliseconds(5), time);

        var deleted = coalescer.DeleteAsync(Queue, "h-1");
        time.Advance(TimeSpan.FromMilliseconds(4));
        Assert.That(sqs.Calls, Is.Empty, "inside the window nothing is sent");

        time.Advance(TimeSpan.FromMilliseconds(1));
        Assert.That(sqs.Calls.Select(c => c.Handles.ToArray()), Is.EqualTo(new[] { new[] { "h-1" } }));
        await deleted.WaitAsync(Timeout);
    }

    [Test]
    public async Task WithADeleteWindow_DeletesInsideItShareOneCall_AndAFullBatchGoesAtOnce()
    {
        var sqs = new FakeSqs();
        var time = new FakeTimeProvider();
        var coalescer = new ReceiptBatchCoalescer(sqs, TimeSpan.FromMilliseconds(5), time);

        var first = Enumerable.Range(0, 4).Select(i => coalescer.DeleteAsync(Queue, $"a-{i}")).ToArray();
        time.Advance(TimeSpan.FromMilliseconds(2));
        var more = Enumerable.Range(0, 3).Select(i => coalescer.DeleteAsync(Queue, $"b-{i}")).ToArray();
        Assert.That(sqs.Calls, Is.Empty);
        time.Advance(TimeSpan.FromMilliseconds(3));
        await Task.WhenAll(first.Concat(more)).WaitAsync(Timeout);
        Assert.That(sqs.Calls.Select(c => c.Entries.Count), Is.EqualTo(new[] { 7 }), "the seven went in the one call the window ended with");

        var full = Enumerable.Range(0, ReceiptBatchCoalescer.MaxEntries).Select(i => coalescer.DeleteAsync(Queue, $"c-{i}")).ToArray();
        await Task.WhenAll(full).WaitAsync(Timeout);
        Assert.That(sqs.Calls.Select(c => c.Entries.Count), Is.EqualTo(new[] { 7, 10 }), "ten make a full call, which does not wait");
    }

    [Test]
    public async Task WithADeleteWindow_WhatGathersWhileACallIsInFlight_GoesWhenItReturns_WithoutAnotherWindow()
    {
        var sqs = new FakeSqs();
        var gate = new TaskCompletionSource<string[]>(TaskCreationOptions.RunContinuationsAsynchronously);
        sqs.Answer = call => call.Entries.Count == ReceiptBatchCoalescer.MaxEntries ? gate.Task : Task.FromResult(Array.Empty<string>());
        var time = new FakeTimeProvider();
        var coalescer = new ReceiptBatchCoalescer(sqs, TimeSpan.FromMilliseconds(5), time);

        var full = Enumerable.Range(0, ReceiptBatchCoalescer.MaxEntries).Select(i => coalescer.DeleteAsync(Queue, $"a-{i}")).ToArray();
        var late = Enumerable.Range(0, 2).Select(i => coalescer.DeleteAsync(Queue, $"b-{i}")).ToArray();
        Assert.That(sqs.Calls.Select(c => c.Entries.Count), Is.EqualTo(new[] { 10 }));

        gate.SetResult([]);
        await Task.WhenAll(full.Concat(late)).WaitAsync(Timeout);
        Assert.That(sqs.Calls.Select(c => c.Entries.Count), Is.EqualTo(new[] { 10, 2 }), "the two waited for the call in flight, not for a window too");
    }

    [Test]
    public async Task TheDeleteWindow_DoesNotDelayVisibilityChanges()
    {
        var sqs = new FakeSqs();
        var coalescer = new ReceiptBatchCoalescer(sqs, TimeSpan.FromMinutes(1), new FakeTimeProvider());

        await coalescer.ChangeVisibilityAsync(Queue, "h-0", 0).WaitAsync(Timeout);

        Assert.That(sqs.Calls.Select(c => c.Operation), Is.EqualTo(new[] { "visibility" }));
    }

    private static void Release(Queue<TaskCompletionSource<string[]>> gates)
    {
        lock (gates)
        {
            gates.Dequeue().SetResult([]);
        }
    }
}
