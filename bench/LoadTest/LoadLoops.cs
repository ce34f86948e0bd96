using System.Diagnostics;
using System.Net.Http.Headers;
using System.Text;

namespace InferenceGateway.LoadTest;

/// <summary>The two ways load is applied: a closed loop (N callers, each sends when its last answer came) and an open loop (a fixed arrival rate).</summary>
internal static class LoadLoops
{
    public static HttpClient Client(Uri baseAddress, string? key)
    {
        var client = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 256, PooledConnectionLifetime = TimeSpan.FromMinutes(5) })
        {
            BaseAddress = baseAddress,
            Timeout = TimeSpan.FromSeconds(30),
        };
        if (key is not null)
        {
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        }

        return client;
    }

    /// <summary><paramref name="concurrency"/> callers GET <paramref name="path"/> back to back for <paramref name="duration"/>.</summary>
    public static async Task<Result> ClosedLoopAsync(int concurrency, HttpClient client, string path, TimeSpan duration)
    {
        var latencies = new List<double>[concurrency];
        var errors = 0;
        var clock = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, concurrency).Select(async worker =>
        {
            var mine = latencies[worker] = new List<double>(100_000);
            while (clock.Elapsed < duration)
            {
                var started = Stopwatch.GetTimestamp();
                using var response = await client.GetAsync(path);
                await response.Content.ReadAsByteArrayAsync();
                mine.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
                if (!response.IsSuccessStatusCode)
                {
                    Interlocked.Increment(ref errors);
                }
            }
        }));
        return Result.From([.. latencies.SelectMany(l => l)], clock.Elapsed, errors);
    }

    /// <summary>
    /// <c>POST /v1/jobs</c> at <paramref name="perSecond"/> for <paramref name="duration"/>, one-sentence
    /// jobs; each latency counts from the request's scheduled time, so a server that falls behind
    /// cannot hide its queueing (no coordinated omission).
    /// </summary>
    /// <summary>
    /// An open loop at <paramref name="perSecond"/>: each latency counts from the request's scheduled
    /// time. <c>POST /v1/jobs</c> with one sentence (202 expected), or a GET of
    /// <paramref name="getPath"/> (200 expected) as a baseline of the same loop, client and server.
    /// </summary>
    public static async Task<Result> OpenLoopAsync(HttpClient client, int perSecond, TimeSpan duration, int offset = 0, string? getPath = null)
    {
        var total = (int)(perSecond * duration.TotalSeconds);
        var latencies = new double[total];
        var errors = 0;
        var clock = Stopwatch.StartNew();
        var sends = new Task[total];
        for (var i = 0; i < total; i++)
        {
            var scheduled = TimeSpan.FromSeconds((double)i / perSecond);
            var wait = scheduled - clock.Elapsed;
            if (wait > TimeSpan.FromMilliseconds(1))
            {
                await Task.Delay(wait);
            }

            var index = i;
            sends[i] = Task.Run(async () =>
            {
                using var content = getPath is null ? new StringContent($"{{\"model\":\"all-minilm-l6-v2\",\"input\":{{\"texts\":[\"load test sentence {offset + index}\"]}}}}", Encoding.UTF8, "application/json") : null;
                using var response = getPath is null ? await client.PostAsync("/v1/jobs", content) : await client.GetAsync(getPath);
                latencies[index] = (clock.Elapsed - scheduled).TotalMilliseconds;
                if ((int)response.StatusCode != (getPath is null ? 202 : 200))
                {
                    Interlocked.Increment(ref errors);
                }
            });
        }

        await Task.WhenAll(sends);
        return Result.From(latencies, clock.Elapsed, errors);
    }
}
