using System.Net;
using System.Text;
using System.Text.Json;
using InferenceGateway.Tests.Infrastructure;

namespace InferenceGateway.Tests.Jobs;

/// <summary><c>Idempotency-Key</c> on two gateway instances over one Redis, with no worker: whatever was enqueued is still on the queue to count.</summary>
[TestFixture]
public sealed class IdempotencyTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    private GatewayServer _a = null!;
    private GatewayServer _b = null!;
    private string _queue = null!;

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        _queue = TestStack.UniqueName("idem");
        var configuration = TestStack.Configuration(_queue);
        _a = await GatewayServer.StartAsync(configuration);
        _b = await GatewayServer.StartAsync(configuration);
    }

    [OneTimeTearDown]
    public async Task StopAsync()
    {
        await _b.DisposeAsync();
        await _a.DisposeAsync();
    }

    [Test]
    public async Task SameKeyTwice_ReturnsTheSameJob_AndEnqueuesOnce()
    {
        using var client = _a.CreateClient(await _a.CreateKeyAsync(TestStack.UniqueName("tenant")));
        var before = await QueuedAsync();
        var idempotencyKey = Guid.NewGuid().ToString();

        using var first = await SubmitAsync(client, idempotencyKey, "once");
        using var second = await SubmitAsync(client, idempotencyKey, "once");

        Assert.That(first.StatusCode, Is.EqualTo(HttpStatusCode.Accepted));
        Assert.That(second.StatusCode, Is.EqualTo(HttpStatusCode.Accepted));
        Assert.That(await IdOf(second), Is.EqualTo(await IdOf(first)));
        Assert.That(first.Headers.Contains("Idempotent-Replayed"), Is.False);
        Assert.That(second.Headers.GetValues("Idempotent-Replayed").Single(), Is.EqualTo("true"));
        Assert.That(await QueuedAsync() - before, Is.EqualTo(1));
    }

    [Test]
    public async Task TwentyRacingRequests_OverTwoInstances_MakeOneJob()
    {
        var tenant = TestStack.UniqueName("tenant");
        using var onA = _a.CreateClient(await _a.CreateKeyAsync(tenant));
        using var onB = _b.CreateClient(await _b.CreateKeyAsync(tenant));
        var before = await QueuedAsync();
        var idempotencyKey = Guid.NewGuid().ToString();

        var responses = await Task.WhenAll(Enumerable.Range(0, 20).Select(i => SubmitAsync(i % 2 == 0 ? onA : onB, idempotencyKey, "race")));
        try
        {
            Assert.That(responses.Select(r => r.StatusCode), Is.All.EqualTo(HttpStatusCode.Accepted));
            var ids = await Task.WhenAll(responses.Select(IdOf));
            Assert.That(ids.Distinct().Count(), Is.EqualTo(1));
            Assert.That(responses.Count(r => !r.Headers.Contains("Idempotent-Replayed")), Is.EqualTo(1), "exactly one request created the job");
            Assert.That(await QueuedAsync() - before, Is.EqualTo(1));
        }
        finally
        {
            foreach (var response in responses)
            {
                response.Dispose();
            }
        }
    }

    [Test]
    public async Task SameKey_WithADifferentRequest_Is422_AndEnqueuesNothing()
    {
        using var client = _a.CreateClient(await _a.CreateKeyAsync(TestStack.UniqueName("tenant")));
        var idempotencyKey = Guid.NewGuid().ToString();
        using var first = await SubmitAsync(client, idempotencyKey, "original");
        var before = await QueuedAsync();

        using var changed = await SubmitAsync(client, idempotencyKey, "changed");

        Assert.That(changed.StatusCode, Is.EqualTo((HttpStatusCode)422));
        Assert.That(changed.Content.Headers.ContentType?.MediaType, Is.EqualTo("application/problem+json"));
        Assert.That(await QueuedAsync(), Is.EqualTo(before));
    }

    [Test]
    public async Task SameKey_FromAnotherTenant_IsAnotherJob()
    {
        using var one = _a.CreateClient(await _a.CreateKeyAsync(TestStack.UniqueName("one")));
        using var two = _a.CreateClient(await _a.CreateKeyAsync(TestStack.UniqueName("two")));
        var idempotencyKey = Guid.NewGuid().ToString();

        using var first = await SubmitAsync(one, idempotencyKey, "shared key");
        using var second = await SubmitAsync(two, idempotencyKey, "shared key");

        Assert.That(await IdOf(second), Is.Not.EqualTo(await IdOf(first)));
    }

    [Test]
    public async Task AClaimAbandonedByADeadGateway_IsTakenOver_NotStuckFor24Hours()
    {
        var tenant = TestStack.UniqueName("tenant");
        using var client = _a.CreateClient(await _a.CreateKeyAsync(tenant));
        var idempotencyKey = Guid.NewGuid().ToString();
        var fingerprint = InferenceGateway.Gateway.Jobs.JobSubmitter.Fingerprint(
            new InferenceGateway.Gateway.Jobs.JobSubmission(tenant, "all-minilm-l6-v2", new InferenceGateway.Contracts.JobInput { Texts = ["abandoned"] }, idempotencyKey, 0));
        // What a gateway leaves behind when it dies between claiming the key and writing the job,
        // 11 s ago (its age is read from the key's TTL on Redis' clock).
        await TestStack.Multiplexer.GetDatabase().StringSetAsync(
            $"idem:{{{tenant}}}:{InferenceGateway.Gateway.Jobs.JobSubmitter.Hash(idempotencyKey)}",
            $"job_{Guid.NewGuid():N}|{fingerprint}",
            TimeSpan.FromHours(24) - InferenceGateway.Gateway.Jobs.JobSubmitter.AbandonedClaimAge - TimeSpan.FromSeconds(1));
        var before = await QueuedAsync();

        using var retry = await SubmitAsync(client, idempotencyKey, "abandoned");
        using var again = await SubmitAsync(client, idempotencyKey, "abandoned");

        Assert.That(retry.StatusCode, Is.EqualTo(HttpStatusCode.Accepted), await retry.Content.ReadAsStringAsync());
        Assert.That(retry.Headers.Contains("Idempotent-Replayed"), Is.False, "a new job, not the phantom");
        Assert.That(await IdOf(again), Is.EqualTo(await IdOf(retry)), "and the key now names the new job");
        Assert.That(await QueuedAsync() - before, Is.EqualTo(1));
    }

    [Test]
    public async Task AFreshClaimWithoutAJobYet_Is409WithRetryAfter_NotAFinal422()
    {
        var tenant = TestStack.UniqueName("tenant");
        using var client = _a.CreateClient(await _a.CreateKeyAsync(tenant));
        var idempotencyKey = Guid.NewGuid().ToString();
        var fingerprint = InferenceGateway.Gateway.Jobs.JobSubmitter.Fingerprint(
            new InferenceGateway.Gateway.Jobs.JobSubmission(tenant, "all-minilm-l6-v2", new InferenceGateway.Contracts.JobInput { Texts = ["in flight"] }, idempotencyKey, 0));
        await TestStack.Multiplexer.GetDatabase().StringSetAsync(
            $"idem:{{{tenant}}}:{InferenceGateway.Gateway.Jobs.JobSubmitter.Hash(idempotencyKey)}",
            $"job_{Guid.NewGuid():N}|{fingerprint}",
            TimeSpan.FromHours(24));
        var before = await QueuedAsync();

        using var response = await SubmitAsync(client, idempotencyKey, "in flight");

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Conflict), await response.Content.ReadAsStringAsync());
        Assert.That(response.Headers.RetryAfter, Is.Not.Null);
        Assert.That(await QueuedAsync(), Is.EqualTo(before));
    }

    [TestCase("", TestName = "IdempotencyKey_Empty_IsIgnored")]
    [TestCase(null, TestName = "IdempotencyKey_Absent_EachSubmitIsANewJob")]
    public async Task EmptyIdempotencyKey_IsLikeNone(string? idempotencyKey)
    {
        using var client = _a.CreateClient(await _a.CreateKeyAsync(TestStack.UniqueName("tenant")));

        using var first = await SubmitAsync(client, idempotencyKey, "no key");
        using var second = await SubmitAsync(client, idempotencyKey, "no key");

        Assert.That(await IdOf(second), Is.Not.EqualTo(await IdOf(first)));
    }

    [Test]
    public async Task IdempotencyKey_OverTheLengthLimit_Is400()
    {
        using var client = _a.CreateClient(await _a.CreateKeyAsync(TestStack.UniqueName("tenant")));

        using var response = await SubmitAsync(client, new string('k', 256), "long key");

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
        Assert.That(response.Content.Headers.ContentType?.MediaType, Is.EqualTo("application/problem+json"));
    }

    /// <summary>Submits with <paramref name="idempotencyKey"/> as the header's value, sent even when empty; null sends no header.</summary>
    private static Task<HttpResponseMessage> SubmitAsync(HttpClient client, string? idempotencyKey, string text)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/v1/jobs")
        {
            Content = new StringContent($"{{\"model\":\"all-minilm-l6-v2\",\"input\":{{\"texts\":[\"{text}\"]}}}}", Encoding.UTF8, "application/json"),
        };
        if (idempotencyKey is not null && !request.Headers.TryAddWithoutValidation("Idempotency-Key", idempotencyKey))
        {
            throw new InvalidOperationException("The Idempotency-Key header was not added.");
        }

        return client.SendAsync(request).WaitAsync(Timeout);
    }

    private static async Task<string> IdOf(HttpResponseMessage response) =>
        JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("id").GetString()!;

    private Task<int> QueuedAsync() => TestStack.QueuedCountAsync(_queue);
}
