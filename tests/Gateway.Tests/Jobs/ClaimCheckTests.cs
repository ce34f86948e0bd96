using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Amazon.SQS;
using Amazon.SQS.Model;
using InferenceGateway.Contracts;
using InferenceGateway.Core.Jobs;
using InferenceGateway.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace InferenceGateway.Tests.Jobs;

/// <summary>
/// What a job's queue message carries (issue 14, finding 5): its input written without needless
/// escapes; an input that would make the message larger than <c>Jobs:ClaimCheckBytes</c> kept in
/// Redis with a reference on the message (a claim check); an input over <c>Jobs:MaxInputBytes</c>
/// refused with 413, never the 503 "retry shortly" it used to get. On the real SQS emulator and
/// Redis; no worker runs here, so the tests read the messages themselves.
/// </summary>
[TestFixture]
public sealed class ClaimCheckTests
{
    private const int MaxInputBytes = 200_000;

    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    private static readonly JsonSerializerOptions UnescapedJson = new(JsonSerializerDefaults.Web) { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private GatewayServer _gateway = null!;
    private AmazonSQSClient _sqs = null!;
    private string _queueName = null!;

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        _queueName = TestStack.UniqueName("claim");
        var configuration = TestStack.Configuration(_queueName);
        configuration["Jobs:MaxInputBytes"] = MaxInputBytes.ToString(System.Globalization.CultureInfo.InvariantCulture);
        configuration["ReverseProxy:Routes:embed:Match:Path"] = "/embed";
        configuration["ReverseProxy:Routes:embed:Match:Methods:0"] = "POST";
        configuration["ReverseProxy:Routes:embed:Metadata:Mode"] = "async";
        configuration["ReverseProxy:Routes:embed:Metadata:Model"] = "all-minilm-l6-v2";
        _gateway = await GatewayServer.StartAsync(configuration);
        _sqs = TestStack.CreateSqsClient();
    }

    [OneTimeTearDown]
    public async Task StopAsync()
    {
        _sqs.Dispose();
        await _gateway.DisposeAsync();
    }

    [Test]
    public async Task Submit_WithCharactersTheDefaultEncoderEscapes_SendsThemAsThemselves_InTheMessagesUsualShape_WithoutAReference()
    {
        const string Text = "<b>café & \"quotes\" 'x' + `y` 日本</b>";
        using var client = _gateway.CreateClient(await _gateway.CreateKeyAsync(TestStack.UniqueName("tenant")));

        var jobId = await AcceptedIdAsync(await client.PostAsJsonAsync("/v1/jobs", Job(Text)).WaitAsync(Timeout));

        var message = await ReceiveAsync(jobId);
        Assert.That(message.Body, Does.Contain("<b>café & \\\"quotes\\\" 'x' + `y` 日本</b>"), "only the quote is escaped, as JSON requires");
        var body = JsonNode.Parse(message.Body)!.AsObject();
        Assert.That(
            body.Select(p => p.Key),
            Is.EqualTo(new[] { "schemaVersion", "jobId", "tenant", "model", "input", "createdAt", "executionTimeoutMs", "expiresAt" }),
            "the same properties in the same order as before: no reference for a small input");
        Assert.That(body["schemaVersion"]!.GetValue<int>(), Is.EqualTo(JobMessage.CurrentSchemaVersion));
        Assert.That(message.MessageAttributes[JobMessageAttributes.SchemaVersion].StringValue, Is.EqualTo("1"));
        var asBefore = JsonSerializer.Serialize(JsonSerializer.Deserialize(message.Body, ContractsJsonContext.Default.JobMessage)!, ContractsJsonContext.Default.JobMessage);
        Assert.That(asBefore, Does.Contain("\\u003Cb\\u003E"), "the default encoder (what the message used to be written with) escapes these");
        Assert.That(JsonNode.DeepEquals(JsonNode.Parse(asBefore), body), Is.True, "the same JSON as before, escapes apart");
        Assert.That(await Redis().KeyExistsAsync(JobKeys.Input(jobId)), Is.False, "a small input is not stored apart");
    }

    [Test]
    public async Task Submit_WithAnInputOverTheClaimCheckThreshold_StoresTheInputInRedisForTheJobsRetention_AndTheMessageCarriesOnlyTheReference()
    {
        // 100 kB of '<': over the default 64 KiB threshold (it was a 600 kB message with 6-byte escapes).
        var texts = Enumerable.Range(0, 10).Select(i => new string('<', 9_999) + i).ToArray();
        using var client = _gateway.CreateClient(await _gateway.CreateKeyAsync(TestStack.UniqueName("tenant")));

        var jobId = await AcceptedIdAsync(await client.PostAsync("/v1/jobs", Unescaped(new { model = "all-minilm-l6-v2", input = new { texts } })).WaitAsync(Timeout));

        var message = await ReceiveAsync(jobId);
        Assert.That(Encoding.UTF8.GetByteCount(message.Body), Is.LessThan(1024), message.Body);
        var job = JsonSerializer.Deserialize(message.Body, ContractsJsonContext.Default.JobMessage)!;
        Assert.That(job.SchemaVersion, Is.EqualTo(JobMessage.ClaimCheckSchemaVersion));
        Assert.That(message.MessageAttributes[JobMessageAttributes.SchemaVersion].StringValue, Is.EqualTo("2"));
        Assert.That(job.InputRef, Is.EqualTo(JobKeys.Input(jobId)));
        Assert.That(job.Input, Is.EqualTo(new JobInput()), "the message carries no input of its own");

        var redis = Redis();
        var stored = JobMessageJson.DeserializeInput((byte[])(await redis.StringGetAsync(JobKeys.Input(jobId)))!);
        Assert.That(stored!.Texts, Is.EqualTo(texts));
        var ttl = await redis.KeyTimeToLiveAsync(JobKeys.Input(jobId));
        Assert.That(ttl, Is.GreaterThan(TimeSpan.FromHours(23)).And.LessThanOrEqualTo(TimeSpan.FromHours(24)), "kept as long as the job's record (Jobs:Retention)");
    }

