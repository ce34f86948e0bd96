using InferenceGateway.Core.Jobs;
using InferenceGateway.Tests.Infrastructure;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace InferenceGateway.Tests.Webhooks;

/// <summary>A policy tightened while the gateway runs applies to the next attempt, even over a pooled connection.</summary>
[TestFixture]
public sealed class WebhookRuntimePolicyTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    [Test]
    public async Task AnAllowListSetAtRuntime_RefusesTheNextDelivery_ThoughAPooledConnectionToTheTargetIsOpen()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        var outbox = "webhooks:outbox:" + Guid.NewGuid().ToString("N");
        var configuration = WebhookDeliveryTests.Configuration("webhooks-runtime", outbox);
        configuration["Webhooks:AllowedNetworks:0"] = "127.0.0.1/32";
        await using var gateway = await GatewayServer.StartAsync(configuration);
        var (key, _) = await WebhookDeliveryTests.TenantAsync(gateway);
        var before = $"/hooks/{Guid.NewGuid():N}";
        var first = await WebhookDeliveryTests.SubmitAsync(gateway, key, new { url = receiver.Url(before), events = new[] { "queued" } });
        await WebhookDeliveryTests.WaitForLogAsync(gateway, key, first, d => d.Any(e => e.Outcome == "delivered"));

        // Only hooks.example.com from now on; the webhook client still has a connection to the receiver.
        var settings = (IConfigurationRoot)gateway.Services.GetRequiredService<IConfiguration>();
        settings["Webhooks:AllowedHosts:0"] = "hooks.example.com";
        settings.Reload();
        var after = $"/hooks/{Guid.NewGuid():N}";
        var store = gateway.Services.GetRequiredService<RedisJobStore>();
        var second = "job_" + Guid.NewGuid().ToString("N");
        var tenant = (await store.GetAsync(first))!.Tenant;
        await store.CreateAsync(second, tenant, "all-minilm-l6-v2", DateTimeOffset.UtcNow, new JobWebhook(receiver.Url(after), ["queued"], outbox));

        var deliveries = await WebhookDeliveryTests.WaitForLogAsync(gateway, key, second, d => d.Count > 0);

        Assert.That(deliveries.Select(d => d.Outcome), Is.EqualTo(new[] { "refused" }));
        Assert.That(deliveries[0].Error, Does.Contain("allow-list"));
        Assert.That(receiver.At(after), Is.Empty);
        Assert.That(receiver.At(before), Has.Count.EqualTo(1));
        await TestStack.Multiplexer.GetDatabase().KeyDeleteAsync(outbox);
    }
}
