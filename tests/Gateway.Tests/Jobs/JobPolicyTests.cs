using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Amazon.SQS;
using Amazon.SQS.Model;
using InferenceGateway.Contracts;
using InferenceGateway.Tests.Infrastructure;

namespace InferenceGateway.Tests.Jobs;

/// <summary>
/// A job's execution policy (<c>policy: {executionTimeoutMs, ttlMs}</c>) travels on the queued
/// message; the 202 names the expiry. Checked on the real SQS emulator (no worker runs here, so the
/// test reads the message itself).
/// </summary>
[TestFixture]
public sealed class JobPolicyTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    private GatewayServer _gateway = null!;
    private AmazonSQSClient _sqs = null!;
    private string _queueName = null!;
    private string _key = null!;

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        _queueName = TestStack.UniqueName("policy");
        var configuration = TestStack.Configuration(_queueName);
        configuration["Jobs:DefaultQueueTtl"] = "00:05:00";
        configuration["Jobs:MaxExecutionTimeout"] = "00:00:30";
        _gateway = await GatewayServer.StartAsync(configuration);
        _key = await _gateway.CreateKeyAsync(TestStack.UniqueName("tenant"));
        _sqs = TestStack.CreateSqsClient();
    }

    [OneTimeTearDown]
    public async Task StopAsync()
    {
        _sqs.Dispose();
        await _gateway.DisposeAsync();
    }

    [Test]
    public async Task Submit_WithAPolicy_PutsTheExecutionTimeoutAndExpiryOnTheQueuedMessage()
    {
        using var client = _gateway.CreateClient(_key);

        using var response = await client.PostAsJsonAsync("/v1/jobs", Job("with policy", new { executionTimeoutMs = 5000, ttlMs = 60_000 })).WaitAsync(Timeout);

        var accepted = await AcceptedAsync(response);
        var createdAt = accepted.GetProperty("createdAt").GetDateTimeOffset();
        var expiresAt = accepted.GetProperty("expiresAt").GetDateTimeOffset();
        Assert.That(expiresAt, Is.EqualTo(createdAt.AddMilliseconds(60_000)));
        var message = await ReceiveJobMessageAsync(accepted.GetProperty("id").GetString()!);
        Assert.That(message.ExecutionTimeoutMs, Is.EqualTo(5000));
        Assert.That(message.ExpiresAt, Is.EqualTo(expiresAt));
        Assert.That(message.CreatedAt, Is.EqualTo(createdAt));
    }

    [Test]
    public async Task Submit_WithoutAPolicy_ExpiresAfterTheDefaultQueueTtl_AndLeavesTheExecutionTimeoutToTheWorker()
    {
        using var client = _gateway.CreateClient(_key);

        using var response = await client.PostAsJsonAsync("/v1/jobs", new { model = "all-minilm-l6-v2", input = new { texts = new[] { "defaults" } } }).WaitAsync(Timeout);

        var accepted = await AcceptedAsync(response);
        var createdAt = accepted.GetProperty("createdAt").GetDateTimeOffset();
        Assert.That(accepted.GetProperty("expiresAt").GetDateTimeOffset(), Is.EqualTo(createdAt.AddMinutes(5)));
        var message = await ReceiveJobMessageAsync(accepted.GetProperty("id").GetString()!);
        Assert.That(message.ExecutionTimeoutMs, Is.Null);
        Assert.That(message.ExpiresAt, Is.EqualTo(createdAt.AddMinutes(5)));
    }

    [Test]
    public async Task Submit_WithAnEmptyPolicy_GetsTheDefaults()
    {
        using var client = _gateway.CreateClient(_key);

        using var response = await client.PostAsJsonAsync("/v1/jobs", Job("empty policy", new { })).WaitAsync(Timeout);

        var accepted = await AcceptedAsync(response);
        var message = await ReceiveJobMessageAsync(accepted.GetProperty("id").GetString()!);
        Assert.That(message.ExecutionTimeoutMs, Is.Null);
        Assert.That(message.ExpiresAt, Is.EqualTo(accepted.GetProperty("createdAt").GetDateTimeOffset().AddMinutes(5)));
    }

    [Test]
    public async Task Submit_AtTheUpperBounds_IsAccepted()
    {
        using var client = _gateway.CreateClient(_key);

        // Jobs:MaxExecutionTimeout is 30 s here; the job retention (the TTL's ceiling) is 24 h.
        using var response = await client.PostAsJsonAsync("/v1/jobs", Job("bounds", new { executionTimeoutMs = 30_000, ttlMs = 86_400_000 })).WaitAsync(Timeout);

        var accepted = await AcceptedAsync(response);
        var message = await ReceiveJobMessageAsync(accepted.GetProperty("id").GetString()!);
        Assert.That(message.ExecutionTimeoutMs, Is.EqualTo(30_000));
        Assert.That(message.ExpiresAt, Is.EqualTo(accepted.GetProperty("createdAt").GetDateTimeOffset().AddHours(24)));
    }

    [Test]
    public async Task Retry_WithTheSameIdempotencyKeyAndPolicy_ReplaysTheJobAndItsExpiry_ButAnotherPolicyIs422()
    {
        using var client = _gateway.CreateClient(_key);
        var idempotencyKey = Guid.NewGuid().ToString("N");

        using var first = await PostWithKeyAsync(client, idempotencyKey, Job("same", new { ttlMs = 120_000 }));
        using var replay = await PostWithKeyAsync(client, idempotencyKey, Job("same", new { ttlMs = 120_000 }));
        using var otherTtl = await PostWithKeyAsync(client, idempotencyKey, Job("same", new { ttlMs = 120_001 }));
        using var addedTimeout = await PostWithKeyAsync(client, idempotencyKey, Job("same", new { ttlMs = 120_000, executionTimeoutMs = 1000 }));
        using var noPolicy = await PostWithKeyAsync(client, idempotencyKey, new { model = "all-minilm-l6-v2", input = new { texts = new[] { "same" } } });

        var original = await AcceptedAsync(first);
        var replayed = await AcceptedAsync(replay);
        Assert.That(replay.Headers.GetValues("Idempotent-Replayed"), Is.EqualTo(new[] { "true" }));
        Assert.That(replayed.GetProperty("id").GetString(), Is.EqualTo(original.GetProperty("id").GetString()));
        Assert.That(replayed.GetProperty("expiresAt").GetDateTimeOffset(), Is.EqualTo(original.GetProperty("expiresAt").GetDateTimeOffset()));
        foreach (var conflict in new[] { otherTtl, addedTimeout, noPolicy })
        {
            Assert.That(conflict.StatusCode, Is.EqualTo(HttpStatusCode.UnprocessableEntity), await conflict.Content.ReadAsStringAsync());
            Assert.That(conflict.Content.Headers.ContentType?.MediaType, Is.EqualTo("application/problem+json"));
        }

        await ReceiveJobMessageAsync(original.GetProperty("id").GetString()!);
        Assert.That(await TestStack.QueuedCountAsync(_queueName), Is.EqualTo(0), "one job, enqueued once");
    }

    private static object Job(string text, object policy) =>
        new { model = "all-minilm-l6-v2", input = new { texts = new[] { text } }, policy };

    private static async Task<HttpResponseMessage> PostWithKeyAsync(HttpClient client, string idempotencyKey, object body)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/jobs") { Content = JsonContent.Create(body) };
        request.Headers.Add("Idempotency-Key", idempotencyKey);
        return await client.SendAsync(request).WaitAsync(Timeout);
    }

    private static async Task<JsonElement> AcceptedAsync(HttpResponseMessage response)
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Accepted), body);
        return JsonDocument.Parse(body).RootElement;
    }

    /// <summary>Takes the job's message off the queue (others' go back at once) and reads its body.</summary>
    private async Task<JobMessage> ReceiveJobMessageAsync(string jobId)
    {
        var url = (await _sqs.GetQueueUrlAsync(_queueName)).QueueUrl;
        using var cts = new CancellationTokenSource(Timeout);
        while (true)
        {
            var response = await _sqs.ReceiveMessageAsync(
                new ReceiveMessageRequest { QueueUrl = url, MaxNumberOfMessages = 10, WaitTimeSeconds = 1, MessageAttributeNames = ["All"] },
                cts.Token);
            foreach (var message in response.Messages ?? [])
            {
                if (message.MessageAttributes.TryGetValue(JobMessageAttributes.JobId, out var id) && id.StringValue == jobId)
                {
                    await _sqs.DeleteMessageAsync(url, message.ReceiptHandle, cts.Token);
                    return JsonSerializer.Deserialize(message.Body, ContractsJsonContext.Default.JobMessage)!;
                }

                await _sqs.ChangeMessageVisibilityAsync(url, message.ReceiptHandle, 0, cts.Token);
            }
        }
    }
}