    [TestCase("/v1/jobs", false, TestName = "Submit_WithAnInputOverMaxInputBytes_Is413ProblemNamingTheLimit_AndNothingIsQueuedOrHeld")]
    [TestCase("/v1/jobs", true, TestName = "Submit_WithAnInputOverMaxInputBytes_AndAnIdempotencyKey_Is413_AndTheKeyStaysFree")]
    [TestCase("/embed", false, TestName = "AsyncRoute_WithAnInputOverMaxInputBytes_Is413ProblemNamingTheLimit_AndNothingIsQueuedOrHeld")]
    public async Task Submit_WithAnInputOverMaxInputBytes_Is413(string path, bool withIdempotencyKey)
    {
        // 25 texts of 10 000 '<': 250 kB, under the 1 MiB body limit, over this gateway's 200 000 bytes.
        var texts = Enumerable.Range(0, 25).Select(_ => new string('<', 10_000)).ToArray();
        var tenant = TestStack.UniqueName("tenant");
        using var client = _gateway.CreateClient(await _gateway.CreateKeyAsync(tenant));
        var idempotencyKey = Guid.NewGuid().ToString("N");

        object body = path == "/embed" ? new { texts } : new { model = "all-minilm-l6-v2", input = new { texts } };
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = Unescaped(body) };
        if (withIdempotencyKey)
        {
            request.Headers.Add("Idempotency-Key", idempotencyKey);
        }

        using var response = await client.SendAsync(request).WaitAsync(Timeout);

        var problem = await response.Content.ReadAsStringAsync();
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.RequestEntityTooLarge), problem);
        Assert.That(response.Content.Headers.ContentType?.MediaType, Is.EqualTo("application/problem+json"));
        Assert.That(response.Headers.RetryAfter, Is.Null, "retrying will not help");
        var refusal = JsonDocument.Parse(problem).RootElement;
        Assert.That(refusal.GetProperty("status").GetInt32(), Is.EqualTo(413));
        Assert.That(refusal.GetProperty("detail").GetString(), Does.Contain("Jobs:MaxInputBytes").And.Contain("200000"));
        Assert.That(refusal.GetProperty("maxInputBytes").GetInt64(), Is.EqualTo(MaxInputBytes));
        Assert.That(refusal.GetProperty("inputBytes").GetInt64(), Is.GreaterThan(250_000));
        Assert.That(await TestStack.QueuedCountAsync(_queueName), Is.EqualTo(0), "nothing was queued");
        Assert.That(await _gateway.Services.GetRequiredService<ActiveJobs>().CountAsync(tenant), Is.EqualTo(0), "no active-jobs place is held");

        if (withIdempotencyKey)
        {
            using var retry = new HttpRequestMessage(HttpMethod.Post, "/v1/jobs") { Content = JsonContent.Create(Job("smaller")) };
            retry.Headers.Add("Idempotency-Key", idempotencyKey);
            var jobId = await AcceptedIdAsync(await client.SendAsync(retry).WaitAsync(Timeout));
            await ReceiveAsync(jobId);
        }
    }

    /// <summary>
    /// A JSON body with '&lt;' and the like as themselves, as a client in most languages writes them:
    /// HttpClient's JsonContent would send each as a 6-byte escape, and 250 kB of them would be over
    /// the 1 MiB body limit.
    /// </summary>
    internal static StringContent Unescaped(object body) =>
        new(JsonSerializer.Serialize(body, UnescapedJson), Encoding.UTF8, "application/json");

    private static object Job(string text) => new { model = "all-minilm-l6-v2", input = new { texts = new[] { text } } };

    private static StackExchange.Redis.IDatabase Redis() => TestStack.Multiplexer.GetDatabase();

    private static async Task<string> AcceptedIdAsync(HttpResponseMessage response)
    {
        using (response)
        {
            var body = await response.Content.ReadAsStringAsync();
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Accepted), body);
            return JsonDocument.Parse(body).RootElement.GetProperty("id").GetString()!;
        }
    }

    /// <summary>Takes the job's message off the queue (others' go back at once), as SQS delivered it.</summary>
    private async Task<Message> ReceiveAsync(string jobId)
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
                    return message;
                }

                await _sqs.ChangeMessageVisibilityAsync(url, message.ReceiptHandle, 0, cts.Token);
            }
        }
    }
}
