using InferenceGateway.Contracts;
using InferenceGateway.Core.Jobs;
using InferenceGateway.Tests.Infrastructure;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace InferenceGateway.Tests.Delivery;

/// <summary>
/// Redis goes away in the middle of a job and comes back, as in a restart or a failover. Each
/// test has a Redis of its own that keeps its data on disk (append-only file, fsync always), so
/// the restart loses nothing, and a gateway pointed at it. A subscriber sees every event recorded
/// before and after the outage once, in order, on the stream it already had open; an outage
/// longer than the gateway's tolerance ends the stream with the seq to resume after.
/// </summary>
[TestFixture]
public sealed class RedisRestartTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    private string _dataDir = null!;
    private int _port;
    private ExternalProcess? _redis;
    private ConnectionMultiplexer _worker = null!;

    [SetUp]
    public async Task SetUpAsync()
    {
        _dataDir = Directory.CreateTempSubdirectory("redis-restart-").FullName;
        _port = ExternalProcess.FreePort();
        _redis = await StartRedisAsync();
        var options = ConfigurationOptions.Parse($"127.0.0.1:{_port}");
        options.AbortOnConnectFail = false;
        _worker = await ConnectionMultiplexer.ConnectAsync(options);
    }

    [TearDown]
    public async Task TearDownAsync()
    {
        await _worker.DisposeAsync();
        if (_redis is not null)
        {
            await _redis.DisposeAsync();
        }

        Directory.Delete(_dataDir, recursive: true);
    }

    [Test]
    public async Task RedisRestartedMidJob_OpenHubAndSseStreams_ReceiveEveryEventBeforeAndAfterOnce()
    {
        var configuration = Configuration();
        configuration["Delivery:PollInterval"] = "00:00:00.100"; // so the streams do read while Redis is away
        configuration["Redis:Configuration"] += ",asyncTimeout=500"; // and those reads fail, not wait in the client's backlog
        await using var gateway = await GatewayServer.StartAsync(configuration);
        var key = await gateway.CreateKeyAsync(TestStack.UniqueName("tenant"));
        var job = new JobScript(WorkerStore(), await gateway.SubmitJobAsync(key, "through a Redis restart"));
        await job.StartedAsync();
        await job.ProgressAsync(2);

        using var cts = new CancellationTokenSource(Timeout);
        using var client = gateway.CreateClient(key);
        await using var sse = await SseStream.OpenAsync(client, job.JobId, null, cts.Token);
        var overSse = new List<JobEvent>();
        var sseDone = ReadAllAsync(sse, overSse, cts.Token);
        await using var hub = gateway.CreateHubConnection(key);
        await hub.StartAsync(cts.Token);
        var overHub = new List<JobEvent>();
        var hubDone = ReadAllAsync(hub.StreamAsync<JobEvent>("StreamJob", job.JobId, 0L, cts.Token), overHub);
        await Eventually.HoldsAsync(() => Count(overSse) == 4 && Count(overHub) == 4, Timeout, "the events before the outage");

        await RestartRedisAsync(gateway, key);
        await job.ProgressAsync(3);
        await job.CompletedAsync();

        await Task.WhenAll(sseDone, hubDone).WaitAsync(Timeout);
        var log = await job.LogAsync();
        Assert.That(log, Has.Count.EqualTo(8), "queued, started, 2 progress before, 3 progress after, completed");
        Received.IsTheLog(overSse, log, "sse");
        Received.IsTheLog(overHub, log, "hub");
        Assert.That(sse.Comments, Has.None.Contains("unavailable"), "the SSE stream rode out the outage");
    }

    [Test]
    public async Task AnOutageLongerThanTheTolerance_EndsBothStreamsWithTheSeqToResumeAfter_AndResumingGetsTheRest()
    {
        var configuration = Configuration();
        configuration["Delivery:RedisOutageTolerance"] = "00:00:01";
        await using var gateway = await GatewayServer.StartAsync(configuration);
        var key = await gateway.CreateKeyAsync(TestStack.UniqueName("tenant"));
        var job = new JobScript(WorkerStore(), await gateway.SubmitJobAsync(key, "through a long outage"));
        await job.StartedAsync();

        using var cts = new CancellationTokenSource(Timeout);
        using var client = gateway.CreateClient(key);
        var sse = await SseStream.OpenAsync(client, job.JobId, null, cts.Token);
        var overSse = new List<JobEvent>();
        var sseDone = ReadAllAsync(sse, overSse, cts.Token);
        await using var hub = gateway.CreateHubConnection(key);
        await hub.StartAsync(cts.Token);
        var overHub = new List<JobEvent>();
        var hubDone = ReadAllAsync(hub.StreamAsync<JobEvent>("StreamJob", job.JobId, 0L, cts.Token), overHub);
        await Eventually.HoldsAsync(() => Count(overSse) == 2 && Count(overHub) == 2, Timeout, "the events before the outage");

        await _redis!.DisposeAsync();
        _redis = null;

        // Both streams end on their own, saying where to resume.
        await sseDone.WaitAsync(Timeout);
        await sse.DisposeAsync();
        Assert.That(sse.Comments, Has.Some.EqualTo("events unavailable (Redis unreachable); reconnect with Last-Event-ID 2"));
        var hubError = Assert.ThrowsAsync<HubException>(() => hubDone.WaitAsync(Timeout));
        Assert.That(hubError!.Message, Does.Contain("resume with afterSeq 2"));

        _redis = await StartRedisAsync();
        await WaitForAsync(_worker);
        await job.ProgressAsync(1);
        await job.CompletedAsync();
        await using (var resumed = await SseStream.OpenAsync(client, job.JobId, overSse[^1].Seq, cts.Token))
        {
            overSse.AddRange(await resumed.ReadToEndAsync(cts.Token));
        }

        await foreach (var jobEvent in hub.StreamAsync<JobEvent>("StreamJob", job.JobId, overHub[^1].Seq, cts.Token))
        {
            overHub.Add(jobEvent);
        }

        var log = await job.LogAsync();
        Received.IsTheLog(overSse, log, "sse");
        Received.IsTheLog(overHub, log, "hub");
    }

    private Dictionary<string, string?> Configuration()
    {
        var configuration = TestStack.Configuration(TestStack.UniqueName("redis-restart"));
        configuration["Redis:Configuration"] = $"127.0.0.1:{_port}";
        return configuration;
    }

    private RedisJobStore WorkerStore() => new(_worker, Options.Create(new JobStoreOptions()), TimeProvider.System);

    private Task<ExternalProcess> StartRedisAsync() =>
        ExternalProcess.StartAsync(
            "redis-server",
            p => ["--port", p.ToString(System.Globalization.CultureInfo.InvariantCulture), "--bind", "127.0.0.1", "--dir", _dataDir, "--save", "", "--appendonly", "yes", "--appendfsync", "always"],
            port: _port);

    /// <summary>SIGKILL (no chance to save: the append-only file has every write), then the same port and data again.</summary>
    private async Task RestartRedisAsync(GatewayServer gateway, string key)
    {
        await _redis!.DisposeAsync();
        _redis = null;
        using (var client = gateway.CreateClient(key))
        {
            await Eventually.HoldsAsync(
                async () => (await client.GetAsync("/readyz")).StatusCode == System.Net.HttpStatusCode.ServiceUnavailable,
                Timeout,
                "the gateway noticed that Redis is gone");
        }

        await Task.Delay(TimeSpan.FromSeconds(2)); // the outage: several failed reads long
        _redis = await StartRedisAsync();
        await WaitForAsync(_worker);
    }

    private static async Task WaitForAsync(ConnectionMultiplexer redis) =>
        await Eventually.HoldsAsync(
            async () =>
            {
                try
                {
                    await redis.GetDatabase().PingAsync();
                    return true;
                }
                catch (RedisException)
                {
                    return false;
                }
            },
            Timeout,
            "the worker's Redis connection is back");

    private static int Count(List<JobEvent> events)
    {
        lock (events)
        {
            return events.Count;
        }
    }

    private static async Task ReadAllAsync(SseStream sse, List<JobEvent> into, CancellationToken cancellationToken)
    {
        while (await sse.ReadAsync(cancellationToken) is { } jobEvent)
        {
            lock (into)
            {
                into.Add(jobEvent);
            }
        }
    }

    private static async Task ReadAllAsync(IAsyncEnumerable<JobEvent> stream, List<JobEvent> into)
    {
        await foreach (var jobEvent in stream)
        {
            lock (into)
            {
                into.Add(jobEvent);
            }
        }
    }
}
