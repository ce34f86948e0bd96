using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using InferenceGateway.Contracts;
using InferenceGateway.Inference.Hosting;
using InferenceGateway.Tests.Infrastructure;
using InferenceGateway.Worker.Queue;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.DependencyInjection;

namespace InferenceGateway.Tests.EndToEnd;

/// <summary>
/// The serverless lifecycle through the whole stack (gateway, SQS emulator, worker, Redis): a cold
/// start, warm invocations, scale to zero after the keep-warm window, a cold start again; the
/// provisioned mode; cancellation through the API; the registry and the bill as clients read them.
/// </summary>
[TestFixture]
public sealed class ServerlessLifecycleTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(90);
    private const string Model = "all-minilm-l6-v2";

    [Test]
    public async Task ColdThenWarmThenUnloadedThenColdAgain_EachJobRecordsWhatItPaid()
    {
        var configuration = TestStack.Configuration(TestStack.UniqueName("life"));
        configuration["Inference:KeepWarmSeconds"] = "2";
        configuration["Worker:WaitTimeSeconds"] = "1";
        await using var gateway = await GatewayServer.StartAsync(configuration);
        await using var worker = await WorkerServer.StartAsync(configuration);
        var key = await gateway.CreateKeyAsync(TestStack.UniqueName("tenant"));
        var host = worker.Services.GetRequiredService<ModelHost>();

        var cold = await RunAsync(gateway, key, "the first job after idle");
        var warm = await RunAsync(gateway, key, "right behind it");
        await Eventually.HoldsAsync(() => host.GetState(Model).Status == ModelStatus.Cold, TimeSpan.FromSeconds(30), "the model is unloaded after the keep-warm window");
        var coldAgain = await RunAsync(gateway, key, "after scale to zero");

        Assert.That(cold.GetProperty("coldStart").GetBoolean(), Is.True);
        Assert.That(cold.GetProperty("initMs").GetDouble(), Is.GreaterThan(0));
        Assert.That(warm.GetProperty("coldStart").GetBoolean(), Is.False);
        Assert.That(warm.GetProperty("initMs").GetDouble(), Is.Zero);
        Assert.That(coldAgain.GetProperty("coldStart").GetBoolean(), Is.True);
        Assert.That(coldAgain.GetProperty("initMs").GetDouble(), Is.GreaterThan(0));
        Assert.That(host.GetState(Model).Unloads, Is.GreaterThanOrEqualTo(1));
        Assert.That(host.GetState(Model).Loads, Is.EqualTo(2));
        foreach (var metrics in new[] { cold, warm, coldAgain })
        {
            var billed = metrics.GetProperty("billedMs").GetInt64();
            var exact = metrics.GetProperty("initMs").GetDouble() + metrics.GetProperty("executionMs").GetDouble();
            Assert.That(billed, Is.EqualTo((long)Math.Ceiling(exact)), "billed at 1 ms granularity: init plus execution, rounded up");
            Assert.That(metrics.GetProperty("provider").GetString(), Is.EqualTo("cpu"));
        }

        // The bill, as the tenant reads it.
        using var client = gateway.CreateClient(key);
        var usage = await client.GetFromJsonAsync<JsonElement>("/v1/usage?days=1");
        Assert.That(usage.GetProperty("total").GetProperty("invocations").GetInt64(), Is.EqualTo(3));
        Assert.That(usage.GetProperty("total").GetProperty("coldStarts").GetInt64(), Is.EqualTo(2));
        Assert.That(
            usage.GetProperty("total").GetProperty("billedMs").GetInt64(),
            Is.EqualTo(new[] { cold, warm, coldAgain }.Sum(m => m.GetProperty("billedMs").GetInt64())));
    }

    [Test]
    public async Task ProvisionedWorker_LoadsAtStart_SoTheFirstJobIsWarm_AndTheRegistryShowsItWarm()
    {
        var configuration = TestStack.Configuration(TestStack.UniqueName("prov"));
        configuration["Inference:Provisioned"] = "true";
        configuration["Worker:WaitTimeSeconds"] = "1";
        await using var gateway = await GatewayServer.StartAsync(configuration);
        await using var worker = await WorkerServer.StartAsync(configuration);
        var key = await gateway.CreateKeyAsync(TestStack.UniqueName("tenant"));

        var first = await RunAsync(gateway, key, "no cold start for me");
        Assert.That(first.GetProperty("coldStart").GetBoolean(), Is.False);

        await worker.Services.GetRequiredService<WorkerRegistration>().PublishAsync();
        using var client = gateway.CreateClient(key);
        JsonElement entry = default;
        await Eventually.HoldsAsync(
            async () =>
            {
                var models = await client.GetFromJsonAsync<JsonElement>("/v1/models");
                entry = models.GetProperty("data").EnumerateArray().First(m => m.GetProperty("id").GetString() == Model);
                return entry.GetProperty("warmWorkers").GetInt32() >= 1;
            },
            TimeSpan.FromSeconds(20),
            "GET /v1/models shows the provisioned worker warm");
        Assert.That(entry.GetProperty("workers").GetInt32(), Is.GreaterThanOrEqualTo(1));
        Assert.That(entry.GetProperty("executionProvider").GetString(), Is.EqualTo("cpu"));
        Assert.That(entry.GetProperty("source").EnumerateArray().Select(s => s.GetString()), Does.Contain("registry"));
    }

    [Test]
    public async Task DeleteOnARunningJob_ThroughTheApi_StopsTheWorker_AndTheStreamEndsCancelled()
    {
        var configuration = TestStack.Configuration(TestStack.UniqueName("cancel"));
        configuration["Worker:WaitTimeSeconds"] = "1";
        configuration["Worker:ProgressEveryTexts"] = "16";
        await using var gateway = await GatewayServer.StartAsync(configuration);
        await using var worker = await WorkerServer.StartAsync(configuration);
        var key = await gateway.CreateKeyAsync(TestStack.UniqueName("tenant"));
        var texts = Enumerable.Range(0, 256).Select(i => string.Join(' ', Enumerable.Range(0, 300).Select(w => $"word{((i * 7) + w) % 97}"))).ToArray();
        var jobId = await gateway.SubmitJobAsync(key, texts);

        await using var hub = gateway.CreateHubConnection(key);
        using var cts = new CancellationTokenSource(Timeout);
        await hub.StartAsync(cts.Token);
        var events = new List<JobEvent>();
        using var client = gateway.CreateClient(key);
        await foreach (var e in hub.StreamAsync<JobEvent>("StreamJob", jobId, 0L, cts.Token))
        {
            events.Add(e);
            if (e.Type == JobEventTypes.Progress && events.Count(x => x.Type == JobEventTypes.Progress) == 1)
            {
                using var cancel = await client.DeleteAsync($"/v1/jobs/{jobId}", cts.Token);
                Assert.That(cancel.StatusCode, Is.EqualTo(HttpStatusCode.Accepted));
            }
        }

        Assert.That(events[^1].Type, Is.EqualTo(JobEventTypes.Cancelled));
        Assert.That(events.Count(e => JobEventTypes.IsTerminal(e.Type)), Is.EqualTo(1));
        var view = await client.GetFromJsonAsync<JsonElement>($"/v1/jobs/{jobId}");
        Assert.That(view.GetProperty("status").GetString(), Is.EqualTo(JobStatuses.Cancelled));
        using var again = await client.DeleteAsync($"/v1/jobs/{jobId}");
        Assert.That(again.StatusCode, Is.EqualTo(HttpStatusCode.Conflict));
    }

    private static async Task<JsonElement> RunAsync(GatewayServer gateway, string key, string text)
    {
        var jobId = await gateway.SubmitJobAsync(key, text);
        var events = await gateway.StreamJobAsync(key, jobId, 0, Timeout);
        Assert.That(events[^1].Type, Is.EqualTo(JobEventTypes.Completed));
        return events[^1].Data!.Value.GetProperty("metrics");
    }
}
