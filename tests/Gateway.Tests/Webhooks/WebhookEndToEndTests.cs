using System.Text.Json;
using InferenceGateway.Tests.Infrastructure;

namespace InferenceGateway.Tests.Webhooks;

/// <summary>A job with a webhook the whole way: gateway, SQS emulator, the real worker running the model, the webhook to a real receiver.</summary>
[TestFixture]
public sealed class WebhookEndToEndTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    [Test]
    public async Task SubmitWithWebhook_TheWorkerCompletesIt_AndTheReceiverGetsTheEmbeddings_Signed()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        var configuration = WebhookDeliveryTests.Configuration("webhooks-e2e", "webhooks:outbox:" + Guid.NewGuid().ToString("N"));
        configuration["Webhooks:AllowedNetworks:0"] = "127.0.0.1/32";
        await using var gateway = await GatewayServer.StartAsync(configuration);
        await using var worker = await WorkerServer.StartAsync(configuration);
        var (key, secret) = await WebhookDeliveryTests.TenantAsync(gateway);
        var path = $"/hooks/{Guid.NewGuid():N}";

        var jobId = await WebhookDeliveryTests.SubmitAsync(gateway, key, new { url = receiver.Url(path), events = new[] { "started", "completed" } });

        await Eventually.HoldsAsync(() => receiver.At(path).Any(r => r.Body.Contains("job.completed", StringComparison.Ordinal)), Timeout, "the completed webhook arrives");
        var received = receiver.At(path);
        Assert.That(received.Select(r => JsonDocument.Parse(r.Body).RootElement.GetProperty("type").GetString()), Is.EqualTo(new[] { "job.started", "job.completed" }));
        Assert.That(received.Select(r => StandardWebhooksVerifier.Verify(secret, r)), Is.All.True);
        var data = JsonDocument.Parse(received[^1].Body).RootElement.GetProperty("data");
        Assert.That(data.GetProperty("jobId").GetString(), Is.EqualTo(jobId));
        Assert.That(data.GetProperty("status").GetString(), Is.EqualTo("completed"));
        var result = data.GetProperty("result");
        Assert.That(result.GetProperty("dimensions").GetInt32(), Is.EqualTo(384));
        Assert.That(result.GetProperty("embeddings")[0].GetArrayLength(), Is.EqualTo(384));
    }
}
