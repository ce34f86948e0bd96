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

namespace InferenceGateway.Tests.Worker;

/// <summary>
/// The run lease with fencing, on the real consumer, model and Redis: two runs of one job at once
/// (a run stalled past its lease, and the delivery that took the job over) record one run's events
/// and one end, billed once; a cancel while they race reaches the run that holds the lease; a
/// cancel whose notification was missed is read by the lease heartbeat; and, on the real worker
/// and emulator, a delivery that finds another run's live lease is released, not run.
/// </summary>
[TestFixture]
public sealed class RunLeaseTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    [Test]
    public async Task TwoRunsAtOnce_TheStalledRunIsFenced_OneStartedPerRun_OneTerminalEvent_BilledOnce()
    {
        var (host, log) = BuildWorker(runLeaseSeconds: 600);
        using (host)
        {
            var store = host.Services.GetRequiredService<RedisJobStore>();
            var job = StreamingJob(Enumerable.Range(0, 32).Select(i => $"Fenced text {i}").ToArray());
            await DirectJobs.CreateAsync(store, job);
            using var harness = Harness(host);
            await harness.Start();

            // Run A stalls on its second chunk; its lease lapses (its heartbeats stopped, as for a
            // process SIGSTOPped past it), and a redelivery, run B, takes the job over. A wakes up
            // while B runs.
            var first = new RunJob(job, "m-1", 1);
            var runA = harness.Mediator.Send(first);
            await log.Stalled.Task.WaitAsync(Timeout);
            await TestStack.Multiplexer.GetDatabase().HashSetAsync(JobKeys.Record(job.JobId), JobFields.LeaseUntil, "0");
            var second = new RunJob(job, "m-2", 2);
            await harness.Mediator.Send(second).WaitAsync(Timeout);

            Assert.ThrowsAsync<JobFencedException>(() => runA.WaitAsync(Timeout), "the stalled run stopped, fenced");
            Assert.That(await log.StalledAppend.Task.WaitAsync(Timeout), Is.EqualTo(AppendOutcome.Fenced), "its append after the takeover was refused");
            var events = await store.ReadEventsAsync(job.JobId, 0, 1000);
            var started = events.Where(e => e.Type == JobEventTypes.Started).ToList();
            Assert.That(started.Select(e => e.Data!.Value.GetProperty("attempt").GetInt32()), Is.EqualTo(new[] { 1, 2 }), "one started per run that held the lease");
            Assert.That(events.Where(e => JobEventTypes.IsTerminal(e.Type)).Select(e => e.Type), Is.EqualTo(new[] { JobEventTypes.Completed }));
            var afterTakeover = events.SkipWhile(e => e.Seq <= started[1].Seq).ToList();
            Assert.That(
                afterTakeover.Where(e => e.Type == JobEventTypes.Chunk).Select(e => e.Data!.Value.GetProperty("offset").GetInt32()),
                Is.EqualTo(Enumerable.Range(0, 8).Select(i => i * 4)),
                "after the takeover, B's chunks only, each once: nothing from A");
            var record = (await store.GetAsync(job.JobId))!;
            Assert.That(record.Status, Is.EqualTo(JobStatuses.Completed));
            Assert.That((string?)await TestStack.Multiplexer.GetDatabase().HashGetAsync(JobKeys.Record(job.JobId), JobFields.RunToken), Is.EqualTo(second.RunToken));
            Assert.That((long)await TestStack.Multiplexer.GetDatabase().HashGetAsync(UsageKeys.Total(job.Tenant), UsageKeys.Invocations), Is.EqualTo(1), "billed once");
        }
    }

    [Test]
    public async Task CancelWhileTwoRunsRace_ReachesTheLeaseHolder_OneCancelledEvent()
    {
        var (host, log) = BuildWorker(runLeaseSeconds: 600);
        using (host)
        {
            var store = host.Services.GetRequiredService<RedisJobStore>();
            var cancellations = host.Services.GetRequiredService<JobCancellations>();
            await cancellations.StartAsync(CancellationToken.None);
            try
            {
                // Long texts: run B is still embedding when the cancel comes.
                var job = StreamingJob(DirectJobs.LongTexts(96));
                await DirectJobs.CreateAsync(store, job);
                using var harness = Harness(host);
                await harness.Start();

                var runA = harness.Mediator.Send(new RunJob(job, "m-1", 1));
                await log.Stalled.Task.WaitAsync(Timeout);
                await TestStack.Multiplexer.GetDatabase().HashSetAsync(JobKeys.Record(job.JobId), JobFields.LeaseUntil, "0");

                // When B streams its second chunk: A wakes and is done, then the client cancels.
                log.BeforeSecondRunContinues = async () =>
                {
                    try
                    {
                        await runA.WaitAsync(Timeout);
                    }
                    catch (JobFencedException)
                    {
                    }

                    Assert.That(await store.CancelAsync(job.JobId), Is.EqualTo(CancelOutcome.Requested));
                };
                await harness.Mediator.Send(new RunJob(job, "m-2", 2)).WaitAsync(Timeout);

                Assert.ThrowsAsync<JobFencedException>(() => runA.WaitAsync(Timeout), "the stalled run never recorded an end");
                var events = await store.ReadEventsAsync(job.JobId, 0, 1000);
                Assert.That(events.Where(e => JobEventTypes.IsTerminal(e.Type)).Select(e => e.Type), Is.EqualTo(new[] { JobEventTypes.Cancelled }), "one end: the holder's cancelled");
                Assert.That((await store.GetAsync(job.JobId))!.Status, Is.EqualTo(JobStatuses.Cancelled));
            }
            finally
            {
                await cancellations.StopAsync(CancellationToken.None);
            }
        }
    }

    [Test]
    public async Task CancelWhoseNotificationWasMissed_IsReadByTheLeaseHeartbeat_AndTheRunEndsCancelled()
    {
        var (host, _) = BuildWorker(runLeaseSeconds: 2);
        using (host)
        {
            var store = host.Services.GetRequiredService<RedisJobStore>();
            var job = DirectJobs.Message(TestStack.UniqueName("missed"), DirectJobs.LongTexts(256));
            await DirectJobs.CreateAsync(store, job);
            using var harness = Harness(host);
            await harness.Start();

            var run = harness.Mediator.Send(new RunJob(job, "m-1", 1));
            await DirectJobs.WaitForAsync(store, job.JobId, Timeout, JobEventTypes.Started);

            // The cancel flag without its notification (no worker listens on the channel here; a
            // Redis restart drops pub/sub messages the same way).
            await TestStack.Multiplexer.GetDatabase().HashSetAsync(JobKeys.Record(job.JobId), JobFields.CancelRequested, "1");
            await run.WaitAsync(Timeout);

            var events = await store.ReadEventsAsync(job.JobId, 0, 1000);
            Assert.That(events.Select(e => e.Type).Where(JobEventTypes.IsTerminal), Is.EqualTo(new[] { JobEventTypes.Cancelled }));
        }
    }

    [Test]
    public async Task DeliveryFindingAnotherRunsLiveLease_IsReleasedNotRun_AndTakesTheJobOverOnceItLapses()
    {
        await using var stack = await QueueStack.StartAsync("leased", new() { ["Worker:MonitorDeadLetterQueue"] = "false" });
        var job = DirectJobs.Message(TestStack.UniqueName("leased"), ["held by another run"]);
        await DirectJobs.CreateAsync(stack.Store, job);

        // Another worker runs the job and holds its lease for 3 s more, then dies without renewing it.
        var held = await stack.Store.StartRunAsync(job.JobId, "another-run", TimeSpan.FromSeconds(3), """{"attempt":1,"retry":0}""", [new(JobFields.Status, JobStatuses.Running)]);
        Assert.That(held.Outcome, Is.EqualTo(AppendOutcome.Appended));
        await DirectJobs.SendAsync(stack.Sqs, stack.Urls.Jobs, job);

        await using var worker = await WorkerServer.StartAsync(stack.Configuration);
        var events = await DirectJobs.WaitForAsync(stack.Store, job.JobId, Timeout);

        Assert.That(events.Select(e => e.Type), Is.EqualTo(new[] { JobEventTypes.Queued, JobEventTypes.Started, JobEventTypes.Started, JobEventTypes.Completed }));
        Assert.That(
            events[2].Data!.Value.GetProperty("attempt").GetInt32(),
            Is.EqualTo(2),
            "the first receive found the live lease and released the message without running it; the second, after the lease lapsed, ran it");
        await Eventually.HoldsAsync(async () => await TestStack.QueuedCountAsync(stack.Urls.Jobs[(stack.Urls.Jobs.LastIndexOf('/') + 1)..]) == 0, Timeout, "the run that took over deleted the message");
    }

    private static JobMessage StreamingJob(string[] texts) =>
        DirectJobs.Message(TestStack.UniqueName("fence"), texts) is var job
            ? job with { Input = new JobInput { Texts = texts, Stream = true } }
            : throw new InvalidOperationException();

    private static (IHost Host, StallingEventLog Log) BuildWorker(int runLeaseSeconds)
    {
        var configuration = TestStack.Configuration(TestStack.UniqueName("lease"));
        configuration["Streaming:ChunkTexts"] = "4";
        configuration["Worker:RunLeaseSeconds"] = runLeaseSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { EnvironmentName = "Testing", ContentRootPath = AppContext.BaseDirectory });
        builder.Configuration.AddInMemoryCollection(configuration);
        builder.AddInferenceWorker();
        StallingEventLog? log = null;
        builder.Services.AddSingleton<IJobEventLog>(sp => log = new StallingEventLog(new RedisJobEventLog(sp.GetRequiredService<RedisJobStore>())));
        var host = builder.Build();
        _ = host.Services.GetRequiredService<IJobEventLog>();
        return (host, log!);
    }

    private static MediatorTestHarness Harness(IHost host)
    {
        var options = host.Services.GetRequiredService<IOptions<WorkerOptions>>().Value;
        var harness = new MediatorTestHarness { TestTimeout = Timeout };
        harness.OnConfigureMediator += mediator =>
        {
            InferencePipeline.Configure(mediator, options);
            mediator.Consumer(() => ActivatorUtilities.CreateInstance<InferenceConsumer>(host.Services));
        };
        return harness;
    }

    /// <summary>
    /// The real log, where the first run's chunk at offset 4 stalls until the second run reaches the
    /// same chunk; then the first run's append goes through (and says what came of it) before the
    /// second run's does.
    /// </summary>
    private sealed class StallingEventLog(IJobEventLog inner) : IJobEventLog
    {
        private readonly TaskCompletionSource _resume = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _seen;

        public TaskCompletionSource Stalled { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TaskCompletionSource<AppendOutcome> StalledAppend { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Func<Task>? BeforeSecondRunContinues { get; set; }

        public async Task<AppendResult> AppendAsync(string jobId, string? runToken, string type, string dataJson)
        {
            if (type != JobEventTypes.Chunk || !dataJson.StartsWith("{\"offset\":4,", StringComparison.Ordinal))
            {
                return await inner.AppendAsync(jobId, runToken, type, dataJson);
            }

            if (Interlocked.Increment(ref _seen) == 1)
            {
                Stalled.TrySetResult();
                await _resume.Task.WaitAsync(Timeout);
                var result = await inner.AppendAsync(jobId, runToken, type, dataJson);
                StalledAppend.TrySetResult(result.Outcome);
                return result;
            }

            _resume.TrySetResult();
            await StalledAppend.Task.WaitAsync(Timeout);
            if (BeforeSecondRunContinues is { } before)
            {
                await before();
            }

            return await inner.AppendAsync(jobId, runToken, type, dataJson);
        }

        public Task<IReadOnlyList<JobEvent>> ReadEventsAsync(string jobId, long afterSeq, int max) => inner.ReadEventsAsync(jobId, afterSeq, max);
    }
}
