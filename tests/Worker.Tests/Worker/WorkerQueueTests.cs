using System.Text.Json;
using Amazon.SQS;
using Amazon.SQS.Model;
using InferenceGateway.Contracts;
using InferenceGateway.Core.Jobs;
using InferenceGateway.Core.Queue;
using InferenceGateway.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace InferenceGateway.Tests.Worker;

/// <summary>The worker against the real SQS emulator and Redis: poison messages and redelivery.</summary>
[TestFixture]
public sealed class WorkerQueueTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    private GatewayServer _gateway = null!;
    private WorkerServer _worker = null!;
    private AmazonSQSClient _sqs = null!;
    private string _key = null!;

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        var configuration = TestStack.Configuration(TestStack.UniqueName("worker"));
        // These tests read the dead-letter queue themselves; the worker's monitor long-polls it too
        // and would hide a message from them whenever its poll is the one waiting (seen in CI).
        configuration["Worker:MonitorDeadLetterQueue"] = "false";
        _gateway = await GatewayServer.StartAsync(configuration);
        _worker = await WorkerServer.StartAsync(configuration);
        _key = await _gateway.CreateKeyAsync(TestStack.UniqueName("tenant"));
        _sqs = TestStack.CreateSqsClient();
    }

    [OneTimeTearDown]
    public async Task StopAsync()
    {
        _sqs.Dispose();
        await _worker.DisposeAsync();
        await _gateway.DisposeAsync();
    }

    [TestCase("{ this is not json", TestName = "PoisonMessage_MalformedJson_GoesToTheDeadLetterQueue_WithoutBlockingAValidJob")]
    [TestCase("{\"schemaVersion\": 99, \"jobId\": \"job_x\", \"tenant\": \"t\", \"model\": \"all-minilm-l6-v2\", \"input\": {\"texts\": [\"a\"]}, \"createdAt\": \"2026-01-01T00:00:00Z\"}", TestName = "PoisonMessage_UnknownSchemaVersion_GoesToTheDeadLetterQueue_WithoutBlockingAValidJob")]
    public async Task PoisonMessage_GoesToTheDeadLetterQueue(string body)
    {
        var urls = await _worker.Services.GetRequiredService<JobQueue>().GetUrlsAsync();
        var marker = Guid.NewGuid().ToString("N");
        await _sqs.SendMessageAsync(new SendMessageRequest
        {
            QueueUrl = urls.Jobs,
            MessageBody = body,
            MessageAttributes = new() { ["marker"] = new MessageAttributeValue { DataType = "String", StringValue = marker } },
        });
        var jobId = await SubmitAsync("submitted right behind a poison message");

        var events = await _gateway.StreamJobAsync(_key, jobId, 0, Timeout);
        var deadLettered = await ReceiveFromDeadLetterAsync(urls.DeadLetter!, marker);

        Assert.That(events[^1].Type, Is.EqualTo(JobEventTypes.Completed));
        Assert.That(deadLettered, Is.Not.Null, "the poison message should be in the dead-letter queue");
        Assert.That(deadLettered!.Body, Is.EqualTo(body));
        Assert.That(deadLettered.MessageAttributes["dead-letter-reason"].StringValue, Is.Not.Empty);
    }

    [Test]
    public async Task UnreadableMessage_ForARealJob_ClosesTheJobAsFailed_AndGoesToTheDeadLetterQueue()
    {
        var store = _gateway.Services.GetRequiredService<RedisJobStore>();
        var jobId = "job_" + Guid.NewGuid().ToString("N");
        var tenant = TestStack.UniqueName("tenant");
        await store.CreateAsync(jobId, tenant, "all-minilm-l6-v2", DateTimeOffset.UtcNow);
        var urls = await _worker.Services.GetRequiredService<JobQueue>().GetUrlsAsync();
        var body = $$"""{"schemaVersion": 99, "jobId": "{{jobId}}", "tenant": "{{tenant}}", "model": "all-minilm-l6-v2", "input": {"texts": ["a"]}, "createdAt": "2026-01-01T00:00:00Z"}""";

        await _sqs.SendMessageAsync(urls.Jobs, body);
        var key = await _gateway.CreateKeyAsync(tenant);
        var events = await _gateway.StreamJobAsync(key, jobId, 0, Timeout);

        Assert.That(events.Select(e => e.Type), Is.EqualTo(new[] { "queued", "failed" }));
        var job = await store.GetAsync(jobId);
        Assert.That(job!.Status, Is.EqualTo(JobStatuses.Failed));
        Assert.That(job.Error!.Code, Is.EqualTo("unsupported_message"));
        Assert.That(job.Error.Message, Does.Contain("schema version 99"));
    }

    [Test]
    public async Task Job_SubmittedAfterTheWorkerIdledPastTheSdkRequestTimeout_RunsOnTheFirstDelivery()
    {
        // The worker long-polls for 20 s by default; an SQS request timeout shorter than that
        // would cut receives off client-side and leave the server-side poll to swallow the next
        // message (invisible for the visibility timeout, then a second attempt).
        var sqsOptions = _worker.Services.GetRequiredService<Microsoft.Extensions.Options.IOptions<SqsOptions>>().Value;
        Assert.That(sqsOptions.RequestTimeout, Is.GreaterThan(TimeSpan.FromSeconds(20)));
        await Task.Delay(TimeSpan.FromSeconds(11)); // idle past the SDK's default 10 s request timeout

        var jobId = await SubmitAsync("after a long idle");
        var events = await _gateway.StreamJobAsync(_key, jobId, 0, Timeout);

        Assert.That(events[^1].Type, Is.EqualTo(JobEventTypes.Completed));
        var started = events.Single(e => e.Type == JobEventTypes.Started);
        Assert.That(started.Data!.Value.GetProperty("attempt").GetInt32(), Is.EqualTo(1), "the first delivery must have reached the worker");
    }

    [Test]
    public async Task RedeliveredJob_ThatAlreadyCompleted_IsNotRunAgain_AndHasOneTerminalEvent()
    {
        var jobId = await SubmitAsync("delivered twice");
        var first = await _gateway.StreamJobAsync(_key, jobId, 0, Timeout);
        Assert.That(first[^1].Type, Is.EqualTo(JobEventTypes.Completed));

        // The same message again, as SQS would redeliver it if the worker died after recording
        // the result but before deleting the message.
        var urls = await _worker.Services.GetRequiredService<JobQueue>().GetUrlsAsync();
        var message = new JobMessage
        {
            SchemaVersion = JobMessage.CurrentSchemaVersion,
            JobId = jobId,
            Tenant = "whatever",
            Model = "all-minilm-l6-v2",
            Input = new JobInput { Texts = ["delivered twice"] },
            CreatedAt = DateTimeOffset.UnixEpoch,
        };
        await _sqs.SendMessageAsync(urls.Jobs, JsonSerializer.Serialize(message, ContractsJsonContext.Default.JobMessage));
        await WaitForQueueToDrainAsync(urls.Jobs);

        var store = _gateway.Services.GetRequiredService<RedisJobStore>();
        var log = await store.ReadEventsAsync(jobId, 0, 100);
        Assert.That(log.Select(e => e.Type), Is.EqualTo(new[] { "queued", "started", "completed" }));
        Assert.That((await store.GetAsync(jobId))!.Status, Is.EqualTo(JobStatuses.Completed));
    }

    private Task<string> SubmitAsync(string text) => _gateway.SubmitJobAsync(_key, text);

    private async Task<Message?> ReceiveFromDeadLetterAsync(string url, string marker)
    {
        using var cts = new CancellationTokenSource(Timeout);
        while (!cts.IsCancellationRequested)
        {
            var response = await _sqs.ReceiveMessageAsync(
                new ReceiveMessageRequest { QueueUrl = url, MaxNumberOfMessages = 10, WaitTimeSeconds = 1, MessageAttributeNames = ["All"] },
                cts.Token);
            foreach (var message in response.Messages ?? [])
            {
                if (message.MessageAttributes.TryGetValue("marker", out var value) && value.StringValue == marker)
                {
                    return message;
                }

                // Someone else's: make it visible again at once.
                await _sqs.ChangeMessageVisibilityAsync(url, message.ReceiptHandle, 0, cts.Token);
            }
        }

        return null;
    }

    private async Task WaitForQueueToDrainAsync(string url)
    {
        using var cts = new CancellationTokenSource(Timeout);
        while (true)
        {
            var attributes = await _sqs.GetQueueAttributesAsync(url, ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"], cts.Token);
            if (attributes.ApproximateNumberOfMessages + attributes.ApproximateNumberOfMessagesNotVisible == 0)
            {
                return;
            }

            await Task.Delay(50, cts.Token);
        }
    }
}
