using System.Net.Sockets;
using System.Text;
using InferenceGateway.Core.Jobs;
using InferenceGateway.Gateway.Hubs;
using InferenceGateway.Tests.Infrastructure;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets;
using Microsoft.Extensions.DependencyInjection;
using StackExchange.Redis;

namespace InferenceGateway.Tests.Delivery;

/// <summary>
/// An SSE client that stops taking bytes is not held on to for ever: once a write has waited
/// <c>Delivery:SseWriteTimeout</c>, the gateway drops the connection and releases the stream and
/// its Redis subscription; the client resumes with <c>Last-Event-ID</c> when it is back.
/// </summary>
[TestFixture]
public sealed class SlowSubscriberTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    [Test]
    public async Task AnSseClientThatTakesNothing_IsDisconnectedAfterTheWriteTimeout_AndItsStreamAndSubscriptionAreReleased()
    {
        var configuration = TestStack.Configuration(TestStack.UniqueName("slow-sse"));
        configuration["Delivery:SseWriteTimeout"] = "00:00:01";

        // Small socket send buffers, as in StreamingFlowTests: otherwise the kernel, not the
        // gateway, would hold megabytes for the stalled client.
        await using var gateway = await GatewayServer.StartAsync(configuration, builder =>
            builder.WebHost.UseSockets(sockets => sockets.CreateBoundListenSocket = endpoint =>
            {
                var socket = SocketTransportOptions.CreateDefaultBoundListenSocket(endpoint);
                socket.SendBufferSize = 16 * 1024;
                return socket;
            }));
        var stats = gateway.Services.GetRequiredService<DeliveryStats>();
        var key = await gateway.CreateKeyAsync(TestStack.UniqueName("tenant"));
        var job = new JobScript(gateway.Services.GetRequiredService<RedisJobStore>(), await gateway.SubmitJobAsync(key, "a stalled reader"));
        await job.StartedAsync();
        await job.ProgressAsync(1);
        var store = gateway.Services.GetRequiredService<RedisJobStore>();
        var pad = new string('x', 64 * 1024);
        for (var i = 0; i < 40; i++)
        {
            await store.AppendAsync(job.JobId, "progress", $"{{\"done\":{i},\"pad\":\"{pad}\"}}", []); // 2.6 MB in all
        }

        var baseline = stats.SseStreams;
        using var cts = new CancellationTokenSource(Timeout);
        using var slow = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { ReceiveBufferSize = 4096 };
        await slow.ConnectAsync(gateway.BaseAddress.Host, gateway.BaseAddress.Port, cts.Token);
        var request = $"GET /v1/jobs/{job.JobId}/events HTTP/1.1\r\nHost: {gateway.BaseAddress.Authority}\r\nAuthorization: Bearer {key}\r\n" +
            "Accept: text/event-stream\r\n\r\n";
        await slow.SendAsync(Encoding.ASCII.GetBytes(request), SocketFlags.None, cts.Token);
        await Eventually.HoldsAsync(() => stats.SseStreams == baseline + 1, Timeout, "the stream is open");

        // The client reads nothing; the gateway gives up on it.
        var channel = RedisChannel.Literal(JobKeys.Notify(job.JobId));
        await Eventually.HoldsAsync(
            async () => stats.SseStreams == baseline && await SubscribersAsync(channel) == 0,
            Timeout,
            "the stalled client's stream and subscription released");

        // What the client gets when it reads again: what was buffered, then the end of the connection.
        var received = 0L;
        try
        {
            var buffer = new byte[64 * 1024];
            int read;
            while ((read = await slow.ReceiveAsync(buffer, SocketFlags.None, cts.Token)) > 0)
            {
                received += read;
            }
        }
        catch (SocketException)
        {
            // Reset: the server aborted the connection.
        }

        Assert.That(received, Is.LessThan(2_000_000), "the connection ended before the stream was all sent");

        // Resuming gets everything.
        await job.CompletedAsync();
        using var client = gateway.CreateClient(key);
        await using var resumed = await SseStream.OpenAsync(client, job.JobId, null, cts.Token);
        Received.IsTheLog(await resumed.ReadToEndAsync(cts.Token), await job.LogAsync(), "resumed after the drop");
    }

    private static async Task<long> SubscribersAsync(RedisChannel channel)
    {
        var reply = await TestStack.Multiplexer.GetDatabase().ExecuteAsync("PUBSUB", "NUMSUB", channel.ToString());
        return (long)((RedisResult[])reply!)[1];
    }
}
