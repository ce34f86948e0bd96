using System.Net;
using System.Net.Sockets;
using InferenceGateway.Contracts;
using InferenceGateway.Core.Jobs;
using InferenceGateway.Gateway.Webhooks;
using InferenceGateway.Tests.Infrastructure;

namespace InferenceGateway.Tests.Webhooks;

/// <summary>
/// One job whose receiver is down does not hold up the others: the dispatcher holds at most
/// <see cref="WebhookDispatcher.MaxHeldPerJob"/> of a job's entries, gives its concurrency slot back
/// between attempts, and once an event of a job has failed every attempt, fails that job's later
/// events to the same URL without sending them. Each test writes its outbox before the gateway
/// starts, so what the dispatcher reads first is fixed.
/// </summary>
[TestFixture]
public sealed class WebhookFairnessTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    [Test]
    public async Task AJobWithManyEventsForADeadReceiver_DoesNotHoldUpAnotherJobsDelivery()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        var outbox = "webhooks:outbox:" + Guid.NewGuid().ToString("N");
        var configuration = WebhookDeliveryTests.Configuration("webhooks-fair", outbox);
        configuration["Webhooks:AllowedNetworks:0"] = "127.0.0.1/32";
        configuration["Webhooks:MaxConcurrency"] = "1"; // one attempt at a time, four entries held at most
        configuration["Webhooks:MaxAttempts"] = "50";
        configuration["Webhooks:MaxDelay"] = "00:00:01"; // the dead job's first event retries for about 40 s
        var store = Store();
        var tenant = TestStack.UniqueName("tenant");

        // Ten events of a job whose receiver is down, then one of a job whose receiver is up.
        var dead = "job_" + Guid.NewGuid().ToString("N");
        await store.CreateAsync(dead, tenant, "all-minilm-l6-v2", DateTimeOffset.UtcNow, new JobWebhook(DeadUrl(), [JobWebhook.All], outbox));
        for (var i = 0; i < 9; i++)
        {
            await store.AppendAsync(dead, JobEventTypes.Progress, $$"""{"done":{{i}},"total":9}""", []);
        }

        var path = $"/hooks/{Guid.NewGuid():N}";
        var live = "job_" + Guid.NewGuid().ToString("N");
        await store.CreateAsync(live, tenant, "all-minilm-l6-v2", DateTimeOffset.UtcNow, new JobWebhook(receiver.Url(path), [JobEventTypes.Queued], outbox));

        await using var gateway = await GatewayServer.StartAsync(configuration);
        var key = await gateway.CreateKeyAsync(tenant);

        await Eventually.HoldsAsync(() => receiver.At(path).Count >= 1, Timeout, "the live job's webhook arrives");
        var deadLog = await WebhookDeliveryTests.WaitForLogAsync(gateway, key, dead, d => d.Count > 0);

        Assert.That(receiver.At(path).Single().Header("webhook-id"), Is.EqualTo($"msg_{live}_1"));
        Assert.That(deadLog.Select(d => d.Seq).Distinct(), Is.EqualTo(new long[] { 1 }), "the dead job is still on its first event");
        Assert.That(deadLog.Select(d => d.Outcome), Is.All.EqualTo("retrying"), "and has not given up on it");
        await TestStack.Multiplexer.GetDatabase().KeyDeleteAsync(outbox);
    }

    [Test]
    public async Task OnceAnEventHasFailedEveryAttempt_TheJobsLaterEventsToThatUrl_AreLoggedFailedWithoutBeingSent()
    {
        var outbox = "webhooks:outbox:" + Guid.NewGuid().ToString("N");
        var configuration = WebhookDeliveryTests.Configuration("webhooks-failfast", outbox);
        configuration["Webhooks:AllowedNetworks:0"] = "127.0.0.1/32";
        configuration["Webhooks:MaxAttempts"] = "2";
        var store = Store();
        var tenant = TestStack.UniqueName("tenant");
        var jobId = "job_" + Guid.NewGuid().ToString("N");
        await store.CreateAsync(jobId, tenant, "all-minilm-l6-v2", DateTimeOffset.UtcNow, new JobWebhook(DeadUrl(), [JobWebhook.All], outbox));
        await store.AppendAsync(jobId, JobEventTypes.Started, null, [new(JobFields.Status, JobStatuses.Running)]);
        await store.AppendAsync(jobId, JobEventTypes.Progress, """{"done":1,"total":2}""", []);
        await store.AppendAsync(jobId, JobEventTypes.Completed, """{"result":{"dimensions":3}}""", [new(JobFields.Status, JobStatuses.Completed), new(JobFields.Result, """{"dimensions":3}""")]);

        await using var gateway = await GatewayServer.StartAsync(configuration);
        var key = await gateway.CreateKeyAsync(tenant);
        var deliveries = await WebhookDeliveryTests.WaitForLogAsync(gateway, key, jobId, d => d.Count >= 5);
        var db = TestStack.Multiplexer.GetDatabase();
        await Eventually.HoldsAsync(async () => await db.StreamLengthAsync(outbox) == 0, Timeout, "every entry is acknowledged and deleted");

        Assert.That(deliveries.Select(d => (d.Seq, d.Attempt, d.Outcome)), Is.EqualTo(new[] { (1L, 1, "retrying"), (1L, 2, "failed"), (2L, 0, "failed"), (3L, 0, "failed"), (4L, 0, "failed") }));
        Assert.That(deliveries.Skip(2).Select(d => d.Error), Is.All.Contain("the receiver failed an earlier delivery of this job (seq 1)"));
        Assert.That(deliveries.Skip(2).Select(d => d.StatusCode), Is.All.Null);
        await db.KeyDeleteAsync(outbox);
    }

    private static RedisJobStore Store() =>
        new(TestStack.Multiplexer, Microsoft.Extensions.Options.Options.Create(new JobStoreOptions()), TimeProvider.System);

    /// <summary>A loopback URL where nothing listens: every attempt is refused at once.</summary>
    private static string DeadUrl()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return $"http://127.0.0.1:{port}/down";
    }
}
