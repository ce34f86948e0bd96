// `-- push`: how long an event takes from being recorded in a job's log (the worker's append, a
// Lua script on Redis) to a subscriber holding it, over the SignalR hub and over SSE, on loopback.
// Baseline in the same run: a bare Redis PUBLISH to a subscriber on the same server, the floor
// for any push that goes through Redis. Everything runs in this process against the test
// harness's real redis-server and gateway on Kestrel, so one clock times both ends.
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using InferenceGateway.Contracts;
using InferenceGateway.Core.Jobs;
using InferenceGateway.Gateway.Auth;
using InferenceGateway.Tests.Infrastructure;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.DependencyInjection;
using StackExchange.Redis;

namespace InferenceGateway.LoadTest;

internal static class PushLatency
{
    public static async Task RunAsync(string[] args)
    {
        var events = Arg(args, "--events", 1000);
        var fanOut = Arg(args, "--fan-out", 100);
        await TestStack.StartAsync();
        try
        {
            var rows = await MeasureAsync(events, fanOut, rounds: 2);
            var baseline = rows.Where(r => r.Name.StartsWith("(baseline)", StringComparison.Ordinal)).Average(r => r.Stats.P50);
            Console.WriteLine($"{events} events one at a time (each sent when the last had arrived everywhere), 2 rounds; baseline p50 {baseline:F3} ms");
            Print(rows);
        }
        finally
        {
            await TestStack.StopAsync();
        }
    }

