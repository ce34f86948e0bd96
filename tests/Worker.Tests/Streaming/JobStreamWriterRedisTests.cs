using InferenceGateway.Contracts;
using InferenceGateway.Core.Jobs;
using InferenceGateway.Tests.Infrastructure;
using InferenceGateway.Worker.Streaming;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace InferenceGateway.Tests.Streaming;

/// <summary>The stream writer against the job's real log in Redis, between a real <c>started</c> and terminal event.</summary>
[TestFixture]
public sealed class JobStreamWriterRedisTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    [Test]
    public async Task ChunksLandBetweenStartedAndTheTerminalEvent_InOrder_EachOnce()
    {
        var store = new RedisJobStore(TestStack.Multiplexer, Options.Create(new JobStoreOptions()), TimeProvider.System);
        var jobId = $"job_{Guid.NewGuid():N}";
        await store.CreateAsync(jobId, TestStack.UniqueName("t"), "all-minilm-l6-v2", DateTimeOffset.UtcNow);
        var started = await store.AppendAsync(jobId, JobEventTypes.Started, """{"attempt":1}""", []);
        var vectors = Enumerable.Range(0, 500).Select(i => Enumerable.Range(0, 384).Select(d => (float)Math.Sin(i + (d * 0.01))).ToArray()).ToArray();

        await using (var writer = new JobStreamWriter(jobId, started.Seq, new RedisJobEventLog(store), new StreamingOptions(), TimeProvider.System, NullLogger.Instance))
        {
            for (var offset = 0; offset < vectors.Length; offset += 4)
            {
                writer.WriteChunk(offset, vectors[offset..(offset + 4)], vectors.Length);
            }

            await writer.CompleteAsync().WaitAsync(Timeout);
        }

        await store.AppendAsync(jobId, JobEventTypes.Completed, "{}", [new(JobFields.Status, JobStatuses.Completed)]);
        var events = await store.ReadEventsAsync(jobId, 0, 10_000);

        Assert.That(events.Select(e => e.Seq), Is.EqualTo(Enumerable.Range(1, events.Count).Select(i => (long)i)), "gap-free, strictly increasing");
        Assert.That(events[1].Type, Is.EqualTo(JobEventTypes.Started));
        Assert.That(events[^1].Type, Is.EqualTo(JobEventTypes.Completed));
        Assert.That(events.Skip(2).SkipLast(1).Select(e => e.Type), Is.All.EqualTo(JobEventTypes.Chunk));
        var chunks = events.Where(e => e.Type == JobEventTypes.Chunk).Select(e => e.Data!.Value).ToArray();
        Assert.That(JobStreamWriterTests.Concatenated(chunks), Is.EqualTo(vectors), "the same floats, bit for bit, in order");
    }
}
