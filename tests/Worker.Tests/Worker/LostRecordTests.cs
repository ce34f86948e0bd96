using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Amazon.SQS;
using InferenceGateway.Contracts;
using InferenceGateway.Core.Jobs;
using InferenceGateway.Tests.Infrastructure;
using InferenceGateway.Worker.Jobs;
using Microsoft.Extensions.DependencyInjection;

namespace InferenceGateway.Tests.Worker;

/// <summary>
/// A job whose record Redis lost (a crash with <c>appendfsync everysec</c> loses up to its last
/// second) on the real gateway, worker, Redis and SQS emulator: the worker that receives its message
/// rebuilds the record from it and runs the job, and counts it (<see cref="WorkerMetrics"/>); a
/// message whose job may have expired normally (created longer than the job retention ago) does not
/// bring it back.
/// </summary>
[TestFixture]
public sealed class LostRecordTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    [Test]
    public async Task JobWhoseRecordRedisLost_IsRebuiltFromItsMessage_AndRuns_AndGetShowsIt()
    {
        await using var stack = await StartAsync();
        var tenant = TestStack.UniqueName("lost");
        using var client = stack.Gateway.CreateClient(await stack.Gateway.CreateKeyAsync(tenant));

        // Accepted by the gateway (record, queued event, message) while no worker runs.
        using var response = await client.PostAsJsonAsync("/v1/jobs", new
        {
            model = DirectJobs.Model,
            input = new { texts = new[] { "a record Redis lost" } },
            policy = new { ttlMs = 3_600_000, executionTimeoutMs = 60_000 },
            webhook = new { url = "http://127.0.0.1:9/hooks", events = new[] { "completed" } },
        }).WaitAsync(Timeout);
        var accepted = await response.Content.ReadAsStringAsync();
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Accepted), accepted);
        var jobId = JsonDocument.Parse(accepted).RootElement.GetProperty("id").GetString()!;
        var before = (await stack.Store.GetAsync(jobId))!;

        // Redis loses the job's keys (its last second of writes, after a crash).
        await TestStack.Multiplexer.GetDatabase().KeyDeleteAsync([JobKeys.Record(jobId), JobKeys.Events(jobId)]);
        Assert.That(await stack.Store.GetAsync(jobId), Is.Null);

        using var rebuilt = new RebuiltCounter();
        await using var worker = await WorkerServer.StartAsync(stack.Configuration);
        var events = await DirectJobs.WaitForAsync(stack.Store, jobId, Timeout);

        Assert.That(events.Select(e => e.Type), Is.EqualTo(new[] { JobEventTypes.Queued, JobEventTypes.Started, JobEventTypes.Completed }));
        using var read = await client.GetAsync($"/v1/jobs/{jobId}").WaitAsync(Timeout);
        var body = await read.Content.ReadAsStringAsync();
        Assert.That(read.StatusCode, Is.EqualTo(HttpStatusCode.OK), body);
        var job = JsonDocument.Parse(body).RootElement;
        Assert.That(job.GetProperty("status").GetString(), Is.EqualTo(JobStatuses.Completed));
        Assert.That(job.GetProperty("createdAt").GetDateTimeOffset(), Is.EqualTo(before.CreatedAt), "createdAt as the gateway wrote it");
        Assert.That(job.GetProperty("webhook").GetProperty("url").GetString(), Is.EqualTo("http://127.0.0.1:9/hooks"));
        Assert.That(job.GetProperty("result").GetProperty("embeddings").GetArrayLength(), Is.EqualTo(1), body);
        var record = (await stack.Store.GetAsync(jobId))!;
        Assert.That((record.Tenant, record.Model), Is.EqualTo((tenant, DirectJobs.Model)));
        Assert.That(rebuilt.Of(worker), Is.EqualTo(1), "counted on worker.jobs.rebuilt");
    }

    [TestCase(false, TestName = "MessageOfAJobCreatedLongerThanTheRetentionAgo_DoesNotRebuildIt")]
    [TestCase(true, TestName = "MessageOfAJobCreatedLongerThanTheRetentionAgo_DoesNotRebuildIt_AlsoWhenPastItsQueueTtl")]
    public async Task MessageOfAJobPastTheRetention_DoesNotRebuildIt(bool pastItsQueueTtl)
    {
        await using var stack = await StartAsync();

        // A job of 25 h ago (the retention is 24 h): its record may have ended and expired as it
        // should; this is a late delivery of its message.
        var createdAt = DateTimeOffset.UtcNow - TimeSpan.FromHours(25);
        var job = DirectJobs.Message(TestStack.UniqueName("old"), ["long gone"]) with
        {
            CreatedAt = createdAt,
            ExpiresAt = pastItsQueueTtl ? createdAt + TimeSpan.FromHours(1) : null,
        };
        await DirectJobs.SendAsync(stack.Sqs, stack.Urls.Jobs, job);

        using var rebuilt = new RebuiltCounter();
        await using var worker = await WorkerServer.StartAsync(stack.Configuration);
        await WaitForQueueToDrainAsync(stack.Sqs, stack.Urls.Jobs);

        Assert.That(await stack.Store.GetAsync(job.JobId), Is.Null, "not resurrected");
        Assert.That(await TestStack.Multiplexer.GetDatabase().KeyExistsAsync(JobKeys.Events(job.JobId)), Is.False);
        Assert.That(rebuilt.Of(worker), Is.Zero);
    }

    [Test]
    public async Task LostJobPastItsQueueTtl_ButWithinTheRetention_IsRebuilt_AndEndsExpired()
    {
        await using var stack = await StartAsync();
        var createdAt = DateTimeOffset.UtcNow - TimeSpan.FromHours(2);
        var job = DirectJobs.Message(TestStack.UniqueName("late"), ["waited too long"]) with
        {
            CreatedAt = createdAt,
            ExpiresAt = createdAt + TimeSpan.FromHours(1),
        };
        await DirectJobs.SendAsync(stack.Sqs, stack.Urls.Jobs, job);

        using var rebuilt = new RebuiltCounter();
        await using var worker = await WorkerServer.StartAsync(stack.Configuration);
        var events = await DirectJobs.WaitForAsync(stack.Store, job.JobId, Timeout);

        Assert.That(events.Select(e => e.Type), Is.EqualTo(new[] { JobEventTypes.Queued, JobEventTypes.Expired }), "its client hears it expired, not a 404");
        Assert.That((await stack.Store.GetAsync(job.JobId))!.CreatedAt, Is.EqualTo(createdAt));
        Assert.That(rebuilt.Of(worker), Is.EqualTo(1));
    }

    private static Task<QueueStack> StartAsync() => QueueStack.StartAsync("lost", new()
    {
        ["Worker:MonitorDeadLetterQueue"] = "false",
        ["Webhooks:AllowedNetworks:0"] = "127.0.0.1/32",
        ["Webhooks:Outbox"] = "webhooks:outbox:" + Guid.NewGuid().ToString("N"),
    });

    private static async Task WaitForQueueToDrainAsync(AmazonSQSClient sqs, string url)
    {
        using var cts = new CancellationTokenSource(Timeout);
        while (true)
        {
            var attributes = await sqs.GetQueueAttributesAsync(url, ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"], cts.Token);
            if (attributes.ApproximateNumberOfMessages + attributes.ApproximateNumberOfMessagesNotVisible == 0)
            {
                return;
            }

            await Task.Delay(50, cts.Token);
        }
    }

    /// <summary>
    /// Counts <c>worker.jobs.rebuilt</c> by meter, from before the worker starts (its meter is created
    /// when its first message is handled), so a test reads what its own worker counted, not another's.
    /// </summary>
    private sealed class RebuiltCounter : IDisposable
    {
        private readonly MeterListener _listener = new();
        private readonly ConcurrentDictionary<Meter, long> _counts = new();

        public RebuiltCounter()
        {
            _listener.InstrumentPublished = (instrument, listener) =>
            {
                if (instrument.Meter.Name == WorkerMetrics.MeterName && instrument.Name == WorkerMetrics.RebuiltName)
                {
                    listener.EnableMeasurementEvents(instrument);
                }
            };
            _listener.SetMeasurementEventCallback<long>((instrument, value, _, _) => _counts.AddOrUpdate(instrument.Meter, value, (_, total) => total + value));
            _listener.Start();
        }

        /// <summary>What <paramref name="worker"/> counted.</summary>
        public long Of(WorkerServer worker) => _counts.GetValueOrDefault(worker.Services.GetRequiredService<WorkerMetrics>().Meter);

        public void Dispose() => _listener.Dispose();
    }
}
