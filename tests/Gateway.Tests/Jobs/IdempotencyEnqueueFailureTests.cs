using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using InferenceGateway.Core.Jobs;
using InferenceGateway.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace InferenceGateway.Tests.Jobs;

/// <summary>
/// docs/api.md, "Idempotency-Key": if the enqueue fails, the key is released so a retry can
/// succeed. Two gateway instances on one Redis: one whose SQS is unreachable, one whose SQS works.
/// </summary>
[TestFixture]
public sealed class IdempotencyEnqueueFailureTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    [Test]
    public async Task EnqueueThatFails_ReleasesTheIdempotencyKey_SoTheRetryMakesAndEnqueuesANewJob()
    {
        // Its queue URL is known up front, so the claim and the record are written before the send fails.
        var deadPort = ExternalProcess.FreePort();
        var broken = TestStack.Configuration(TestStack.UniqueName("idem-broken"));
        broken["Sqs:ServiceUrl"] = $"http://127.0.0.1:{deadPort}";
        broken["Sqs:QueueUrl"] = $"http://127.0.0.1:{deadPort}/000000000000/nowhere";
        broken["Sqs:DeadLetterQueueUrl"] = $"http://127.0.0.1:{deadPort}/000000000000/nowhere-dlq";
        broken["Sqs:CreateQueues"] = "false";
        broken["Sqs:RequestTimeout"] = "00:00:02";
        var queueName = TestStack.UniqueName("idem-works");
        await using var failing = await GatewayServer.StartAsync(broken);
        await using var working = await GatewayServer.StartAsync(TestStack.Configuration(queueName));
        var tenant = TestStack.UniqueName("tenant");
        var key = await working.CreateKeyAsync(tenant);
        var idempotencyKey = Guid.NewGuid().ToString();

        using var first = await SubmitAsync(failing.CreateClient(key), idempotencyKey);
        using var retry = await SubmitAsync(working.CreateClient(key), idempotencyKey);

        Assert.That(first.StatusCode, Is.EqualTo(HttpStatusCode.ServiceUnavailable), await first.Content.ReadAsStringAsync());
        Assert.That(retry.StatusCode, Is.EqualTo(HttpStatusCode.Accepted), await retry.Content.ReadAsStringAsync());
        Assert.That(retry.Headers.Contains("Idempotent-Replayed"), Is.False, "the retry was not answered with the job whose enqueue failed");
        var jobId = JsonDocument.Parse(await retry.Content.ReadAsStringAsync()).RootElement.GetProperty("id").GetString()!;
        var job = await working.Services.GetRequiredService<RedisJobStore>().GetAsync(jobId);
        Assert.That(job!.Status, Is.EqualTo("queued"));
        Assert.That(await TestStack.QueuedCountAsync(queueName), Is.EqualTo(1), "the retry's job is on the queue");
    }

    private static async Task<HttpResponseMessage> SubmitAsync(HttpClient client, string idempotencyKey)
    {
        using (client)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/jobs")
            {
                Content = JsonContent.Create(new { model = "all-minilm-l6-v2", input = new { texts = new[] { "retry me" } } }),
            };
            request.Headers.Add("Idempotency-Key", idempotencyKey);
            return await client.SendAsync(request).WaitAsync(Timeout);
        }
    }
}
