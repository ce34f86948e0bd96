using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Reflection;
using System.Text.Json;
using Amazon.SQS;
using Amazon.SQS.Model;
using InferenceGateway.Contracts;
using InferenceGateway.Core.Jobs;
using InferenceGateway.Core.Queue;
using InferenceGateway.Gateway.Auth;
using InferenceGateway.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace InferenceGateway.Tests.Jobs;

/// <summary>
/// Submits sent through the SQS send coalescer to the real emulator: concurrent submits share
/// <c>SendMessageBatch</c> calls, every job lands on the queue exactly once with its attributes, and
/// an entry SQS refuses fails its own submit the way a failed send always has.
/// </summary>
[TestFixture]
public sealed class BatchedSendTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    [Test]
    public async Task ConcurrentSubmits_EachLandOnTheQueueExactlyOnce_WithTheirAttributesAndTraceParent()
    {
        const int Jobs = 80;
        var queue = TestStack.UniqueName("batched");
        var configuration = Bulk(queue);
        await using var gateway = await GatewayServer.StartAsync(configuration);
        var tenant = TestStack.UniqueName("tenant");
        using var client = gateway.CreateClient(await gateway.CreateKeyAsync(new NewApiKey(tenant, "test", [Scopes.JobsRead, Scopes.JobsWrite], "bulk")));
        var traceIds = Enumerable.Range(0, Jobs).Select(_ => ActivityTraceId.CreateRandom().ToHexString()).ToArray();

        var submitted = await Task.WhenAll(Enumerable.Range(0, Jobs).Select(i => SubmitAsync(client, $"text {i}", traceIds[i]))).WaitAsync(Timeout);

        Assert.That(submitted.Select(s => s.Status), Is.All.EqualTo(HttpStatusCode.Accepted));
        var messages = await DrainAsync(queue, Jobs);
        Assert.That(messages.Select(m => m.MessageAttributes[JobMessageAttributes.JobId].StringValue), Is.EquivalentTo(submitted.Select(s => s.JobId)), "every job exactly once, nothing else");
        foreach (var message in messages)
        {
            var jobId = message.MessageAttributes[JobMessageAttributes.JobId].StringValue;
            var index = Array.FindIndex(submitted, s => s.JobId == jobId);
            var body = JsonSerializer.Deserialize(message.Body, ContractsJsonContext.Default.JobMessage)!;
            Assert.That(body.JobId, Is.EqualTo(jobId));
            Assert.That(body.Input.Texts, Is.EqualTo(new[] { $"text {index}" }), "each message carries its own job's input");
            Assert.That(message.MessageAttributes[JobMessageAttributes.Tenant].StringValue, Is.EqualTo(tenant));
            Assert.That(message.MessageAttributes[JobMessageAttributes.SchemaVersion].StringValue, Is.EqualTo(JobMessage.CurrentSchemaVersion.ToString(System.Globalization.CultureInfo.InvariantCulture)));
            Assert.That(message.MessageAttributes[JobMessageAttributes.TraceParent].StringValue, Does.StartWith($"00-{traceIds[index]}-"), "the client's trace continues across the queue");
        }

        var active = gateway.Services.GetRequiredService<ActiveJobs>();
        Assert.That(await active.CountAsync(tenant), Is.EqualTo(Jobs), "one place per job, taken once");
    }

    [Test]
    public async Task AnEntrySqsRefuses_FailsItsOwnSubmitAsBefore_AndTheOthersAreQueued()
    {
        var queue = TestStack.UniqueName("partial");
        var configuration = Bulk(queue);
        var refusing = RefusingSqs.Wrap(TestStack.CreateSqsClient(), refuse: body => body.Contains("refuse-me", StringComparison.Ordinal));
        await using var gateway = await GatewayServer.StartAsync(configuration, builder => builder.Services.AddSingleton(new SqsSendCoalescer(refusing.Client)));
        var tenant = TestStack.UniqueName("tenant");
        using var client = gateway.CreateClient(await gateway.CreateKeyAsync(new NewApiKey(tenant, "test", [Scopes.JobsRead, Scopes.JobsWrite], "bulk")));
        var texts = Enumerable.Range(0, 30).Select(i => i % 4 == 1 ? $"refuse-me {i}" : $"fine {i}").ToArray();

        // Half the refused ones carry an Idempotency-Key: their claims must be given back too.
        string? KeyOf(int i) => i % 8 == 1 ? $"key-{i}" : null;
        var submitted = await Task.WhenAll(texts.Select((text, i) => SubmitAsync(client, text, traceId: null, KeyOf(i)))).WaitAsync(Timeout);

        var refused = texts.Select((t, i) => (t, submitted[i])).Where(p => p.t.StartsWith("refuse-me", StringComparison.Ordinal)).Select(p => p.Item2).ToList();
        var fine = texts.Select((t, i) => (t, submitted[i])).Where(p => p.t.StartsWith("fine", StringComparison.Ordinal)).Select(p => p.Item2).ToList();
        Assert.That(refused.Select(r => r.Status), Is.All.EqualTo(HttpStatusCode.ServiceUnavailable));
        Assert.That(refused.Select(r => r.RetryAfter), Is.All.Not.Null);
        Assert.That(fine.Select(r => r.Status), Is.All.EqualTo(HttpStatusCode.Accepted));
        var messages = await DrainAsync(queue, fine.Count);
        Assert.That(messages.Select(m => m.MessageAttributes[JobMessageAttributes.JobId].StringValue), Is.EquivalentTo(fine.Select(f => f.JobId)));
        Assert.That(await gateway.Services.GetRequiredService<ActiveJobs>().CountAsync(tenant), Is.EqualTo(fine.Count), "the refused jobs' places were given back");
        Assert.That(refusing.Proxy.BatchCalls, Is.LessThan(texts.Length), "the sends were coalesced");

        // The refused jobs' records were closed as failed (enqueue_failed), as a failed send always left them.
        var store = gateway.Services.GetRequiredService<RedisJobStore>();
        var failed = new List<JobRecord>();
        await foreach (var key in TestStack.Multiplexer.GetServers()[0].KeysAsync(pattern: "job:{*}", pageSize: 1000))
        {
            var name = key.ToString();
            if (!name.EndsWith(":events", StringComparison.Ordinal) && await store.GetAsync(name["job:{".Length..^1]) is { Tenant: var owner } job && owner == tenant && job.Status == JobStatuses.Failed)
            {
                failed.Add(job);
            }
        }

        Assert.That(failed, Has.Count.EqualTo(refused.Count));
        Assert.That(failed.Select(j => j.Error?.Code), Is.All.EqualTo("enqueue_failed"));
        var claims = Enumerable.Range(0, texts.Length).Where(i => KeyOf(i) is not null).Select(i => $"idem:{{{tenant}}}:{InferenceGateway.Gateway.Jobs.JobSubmitter.Hash(KeyOf(i)!)}").ToList();
        Assert.That(claims, Is.Not.Empty);
        foreach (var claim in claims)
        {
            Assert.That(await TestStack.Multiplexer.GetDatabase().KeyExistsAsync(claim), Is.False, "the Idempotency-Key claim was given back");
        }
    }

    private static Dictionary<string, string?> Bulk(string queue)
    {
        var configuration = TestStack.Configuration(queue);
        configuration["RateLimits:Plans:bulk:RequestsPerSecond"] = "100000";
        configuration["RateLimits:Plans:bulk:Burst"] = "100000";
        configuration["RateLimits:Plans:bulk:MaxActiveJobs"] = "1000";
        configuration["RateLimits:Plans:bulk:TokensPerMinute"] = "100000000";
        return configuration;
    }

    private static async Task<(HttpStatusCode Status, string? JobId, TimeSpan? RetryAfter)> SubmitAsync(HttpClient client, string text, string? traceId, string? idempotencyKey = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/jobs") { Content = JsonContent.Create(new { model = "all-minilm-l6-v2", input = new { texts = new[] { text } } }) };
        if (idempotencyKey is not null)
        {
            request.Headers.Add("Idempotency-Key", idempotencyKey);
        }

        if (traceId is not null)
        {
            request.Headers.Add("traceparent", $"00-{traceId}-{ActivitySpanId.CreateRandom().ToHexString()}-01");
        }

        using var response = await client.SendAsync(request);
        var body = await response.Content.ReadAsStringAsync();
        var id = response.StatusCode == HttpStatusCode.Accepted ? JsonDocument.Parse(body).RootElement.GetProperty("id").GetString() : null;
        return (response.StatusCode, id, response.Headers.RetryAfter?.Delta);
    }

    /// <summary>Receives and deletes every message on the queue: <paramref name="expected"/> of them, then waits a little more for any extra.</summary>
    private static async Task<List<Message>> DrainAsync(string queueName, int expected)
    {
        using var sqs = TestStack.CreateSqsClient();
        var url = (await sqs.GetQueueUrlAsync(queueName)).QueueUrl;
        var received = new List<Message>();
        using var deadline = new CancellationTokenSource(Timeout);
        var emptyAfterAll = 0;
        while (emptyAfterAll < 2)
        {
            var response = await sqs.ReceiveMessageAsync(
                new ReceiveMessageRequest { QueueUrl = url, MaxNumberOfMessages = 10, WaitTimeSeconds = 1, MessageAttributeNames = ["All"] },
                deadline.Token);
            var messages = response.Messages ?? [];
            received.AddRange(messages);
            foreach (var message in messages)
            {
                await sqs.DeleteMessageAsync(url, message.ReceiptHandle, deadline.Token);
            }

            emptyAfterAll = received.Count >= expected && messages.Count == 0 ? emptyAfterAll + 1 : 0;
        }

        return received;
    }

    /// <summary>
    /// The real emulator's client, except that <c>SendMessageBatch</c> entries whose body
    /// <c>refuse</c> picks come back as failed entries (a partial failure), the others sent for real.
    /// (A <see cref="DispatchProxy"/>, which cannot be sealed.)
    /// </summary>
    internal class RefusingSqs : DispatchProxy
    {
        private IAmazonSQS _inner = null!;
        private Func<string, bool> _refuse = null!;
        private int _batchCalls;

        public int BatchCalls => Volatile.Read(ref _batchCalls);

        public static (IAmazonSQS Client, RefusingSqs Proxy) Wrap(IAmazonSQS inner, Func<string, bool> refuse)
        {
            var client = DispatchProxy.Create<IAmazonSQS, RefusingSqs>();
            var proxy = (RefusingSqs)(object)client;
            proxy._inner = inner;
            proxy._refuse = refuse;
            return (client, proxy);
        }

        protected override object? Invoke(MethodInfo? targetMethod, object?[]? args)
        {
            if (targetMethod?.Name == nameof(IAmazonSQS.SendMessageBatchAsync) && args?[0] is SendMessageBatchRequest request)
            {
                Interlocked.Increment(ref _batchCalls);
                return SendAsync(request, (CancellationToken)args[1]!);
            }

            try
            {
                return targetMethod!.Invoke(_inner, args);
            }
            catch (TargetInvocationException ex) when (ex.InnerException is not null)
            {
                throw ex.InnerException;
            }
        }

        private async Task<SendMessageBatchResponse> SendAsync(SendMessageBatchRequest request, CancellationToken cancellationToken)
        {
            var refused = request.Entries.Where(e => _refuse(e.MessageBody)).ToList();
            var passed = request.Entries.Except(refused).ToList();
            var response = passed.Count == 0
                ? new SendMessageBatchResponse()
                : await _inner.SendMessageBatchAsync(new SendMessageBatchRequest { QueueUrl = request.QueueUrl, Entries = passed }, cancellationToken);
            response.Successful ??= [];
            response.Failed ??= [];
            response.Failed.AddRange(refused.Select(e => new BatchResultErrorEntry { Id = e.Id, Code = "InternalError", Message = "refused by the test", SenderFault = false }));
            return response;
        }
    }
}
