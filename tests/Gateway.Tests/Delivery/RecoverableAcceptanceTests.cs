using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Net.Http.Json;
using Amazon.SQS;
using Amazon.SQS.Model;
using InferenceGateway.Contracts;
using InferenceGateway.Core.Jobs;
using InferenceGateway.Core.Queue;
using InferenceGateway.Gateway.Jobs;
using InferenceGateway.Gateway.Reconciliation;
using InferenceGateway.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using StackExchange.Redis;

namespace InferenceGateway.Tests.Delivery;

/// <summary>
/// Recoverable acceptance: a job whose record was written but whose message never reached the queue
/// (its gateway died in between) or was lost by the queue is sent again by the reconciler of another
/// gateway, one gateway at a time, and a deep backlog with no worker is left alone. Short graces
/// through configuration; each test has its own queue, so its own outbox, index and lease.
/// </summary>
[TestFixture]
public sealed class RecoverableAcceptanceTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    [Test]
    public async Task AGatewayKilledBetweenTheRecordAndTheSend_AnotherGatewaySendsTheMessage()
    {
        var queueName = TestStack.UniqueName("reconcile-killed");
        var configuration = Configuration(queueName, queuedGrace: "01:00:00");
        using var resent = new ResentCounter();
        await using var survivor = await GatewayServer.StartAsync(configuration);
        var urls = await survivor.Services.GetRequiredService<JobQueue>().GetUrlsAsync();
        var tenant = TestStack.UniqueName("tenant");
        var key = await survivor.CreateKeyAsync(tenant);
        var redis = TestStack.Multiplexer.GetDatabase();

        // A gateway whose SQS endpoint accepts the request and never answers: the submit hangs in the send.
        await using var silent = new SilentEndpoint();
        var doomed = await GatewayProcess.StartAsync(
            new Dictionary<string, string?>(configuration)
            {
                ["Sqs:ServiceUrl"] = silent.Url,
                ["Sqs:CreateQueues"] = "false",
                ["Sqs:QueueUrl"] = urls.Jobs,
                ["Sqs:DeadLetterQueueUrl"] = urls.DeadLetter,
                ["Sqs:RequestTimeout"] = "00:05:00",
            },
            ExternalProcess.FreePort());
        string jobId;
        try
        {
            using var client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{doomed.Port}"), Timeout = Timeout };
            client.DefaultRequestHeaders.Authorization = new("Bearer", key);
            var submit = client.PostAsJsonAsync("/v1/jobs", new { model = "all-minilm-l6-v2", input = new { texts = new[] { "accepted, then its gateway died" } } });
            string? written = null;
            await Eventually.HoldsAsync(
                async () => (written = (await redis.SortedSetRangeByRankAsync(ActiveJobs.Key(tenant))).FirstOrDefault().ToString()) is { Length: > 0 } id
                    && await redis.KeyExistsAsync(JobKeys.Record(id)),
                Timeout,
                "the job's record is written");
            jobId = written!;
            Assert.That(submit.IsCompleted, Is.False, "the submit hangs in the send");

            await doomed.DisposeAsync(); // SIGKILL, the send still hanging
            await ObserveFailureAsync(submit);
        }
        finally
        {
            await doomed.DisposeAsync();
        }

        using var sqs = TestStack.CreateSqsClient();
        var message = await ReceiveAsync(sqs, urls.Jobs);
        var body = JobMessageJson.Deserialize(message.Body)!;
        Assert.Multiple(() =>
        {
            Assert.That(body.JobId, Is.EqualTo(jobId));
            Assert.That(body.Tenant, Is.EqualTo(tenant));
            Assert.That(message.MessageAttributes[JobMessageAttributes.JobId].StringValue, Is.EqualTo(jobId));
            Assert.That(message.MessageAttributes[JobMessageAttributes.Tenant].StringValue, Is.EqualTo(tenant));
            Assert.That(message.MessageAttributes[JobMessageAttributes.SchemaVersion].StringValue, Is.EqualTo("1"));
            Assert.That(message.MessageAttributes[JobMessageAttributes.TraceParent].StringValue, Does.Match("^00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]$"));
        });
        await Eventually.HoldsAsync(async () => !await IsMemberAsync(JobKeys.Unsent(queueName), jobId), Timeout, "the job left the outbox");
        Assert.That(resent.Of(survivor, JobReconciler.UnsentReason), Is.EqualTo(1));
        Assert.That((await survivor.Services.GetRequiredService<RedisJobStore>().GetAsync(jobId))?.Status, Is.EqualTo(JobStatuses.Queued));
    }

    [Test]
    public async Task AMessageTheQueueLost_IsSentAgainOnce_AndTheJobCompletesOnce()
    {
        var queueName = TestStack.UniqueName("reconcile-lost");
        var configuration = Configuration(queueName, queuedGrace: "00:00:01");
        configuration["Worker:WaitTimeSeconds"] = "1"; // the worker stops within a short poll
        using var resent = new ResentCounter();
        await using var gateway = await GatewayServer.StartAsync(configuration);
        var urls = await gateway.Services.GetRequiredService<JobQueue>().GetUrlsAsync();
        var key = await gateway.CreateKeyAsync(TestStack.UniqueName("tenant"));
        var jobId = await gateway.SubmitJobAsync(key, "lost by the queue");

        // The queue loses the message (as a stand-in: it is received and deleted before any worker runs).
        using var sqs = TestStack.CreateSqsClient();
        var lost = await ReceiveAsync(sqs, urls.Jobs);
        Assert.That(JobMessageJson.Deserialize(lost.Body)!.JobId, Is.EqualTo(jobId));
        await sqs.DeleteMessageAsync(urls.Jobs, lost.ReceiptHandle).WaitAsync(Timeout);

        await using var worker = await WorkerServer.StartAsync(configuration);
        var events = await gateway.StreamJobAsync(key, jobId, afterSeq: 0, Timeout);

        Assert.That(events.Select(e => e.Type), Is.EqualTo(new[] { "queued", "started", "completed" }), "one run, one terminal event");
        await Eventually.HoldsAsync(() => resent.Of(gateway, JobReconciler.UnstartedReason) > 0, Timeout, "the re-send is counted");
        Assert.That(resent.Of(gateway, JobReconciler.UnstartedReason), Is.EqualTo(1), "sent again once");
        Assert.That(await IsMemberAsync(JobKeys.Queued(queueName), jobId), Is.False);
    }

    [Test]
    public async Task ADeepBacklogWithNoWorker_IsNotSentAgain()
    {
        var queueName = TestStack.UniqueName("reconcile-backlog");
        var configuration = Configuration(queueName, queuedGrace: "00:00:01");
        using var resent = new ResentCounter();
        await using var gateway = await GatewayServer.StartAsync(configuration);
        var tenant = TestStack.UniqueName("tenant");
        var key = await gateway.CreateKeyAsync(tenant);
        var store = gateway.Services.GetRequiredService<RedisJobStore>();
        var redis = TestStack.Multiplexer.GetDatabase();
        var backlog = new List<string>();
        for (var i = 0; i < 5; i++)
        {
            backlog.Add(await gateway.SubmitJobAsync(key, $"backlog {i}"));
        }

        // Accepted an hour ago, far past the grace, and no worker has started anything since.
        var longAgo = DateTimeOffset.UtcNow.AddHours(-1).ToUnixTimeMilliseconds();
        foreach (var id in backlog)
        {
            Assert.That(await IsMemberAsync(JobKeys.Queued(queueName), id), Is.True, "a sent job waits in the queued index");
            await redis.SortedSetAddAsync(JobKeys.Queued(queueName), id, longAgo, SortedSetWhen.Exists);
        }

        Assert.That(await TestStack.QueuedCountAsync(queueName), Is.EqualTo(5));

        // Two jobs whose gateway died before the send, the second after the first was sent again:
        // the reconciler has looked at the old backlog in at least one whole tick by then.
        await AcceptedButNeverSentAsync(store, queueName, tenant);
        await Eventually.HoldsAsync(async () => await TestStack.QueuedCountAsync(queueName) >= 6, Timeout, "the first unsent job is sent");
        await AcceptedButNeverSentAsync(store, queueName, tenant);
        await Eventually.HoldsAsync(async () => await TestStack.QueuedCountAsync(queueName) >= 7, Timeout, "the second unsent job is sent");

        Assert.That(await TestStack.QueuedCountAsync(queueName), Is.EqualTo(7), "the backlog was not sent again");
        Assert.That(resent.Of(gateway, JobReconciler.UnstartedReason), Is.Zero);
        foreach (var id in backlog)
        {
            Assert.That(await redis.SortedSetScoreAsync(JobKeys.Queued(queueName), id), Is.EqualTo(longAgo), "still waiting, untouched");
        }
    }

    [Test]
    public async Task OfTwoGateways_OnlyTheLeaseHolderSendsAgain_AndTheOtherTakesOverWhenItStops()
    {
        var queueName = TestStack.UniqueName("reconcile-lease");
        var configuration = Configuration(queueName, queuedGrace: "01:00:00");
        using var resent = new ResentCounter();
        var a = await GatewayServer.StartAsync(configuration);
        var b = await GatewayServer.StartAsync(configuration);
        GatewayServer? stopped = null;
        try
        {
            var tenant = TestStack.UniqueName("tenant");
            var store = b.Services.GetRequiredService<RedisJobStore>();
            var redis = TestStack.Multiplexer.GetDatabase();
            await Eventually.HoldsAsync(() => LeaseOf(a).IsHeld || LeaseOf(b).IsHeld, Timeout, "one gateway takes the lease");

            for (var i = 0; i < 5; i++)
            {
                await AcceptedButNeverSentAsync(store, queueName, tenant);
            }

            var both = false;
            await Eventually.HoldsAsync(
                async () =>
                {
                    both |= LeaseOf(a).IsHeld && LeaseOf(b).IsHeld;
                    return await redis.SortedSetLengthAsync(JobKeys.Unsent(queueName)) == 0;
                },
                Timeout,
                "the unsent jobs are sent");
            var (holder, other) = LeaseOf(a).IsHeld ? (a, b) : (b, a);
            var depth = await TestStack.QueuedCountAsync(queueName);
            Assert.Multiple(() =>
            {
                Assert.That(both, Is.False, "never both at once");
                Assert.That(resent.Of(holder, JobReconciler.UnsentReason), Is.EqualTo(5));
                Assert.That(resent.Of(other, JobReconciler.UnsentReason), Is.Zero);
                Assert.That(depth, Is.EqualTo(5), "each sent once");
            });

            // The holder stops: the other one takes over and acts.
            stopped = holder;
            await holder.DisposeAsync();
            await Eventually.HoldsAsync(() => LeaseOf(other).IsHeld, Timeout, "the other gateway takes the lease over");
            await AcceptedButNeverSentAsync(other.Services.GetRequiredService<RedisJobStore>(), queueName, tenant);
            await Eventually.HoldsAsync(async () => await redis.SortedSetLengthAsync(JobKeys.Unsent(queueName)) == 0, Timeout, "the late unsent job is sent");
            Assert.That(resent.Of(other, JobReconciler.UnsentReason), Is.EqualTo(1));
            Assert.That(await TestStack.QueuedCountAsync(queueName), Is.EqualTo(6));
        }
        finally
        {
            if (!ReferenceEquals(stopped, a))
            {
                await a.DisposeAsync();
            }

            if (!ReferenceEquals(stopped, b))
            {
                await b.DisposeAsync();
            }
        }
    }

    private static Dictionary<string, string?> Configuration(string queueName, string queuedGrace)
    {
        var configuration = TestStack.Configuration(queueName);
        configuration["Jobs:Reconciler:Interval"] = "00:00:00.100";
        configuration["Jobs:Reconciler:UnsentGrace"] = "00:00:00.500";
        configuration["Jobs:Reconciler:QueuedGrace"] = queuedGrace;
        configuration["Jobs:Reconciler:LeaseDuration"] = "00:00:02";
        return configuration;
    }

    private static ReconcilerLease LeaseOf(GatewayServer gateway) => gateway.Services.GetRequiredService<JobReconciler>().Lease;

    /// <summary>A job as a gateway leaves it when it dies between the record and the send: recorded, in the outbox, not on the queue.</summary>
    private static async Task<string> AcceptedButNeverSentAsync(RedisJobStore store, string queueName, string tenant)
    {
        var id = JobSubmitter.NewJobId();
        var createdAt = DateTimeOffset.UtcNow;
        var body = JobMessageJson.Serialize(new JobMessage
        {
            SchemaVersion = JobMessage.CurrentSchemaVersion,
            JobId = id,
            Tenant = tenant,
            Model = "all-minilm-l6-v2",
            Input = new JobInput { Texts = ["never sent"] },
            CreatedAt = createdAt,
            ExpiresAt = createdAt.AddHours(1),
        });
        var created = await store.CreateAsync(id, tenant, "all-minilm-l6-v2", createdAt, message: new OutboxMessage(queueName, body, "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"));
        Assert.That(created.Outcome, Is.EqualTo(AppendOutcome.Appended));
        return id;
    }

    private static async Task<bool> IsMemberAsync(string set, string jobId) =>
        await TestStack.Multiplexer.GetDatabase().SortedSetScoreAsync(set, jobId) is not null;

    private static async Task<Message> ReceiveAsync(AmazonSQSClient sqs, string queueUrl)
    {
        Message? received = null;
        await Eventually.HoldsAsync(
            async () =>
            {
                var batch = await sqs.ReceiveMessageAsync(new ReceiveMessageRequest { QueueUrl = queueUrl, MaxNumberOfMessages = 1, WaitTimeSeconds = 1, MessageAttributeNames = ["All"] });
                received = batch.Messages?.FirstOrDefault();
                return received is not null;
            },
            Timeout,
            "a message on the queue");
        return received!;
    }

    private static async Task ObserveFailureAsync(Task submit)
    {
        try
        {
            await submit.WaitAsync(Timeout);
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or IOException)
        {
            // The connection died with the process.
        }
    }

    /// <summary>Counts <c>gateway.jobs.resent</c> per gateway (its meter) and reason.</summary>
    private sealed class ResentCounter : IDisposable
    {
        private readonly MeterListener _listener = new();
        private readonly ConcurrentDictionary<(Meter, string), long> _counts = new();

        public ResentCounter()
        {
            _listener.InstrumentPublished = (instrument, listener) =>
            {
                if (instrument.Meter.Name == ReconcilerMetrics.MeterName && instrument.Name == ReconcilerMetrics.ResentName)
                {
                    listener.EnableMeasurementEvents(instrument);
                }
            };
            _listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
            {
                var reason = string.Empty;
                foreach (var tag in tags)
                {
                    if (tag.Key == "reason")
                    {
                        reason = tag.Value as string ?? string.Empty;
                    }
                }

                _counts.AddOrUpdate((instrument.Meter, reason), value, (_, total) => total + value);
            });
            _listener.Start();
        }

        public long Of(GatewayServer gateway, string reason) =>
            _counts.GetValueOrDefault((gateway.Services.GetRequiredService<ReconcilerMetrics>().Meter, reason));

        public void Dispose() => _listener.Dispose();
    }
}
