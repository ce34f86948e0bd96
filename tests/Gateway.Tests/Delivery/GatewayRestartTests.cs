using InferenceGateway.Contracts;
using InferenceGateway.Core.Jobs;
using InferenceGateway.Tests.Infrastructure;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.DependencyInjection;

namespace InferenceGateway.Tests.Delivery;

/// <summary>
/// The gateway instance a client streams through is killed (SIGKILL, as when its machine dies)
/// and started again at the same address while the job goes on. The client reconnects with
/// <c>Last-Event-ID</c> / <c>afterSeq</c> and has, in the end, every event once, in order.
/// Nothing a subscriber needs lived in the dead process: the log is in Redis.
/// </summary>
[TestFixture]
public sealed class GatewayRestartTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    private Dictionary<string, string?> _configuration = null!;
    private GatewayServer _front = null!;
    private RedisJobStore _store = null!;
    private string _key = null!;

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        _configuration = TestStack.Configuration(TestStack.UniqueName("gateway-restart"));
        _front = await GatewayServer.StartAsync(_configuration); // another instance: keys, submits
        _store = _front.Services.GetRequiredService<RedisJobStore>();
        _key = await _front.CreateKeyAsync(TestStack.UniqueName("tenant"));
    }

    [OneTimeTearDown]
    public async Task StopAsync() => await _front.DisposeAsync();

    [Test]
    public async Task TheInstanceAnSseClientStreamsThroughIsKilledAndRestarted_TheClientResumesWithLastEventId_MissingNothing()
    {
        var port = ExternalProcess.FreePort();
        var gateway = await GatewayProcess.StartAsync(_configuration, port);
        using var cts = new CancellationTokenSource(Timeout);
        using var client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = Timeout };
        client.DefaultRequestHeaders.Authorization = new("Bearer", _key);
        var job = new JobScript(_store, await _front.SubmitJobAsync(_key, "through a gateway crash"));
        await job.StartedAsync();
        var received = new List<JobEvent>();
        try
        {
            var sse = await SseStream.OpenAsync(client, job.JobId, null, cts.Token);
            received.Add((await sse.ReadAsync(cts.Token))!);
            received.Add((await sse.ReadAsync(cts.Token))!);
            var next = sse.ReadAsync(cts.Token);

            await gateway.DisposeAsync(); // SIGKILL
            Assert.That(await ReadFailsAsync(next), Is.True, "the stream broke with the process");
            await sse.DisposeAsync();
            await job.ProgressAsync(3);

            gateway = await GatewayProcess.StartAsync(_configuration, port);
            await job.ProgressAsync(1);
            await job.CompletedAsync();
            await using var resumed = await SseStream.OpenAsync(client, job.JobId, received[^1].Seq, cts.Token);
            received.AddRange(await resumed.ReadToEndAsync(cts.Token));
        }
        finally
        {
            await gateway.DisposeAsync();
        }

        Received.IsTheLog(received, await job.LogAsync(), "sse across a gateway restart");
    }

    [Test]
    public async Task TheInstanceAHubClientStreamsThroughIsKilledAndRestarted_TheClientResumesWithAfterSeq_MissingNothing()
    {
        var port = ExternalProcess.FreePort();
        var gateway = await GatewayProcess.StartAsync(_configuration, port);
        using var cts = new CancellationTokenSource(Timeout);
        var job = new JobScript(_store, await _front.SubmitJobAsync(_key, "through a gateway crash"));
        await job.StartedAsync();
        await job.ProgressAsync(1);
        var received = new List<JobEvent>();
        try
        {
            await using (var hub = Connect(port))
            {
                var closed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                hub.Closed += _ =>
                {
                    closed.TrySetResult();
                    return Task.CompletedTask;
                };
                await hub.StartAsync(cts.Token);
                var events = hub.StreamAsync<JobEvent>("StreamJob", job.JobId, 0L, cts.Token).GetAsyncEnumerator(cts.Token);
                for (var i = 0; i < 3; i++)
                {
                    Assert.That(await events.MoveNextAsync(), Is.True);
                    received.Add(events.Current);
                }

                await gateway.DisposeAsync(); // SIGKILL
                await closed.Task.WaitAsync(Timeout);
                Assert.That(await ReadFailsAsync(events.MoveNextAsync().AsTask()), Is.True, "the stream broke with the process");
            }

            await job.ProgressAsync(2);
            gateway = await GatewayProcess.StartAsync(_configuration, port);
            await job.CompletedAsync();
            await using var again = Connect(port);
            await again.StartAsync(cts.Token);
            await foreach (var jobEvent in again.StreamAsync<JobEvent>("StreamJob", job.JobId, received[^1].Seq, cts.Token))
            {
                received.Add(jobEvent);
            }
        }
        finally
        {
            await gateway.DisposeAsync();
        }

        Received.IsTheLog(received, await job.LogAsync(), "hub across a gateway restart");
    }

    private HubConnection Connect(int port) =>
        new HubConnectionBuilder()
            .WithUrl($"http://127.0.0.1:{port}/hubs/jobs", options => options.AccessTokenProvider = () => Task.FromResult<string?>(_key))
            .Build();

    /// <summary>True when the pending read ended without an event: an error or the end of a cut stream.</summary>
    private static async Task<bool> ReadFailsAsync<T>(Task<T> read)
    {
        try
        {
            var result = await read.WaitAsync(Timeout);
            return result is null or false;
        }
        catch (Exception ex) when (ex is IOException or HttpRequestException or OperationCanceledException or Microsoft.AspNetCore.SignalR.HubException or InvalidOperationException or System.Net.WebSockets.WebSocketException)
        {
            return true;
        }
    }
}
