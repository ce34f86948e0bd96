using System.Text.Json;
using Amazon.SQS.Model;
using InferenceGateway.Contracts;
using InferenceGateway.Tests.Infrastructure;

namespace InferenceGateway.Tests.Worker;

/// <summary>
/// Workers that die, stop, or cannot reach Redis, against the real SQS emulator and Redis: no job
/// is lost, none runs twice at once, none hangs without an end.
/// </summary>
[TestFixture]
public sealed class WorkerFailureTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(120);

    [Test]
    public async Task WorkerProcessKilledMidJob_JobCompletesOnceAfterTheVisibilityTimeout()
    {
        await using var stack = await QueueStack.StartAsync("kill", new()
        {
            ["Sqs:VisibilityTimeoutSeconds"] = "6",
            ["Worker:WaitTimeSeconds"] = "1",
            ["Worker:ProgressEveryTexts"] = "16",
        });
        var (configuration, store, urls, sqs) = stack;

        await using var doomed = WorkerProcess.Start(configuration);
        var job = DirectJobs.Message(TestStack.UniqueName("t"), DirectJobs.LongTexts(96));
        await DirectJobs.SubmitAsync(store, sqs, urls.Jobs, job);
        await DirectJobs.WaitForAsync(store, job.JobId, Timeout, JobEventTypes.Progress);
        await doomed.KillAsync();

        var afterKill = await store.GetAsync(job.JobId);
        Assert.That(afterKill!.Status, Is.EqualTo(JobStatuses.Running), "a killed worker records nothing");
        await using var survivor = await WorkerServer.StartAsync(configuration);
        var events = await DirectJobs.WaitForAsync(store, job.JobId, Timeout);

        Assert.That(events[^1].Type, Is.EqualTo(JobEventTypes.Completed));
        Assert.That(events.Count(e => JobEventTypes.IsTerminal(e.Type)), Is.EqualTo(1));
        var attempts = events.Where(e => e.Type == JobEventTypes.Started).Select(e => e.Data!.Value.GetProperty("attempt").GetInt32()).ToList();
        Assert.That(attempts, Is.EqualTo(new[] { 1, 2 }), "one delivery to the killed worker, one redelivery after the visibility timeout");
        var record = await store.GetAsync(job.JobId);
        Assert.That(JsonDocument.Parse(record!.ResultJson!).RootElement.GetProperty("embeddings").GetArrayLength(), Is.EqualTo(96));
    }

    [Test]
    public async Task JobRunningLongerThanTheVisibilityTimeout_IsKeptInvisibleByHeartbeats_AndRunsOnce()
    {
        await using var stack = await QueueStack.StartAsync("beat", new()
        {
            ["Sqs:VisibilityTimeoutSeconds"] = "4",
            ["Worker:HeartbeatFraction"] = "0.25", // an extension every second: a busy box may delay one by a second or two
            ["Worker:WaitTimeSeconds"] = "1",
        });
        var (configuration, store, urls, sqs) = stack;

        // Two workers on one queue: a message whose visibility lapsed would go to the idle one.
        await using var first = await WorkerServer.StartAsync(configuration);
        await using var second = await WorkerServer.StartAsync(configuration);

        // A run of about twice the visibility timeout on this machine, whatever its speed.
        var msPerText = await DirectJobs.MeasureMsPerLongTextAsync(store, sqs, urls.Jobs, Timeout);
        var job = DirectJobs.Message(TestStack.UniqueName("t"), DirectJobs.LongTexts(DirectJobs.LongTextsFor(TimeSpan.FromSeconds(8), msPerText)));
        await DirectJobs.SubmitAsync(store, sqs, urls.Jobs, job);
        var events = await DirectJobs.WaitForAsync(store, job.JobId, Timeout);

        Assert.That(events[^1].Type, Is.EqualTo(JobEventTypes.Completed));
        var record = await store.GetAsync(job.JobId);
        Assert.That(record!.Metrics.ExecutionMs, Is.GreaterThan(4000), "the run outlasted the visibility timeout (else this test shows nothing)");
        Assert.That(events.Count(e => e.Type == JobEventTypes.Started), Is.EqualTo(1), "the message never became visible while the job ran");
    }

    [Test]
    public async Task WorkerStopping_WithinItsGracePeriod_FinishesTheRunningJob()
    {
        await using var stack = await QueueStack.StartAsync("grace", new()
        {
            ["Worker:WaitTimeSeconds"] = "1",
            ["Worker:ShutdownGraceSeconds"] = "60",
            ["Worker:ProgressEveryTexts"] = "16",
        });
        var (configuration, store, urls, sqs) = stack;
        var worker = await WorkerServer.StartAsync(configuration);
        var job = DirectJobs.Message(TestStack.UniqueName("t"), DirectJobs.LongTexts(64));
        await DirectJobs.SubmitAsync(store, sqs, urls.Jobs, job);
        await DirectJobs.WaitForAsync(store, job.JobId, Timeout, JobEventTypes.Progress);

        await worker.DisposeAsync();

        var events = await store.ReadEventsAsync(job.JobId, 0, 100);
        Assert.That(events[^1].Type, Is.EqualTo(JobEventTypes.Completed), "the stop waited for the job");
        Assert.That(events.Count(e => e.Type == JobEventTypes.Started), Is.EqualTo(1));
        Assert.That(await TestStack.QueuedCountAsync(QueueName(urls.Jobs)), Is.Zero, "its message was deleted before the worker exited");
    }

    [Test]
    public async Task WorkerStopping_PastItsGracePeriod_ReleasesTheMessageAtOnce_WithoutFailingTheJob()
    {
        await using var stack = await QueueStack.StartAsync("abort", new()
        {
            ["Sqs:VisibilityTimeoutSeconds"] = "300",
            ["Worker:WaitTimeSeconds"] = "1",
            ["Worker:ShutdownGraceSeconds"] = "0",
            ["Worker:ProgressEveryTexts"] = "16",
        });
        var (configuration, store, urls, sqs) = stack;
        var worker = await WorkerServer.StartAsync(configuration);
        var job = DirectJobs.Message(TestStack.UniqueName("t"), DirectJobs.LongTexts(256));
        await DirectJobs.SubmitAsync(store, sqs, urls.Jobs, job);
        await DirectJobs.WaitForAsync(store, job.JobId, Timeout, JobEventTypes.Progress);

        await worker.DisposeAsync();

        Assert.That((await store.GetAsync(job.JobId))!.Status, Is.EqualTo(JobStatuses.Running), "a stopping worker records no failure");

        // With a 300 s visibility timeout, only a released message is visible now.
        var received = await sqs.ReceiveMessageAsync(new ReceiveMessageRequest { QueueUrl = urls.Jobs, WaitTimeSeconds = 5, VisibilityTimeout = 0 });
        Assert.That(received.Messages, Has.Count.EqualTo(1), "the message was released, not left invisible");
        await using var next = await WorkerServer.StartAsync(configuration);
        var events = await DirectJobs.WaitForAsync(store, job.JobId, Timeout);
        Assert.That(events[^1].Type, Is.EqualTo(JobEventTypes.Completed));
        Assert.That(events.Count(e => JobEventTypes.IsTerminal(e.Type)), Is.EqualTo(1));
    }

    [Test]
    public async Task MessageMovedByTheRedrivePolicy_ItsJobIsClosedAsFailedWithTheReason()
    {
        await using var stack = await QueueStack.StartAsync("redrive", new()
        {
            ["Sqs:MaxReceiveCount"] = "2",
            ["Worker:WaitTimeSeconds"] = "1",
        });
        var (configuration, store, urls, sqs) = stack;
        var job = DirectJobs.Message(TestStack.UniqueName("t"), ["a worker died on me twice"]);
        await DirectJobs.SubmitAsync(store, sqs, urls.Jobs, job);

        // Two deliveries whose workers died without a word (nothing recorded, nothing deleted).
        for (var i = 0; i < 2; i++)
        {
            var taken = await sqs.ReceiveMessageAsync(new ReceiveMessageRequest { QueueUrl = urls.Jobs, WaitTimeSeconds = 5, VisibilityTimeout = 0 });
            Assert.That(taken.Messages, Has.Count.EqualTo(1));
        }

        // The next receive finds the count exhausted and SQS moves the message to the DLQ.
        await using var worker = await WorkerServer.StartAsync(configuration);
        var events = await DirectJobs.WaitForAsync(store, job.JobId, Timeout);

        Assert.That(events.Select(e => e.Type), Is.EqualTo(new[] { JobEventTypes.Queued, JobEventTypes.Failed }));
        var record = await store.GetAsync(job.JobId);
        Assert.That(record!.Error!.Code, Is.EqualTo("dead_lettered"));
        Assert.That(record.Error.Message, Does.Contain("maxReceiveCount is 2"));
    }

    [Test]
    public async Task JobForAModelThisWorkerDoesNotServe_IsGivenBack_NotFailed_UntilTheRedrivePolicyParksIt()
    {
        await using var stack = await QueueStack.StartAsync("unserved", new()
        {
            ["Sqs:MaxReceiveCount"] = "3",
            ["Worker:WaitTimeSeconds"] = "1",
            ["Worker:ReleaseBackoffSeconds"] = "0",
        });
        var (configuration, store, urls, sqs) = stack;
        var job = DirectJobs.Message(TestStack.UniqueName("t"), ["for a model served elsewhere"]) with { Model = "some-other-model" };
        await DirectJobs.SubmitAsync(store, sqs, urls.Jobs, job);

        await using var worker = await WorkerServer.StartAsync(configuration);
        var events = await DirectJobs.WaitForAsync(store, job.JobId, Timeout);

        // Given back on each delivery (another worker might serve it), never failed as unreadable;
        // with no such worker, the redrive policy parks it and the job ends with that reason.
        Assert.That(events.Select(e => e.Type), Is.EqualTo(new[] { JobEventTypes.Queued, JobEventTypes.Failed }));
        var record = await store.GetAsync(job.JobId);
        Assert.That(record!.Error!.Code, Is.EqualTo("dead_lettered"));
        Assert.That(record.Error.Message, Does.Contain("maxReceiveCount is 3"));
    }

    [Test]
    public async Task WorkerThatCannotReachRedis_RetriesThenGivesUpOnTheLastDelivery_AndTheJobIsClosedOnceRedisIsBack()
    {
        await using var stack = await QueueStack.StartAsync("giveup", new()
        {
            ["Sqs:MaxReceiveCount"] = "1",
            ["Worker:WaitTimeSeconds"] = "1",
            ["Worker:TransientRetries"] = "1",
        });
        var (configuration, store, urls, sqs) = stack;
        var job = DirectJobs.Message(TestStack.UniqueName("t"), ["Redis is away"]);
        await DirectJobs.SubmitAsync(store, sqs, urls.Jobs, job);

        var cutOff = new Dictionary<string, string?>(configuration)
        {
            ["Redis:Configuration"] = $"127.0.0.1:{ExternalProcess.FreePort()},connectTimeout=300,asyncTimeout=700",
        };
        await using (var isolated = await WorkerServer.StartAsync(cutOff))
        {
            var parked = await ReceiveDeadLetterAsync(sqs, urls.DeadLetter!, job.JobId);
            Assert.That(parked.MessageAttributes["dead-letter-reason"].StringValue, Does.Contain("delivered 1 times").And.Contain("Redis"));
            Assert.That(parked.MessageAttributes["job-closed"].StringValue, Is.EqualTo("false"));
            await sqs.ChangeMessageVisibilityAsync(urls.DeadLetter, parked.ReceiptHandle, 0);
        }

        Assert.That((await store.GetAsync(job.JobId))!.Status, Is.EqualTo(JobStatuses.Queued), "nothing could be recorded while Redis was away");
        await using var healthy = await WorkerServer.StartAsync(configuration);
        var events = await DirectJobs.WaitForAsync(store, job.JobId, Timeout);

        Assert.That(events[^1].Type, Is.EqualTo(JobEventTypes.Failed));
        var record = await store.GetAsync(job.JobId);
        Assert.That(record!.Error!.Code, Is.EqualTo("dead_lettered"));
        Assert.That(record.Error.Message, Does.Contain("delivered 1 times"));
    }

    private static async Task<Message> ReceiveDeadLetterAsync(Amazon.SQS.AmazonSQSClient sqs, string url, string jobId)
    {
        using var cts = new CancellationTokenSource(Timeout);
        while (true)
        {
            var response = await sqs.ReceiveMessageAsync(
                new ReceiveMessageRequest { QueueUrl = url, WaitTimeSeconds = 1, MessageAttributeNames = ["All"] },
                cts.Token);
            foreach (var message in response.Messages ?? [])
            {
                if (message.MessageAttributes.GetValueOrDefault(JobMessageAttributes.JobId)?.StringValue == jobId)
                {
                    return message;
                }
            }
        }
    }

    private static string QueueName(string url) => url[(url.LastIndexOf('/') + 1)..];
}
