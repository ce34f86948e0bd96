using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using InferenceGateway.Contracts;
using InferenceGateway.Core.Jobs;
using InferenceGateway.Tests.Infrastructure;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.DependencyInjection;

namespace InferenceGateway.Tests.Worker;

/// <summary>A worker stopped in the middle of a job: the job is not lost and not failed; another worker finishes it.</summary>
[TestFixture]
public sealed class WorkerStopTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(90);

    [Test]
    public async Task WorkerStoppedMidJob_LeavesTheMessage_AndTheNextWorkerCompletesTheJobOnce()
    {
        var configuration = TestStack.Configuration(TestStack.UniqueName("stop"));
        configuration["Sqs:VisibilityTimeoutSeconds"] = "10";
        configuration["Worker:ShutdownGraceSeconds"] = "0";
        await using var gateway = await GatewayServer.StartAsync(configuration);
        var key = await gateway.CreateKeyAsync(TestStack.UniqueName("tenant"));
        var first = await WorkerServer.StartAsync(configuration);
        var jobId = await SubmitLongJobAsync(gateway, key);

        await using (var hub = gateway.CreateHubConnection(key))
        {
            using var cts = new CancellationTokenSource(Timeout);
            await hub.StartAsync(cts.Token);
            await foreach (var e in hub.StreamAsync<JobEvent>("StreamJob", jobId, 0L, cts.Token))
            {
                if (e.Type == JobEventTypes.Started)
                {
                    break;
                }
            }
        }

        await first.DisposeAsync(); // cancels the run in the middle of the model
        var store = gateway.Services.GetRequiredService<RedisJobStore>();
        var afterStop = await store.GetAsync(jobId);
        Assert.That(afterStop!.Status, Is.EqualTo(JobStatuses.Running), "a stopped worker must not record a failure");

        await using var second = await WorkerServer.StartAsync(configuration);
        var events = await gateway.StreamJobAsync(key, jobId, 0, Timeout);

        Assert.That(events[^1].Type, Is.EqualTo(JobEventTypes.Completed));
        Assert.That(events.Count(e => JobEventTypes.IsTerminal(e.Type)), Is.EqualTo(1));
        var attempts = events.Where(e => e.Type == JobEventTypes.Started).Select(e => e.Data!.Value.GetProperty("attempt").GetInt32()).ToList();
        Assert.That(attempts[0], Is.EqualTo(1));
        Assert.That(attempts[^1], Is.GreaterThanOrEqualTo(2), "the job completed on a redelivery");
        var job = await store.GetAsync(jobId);
        Assert.That(job!.Status, Is.EqualTo(JobStatuses.Completed));
        Assert.That(JsonDocument.Parse(job.ResultJson!).RootElement.GetProperty("embeddings").GetArrayLength(), Is.EqualTo(128));
    }

    private static async Task<string> SubmitLongJobAsync(GatewayServer gateway, string key)
    {
        // 128 texts at the 256-token limit: seconds of work on two cores, so the stop lands mid-run.
        var texts = Enumerable.Range(0, 128)
            .Select(i => string.Join(' ', Enumerable.Range(0, 300).Select(w => $"word{(i * 7 + w) % 97}")))
            .ToArray();
        using var client = gateway.CreateClient(key);
        using var response = await client.PostAsJsonAsync("/v1/jobs", new { model = "all-minilm-l6-v2", input = new { texts } }).WaitAsync(Timeout);
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Accepted));
        return JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("id").GetString()!;
    }
}