/// <summary>Policies out of bounds or of the wrong shape: a 400 problem, and nothing reaches the queue.</summary>
[TestFixture]
public sealed class JobPolicyValidationTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    private GatewayServer _gateway = null!;
    private string _queueName = null!;
    private string _key = null!;

    public static IEnumerable<TestCaseData> BadPolicies()
    {
        yield return Case("{\"executionTimeoutMs\": 0}", "policy.executionTimeoutMs", "Submit_WithAZeroExecutionTimeout_Returns400");
        yield return Case("{\"executionTimeoutMs\": -5}", "policy.executionTimeoutMs", "Submit_WithANegativeExecutionTimeout_Returns400");
        yield return Case("{\"executionTimeoutMs\": 30001}", "policy.executionTimeoutMs", "Submit_WithAnExecutionTimeoutOverTheMaximum_Returns400");
        yield return Case("{\"ttlMs\": 999}", "policy.ttlMs", "Submit_WithATtlUnderOneSecond_Returns400");
        yield return Case("{\"ttlMs\": 86400001}", "policy.ttlMs", "Submit_WithATtlOverTheJobRetention_Returns400");
        yield return Case("{\"executionTimeoutMs\": 0, \"ttlMs\": 0}", "policy.executionTimeoutMs,policy.ttlMs", "Submit_WithBothOutOfRange_NamesBoth_Returns400");
        yield return Case("{\"ttlMs\": 60000, \"priority\": 1}", null, "Submit_WithAnUnknownPolicyField_Returns400");
        yield return Case("5", null, "Submit_WithAPolicyThatIsNotAnObject_Returns400");
        yield return Case("{\"executionTimeoutMs\": \"5000\"}", null, "Submit_WithAnExecutionTimeoutAsString_Returns400");
        yield return Case("{\"executionTimeoutMs\": 1.5}", null, "Submit_WithAFractionalExecutionTimeout_Returns400");
        yield return Case("{\"executionTimeoutMs\": 99999999999}", null, "Submit_WithAnExecutionTimeoutPastInt32_Returns400");
    }

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        _queueName = TestStack.UniqueName("bad-policy");
        var configuration = TestStack.Configuration(_queueName);
        configuration["Jobs:MaxExecutionTimeout"] = "00:00:30";
        _gateway = await GatewayServer.StartAsync(configuration);
        _key = await _gateway.CreateKeyAsync(TestStack.UniqueName("tenant"));
    }

    [OneTimeTearDown]
    public async Task StopAsync()
    {
        await _gateway.DisposeAsync();
    }

    [TestCaseSource(nameof(BadPolicies))]
    public async Task BadPolicy(string policy, string? erroneousField)
    {
        using var client = _gateway.CreateClient(_key);
        using var content = new StringContent(
            "{\"model\": \"all-minilm-l6-v2\", \"input\": {\"texts\": [\"x\"]}, \"policy\": " + policy + "}",
            Encoding.UTF8,
            "application/json");

        using var response = await client.PostAsync("/v1/jobs", content).WaitAsync(Timeout);

        var body = await response.Content.ReadAsStringAsync();
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest), body);
        Assert.That(response.Content.Headers.ContentType?.MediaType, Is.EqualTo("application/problem+json"), body);
        // A comma-separated list: every field named must be among the errors.
        foreach (var field in erroneousField?.Split(',') ?? [])
        {
            Assert.That(JsonDocument.Parse(body).RootElement.GetProperty("errors").TryGetProperty(field, out _), Is.True, $"{field} is named: {body}");
        }

        Assert.That(await TestStack.QueuedCountAsync(_queueName), Is.EqualTo(0));
    }

    private static TestCaseData Case(string policy, string? field, string name) => new TestCaseData(policy, field).SetName(name);
}
