using InferenceGateway.Contracts;
using InferenceGateway.Core.Jobs;
using InferenceGateway.Gateway.Hubs;
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
        await using var subscribers = await Subscribers.OpenAsync(gateway, key, job.JobId, cts.Token);
        await subscribers.WaitForAsync(4);

        await RestartRedisAsync(gateway, key);
        await job.ProgressAsync(3);
        await job.CompletedAsync();

        await Task.WhenAll(subscribers.SseDone, subscribers.HubDone).WaitAsync(Timeout);
        var log = await job.LogAsync();
        Assert.That(log, Has.Count.EqualTo(8), "queued, started, 2 progress before, 3 progress after, completed");
        Received.IsTheLog(subscribers.OverSse, log, "sse");
        Received.IsTheLog(subscribers.OverHub, log, "hub");
        Assert.That(subscribers.Sse.Comments, Has.None.Contains("unavailable"), "the SSE stream rode out the outage");
    }

    [Test]
    public async Task AnOutageLongerThanTheTolerance_EndsBothStreamsWithTheSeqToResumeAfter_AndResumingGetsTheRest()
    {
        var configuration = Configuration();
        configuration["Delivery:RedisOutageTolerance"] = "00:00:01";
        configuration["Redis:Configuration"] += ",asyncTimeout=500,connectTimeout=1000"; // reads fail fast and reconnects come soon while Redis is away
        await using var gateway = await GatewayServer.StartAsync(configuration);
        var key = await gateway.CreateKeyAsync(TestStack.UniqueName("tenant"));
        var job = new JobScript(WorkerStore(), await gateway.SubmitJobAsync(key, "through a long outage"));
        await job.StartedAsync();

        using var cts = new CancellationTokenSource(Timeout);
        using var client = gateway.CreateClient(key);
        await using var subscribers = await Subscribers.OpenAsync(gateway, key, job.JobId, cts.Token);
        await subscribers.WaitForAsync(2);
        var (overSse, overHub, hub) = (subscribers.OverSse, subscribers.OverHub, subscribers.Hub);

        await _redis!.DisposeAsync();
        _redis = null;

        // Both streams end on their own, saying where to resume.
        await subscribers.SseDone.WaitAsync(Timeout);
        Assert.That(subscribers.Sse.Comments, Has.Some.EqualTo("events unavailable (Redis unreachable); reconnect with Last-Event-ID 2"));
        var hubError = Assert.ThrowsAsync<HubException>(() => subscribers.HubDone.WaitAsync(Timeout));
        Assert.That(hubError!.Message, Does.Contain("resume with afterSeq 2"));

        // While Redis is away, a browser's EventSource reconnecting gets a 200 event stream that
        // tells it to retry later (any other answer would end its resumption for good); a plain
        // client gets the 503 problem.
        using (var eventSource = new HttpRequestMessage(HttpMethod.Get, $"/v1/jobs/{job.JobId}/events"))
        {
            eventSource.Headers.Add("Accept", "text/event-stream");
            eventSource.Headers.Add("Last-Event-ID", "2");
            using var answer = await client.SendAsync(eventSource, cts.Token);
            Assert.That(answer.StatusCode, Is.EqualTo(System.Net.HttpStatusCode.OK));
            Assert.That(await answer.Content.ReadAsStringAsync(cts.Token), Does.StartWith("retry: 5000\n\n: events unavailable"));
        }

        using (var plain = await client.GetAsync($"/v1/jobs/{job.JobId}/events", cts.Token))
        {
            Assert.That(plain.StatusCode, Is.EqualTo(System.Net.HttpStatusCode.ServiceUnavailable));
            Assert.That(plain.Content.Headers.ContentType?.MediaType, Is.EqualTo("application/problem+json"));
        }

        _redis = await StartRedisAsync();
        await WaitForAsync(_worker);
        await Eventually.HoldsAsync(
            async () => (await client.GetAsync("/readyz", cts.Token)).IsSuccessStatusCode,
            Timeout,
            "the gateway is connected to Redis again");
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

    [Test]
    public async Task WhileOnlyTheSubscriptionConnectionIsDown_AStreamDoesNotEnd_ButDeliversEveryEventByPolling()
    {
        // After a restart the client brings its two connections back on schedules of their own, so
        // reads can work while a SUBSCRIBE still waits for its connection. Here the subscription
        // connection is killed and kept from coming back (maxclients); the other one stays.
        var store = WorkerStore();
        var feed = new JobEventFeed(
            store,
            TimeProvider.System,
            Options.Create(new DeliveryOptions { PollInterval = TimeSpan.FromMilliseconds(100), RedisOutageTolerance = TimeSpan.FromSeconds(1) }));
        var jobId = $"job_{Guid.NewGuid():N}";
        await store.CreateAsync(jobId, "tenant", "all-minilm-l6-v2", DateTimeOffset.UtcNow);
        // A subscription of the worker's client puts its subscription connection in pub/sub mode, which CLIENT KILL TYPE pubsub finds.
        await _worker.GetSubscriber().SubscribeAsync(RedisChannel.Literal($"sentinel:{jobId}"), (_, _) => { });
        var adminOptions = ConfigurationOptions.Parse($"127.0.0.1:{_port},allowAdmin=true");
        adminOptions.ConfigurationChannel = string.Empty; // no subscription of its own: the worker's is the only pub/sub connection
        await using var admin = await ConnectionMultiplexer.ConnectAsync(adminOptions);
        var server = admin.GetServers()[0];
        var clients = (await server.ClientListAsync()).Length;
        await server.ConfigSetAsync("maxclients", clients - 1);
        Assert.That(await server.ClientKillAsync(clientType: ClientType.PubSub), Is.EqualTo(1), "the worker client's subscription connection was killed");

        using var cts = new CancellationTokenSource(Timeout);
        var received = new List<long>();
        var reading = Task.Run(async () =>
        {
            await foreach (var jobEvent in feed.ReadAsync(jobId, afterSeq: 0, cts.Token))
            {
                received.Add(jobEvent.Seq);
            }
        });
        await Task.Delay(TimeSpan.FromSeconds(1.5)); // past the outage tolerance, before anything is appended
        await store.AppendAsync(jobId, JobEventTypes.Started, null, [new(JobFields.Status, JobStatuses.Running)]);
        await store.AppendAsync(jobId, JobEventTypes.Progress, "{\"done\":1,\"total\":2}", []);
        await store.AppendAsync(jobId, JobEventTypes.Completed, "{\"result\":{}}", [new(JobFields.Status, JobStatuses.Completed)]);
        await reading.WaitAsync(Timeout);

        Assert.That(received, Is.EqualTo(new long[] { 1, 2, 3, 4 }), "queued, started, progress, completed");
        Assert.That(
            (await server.ClientListAsync()).Where(c => c.ClientType == ClientType.PubSub),
            Is.Empty,
            "the subscription connection stayed down all along: the events came by polling");
    }

    [Test]
    public async Task ASubscribeThatFailsWhileRedisIsDown_LeavesNoHandlerBehind_OnceRedisIsBack()
    {
        var store = WorkerStore();
        var jobId = $"job_{Guid.NewGuid():N}";
        var calls = 0;
        await _redis!.DisposeAsync();
        _redis = null;

        Assert.That(
            async () => await store.SubscribeAsync(jobId, () => Interlocked.Increment(ref calls)),
            Throws.InstanceOf<RedisException>().Or.InstanceOf<TimeoutException>());

        _redis = await StartRedisAsync();
        await WaitForAsync(_worker);

        // A wake-up for the job, then one on a sentinel channel: the same connection delivers them
        // in order, so once the sentinel arrives the job's wake-up has been handled, or dropped.
        var subscriber = _worker.GetSubscriber();
        var sentinel = RedisChannel.Literal($"sentinel:{jobId}");
        var arrived = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await subscriber.SubscribeAsync(sentinel, (_, _) => arrived.TrySetResult());
        await subscriber.PublishAsync(RedisChannel.Literal(JobKeys.Notify(jobId)), 1);
        await subscriber.PublishAsync(sentinel, 1);
        await arrived.Task.WaitAsync(Timeout);
        await subscriber.UnsubscribeAsync(sentinel);

        Assert.That(Volatile.Read(ref calls), Is.Zero, "the failed attempt's handler was removed: nobody is woken for a subscription that failed");
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

    /// <summary>One SSE and one hub subscriber of the same job, each reading in the background until its stream ends.</summary>
    private sealed class Subscribers : IAsyncDisposable
    {
        private Subscribers(SseStream sse, HubConnection hub, HttpClient client)
        {
            Sse = sse;
            Hub = hub;
            _client = client;
        }

        private readonly HttpClient _client;

        public SseStream Sse { get; }

        public HubConnection Hub { get; }

        public List<JobEvent> OverSse { get; } = [];

        public List<JobEvent> OverHub { get; } = [];

        public Task SseDone { get; private set; } = Task.CompletedTask;

        public Task HubDone { get; private set; } = Task.CompletedTask;

        public static async Task<Subscribers> OpenAsync(GatewayServer gateway, string key, string jobId, CancellationToken cancellationToken)
        {
            var client = gateway.CreateClient(key);
            var sse = await SseStream.OpenAsync(client, jobId, null, cancellationToken);
            var hub = gateway.CreateHubConnection(key);
            await hub.StartAsync(cancellationToken);
            var subscribers = new Subscribers(sse, hub, client);
            subscribers.SseDone = subscribers.ReadSseAsync(cancellationToken);
            subscribers.HubDone = subscribers.ReadHubAsync(hub.StreamAsync<JobEvent>("StreamJob", jobId, 0L, cancellationToken));
            return subscribers;
        }

        public Task WaitForAsync(int count) =>
            Eventually.HoldsAsync(() => Count(OverSse) == count && Count(OverHub) == count, Timeout, $"{count} events on both streams");

        public async ValueTask DisposeAsync()
        {
            await Sse.DisposeAsync();
            await Hub.DisposeAsync();
            _client.Dispose();
        }

        private static int Count(List<JobEvent> events)
        {
            lock (events)
            {
                return events.Count;
            }
        }

        private async Task ReadSseAsync(CancellationToken cancellationToken)
        {
            while (await Sse.ReadAsync(cancellationToken) is { } jobEvent)
            {
                lock (OverSse)
                {
                    OverSse.Add(jobEvent);
                }
            }
        }

        private async Task ReadHubAsync(IAsyncEnumerable<JobEvent> stream)
        {
            await foreach (var jobEvent in stream)
            {
                lock (OverHub)
                {
                    OverHub.Add(jobEvent);
                }
            }
        }
    }
}
