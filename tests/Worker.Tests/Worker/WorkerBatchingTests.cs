using Amazon.SQS;
using InferenceGateway.Contracts;
using InferenceGateway.Core.Jobs;
using InferenceGateway.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace InferenceGateway.Tests.Worker;

/// <summary>
/// The worker's batched SQS calls and one-script transitions against the real emulator and Redis:
/// deletes of concurrent jobs go out together, a lost delete or a failed extension costs neither a
/// second run nor a second bill, a cancel read by the start script stops the job before the model.
/// </summary>
[TestFixture]
public sealed class WorkerBatchingTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(120);

    [Test]
    public async Task DeletesOfJobsEndingTogether_GoOutInBatchCalls_AndEveryMessageIsDeleted()
    {
        await using var stack = await QueueStack.StartAsync("acks", new() { ["Worker:WaitTimeSeconds"] = "1" });
        var (configuration, store, urls, sqs) = stack;
        var tenant = TestStack.UniqueName("t");
        var jobs = Enumerable.Range(0, 40).Select(i => DirectJobs.Message(tenant, [$"job {i} of a burst"])).ToList();
        foreach (var job in jobs)
        {
            await DirectJobs.SubmitAsync(store, sqs, urls.Jobs, job);
        }

        using var tampering = new TamperingSqs();
        await using var worker = await WorkerServer.StartAsync(configuration, services => services.AddSingleton<IAmazonSQS>(tampering));
        foreach (var job in jobs)
        {
            var events = await DirectJobs.WaitForAsync(store, job.JobId, Timeout);
            Assert.That(events[^1].Type, Is.EqualTo(JobEventTypes.Completed));
        }

        await Eventually.HoldsAsync(async () => await TestStack.QueuedCountAsync(QueueName(urls.Jobs)) == 0, Timeout, "every message deleted");
        var calls = tampering.DeleteCalls.ToArray();
        Assert.That(calls.SelectMany(c => c).Order(), Is.EqualTo(jobs.Select(j => j.JobId).Order()), "one delete entry per job");
        Assert.That(calls, Has.All.Length.InRange(1, 10));
        Assert.That(calls.Length, Is.LessThan(jobs.Count), "deletes that arrived while a call was in flight went out together");
    }

    [Test]
    public async Task LostDelete_TheRedeliveryIsAcknowledgedWithoutRunning_WithOneResultAndOneBill()
    {
        await using var stack = await QueueStack.StartAsync("lostdelete", new()
        {
            ["Sqs:VisibilityTimeoutSeconds"] = "2",
            ["Worker:WaitTimeSeconds"] = "1",
            ["Worker:MonitorDeadLetterQueue"] = "false",
        });
        var (configuration, store, urls, sqs) = stack;
        var active = stack.Gateway.Services.GetRequiredService<ActiveJobs>();
        var tenant = TestStack.UniqueName("t");
        var job = DirectJobs.Message(tenant, ["a delete that is lost"]);
        using var tampering = new TamperingSqs();
        tampering.SpoilDeletes(job.JobId, 1);
        await using var worker = await WorkerServer.StartAsync(configuration, services => services.AddSingleton<IAmazonSQS>(tampering));

        Assert.That(await active.TryReserveAsync(tenant, job.JobId, 0, TimeSpan.FromHours(1)), Is.True, "the place the gateway takes");
        await DirectJobs.SubmitAsync(store, sqs, urls.Jobs, job);
        var events = await DirectJobs.WaitForAsync(store, job.JobId, Timeout);
        Assert.That(events[^1].Type, Is.EqualTo(JobEventTypes.Completed));
        Assert.That(await active.CountAsync(tenant), Is.Zero, "the terminal script gave the place back");

        // The delete deleted nothing: the message comes back after its visibility timeout, and the
        // redelivery finds the log closed and is acknowledged (this time for real).
        await Eventually.HoldsAsync(async () => await TestStack.QueuedCountAsync(QueueName(urls.Jobs)) == 0, Timeout, "the redelivery acknowledged");

        Assert.That(tampering.ReceivesOf(job.JobId), Is.EqualTo(2), "delivered twice");
        Assert.That(tampering.DeleteCalls.SelectMany(c => c).Count(j => j == job.JobId), Is.EqualTo(2));
        var log = await store.ReadEventsAsync(job.JobId, 0, 100);
        Assert.That(log.Select(e => e.Type), Is.EqualTo(new[] { JobEventTypes.Queued, JobEventTypes.Started, JobEventTypes.Completed }));
        var redis = TestStack.Multiplexer.GetDatabase();
        Assert.That((long)await redis.HashGetAsync(UsageKeys.Total(tenant), UsageKeys.Invocations), Is.EqualTo(1), "billed once");
        Assert.That((long)await redis.HashGetAsync(UsageKeys.Total(tenant), UsageKeys.StatusPrefix + JobEventTypes.Completed), Is.EqualTo(1));
        Assert.That(await active.CountAsync(tenant), Is.Zero);
    }

    [Test]
    public async Task HeartbeatEntryThatFails_IsRetriedBeforeTheVisibilityLapses_AndTheJobRunsOnce()
    {
        await using var stack = await QueueStack.StartAsync("beatfail", new()
        {
            ["Sqs:VisibilityTimeoutSeconds"] = "4",
            ["Worker:HeartbeatFraction"] = "0.25",
            ["Worker:WaitTimeSeconds"] = "1",
            ["Worker:MonitorDeadLetterQueue"] = "false",
        });
        var (configuration, store, urls, sqs) = stack;
        using var tampering = new TamperingSqs();
        await using var worker = await WorkerServer.StartAsync(configuration, services => services.AddSingleton<IAmazonSQS>(tampering));

        // A run of about twice the visibility timeout on this machine, whatever its speed.
        var msPerText = await DirectJobs.MeasureMsPerLongTextAsync(store, sqs, urls.Jobs, Timeout);
        var job = DirectJobs.Message(TestStack.UniqueName("t"), DirectJobs.LongTexts(DirectJobs.LongTextsFor(TimeSpan.FromSeconds(8), msPerText)));
        tampering.SpoilExtensions(job.JobId, 1);

        await DirectJobs.SubmitAsync(store, sqs, urls.Jobs, job);
        var events = await DirectJobs.WaitForAsync(store, job.JobId, Timeout);

        Assert.That(events[^1].Type, Is.EqualTo(JobEventTypes.Completed));
        var record = await store.GetAsync(job.JobId);
        Assert.That(record!.Metrics.ExecutionMs, Is.GreaterThan(4000), "the run outlasted the visibility timeout (else this test shows nothing)");
        var extensions = tampering.Extensions.Where(e => e.JobId == job.JobId).ToList();
        Assert.That(extensions[0].Error, Is.EqualTo("ReceiptHandleIsInvalid"), "the emulator failed the spoiled entry");
        Assert.That(extensions.Skip(1).Count(e => e.Error is null), Is.GreaterThanOrEqualTo(2), "retried, then extended every period");
        Assert.That(extensions.Select(e => e.Seconds), Has.All.EqualTo(4));
        Assert.That(tampering.ReceivesOf(job.JobId), Is.EqualTo(1), "the message never became visible while the job ran");
        Assert.That(events.Count(e => e.Type == JobEventTypes.Started), Is.EqualTo(1));
    }

    [Test]
    public async Task CancelRequestedBeforeTheWorkerStartedIt_IsReadByTheStartScript_AndTheModelNeverRuns()
    {
        await using var stack = await QueueStack.StartAsync("cancelfirst", new() { ["Worker:WaitTimeSeconds"] = "1" });
        var (configuration, store, urls, sqs) = stack;
        var job = DirectJobs.Message(TestStack.UniqueName("t"), DirectJobs.LongTexts(64));
        await DirectJobs.CreateAsync(store, job);

        // A worker started it and died; the client cancelled while no worker was listening.
        await store.AppendAsync(job.JobId, JobEventTypes.Started, """{"attempt":1,"retry":0}""", [new(JobFields.Status, JobStatuses.Running)]);
        Assert.That(await store.CancelAsync(job.JobId), Is.EqualTo(CancelOutcome.Requested));
        await using var worker = await WorkerServer.StartAsync(configuration);
        await DirectJobs.SendAsync(sqs, urls.Jobs, job);
        var events = await DirectJobs.WaitForAsync(store, job.JobId, Timeout);

        Assert.That(events.Select(e => e.Type), Is.EqualTo(new[] { JobEventTypes.Queued, JobEventTypes.Started, JobEventTypes.Started, JobEventTypes.Cancelled }));
        var record = await store.GetAsync(job.JobId);
        Assert.That(record!.Error!.Code, Is.EqualTo("cancelled"));
        Assert.That(record.Metrics.ExecutionMs, Is.Zero, "stopped before the model ran");
    }

    [Test]
    public async Task ManyJobs_ThrowNoOperationCanceledExceptionPerJob()
    {
        await using var stack = await QueueStack.StartAsync("noexceptions", new() { ["Worker:WaitTimeSeconds"] = "1" });
        var (configuration, store, urls, sqs) = stack;
        var tenant = TestStack.UniqueName("t");

        // Only exceptions thrown in the worker's own flow count: its host is started under a
        // marker that its background services and every task they start carry with them.
        var marker = new AsyncLocal<string?>();
        var id = Guid.NewGuid().ToString("N");
        await using var worker = await Task.Run(() =>
        {
            marker.Value = id;
            return WorkerServer.StartAsync(configuration);
        });
        await WarmUpAsync(store, sqs, urls.Jobs, tenant);

        var cancelled = new List<string>();
        void Count(object? sender, System.Runtime.ExceptionServices.FirstChanceExceptionEventArgs e)
        {
            if (e.Exception is OperationCanceledException && marker.Value == id)
            {
                lock (cancelled)
                {
                    cancelled.Add(e.Exception.ToString());
                }
            }
        }

        AppDomain.CurrentDomain.FirstChanceException += Count;
        try
        {
            var jobs = Enumerable.Range(0, 64).Select(i => DirectJobs.Message(tenant, [$"job {i}, counted"])).ToList();
            foreach (var job in jobs)
            {
                await DirectJobs.SubmitAsync(store, sqs, urls.Jobs, job);
            }

            foreach (var job in jobs)
            {
                var events = await DirectJobs.WaitForAsync(store, job.JobId, Timeout);
                Assert.That(events[^1].Type, Is.EqualTo(JobEventTypes.Completed));
            }

            await Eventually.HoldsAsync(async () => await TestStack.QueuedCountAsync(QueueName(urls.Jobs)) == 0, Timeout, "every message deleted");
        }
        finally
        {
            AppDomain.CurrentDomain.FirstChanceException -= Count;
        }

        Assert.That(cancelled, Is.Empty, "OperationCanceledExceptions thrown while 64 jobs ran:\n" + string.Join("\n\n", cancelled.Take(3)));
    }

    /// <summary>A few jobs first: the model's cold start and first batches are not what is counted.</summary>
    private static async Task WarmUpAsync(RedisJobStore store, AmazonSQSClient sqs, string queueUrl, string tenant)
    {
        var warm = Enumerable.Range(0, 4).Select(i => DirectJobs.Message(tenant, [$"warm-up {i}"])).ToList();
        foreach (var job in warm)
        {
            await DirectJobs.SubmitAsync(store, sqs, queueUrl, job);
        }

        foreach (var job in warm)
        {
            await DirectJobs.WaitForAsync(store, job.JobId, Timeout);
        }
    }

    private static string QueueName(string url) => url[(url.LastIndexOf('/') + 1)..];
}