    /// <summary>Prints <paramref name="rows"/> as a markdown table, each p50 against the mean p50 of the baseline rows.</summary>
    public static void Print(IReadOnlyList<(string Name, Stats Stats)> rows)
    {
        var baseline = rows.Where(r => r.Name.StartsWith("(baseline)", StringComparison.Ordinal)).Average(r => r.Stats.P50);
        Console.WriteLine("| path | samples | p50 ms | p90 ms | p99 ms | max ms | p50 / baseline p50 |");
        Console.WriteLine("|---|---:|---:|---:|---:|---:|---:|");
        foreach (var (name, stats) in rows)
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {name} | {stats.Count} | {stats.P50:F3} | {stats.P90:F3} | {stats.P99:F3} | {stats.Max:F3} | {stats.P50 / baseline:F1} |"));
        }
    }

    /// <summary>The push measurements against the running <see cref="TestStack"/>, rounds interleaved, after a warm-up.</summary>
    public static async Task<IReadOnlyList<(string Name, Stats Stats)>> MeasureAsync(int events, int fanOut, int rounds)
    {
        var configuration = TestStack.Configuration(TestStack.UniqueName("push"));
        configuration["Logging:LogLevel:Default"] = "Error";
        configuration["RateLimits:Plans:bench:RequestsPerSecond"] = "1000000";
        configuration["RateLimits:Plans:bench:Burst"] = "1000000";
        configuration["RateLimits:Plans:bench:HubConnectsPerSecond"] = "1000000";
        configuration["RateLimits:Plans:bench:HubConnectBurst"] = "1000000";
        await using var gateway = await GatewayServer.StartAsync(configuration);
        var key = await gateway.CreateKeyAsync(new NewApiKey("bench-tenant", "bench", [Scopes.JobsRead, Scopes.JobsWrite], "bench"));
        var store = gateway.Services.GetRequiredService<RedisJobStore>();

        await RedisPubSubAsync(Math.Max(1, events / 5)); // warm-up
        await OneSubscriberEachAsync(gateway, store, key, Math.Max(2, events / 5));
        var rows = new List<(string Name, Stats Stats)>();
        for (var round = 0; round < rounds; round++)
        {
            rows.Add(("(baseline) Redis PUBLISH -> subscriber", await RedisPubSubAsync(events)));
            var (hub, sse) = await OneSubscriberEachAsync(gateway, store, key, events);
            rows.Add(("append -> hub subscriber", hub));
            rows.Add(("append -> SSE subscriber", sse));
            rows.Add(($"append -> {fanOut} hub subscribers of one job (each)", await FanOutAsync(gateway, store, key, Math.Max(2, events / 5), fanOut)));
        }

        return rows;
    }

    private static async Task<Stats> RedisPubSubAsync(int count)
    {
        var subscriber = TestStack.Multiplexer.GetSubscriber();
        var channel = RedisChannel.Literal($"bench:{Guid.NewGuid():N}");
        var arrived = new SemaphoreSlim(0);
        var received = new long[count];
        await subscriber.SubscribeAsync(channel, (_, value) =>
        {
            received[(int)value] = Stopwatch.GetTimestamp();
            arrived.Release();
        });
        var sent = new long[count];
        for (var i = 0; i < count; i++)
        {
            sent[i] = Stopwatch.GetTimestamp();
            await subscriber.PublishAsync(channel, i);
            await ArrivedAsync(arrived);
        }

        await subscriber.UnsubscribeAllAsync();
        return Stats.Of(Enumerable.Range(0, count).Select(i => received[i] - sent[i]));
    }

    private static async Task<(Stats Hub, Stats Sse)> OneSubscriberEachAsync(GatewayServer gateway, RedisJobStore store, string key, int count)
    {
        var jobId = await gateway.SubmitJobAsync(key, "push latency");
        await using var hub = gateway.CreateHubConnection(key);
        await hub.StartAsync();
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(5));
        var hubTimes = new ConcurrentDictionary<long, long>();
        var sseTimes = new ConcurrentDictionary<long, long>();
        var arrived = new SemaphoreSlim(0);
        var hubTask = Task.Run(async () =>
        {
            await foreach (var jobEvent in hub.StreamAsync<JobEvent>("StreamJob", jobId, 1L, cts.Token))
            {
                hubTimes[jobEvent.Seq] = Stopwatch.GetTimestamp();
                arrived.Release();
            }
        });
        using var client = gateway.CreateClient(key);
        client.Timeout = Timeout.InfiniteTimeSpan;
        using var request = new HttpRequestMessage(HttpMethod.Get, $"/v1/jobs/{jobId}/events");
        request.Headers.Add("Last-Event-ID", "1");
        using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cts.Token);
        var sseTask = Task.Run(async () =>
        {
            using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(cts.Token));
            while (await reader.ReadLineAsync(cts.Token) is { } line)
            {
                if (line.StartsWith("id: ", StringComparison.Ordinal))
                {
                    sseTimes[long.Parse(line[4..], CultureInfo.InvariantCulture)] = Stopwatch.GetTimestamp();
                    arrived.Release();
                }
            }
        });

        var sent = new Dictionary<long, long>();
        for (var i = 0; i < count; i++)
        {
            var at = Stopwatch.GetTimestamp();
            sent[await AppendAsync(store, jobId, i, count)] = at;
            await ArrivedAsync(arrived);
            await ArrivedAsync(arrived);
        }

        await Task.WhenAll(hubTask, sseTask).WaitAsync(TimeSpan.FromSeconds(30));
        return (Stats.Of(sent.Select(s => hubTimes[s.Key] - s.Value)), Stats.Of(sent.Select(s => sseTimes[s.Key] - s.Value)));
    }

    private static async Task<Stats> FanOutAsync(GatewayServer gateway, RedisJobStore store, string key, int count, int subscribers)
    {
        var jobId = await gateway.SubmitJobAsync(key, "fan-out latency");
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(5));
        var times = new ConcurrentBag<(long Seq, long At)>();
        var arrived = new SemaphoreSlim(0);
        var hubs = new List<HubConnection>();
        var readers = new List<Task>();
        for (var s = 0; s < subscribers; s++)
        {
            var hub = gateway.CreateHubConnection(key);
            await hub.StartAsync(cts.Token);
            hubs.Add(hub);
            var stream = hub.StreamAsync<JobEvent>("StreamJob", jobId, 0L, cts.Token); // from queued: its arrival says the stream is live
            readers.Add(Task.Run(async () =>
            {
                await foreach (var jobEvent in stream)
                {
                    times.Add((jobEvent.Seq, Stopwatch.GetTimestamp()));
                    arrived.Release();
                }
            }));
        }

        for (var s = 0; s < subscribers; s++)
        {
            await ArrivedAsync(arrived); // every stream has its queued event, so it is subscribed
        }

        var sent = new Dictionary<long, long>();
        for (var i = 0; i < count; i++)
        {
            var at = Stopwatch.GetTimestamp();
            sent[await AppendAsync(store, jobId, i, count)] = at;
            for (var s = 0; s < subscribers; s++)
            {
                await ArrivedAsync(arrived);
            }
        }

        await Task.WhenAll(readers).WaitAsync(TimeSpan.FromSeconds(30));
        foreach (var hub in hubs)
        {
            await hub.DisposeAsync();
        }

        return Stats.Of(times.Where(t => sent.ContainsKey(t.Seq)).Select(t => t.At - sent[t.Seq]));
    }

    /// <summary>A progress event, or the completed one for the last of <paramref name="count"/>, as the worker appends them; returns its seq.</summary>
    private static async Task<long> AppendAsync(RedisJobStore store, string jobId, int i, int count) =>
        (i == count - 1
            ? await store.AppendAsync(jobId, JobEventTypes.Completed, "{}", [new(JobFields.Status, JobStatuses.Completed)])
            : await store.AppendAsync(jobId, JobEventTypes.Progress, $"{{\"done\":{i},\"total\":{count}}}", [])).Seq;

    private static async Task ArrivedAsync(SemaphoreSlim arrived)
    {
        if (!await arrived.WaitAsync(TimeSpan.FromSeconds(10)))
        {
            throw new TimeoutException("An event did not reach a subscriber within 10 s; the figures would be wrong.");
        }
    }

    private static int Arg(string[] args, string name, int fallback)
    {
        var i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? int.Parse(args[i + 1], CultureInfo.InvariantCulture) : fallback;
    }

    internal sealed record Stats(int Count, double P50, double P90, double P99, double Max)
    {
        public static Stats Of(IEnumerable<long> ticks)
        {
            var ms = ticks.Select(t => t * 1000.0 / Stopwatch.Frequency).Order().ToArray();
            return new Stats(ms.Length, At(ms, 0.50), At(ms, 0.90), At(ms, 0.99), ms[^1]);
        }

        private static double At(double[] sorted, double q) => sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(q * sorted.Length) - 1)];
    }
}
