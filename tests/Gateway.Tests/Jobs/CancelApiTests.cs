using System.Net;
using System.Text.Json;
using InferenceGateway.Contracts;
using InferenceGateway.Core.Jobs;
using InferenceGateway.Gateway.Auth;
using InferenceGateway.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using StackExchange.Redis;

namespace InferenceGateway.Tests.Jobs;

/// <summary>
/// <c>DELETE /v1/jobs/{id}</c> against the real gateway, Redis and SQS emulator. No worker runs, so
/// a submitted job stays queued until the test moves it on through the job store.
/// </summary>
[TestFixture]
public sealed class CancelApiTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    private GatewayServer _gateway = null!;
    private RedisJobStore _store = null!;
    private ActiveJobs _activeJobs = null!;

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        _gateway = await GatewayServer.StartAsync(TestStack.Configuration(TestStack.UniqueName("cancel")));
        _store = _gateway.Services.GetRequiredService<RedisJobStore>();
        _activeJobs = _gateway.Services.GetRequiredService<ActiveJobs>();
    }

    [OneTimeTearDown]
    public async Task StopAsync()
    {
        await _gateway.DisposeAsync();
    }

    [Test]
    public async Task Cancel_AQueuedJob_Returns200Cancelled_EndsTheLogWithOneCancelledEvent_AndReleasesTheActivePlace()
    {
        var tenant = TestStack.UniqueName("tenant");
        var key = await _gateway.CreateKeyAsync(tenant);
        var jobId = await _gateway.SubmitJobAsync(key, "never runs");
        Assert.That(await _activeJobs.CountAsync(tenant), Is.EqualTo(1));
        using var client = _gateway.CreateClient(key);

        using var response = await client.DeleteAsync($"/v1/jobs/{jobId}").WaitAsync(Timeout);

        var body = await response.Content.ReadAsStringAsync();
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), body);
        var view = JsonDocument.Parse(body).RootElement;
        Assert.That(view.GetProperty("id").GetString(), Is.EqualTo(jobId));
        Assert.That(view.GetProperty("status").GetString(), Is.EqualTo("cancelled"));
        Assert.That(view.GetProperty("cancelRequested").GetBoolean(), Is.False);
        Assert.That(view.GetProperty("completedAt").ValueKind, Is.EqualTo(JsonValueKind.String));

        var events = await _store.ReadEventsAsync(jobId, 0, 100);
        Assert.That(events.Select(e => e.Type), Is.EqualTo(new[] { "queued", "cancelled" }));
        Assert.That(await _activeJobs.CountAsync(tenant), Is.EqualTo(0));

        using var get = await client.GetAsync($"/v1/jobs/{jobId}").WaitAsync(Timeout);
        Assert.That(JsonDocument.Parse(await get.Content.ReadAsStringAsync()).RootElement.GetProperty("status").GetString(), Is.EqualTo("cancelled"));
    }

    [Test]
    public async Task Cancel_ARunningJob_Returns202WithCancelRequested_FlagsTheRecord_AndTellsTheWorkers()
    {
        var tenant = TestStack.UniqueName("tenant");
        var key = await _gateway.CreateKeyAsync(tenant);
        var jobId = await _gateway.SubmitJobAsync(key, "running");
        await _store.AppendAsync(jobId, JobEventTypes.Started, null, [new(JobFields.Status, JobStatuses.Running)]);
        var told = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        var subscriber = TestStack.Multiplexer.GetSubscriber();
        var channel = RedisChannel.Literal(JobKeys.CancelChannel);
        Action<RedisChannel, RedisValue> handler = (_, message) =>
        {
            if (message == jobId)
            {
                told.TrySetResult(message.ToString());
            }
        };
        await subscriber.SubscribeAsync(channel, handler);
        try
        {
            using var client = _gateway.CreateClient(key);

            using var response = await client.DeleteAsync($"/v1/jobs/{jobId}").WaitAsync(Timeout);

            var body = await response.Content.ReadAsStringAsync();
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Accepted), body);
            Assert.That(response.Headers.Location?.OriginalString, Is.EqualTo($"/v1/jobs/{jobId}"));
            var view = JsonDocument.Parse(body).RootElement;
            Assert.That(view.GetProperty("status").GetString(), Is.EqualTo("running"));
            Assert.That(view.GetProperty("cancelRequested").GetBoolean(), Is.True);
            Assert.That(await told.Task.WaitAsync(Timeout), Is.EqualTo(jobId));
            Assert.That(await _store.IsCancelRequestedAsync(jobId), Is.True);

            // The worker records the end and gives the place back; until then the job holds it.
            Assert.That(await _activeJobs.CountAsync(tenant), Is.EqualTo(1));
            var events = await _store.ReadEventsAsync(jobId, 0, 100);
            Assert.That(events.Select(e => e.Type), Is.EqualTo(new[] { "queued", "started" }));

            using var get = await client.GetAsync($"/v1/jobs/{jobId}").WaitAsync(Timeout);
            Assert.That(JsonDocument.Parse(await get.Content.ReadAsStringAsync()).RootElement.GetProperty("cancelRequested").GetBoolean(), Is.True);
        }
        finally
        {
            await subscriber.UnsubscribeAsync(channel, handler);
        }
    }

    [Test]
    public async Task Cancel_ACompletedJob_Returns409NamingItsStatus()
    {
        var key = await _gateway.CreateKeyAsync(TestStack.UniqueName("tenant"));
        var jobId = await _gateway.SubmitJobAsync(key, "done");
        await _store.AppendAsync(jobId, JobEventTypes.Completed, null, [new(JobFields.Status, JobStatuses.Completed)]);
        using var client = _gateway.CreateClient(key);

        using var response = await client.DeleteAsync($"/v1/jobs/{jobId}").WaitAsync(Timeout);

        var body = await AssertProblemAsync(response, HttpStatusCode.Conflict);
        Assert.That(body.GetProperty("detail").GetString(), Does.Contain("'completed'"));
        Assert.That(body.GetProperty("jobStatus").GetString(), Is.EqualTo("completed"));
        Assert.That((await _store.ReadEventsAsync(jobId, 0, 100)).Select(e => e.Type), Is.EqualTo(new[] { "queued", "completed" }));
    }

    [Test]
    public async Task Cancel_TwiceOnAQueuedJob_SecondIs409Cancelled_AndTheLogHoldsOneCancelledEvent()
    {
        var key = await _gateway.CreateKeyAsync(TestStack.UniqueName("tenant"));
        var jobId = await _gateway.SubmitJobAsync(key, "twice");
        using var client = _gateway.CreateClient(key);

        using var first = await client.DeleteAsync($"/v1/jobs/{jobId}").WaitAsync(Timeout);
        using var second = await client.DeleteAsync($"/v1/jobs/{jobId}").WaitAsync(Timeout);

        Assert.That(first.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        var body = await AssertProblemAsync(second, HttpStatusCode.Conflict);
        Assert.That(body.GetProperty("jobStatus").GetString(), Is.EqualTo("cancelled"));
        var events = await _store.ReadEventsAsync(jobId, 0, 100);
        Assert.That(events.Count(e => e.Type == "cancelled"), Is.EqualTo(1));
    }

    [Test]
    public async Task Cancel_AnotherTenantsJob_Returns404_AndLeavesItQueued()
    {
        var ownerKey = await _gateway.CreateKeyAsync(TestStack.UniqueName("owner"));
        var otherKey = await _gateway.CreateKeyAsync(TestStack.UniqueName("other"));
        var jobId = await _gateway.SubmitJobAsync(ownerKey, "mine");
        using var other = _gateway.CreateClient(otherKey);

        using var response = await other.DeleteAsync($"/v1/jobs/{jobId}").WaitAsync(Timeout);

        await AssertProblemAsync(response, HttpStatusCode.NotFound);
        Assert.That((await _store.GetAsync(jobId))!.Status, Is.EqualTo(JobStatuses.Queued));
    }

    [TestCase("job_00000000000000000000000000000000", TestName = "Cancel_AnUnknownJobId_Returns404")]
    [TestCase("not-a-job-id", TestName = "Cancel_AMalformedJobId_Returns404")]
    public async Task Cancel_AnIdThatIsNoJob_Returns404(string id)
    {
        using var client = _gateway.CreateClient(await _gateway.CreateKeyAsync(TestStack.UniqueName("tenant")));

        using var response = await client.DeleteAsync($"/v1/jobs/{id}").WaitAsync(Timeout);

        await AssertProblemAsync(response, HttpStatusCode.NotFound);
    }

    [Test]
    public async Task Cancel_WithAReadOnlyKey_Returns403_AndLeavesTheJobQueued()
    {
        var tenant = TestStack.UniqueName("tenant");
        var jobId = await _gateway.SubmitJobAsync(await _gateway.CreateKeyAsync(tenant), "stays");
        using var reader = _gateway.CreateClient(await _gateway.CreateKeyAsync(tenant, Scopes.JobsRead));

        using var response = await reader.DeleteAsync($"/v1/jobs/{jobId}").WaitAsync(Timeout);

        await AssertProblemAsync(response, HttpStatusCode.Forbidden);
        Assert.That((await _store.GetAsync(jobId))!.Status, Is.EqualTo(JobStatuses.Queued));
    }

    private static async Task<JsonElement> AssertProblemAsync(HttpResponseMessage response, HttpStatusCode expected)
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.That(response.StatusCode, Is.EqualTo(expected), body);
        Assert.That(response.Content.Headers.ContentType?.MediaType, Is.EqualTo("application/problem+json"), body);
        return JsonDocument.Parse(body).RootElement;
    }
}
