using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Amazon.SQS.Model;
using InferenceGateway.Contracts;
using InferenceGateway.Tests.Infrastructure;

namespace InferenceGateway.Tests.Jobs;

/// <summary>
/// Bad submissions against the real gateway, Redis and SQS emulator: each is a 4xx problem+json
/// and nothing reaches the queue (no worker runs here, so whatever was sent would still be there).
/// </summary>
[TestFixture]
public sealed class SubmitValidationTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    private GatewayServer _gateway = null!;
    private string _queueName = null!;
    private string _key = null!;

    public static IEnumerable<TestCaseData> BadBodies()
    {
        yield return new TestCaseData("{\"model\": \"all-minilm-l6-v2\", \"input\": {\"texts\": [\"a\"", 400).SetName("Submit_TruncatedJson_Returns400");
        yield return new TestCaseData("not json at all", 400).SetName("Submit_NotJson_Returns400");
        yield return new TestCaseData("[1, 2, 3]", 400).SetName("Submit_JsonArrayBody_Returns400");
        yield return new TestCaseData("null", 400).SetName("Submit_JsonNull_Returns400");
        yield return new TestCaseData("{\"model\": 42, \"input\": {\"texts\": [\"a\"]}}", 400).SetName("Submit_ModelOfWrongType_Returns400");
        yield return new TestCaseData("{\"model\": \"gpt-17\", \"input\": {\"texts\": [\"a\"]}}", 400).SetName("Submit_UnknownModel_Returns400");
        yield return new TestCaseData("{\"input\": {\"texts\": [\"a\"]}}", 400).SetName("Submit_MissingModel_Returns400");
        yield return new TestCaseData("{\"model\": \"all-minilm-l6-v2\", \"input\": {\"texts\": []}}", 400).SetName("Submit_EmptyTexts_Returns400");
        yield return new TestCaseData("{\"model\": \"all-minilm-l6-v2\", \"input\": {}}", 400).SetName("Submit_MissingTexts_Returns400");
        yield return new TestCaseData("{\"model\": \"all-minilm-l6-v2\"}", 400).SetName("Submit_MissingInput_Returns400");
        yield return new TestCaseData("{\"model\": \"all-minilm-l6-v2\", \"input\": {\"texts\": [\"ok\", \"\"]}}", 400).SetName("Submit_AnEmptyText_Returns400");
        yield return new TestCaseData("{\"model\": \"all-minilm-l6-v2\", \"input\": {\"texts\": [\"ok\", null]}}", 400).SetName("Submit_ANullText_Returns400");
        yield return new TestCaseData("{\"model\": \"all-minilm-l6-v2\", \"input\": {\"texts\": \"not an array\"}}", 400).SetName("Submit_TextsNotAnArray_Returns400");
        yield return new TestCaseData("{\"model\": \"all-minilm-l6-v2\", \"input\": {\"texts\": [" + string.Join(",", Enumerable.Repeat("\"x\"", 257)) + "]}}", 400).SetName("Submit_TooManyTexts_Returns400");
        yield return new TestCaseData("{\"model\": \"all-minilm-l6-v2\", \"input\": {\"texts\": [\"" + new string('x', 10_001) + "\"]}}", 400).SetName("Submit_ATextOverTheLengthLimit_Returns400");
        yield return new TestCaseData("{\"model\": \"all-minilm-l6-v2\", \"input\": {\"texts\": [\"" + new string('x', 1_100_000) + "\"]}}", 413).SetName("Submit_BodyOverOneMebibyte_Returns413");
        yield return new TestCaseData(new string('[', 1000) + new string(']', 1000), 400).SetName("Submit_DeeplyNestedJson_Returns400");
    }

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        _queueName = TestStack.UniqueName("bad-input");
        _gateway = await GatewayServer.StartAsync(TestStack.Configuration(_queueName));
        _key = await _gateway.CreateKeyAsync(TestStack.UniqueName("tenant"));
    }

    [OneTimeTearDown]
    public async Task StopAsync()
    {
        await _gateway.DisposeAsync();
    }

    [TestCaseSource(nameof(BadBodies))]
    public async Task BadBody(string body, int expectedStatus)
    {
        using var client = _gateway.CreateClient(_key);
        using var content = new StringContent(body, Encoding.UTF8, "application/json");

        using var response = await client.PostAsync("/v1/jobs", content).WaitAsync(Timeout);

        await AssertProblemAsync(response, expectedStatus);
        await AssertNothingEnqueuedAsync();
    }

    [Test]
    public async Task Submit_WithWrongContentType_Returns415()
    {
        using var client = _gateway.CreateClient(_key);
        using var content = new StringContent("{\"model\": \"all-minilm-l6-v2\", \"input\": {\"texts\": [\"a\"]}}", Encoding.UTF8, "text/plain");

        using var response = await client.PostAsync("/v1/jobs", content).WaitAsync(Timeout);

        await AssertProblemAsync(response, 415);
        await AssertNothingEnqueuedAsync();
    }

    [Test]
    public async Task Submit_WithAnUnknownCharset_Returns415()
    {
        using var client = _gateway.CreateClient(_key);
        using var content = new StringContent("{\"model\": \"all-minilm-l6-v2\", \"input\": {\"texts\": [\"a\"]}}", Encoding.UTF8);
        content.Headers.ContentType = MediaTypeHeaderValue.Parse("application/json; charset=no-such-charset");

        using var response = await client.PostAsync("/v1/jobs", content).WaitAsync(Timeout);

        await AssertProblemAsync(response, 415);
        await AssertNothingEnqueuedAsync();
    }

    [TestCase(null, TestName = "Submit_WithoutAKey_Returns401")]
    [TestCase("igw_this-key-was-never-issued-0000000000000", TestName = "Submit_WithAnUnknownKey_Returns401")]
    [TestCase("definitely not a key", TestName = "Submit_WithAMalformedKey_Returns401")]
    public async Task Submit_WithoutAValidKey_Returns401(string? key)
    {
        using var client = _gateway.CreateClient(key);

        using var response = await client.PostAsync("/v1/jobs", ValidJob()).WaitAsync(Timeout);

        await AssertProblemAsync(response, 401);
        Assert.That(response.Headers.WwwAuthenticate.ToString(), Does.StartWith("Bearer"));
        await AssertNothingEnqueuedAsync();
    }

    [Test]
    public async Task Submit_WithBasicAuthInsteadOfBearer_Returns401()
    {
        using var client = _gateway.CreateClient();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes("a:b")));

        using var response = await client.PostAsync("/v1/jobs", ValidJob()).WaitAsync(Timeout);

        await AssertProblemAsync(response, 401);
        await AssertNothingEnqueuedAsync();
    }

    [Test]
    public async Task Submit_WithAReadOnlyKey_Returns403()
    {
        var readOnly = await _gateway.CreateKeyAsync(TestStack.UniqueName("reader"), "jobs:read");
        using var client = _gateway.CreateClient(readOnly);

        using var response = await client.PostAsync("/v1/jobs", ValidJob()).WaitAsync(Timeout);

        await AssertProblemAsync(response, 403);
        await AssertNothingEnqueuedAsync();
    }

    [TestCase("/v1/jobs/..%2F..%2Fetc%2Fpasswd", TestName = "Get_PathTraversalId_Returns404")]
    [TestCase("/v1/jobs/job_%7B0%7D", TestName = "Get_IdWithHashTagBraces_Returns404")]
    [TestCase("/v1/jobs/*", TestName = "Get_WildcardId_Returns404")]
    [TestCase("/v1/nothing-here", TestName = "Get_UnknownRoute_Returns404")]
    public async Task Get_NoSuchResource_Returns404Problem(string path)
    {
        using var client = _gateway.CreateClient(_key);

        using var response = await client.GetAsync(path).WaitAsync(Timeout);

        await AssertProblemAsync(response, 404);
    }

    [Test]
    public async Task Submit_AValidJob_IsEnqueued_SoTheEmptyQueueChecksAboveMeanSomething()
    {
        // The gateway under test and the queue the checks above watch: a control on another
        // gateway's queue would pass even if these checks watched a queue nobody sends to.
        using var client = _gateway.CreateClient(_key);

        using var response = await client.PostAsync("/v1/jobs", ValidJob()).WaitAsync(Timeout);

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Accepted));
        var jobId = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("id").GetString();
        Assert.That(await QueuedCountAsync(_queueName), Is.EqualTo(1));

        // Take the message off again, so the queue is empty for the checks that run after this one.
        using var sqs = TestStack.CreateSqsClient();
        var url = (await sqs.GetQueueUrlAsync(_queueName).WaitAsync(Timeout)).QueueUrl;
        var received = await sqs.ReceiveMessageAsync(new ReceiveMessageRequest { QueueUrl = url, WaitTimeSeconds = 5, MessageAttributeNames = ["All"] }).WaitAsync(Timeout);
        Assert.That(received.Messages, Has.Count.EqualTo(1));
        Assert.That(received.Messages[0].MessageAttributes[JobMessageAttributes.JobId].StringValue, Is.EqualTo(jobId), "the message is the job just submitted");
        await sqs.DeleteMessageAsync(url, received.Messages[0].ReceiptHandle).WaitAsync(Timeout);
        Assert.That(await QueuedCountAsync(_queueName), Is.Zero);
    }

    private static StringContent ValidJob() =>
        new("{\"model\": \"all-minilm-l6-v2\", \"input\": {\"texts\": [\"hello\"]}}", Encoding.UTF8, "application/json");

    private static async Task AssertProblemAsync(HttpResponseMessage response, int expectedStatus)
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.That((int)response.StatusCode, Is.EqualTo(expectedStatus), body);
        Assert.That(response.Content.Headers.ContentType?.MediaType, Is.EqualTo("application/problem+json"), body);
        var problem = JsonDocument.Parse(body).RootElement;
        Assert.That(problem.GetProperty("status").GetInt32(), Is.EqualTo(expectedStatus));
        Assert.That(problem.GetProperty("title").GetString(), Is.Not.Empty);
    }

    private async Task AssertNothingEnqueuedAsync() =>
        Assert.That(await QueuedCountAsync(_queueName), Is.Zero, "a rejected request must not reach the queue");

    private static Task<int> QueuedCountAsync(string queueName) => TestStack.QueuedCountAsync(queueName);
}
