using System.Diagnostics;
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

    /// <summary>A measurement, not a check: how many items a second one job's writer takes from a producer that never waits, and in how many events.</summary>
    [Test]
    [Explicit("measurement; run with --filter Name~WriterThroughput")]
    public async Task WriterThroughput_AgainstRealRedis()
    {
        var store = new RedisJobStore(TestStack.Multiplexer, Options.Create(new JobStoreOptions()), TimeProvider.System);
        foreach (var (label, count, produce) in new (string, int, Action<JobStreamWriter, int>)[]
        {
            ("token (8 chars), producer flat out", 100_000, (w, i) => w.WriteToken("token-" + (i % 100).ToString("00", System.Globalization.CultureInfo.InvariantCulture))),
            ("chunk (1 x 384 floats), producer flat out", 5_000, (w, i) => w.WriteChunk(i, [new float[384]], 5_000)),
        })
        {
            var jobId = $"job_{Guid.NewGuid():N}";
            await store.CreateAsync(jobId, "bench", "all-minilm-l6-v2", DateTimeOffset.UtcNow);
            var clock = Stopwatch.StartNew();
            await using var writer = new JobStreamWriter(jobId, 1, new RedisJobEventLog(store), new StreamingOptions(), TimeProvider.System, NullLogger.Instance);
            for (var i = 0; i < count; i++)
            {
                produce(writer, i);
            }

            var produced = clock.Elapsed;
            await writer.CompleteAsync().WaitAsync(TimeSpan.FromMinutes(2));
            var total = clock.Elapsed;
            TestContext.Out.WriteLine(
                $"{label}: {count} items produced in {produced.TotalMilliseconds:F0} ms, all in Redis after {total.TotalMilliseconds:F0} ms " +
                $"({count / total.TotalSeconds:F0} items/s) as {writer.AppendedEvents} events ({writer.AppendedEvents / total.TotalSeconds:F0} appends/s)");

            // Paced: one item per millisecond, as a fast token generator would produce them.
            jobId = $"job_{Guid.NewGuid():N}";
            await store.CreateAsync(jobId, "bench", "all-minilm-l6-v2", DateTimeOffset.UtcNow);
            await using var paced = new JobStreamWriter(jobId, 1, new RedisJobEventLog(store), new StreamingOptions(), TimeProvider.System, NullLogger.Instance);
            clock.Restart();
            for (var i = 0; i < 2000; i++)
            {
                produce(paced, i);
                if (i % 10 == 9)
                {
                    await Task.Delay(10);
                }
            }

            await paced.CompleteAsync().WaitAsync(TimeSpan.FromMinutes(2));
            TestContext.Out.WriteLine($"{label}, paced ~1/ms: 2000 items as {paced.AppendedEvents} events in {clock.Elapsed.TotalMilliseconds:F0} ms");
        }
    }
}
