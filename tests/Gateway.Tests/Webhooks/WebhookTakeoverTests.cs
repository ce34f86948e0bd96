using InferenceGateway.Contracts;
using InferenceGateway.Core.Jobs;
using InferenceGateway.Gateway.Webhooks;
using InferenceGateway.Tests.Infrastructure;
using StackExchange.Redis;

namespace InferenceGateway.Tests.Webhooks;

/// <summary>
/// Nothing is lost when a gateway dies mid-delivery: an outbox entry read by a consumer that never
/// acknowledges it (a gateway that crashed) is taken over by a live dispatcher after
/// <c>Webhooks:ClaimAfter</c>, delivered with the same <c>webhook-id</c>, then acknowledged and deleted.
/// </summary>
[TestFixture]
public sealed class WebhookTakeoverTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    [Test]
    public async Task AnEntryLeftPendingByADeadConsumer_IsDeliveredAfterClaimAfter_AndRemovedFromTheOutbox()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        var outbox = "webhooks:outbox:" + Guid.NewGuid().ToString("N");
        var db = TestStack.Multiplexer.GetDatabase();
        await db.StreamCreateConsumerGroupAsync(outbox, WebhookDispatcher.Group, "0-0", createStream: true);

        // A job whose completed event is on the outbox, taken by a gateway that then died.
        var configuration = WebhookDeliveryTests.Configuration("webhooks-takeover", outbox);
        configuration["Webhooks:AllowedNetworks:0"] = "127.0.0.1/32";
        configuration["Webhooks:ClaimAfter"] = "00:00:00.500";
        configuration["Webhooks:AttemptTimeout"] = "00:00:00.400";
        var path = $"/hooks/{Guid.NewGuid():N}";
        var jobId = "job_" + Guid.NewGuid().ToString("N");
        var tenant = TestStack.UniqueName("tenant");
        var store = new RedisJobStore(TestStack.Multiplexer, Microsoft.Extensions.Options.Options.Create(new JobStoreOptions()), TimeProvider.System);
        await store.CreateAsync(jobId, tenant, "all-minilm-l6-v2", DateTimeOffset.UtcNow, new JobWebhook(receiver.Url(path), ["completed"], outbox));
        await store.AppendAsync(jobId, JobEventTypes.Completed, """{"result":{"dimensions":3}}""", [new(JobFields.Status, JobStatuses.Completed), new(JobFields.Result, """{"dimensions":3}""")]);
        var taken = await db.StreamReadGroupAsync(outbox, WebhookDispatcher.Group, "crashed-gateway", StreamPosition.NewMessages, 10);
        Assert.That(taken, Has.Length.EqualTo(1));
        Assert.That((await db.StreamPendingAsync(outbox, WebhookDispatcher.Group)).PendingMessageCount, Is.EqualTo(1));

        await using var gateway = await GatewayServer.StartAsync(configuration);
        var key = await gateway.CreateKeyAsync(tenant);

        await Eventually.HoldsAsync(() => receiver.At(path).Count >= 1, Timeout, "the taken-over delivery arrives");
        var deliveries = await WebhookDeliveryTests.WaitForLogAsync(gateway, key, jobId, d => d.Any(e => e.Outcome == "delivered"));
        await Eventually.HoldsAsync(async () => await db.StreamLengthAsync(outbox) == 0, Timeout, "the entry is acknowledged and deleted");

        Assert.That(receiver.At(path).Single().Header("webhook-id"), Is.EqualTo($"msg_{jobId}_2"));
        Assert.That(deliveries.Select(d => d.Outcome), Is.EqualTo(new[] { "delivered" }));
        Assert.That((await db.StreamPendingAsync(outbox, WebhookDispatcher.Group)).PendingMessageCount, Is.Zero);
        await db.KeyDeleteAsync(outbox);
    }

    [Test]
    public async Task ADeliveryRetryingLongerThanClaimAfter_IsNotTakenOverByAnotherLiveInstance()
    {
        // Two gateways share an outbox; ClaimAfter is 5 s, and the receiver answers 503 with
        // Retry-After: 10, so one delivery's two attempts are about 10 s apart, twice ClaimAfter. The
        // instance holding it re-claims it every 1.25 s (a stall of a few seconds is tolerated), so
        // the other never starts a second delivery of the same event.
        await using var receiver = await WebhookReceiver.StartAsync();
        var outbox = "webhooks:outbox:" + Guid.NewGuid().ToString("N");
        var configuration = WebhookDeliveryTests.Configuration("webhooks-keep", outbox);
        configuration["Webhooks:AllowedNetworks:0"] = "127.0.0.1/32";
        configuration["Webhooks:ClaimAfter"] = "00:00:05";
        configuration["Webhooks:MaxAttempts"] = "2";
        configuration["Webhooks:MaxRetryAfter"] = "00:00:15";
        await using var first = await GatewayServer.StartAsync(configuration);
        await using var second = await GatewayServer.StartAsync(configuration);
        var (key, _) = await WebhookDeliveryTests.TenantAsync(first);
        var path = $"/busy-long/{Guid.NewGuid():N}";
        var jobId = await WebhookDeliveryTests.SubmitAsync(first, key, new { url = receiver.Url(path), events = new[] { "queued" } });

        var deliveries = await WebhookDeliveryTests.WaitForLogAsync(first, key, jobId, d => d.Any(e => e.Outcome == "failed"));
        var db = TestStack.Multiplexer.GetDatabase();
        await Eventually.HoldsAsync(async () => await db.StreamLengthAsync(outbox) == 0, Timeout, "the entry is acknowledged and deleted");

        Assert.That(deliveries.Select(d => d.Attempt), Is.EqualTo(new[] { 1, 2 }));
        Assert.That(deliveries.Select(d => d.Outcome), Is.EqualTo(new[] { "retrying", "failed" }));
        Assert.That(receiver.At(path), Has.Count.EqualTo(2));
        await db.KeyDeleteAsync(outbox);
    }

    [Test]
    public async Task AGatewayStoppedMidDelivery_GivesTheEntryBack_SoAnotherTakesItOverLongBeforeClaimAfter()
    {
        // ClaimAfter is 10 min: only the entry given back on shutdown lets the second gateway take it at once.
        await using var receiver = await WebhookReceiver.StartAsync();
        var outbox = "webhooks:outbox:" + Guid.NewGuid().ToString("N");
        var configuration = WebhookDeliveryTests.Configuration("webhooks-giveback", outbox);
        configuration["Webhooks:AllowedNetworks:0"] = "127.0.0.1/32";
        configuration["Webhooks:ClaimAfter"] = "00:10:00";
        configuration["Webhooks:AttemptTimeout"] = "00:05:00";
        configuration["Webhooks:MaxAttempts"] = "1";
        var path = $"/slow/{Guid.NewGuid():N}";
        var first = await GatewayServer.StartAsync(configuration);
        string jobId;
        try
        {
            var (key, _) = await WebhookDeliveryTests.TenantAsync(first);
            jobId = await WebhookDeliveryTests.SubmitAsync(first, key, new { url = receiver.Url(path), events = new[] { "queued" } });
            await Eventually.HoldsAsync(() => receiver.At(path).Count >= 1, Timeout, "the first gateway's attempt reaches the receiver");
        }
        finally
        {
            await first.DisposeAsync();
        }

        await using var second = await GatewayServer.StartAsync(configuration);

        await Eventually.HoldsAsync(() => receiver.At(path).Count >= 2, Timeout, "the second gateway takes the delivery over");
        Assert.That(receiver.At(path).Select(r => r.Header("webhook-id")).Distinct(), Is.EqualTo(new[] { $"msg_{jobId}_1" }));
        await TestStack.Multiplexer.GetDatabase().KeyDeleteAsync(outbox);
    }

    [Test]
    public async Task AReceiverThatNeverAnswers_IsRetriedAfterTheAttemptTimeout_ThenLoggedFailed()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        var configuration = WebhookDeliveryTests.Configuration("webhooks-slow", "webhooks:outbox:" + Guid.NewGuid().ToString("N"));
        configuration["Webhooks:AllowedNetworks:0"] = "127.0.0.1/32";
        configuration["Webhooks:AttemptTimeout"] = "00:00:00.200";
        configuration["Webhooks:MaxAttempts"] = "2";
        await using var gateway = await GatewayServer.StartAsync(configuration);
        var (key, _) = await WebhookDeliveryTests.TenantAsync(gateway);
        var path = $"/slow/{Guid.NewGuid():N}";
        var jobId = await WebhookDeliveryTests.SubmitAsync(gateway, key, new { url = receiver.Url(path), events = new[] { "queued" } });

        var deliveries = await WebhookDeliveryTests.WaitForLogAsync(gateway, key, jobId, d => d.Any(e => e.Outcome == "failed"));

        Assert.That(deliveries.Select(d => d.Outcome), Is.EqualTo(new[] { "retrying", "failed" }));
        Assert.That(deliveries.Select(d => d.Error), Is.All.Contain("no answer within 0.2 s"));
        Assert.That(receiver.At(path), Has.Count.EqualTo(2));
    }
}
