using InferenceGateway.Contracts;
using InferenceGateway.Core.Jobs;
using InferenceGateway.Gateway.Hubs;
using InferenceGateway.Tests.Infrastructure;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.DependencyInjection;
using StackExchange.Redis;

namespace InferenceGateway.Tests.Delivery;

/// <summary>
/// Subscribers come and go a thousand times, every way a client can leave: an SSE response
/// dropped mid-stream, a hub stream cancelled on a live connection, a hub connection closed with
/// its streams open. Afterwards the gateway holds nothing for them: its relayed streams, SSE
/// responses and hub connections are back at their baseline, and Redis has no subscriber left
/// on the job's wake-up channel.
/// </summary>
[TestFixture]
public sealed class SubscriberLeakTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    private GatewayServer _gateway = null!;
    private RedisJobStore _store = null!;
    private DeliveryStats _stats = null!;
    private string _key = null!;

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        var configuration = TestStack.Configuration(TestStack.UniqueName("leak"));
        configuration["Delivery:SseKeepAlive"] = "00:00:00.200";
        _gateway = await GatewayServer.StartAsync(configuration);
        _store = _gateway.Services.GetRequiredService<RedisJobStore>();
        _stats = _gateway.Services.GetRequiredService<DeliveryStats>();
        _key = await _gateway.CreateKeyAsync(TestStack.UniqueName("tenant"));
    }

    [OneTimeTearDown]
    public async Task StopAsync() => await _gateway.DisposeAsync();

    [Test]
    public async Task SubscribingAndDroppingAThousandTimes_LeavesNoStreamConnectionOrRedisSubscriptionBehind()
    {
        var jobId = await _gateway.SubmitJobAsync(_key, "never ends while they come and go");
        await new JobScript(_store, jobId).StartedAsync();
        var channel = RedisChannel.Literal(JobKeys.Notify(jobId));
        var redis = TestStack.Multiplexer.GetServer(TestStack.Multiplexer.GetEndPoints()[0]);
        var baseline = (Streams: _stats.Streams, Sse: _stats.SseStreams, Hub: _stats.HubConnections);
        Assert.That(await redis.SubscriptionSubscriberCountAsync(channel), Is.Zero);
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        var dropped = 0;

        // 400 SSE responses, 8 at a time: each reads its two events and drops the response.
        using var client = _gateway.CreateClient(_key);
        await Parallel.ForAsync(0, 400, new ParallelOptions { MaxDegreeOfParallelism = 8, CancellationToken = cts.Token }, async (_, ct) =>
        {
            await using var sse = await SseStream.OpenAsync(client, jobId, null, ct);
            Assert.That((await sse.ReadAsync(ct))?.Type, Is.EqualTo(JobEventTypes.Queued));
            Assert.That((await sse.ReadAsync(ct))?.Type, Is.EqualTo(JobEventTypes.Started));
            // While it is open the counters and the subscription show it, so their return to the
            // baseline below is a release, not counters that never moved.
            Assert.That(_stats.Streams, Is.GreaterThan(baseline.Streams));
            Assert.That(_stats.SseStreams, Is.GreaterThan(baseline.Sse));
            Assert.That(await redis.SubscriptionSubscriberCountAsync(channel), Is.GreaterThan(0));
            Interlocked.Increment(ref dropped);
        });

        // 500 hub streams cancelled by their callers, 50 on each of 10 connections that stay open.
        var connections = new List<HubConnection>();
        for (var c = 0; c < 10; c++)
        {
            var hub = _gateway.CreateHubConnection(_key);
            await hub.StartAsync(cts.Token);
            connections.Add(hub);
        }

        Assert.That(_stats.HubConnections, Is.EqualTo(baseline.Hub + 10));

        await Parallel.ForEachAsync(connections, cts.Token, async (hub, ct) =>
        {
            for (var i = 0; i < 50; i++)
            {
                using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
                await foreach (var jobEvent in hub.StreamAsync<JobEvent>("StreamJob", jobId, 1L, stop.Token))
                {
                    Assert.That(jobEvent.Type, Is.EqualTo(JobEventTypes.Started));
                    await stop.CancelAsync();
                    break;
                }

                Interlocked.Increment(ref dropped);
            }
        });

        // 100 hub connections closed while a stream on each is open and waiting.
        await Parallel.ForAsync(0, 100, new ParallelOptions { MaxDegreeOfParallelism = 8, CancellationToken = cts.Token }, async (_, ct) =>
        {
            var hub = _gateway.CreateHubConnection(_key);
            await hub.StartAsync(ct);
            var events = hub.StreamAsync<JobEvent>("StreamJob", jobId, 0L, ct).GetAsyncEnumerator(ct);
            Assert.That(await events.MoveNextAsync(), Is.True);
            await hub.DisposeAsync();
            try
            {
                await events.DisposeAsync();
            }
            catch (Exception ex) when (ex is OperationCanceledException or Microsoft.AspNetCore.SignalR.HubException or InvalidOperationException)
            {
                // The stream died with its connection.
            }

            Interlocked.Increment(ref dropped);
        });

        foreach (var hub in connections)
        {
            await hub.DisposeAsync();
        }

        Assert.That(dropped, Is.EqualTo(1000));
        await Eventually.HoldsAsync(
            async () => _stats.Streams == baseline.Streams && _stats.SseStreams == baseline.Sse && _stats.HubConnections == baseline.Hub
                && await redis.SubscriptionSubscriberCountAsync(channel) == 0,
            Timeout,
            "every stream, SSE response, hub connection and Redis subscription released");
        Assert.That(_stats.Streams, Is.EqualTo(baseline.Streams));
        Assert.That(_stats.SseStreams, Is.EqualTo(baseline.Sse));
        Assert.That(_stats.HubConnections, Is.EqualTo(baseline.Hub));

        // And the job still works for the next subscriber.
        await new JobScript(_store, jobId).CompletedAsync();
        var all = await _gateway.StreamJobAsync(_key, jobId, 0, Timeout);
        Assert.That(all.Select(e => e.Type), Is.EqualTo(new[] { "queued", "started", "completed" }));
    }

    [Test]
    public async Task AnIdleSseStream_GetsKeepAliveComments_AndTheReconnectHint()
    {
        var jobId = await _gateway.SubmitJobAsync(_key, "idle for a while");
        using var cts = new CancellationTokenSource(Timeout);
        using var client = _gateway.CreateClient(_key);
        await using var sse = await SseStream.OpenAsync(client, jobId, null, cts.Token);
        Assert.That((await sse.ReadAsync(cts.Token))?.Type, Is.EqualTo(JobEventTypes.Queued));
        Assert.That(sse.Retry, Is.EqualTo(1000), "EventSource is told to reconnect after a second");

        var rest = sse.ReadToEndAsync(cts.Token);
        await Eventually.HoldsAsync(() => sse.Comments.Count(c => c == "keep-alive") >= 2, Timeout, "keep-alive comments while idle");
        await new JobScript(_store, jobId).CompletedAsync();

        Assert.That((await rest).Select(e => e.Type), Is.EqualTo(new[] { "completed" }));
    }
}
