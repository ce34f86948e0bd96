using InferenceGateway.Contracts;
using InferenceGateway.Core.Jobs;
using InferenceGateway.Tests.Infrastructure;
using InferenceGateway.Worker;
using InferenceGateway.Worker.Jobs;
using InferenceGateway.Worker.Queue;
using InferenceGateway.Worker.Streaming;
using MassTransit;
using MassTransit.Testing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace InferenceGateway.Tests.Worker;

/// <summary>
/// A streaming job in the real consumer (real model, real Redis) whose chunk appends fail
/// transiently: one refused before it ran, one that ran but lost its reply.
/// </summary>
[TestFixture]
public sealed class InferenceConsumerStreamingTests
{
    [Test]
    public async Task StreamingJob_WithTransientAppendFailures_EndsWithEveryChunkOnce_BeforeCompleted()
    {
        var configuration = TestStack.Configuration(TestStack.UniqueName("consumer"));
        configuration["Streaming:ChunkTexts"] = "4";
        configuration["Streaming:RetryBaseDelayMs"] = "1";
        FlakyEventLog? flaky = null;
        using var host = BuildWorker(configuration, services => services.AddSingleton<IJobEventLog>(sp =>
            flaky = new FlakyEventLog(new RedisJobEventLog(sp.GetRequiredService<RedisJobStore>()))));
        var store = host.Services.GetRequiredService<RedisJobStore>();
        var texts = Enumerable.Range(0, 24).Select(i => $"Streaming text {i}").ToArray();
        var job = DirectJobs.Message(TestStack.UniqueName("t"), texts) with { Input = new JobInput { Texts = texts, Stream = true } };
        await DirectJobs.CreateAsync(store, job);
        using var harness = Harness(host);
        await harness.Start();

        await harness.Mediator.Send(new RunJob(job, "m-1", 1));

        var record = await store.GetAsync(job.JobId);
        Assert.That(record!.Status, Is.EqualTo(JobStatuses.Completed));
        Assert.That(flaky!.Injected, Is.EqualTo(2), "both faults were hit");
        var events = await store.ReadEventsAsync(job.JobId, 0, 1000);
        Assert.That(events.Select(e => e.Seq), Is.EqualTo(Enumerable.Range(1, events.Count).Select(i => (long)i)));
        Assert.That(events[1].Type, Is.EqualTo(JobEventTypes.Started));
        Assert.That(events[^1].Type, Is.EqualTo(JobEventTypes.Completed));
        var chunks = events.Where(e => e.Type == JobEventTypes.Chunk).Select(e => e.Data!.Value).ToArray();
        Assert.That(events.Skip(2).SkipLast(1).Count(), Is.EqualTo(chunks.Length), "only chunks between started and completed");
        Assert.That(chunks.Select(c => c.GetProperty("offset").GetInt32()), Is.Unique);
        var streamed = chunks.SelectMany(c => c.GetProperty("embeddings").EnumerateArray()).Select(v => v.GetRawText()).ToArray();
        var result = events[^1].Data!.Value.GetProperty("result").GetProperty("embeddings").EnumerateArray().Select(v => v.GetRawText()).ToArray();
        Assert.That(streamed, Is.EqualTo(result), "every vector once, in order, as the result writes it");
    }

    private static IHost BuildWorker(IDictionary<string, string?> configuration, Action<IServiceCollection> services)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { EnvironmentName = "Testing", ContentRootPath = AppContext.BaseDirectory });
        builder.Configuration.AddInMemoryCollection(configuration);
        builder.AddInferenceWorker();
        services(builder.Services);
        return builder.Build();
    }

    private static MediatorTestHarness Harness(IHost host)
    {
        var options = host.Services.GetRequiredService<IOptions<WorkerOptions>>().Value;
        var harness = new MediatorTestHarness { TestTimeout = TimeSpan.FromSeconds(60) };
        harness.OnConfigureMediator += mediator =>
        {
            InferencePipeline.Configure(mediator, options);
            mediator.Consumer(() => ActivatorUtilities.CreateInstance<InferenceConsumer>(host.Services));
        };
        return harness;
    }

    /// <summary>The real log; the second chunk append is refused before it runs, the fourth runs and then loses its reply.</summary>
    private sealed class FlakyEventLog(IJobEventLog inner) : IJobEventLog
    {
        private int _chunkAppends;

        public int Injected { get; private set; }

        public async Task<AppendResult> AppendAsync(string jobId, string? runToken, string type, string dataJson)
        {
            var n = type == JobEventTypes.Chunk ? Interlocked.Increment(ref _chunkAppends) : 0;
            if (n == 2)
            {
                Injected++;
                throw new RedisConnectionException(ConnectionFailureType.SocketFailure, CommandFlags.None, "injected: refused", null, CommandStatus.WaitingToBeSent);
            }

            var result = await inner.AppendAsync(jobId, runToken, type, dataJson);
            if (n == 4)
            {
                Injected++;
                throw new RedisTimeoutException(CommandFlags.None, "injected: ran, reply lost", CommandStatus.Sent);
            }

            return result;
        }

        public Task<IReadOnlyList<JobEvent>> ReadEventsAsync(string jobId, long afterSeq, int max) => inner.ReadEventsAsync(jobId, afterSeq, max);
    }
}
