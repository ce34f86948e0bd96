using System.Text.Json;
using InferenceGateway.Contracts;
using InferenceGateway.Worker.Streaming;
using Microsoft.Extensions.Logging.Abstractions;
using StackExchange.Redis;

namespace InferenceGateway.Tests.Streaming;

/// <summary>
/// The worker's stream writer against an in-memory log: order, coalescing while an append is in
/// flight, everything appended before <see cref="JobStreamWriter.CompleteAsync"/> returns, and
/// Redis errors retried without losing or repeating an event.
/// </summary>
[TestFixture]
public sealed class JobStreamWriterTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    [Test]
    public async Task Chunks_AreAppendedInOrder_AndAllBeforeCompleteReturns()
    {
        var log = new FakeEventLog();
        await using var writer = Open(log);
        var vectors = Vectors(20);

        for (var offset = 0; offset < 20; offset += 2)
        {
            writer.WriteChunk(offset, vectors[offset..(offset + 2)], 20);
        }

        await writer.CompleteAsync().WaitAsync(Timeout);

        var chunks = Chunks(log);
        Assert.That(log.Events.Select(e => e.Seq), Is.Ordered.Ascending.And.Unique);
        Assert.That(Concatenated(chunks), Is.EqualTo(vectors), "every vector once, in order");
        Assert.That(chunks.Select(c => c.GetProperty("total").GetInt32()), Is.All.EqualTo(20));
        Assert.That(writer.LastSeq, Is.EqualTo(log.Events[^1].Seq));
        Assert.That(() => writer.WriteChunk(20, vectors[..1], 21), Throws.InvalidOperationException, "nothing after completion");
    }

    [Test]
    public async Task WhileAnAppendIsInFlight_LaterChunksMergeIntoOneEvent()
    {
        var log = new FakeEventLog();
        await using var writer = Open(log);
        var vectors = Vectors(10);
        log.Hold();

        writer.WriteChunk(0, vectors[..1], 10);
        await log.AppendWaiting.Task.WaitAsync(Timeout);
        for (var offset = 1; offset < 10; offset++)
        {
            writer.WriteChunk(offset, vectors[offset..(offset + 1)], 10);
        }

        log.Release();
        await writer.CompleteAsync().WaitAsync(Timeout);

        var chunks = Chunks(log);
        Assert.That(chunks.Select(c => (c.GetProperty("offset").GetInt32(), c.GetProperty("count").GetInt32())), Is.EqualTo(new[] { (0, 1), (1, 9) }));
        Assert.That(Concatenated(chunks), Is.EqualTo(vectors));
        Assert.That(log.Calls, Is.EqualTo(2), "one round trip for the nine written while Redis was busy");
    }

    [Test]
    public async Task Coalescing_StopsAtMaxCoalescedItems()
    {
        var log = new FakeEventLog();
        await using var writer = Open(log, new StreamingOptions { MaxCoalescedItems = 4, RetryBaseDelayMs = 1 });
        var vectors = Vectors(10);
        log.Hold();

        writer.WriteChunk(0, vectors[..1], 10);
        await log.AppendWaiting.Task.WaitAsync(Timeout);
        for (var offset = 1; offset < 10; offset++)
        {
            writer.WriteChunk(offset, vectors[offset..(offset + 1)], 10);
        }

        log.Release();
        await writer.CompleteAsync().WaitAsync(Timeout);

        Assert.That(Chunks(log).Select(c => c.GetProperty("count").GetInt32()), Is.EqualTo(new[] { 1, 4, 4, 1 }));
        Assert.That(Concatenated(Chunks(log)), Is.EqualTo(vectors));
    }

    [Test]
    public async Task Tokens_WrittenWhileRedisIsBusy_AreConcatenatedWithTheirCount()
    {
        var log = new FakeEventLog();
        await using var writer = Open(log);
        log.Hold();

        writer.WriteToken("Hel");
        await log.AppendWaiting.Task.WaitAsync(Timeout);
        writer.WriteToken("lo");
        writer.WriteToken(", ");
        writer.WriteToken("wörld");
        log.Release();
        await writer.CompleteAsync().WaitAsync(Timeout);

        var tokens = log.Events.Where(e => e.Type == JobEventTypes.Token).Select(e => e.Data!.Value).ToArray();
        Assert.That(tokens.Select(t => (t.GetProperty("index").GetInt64(), t.GetProperty("count").GetInt32(), t.GetProperty("text").GetString())),
            Is.EqualTo(new[] { (0L, 1, "Hel"), (1L, 3, "lo, wörld") }));
    }

    [Test]
    public async Task AnAppendRefusedByRedis_IsRetried_AndEveryChunkIsInTheLogOnce()
    {
        var log = new FakeEventLog { FailBefore = 3 };
        await using var writer = Open(log);
        var vectors = Vectors(6);

        for (var offset = 0; offset < 6; offset += 2)
        {
            writer.WriteChunk(offset, vectors[offset..(offset + 2)], 6);
        }

        await writer.CompleteAsync().WaitAsync(Timeout);

        Assert.That(Concatenated(Chunks(log)), Is.EqualTo(vectors));
        Assert.That(log.Calls, Is.GreaterThan(3), "the refused attempts were retried");
    }

    [Test]
    public async Task AnAppendThatRanButLostItsReply_IsNotAppendedTwice()
    {
        var log = new FakeEventLog { FailAfter = 2 };
        await using var writer = Open(log);
        var vectors = Vectors(6);

        for (var offset = 0; offset < 6; offset += 2)
        {
            writer.WriteChunk(offset, vectors[offset..(offset + 2)], 6);
        }

        await writer.CompleteAsync().WaitAsync(Timeout);

        var chunks = Chunks(log);
        Assert.That(chunks.Select(c => c.GetProperty("offset").GetInt32()), Is.Unique);
        Assert.That(Concatenated(chunks), Is.EqualTo(vectors));
        Assert.That(writer.LastSeq, Is.EqualTo(log.Events[^1].Seq));
    }

    [Test]
    public async Task PastItsRetries_TheStreamBreaks_CompleteThrows_AndNothingFollowsTheGap()
    {
        var log = new FakeEventLog();
        await using var writer = Open(log, new StreamingOptions { AppendRetries = 2, RetryBaseDelayMs = 1 });
        var vectors = Vectors(6);
        writer.WriteChunk(0, vectors[..2], 6);
        await Eventually(() => Chunks(log).Length == 1);

        log.FailBefore = 3;
        writer.WriteChunk(2, vectors[2..4], 6);
        await Eventually(() => log.Calls == 4);
        log.FailBefore = 0;
        writer.WriteChunk(4, vectors[4..6], 6);

        Assert.ThrowsAsync(Is.InstanceOf<RedisConnectionException>(), () => writer.CompleteAsync().WaitAsync(Timeout));
        Assert.That(Chunks(log).Select(c => c.GetProperty("offset").GetInt32()), Is.EqualTo(new[] { 0 }), "the chunk after the failed one is not appended either");
    }

    [Test]
    public async Task WhenTheJobsLogIsClosed_TheRestIsDropped_AndCompleteReturns()
    {
        var log = new FakeEventLog { Closed = true };
        await using var writer = Open(log);

        writer.WriteChunk(0, Vectors(2), 4);
        await Eventually(() => log.Calls == 1);
        writer.WriteChunk(2, Vectors(2), 4);
        await writer.CompleteAsync().WaitAsync(Timeout);

        Assert.That(Chunks(log), Is.Empty);
        Assert.That(log.Calls, Is.EqualTo(1), "no append after the log said it was closed");
    }

    [Test]
    public async Task DisposedWithoutCompleting_DropsWhatIsPending()
    {
        var log = new FakeEventLog();
        var writer = Open(log);
        log.Hold();
        writer.WriteChunk(0, Vectors(1), 3);
        await log.AppendWaiting.Task.WaitAsync(Timeout);
        writer.WriteChunk(1, Vectors(2), 3);

        var disposed = writer.DisposeAsync().AsTask();
        log.Release();
        await disposed.WaitAsync(Timeout);

        Assert.That(Chunks(log).Select(c => c.GetProperty("offset").GetInt32()), Is.EqualTo(new[] { 0 }), "the append in flight lands; the pending one does not");
    }

    [Test]
    public void Writing_NeverWaitsForTheLog()
    {
        var log = new FakeEventLog();
        log.Hold();
        var writer = Open(log);

        for (var offset = 0; offset < 1000; offset++)
        {
            writer.WriteChunk(offset, Vectors(1), 1000); // returns although no append can finish
        }

        log.Release();
        Assert.DoesNotThrowAsync(() => writer.CompleteAsync().WaitAsync(Timeout));
        Assert.That(Chunks(log).Sum(c => c.GetProperty("count").GetInt32()), Is.EqualTo(1000));
        Assert.That(log.Calls, Is.LessThanOrEqualTo(1 + 4), "1000 chunks in at most 1 + 999/256 events");
        Assert.DoesNotThrowAsync(() => writer.DisposeAsync().AsTask());
    }

    internal static float[][] Vectors(int count) =>
        [.. Enumerable.Range(0, count).Select(i => new[] { i + 0.1f, -i - 0.25f, 1f / (i + 3) })];

    internal static JsonElement[] Chunks(FakeEventLog log) =>
        [.. log.Events.Where(e => e.Type == JobEventTypes.Chunk).Select(e => e.Data!.Value)];

    internal static float[][] Concatenated(IEnumerable<JsonElement> chunks) =>
        [.. chunks.SelectMany(c => c.GetProperty("embeddings").EnumerateArray()).Select(v => v.EnumerateArray().Select(x => x.GetSingle()).ToArray())];

    private static JobStreamWriter Open(FakeEventLog log, StreamingOptions? options = null) =>
        new("job", afterSeq: 2, log, options ?? new StreamingOptions { RetryBaseDelayMs = 1 }, TimeProvider.System, NullLogger.Instance);

    private static Task Eventually(Func<bool> condition) =>
        Infrastructure.Eventually.HoldsAsync(condition, Timeout, "the writer reached the expected state");
}
