using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using InferenceGateway.Contracts;
using InferenceGateway.Gateway.Auth;
using InferenceGateway.Inference;
using InferenceGateway.Inference.Embeddings;
using InferenceGateway.Tests.Infrastructure;
using Microsoft.AspNetCore.SignalR.Client;

namespace InferenceGateway.LoadTest;

/// <summary>
/// Edge embeddings against the queued path, for the same request, in one run on loopback:
/// (a) bare <see cref="MiniLmEmbedder.Embed"/> in this process (the baseline), (b) <c>POST /v1/embeddings</c>
/// answered at the edge, (c) <c>POST /v1/jobs</c> through SQS and a real (provisioned, warm) worker,
/// timed until the <c>completed</c> event arrives over an already open SignalR connection.
/// Sequential requests, then <c>--concurrency</c> clients at once, rounds interleaved. Then the
/// edge cost model's fit: serial edge requests of growing size, least squares of run time on tokens.
/// Bounded by request counts; stops by itself.
/// </summary>
internal static class EdgeLatency
{
    private const string Model = "all-minilm-l6-v2";
    private const string Sentence = "The edge answers light inference in milliseconds; the GPU workers take the heavy jobs.";

    public static async Task RunAsync(string[] args)
    {
        var requests = Arg(args, "--requests", 200);
        var concurrency = Arg(args, "--concurrency", 8);
        var rounds = Arg(args, "--rounds", 2);

        await TestStack.StartAsync();
        try
        {
            var configuration = TestStack.Configuration(TestStack.UniqueName("edge-bench"));
            configuration["Edge:Enabled"] = "true";
            configuration[$"Models:{Model}:Placement:LatencyBudgetMs"] = "60000"; // every request here runs at the edge
            configuration["RateLimits:Plans:bench:RequestsPerSecond"] = "1000000";
            configuration["RateLimits:Plans:bench:Burst"] = "1000000";
            configuration["RateLimits:Plans:bench:MaxActiveJobs"] = "0";
            configuration["RateLimits:Plans:bench:TokensPerMinute"] = "0";
            configuration["RateLimits:Plans:bench:HubConnectsPerSecond"] = "1000000";
            configuration["RateLimits:Plans:bench:HubConnectBurst"] = "1000000";
            configuration["Logging:LogLevel:Default"] = "Error";
            configuration["Inference:Provisioned"] = "true"; // the worker's cold start is measured elsewhere
            configuration["Worker:WaitTimeSeconds"] = "1";
            await using var gateway = await GatewayServer.StartAsync(configuration);
            await using var worker = await WorkerServer.StartAsync(configuration);
            var key = await gateway.CreateKeyAsync(new NewApiKey("edge-bench", "bench", [Scopes.JobsRead, Scopes.JobsWrite], "bench"));
            using var client = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 64 }) { BaseAddress = gateway.BaseAddress, Timeout = TimeSpan.FromSeconds(60) };
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
            await using var hub = gateway.CreateHubConnection(key);
            await hub.StartAsync();
            using var bare = MiniLmEmbedder.Load(new InferenceOptions());

            var edgeBody = JsonSerializer.Serialize(new { model = Model, input = Sentence });
            var jobBody = JsonSerializer.Serialize(new { model = Model, input = new { texts = new[] { Sentence } } });
            Func<Task<bool>> bareCall = () => Task.FromResult(bare.Embed([Sentence]).Length == 1);
            Func<Task<bool>> edgeCall = () => EdgeAsync(client, edgeBody);
            Func<Task<bool>> queueCall = () => QueueAsync(client, hub, jobBody);

            // Warm-up: JIT, tiering, pools, the worker's first job.
            await SeriesAsync(bareCall, 20, 1);
            await SeriesAsync(edgeCall, 20, 1);
            await SeriesAsync(queueCall, 10, 1);

            var runs = new List<(string Name, Result Result)>();
            for (var round = 0; round < rounds; round++)
            {
                foreach (var clients in new[] { 1, concurrency })
                {
                    runs.Add(($"(a) bare MiniLmEmbedder.Embed, {clients} at once", await SeriesAsync(bareCall, requests, clients)));
                    runs.Add(($"(b) POST /v1/embeddings at the edge, {clients} at once", await SeriesAsync(edgeCall, requests, clients)));
                    runs.Add(($"(c) POST /v1/jobs -> SQS -> worker -> completed event, {clients} at once", await SeriesAsync(queueCall, Math.Max(20, requests / 2), clients)));
                }
            }

            Console.WriteLine($"one sentence ({bare.Tokenize(Sentence).Length} tokens) per request; {requests} requests per run ((c): {Math.Max(20, requests / 2)}), {rounds} rounds, loopback");
            Console.WriteLine("| path | requests/s | p50 ms | p90 ms | p99 ms | p50 / bare p50 | p50 / edge p50 | errors |");
            Console.WriteLine("|---|---:|---:|---:|---:|---:|---:|---:|");
            foreach (var group in runs.GroupBy(r => r.Name))
            {
                var clients = group.Key[(group.Key.LastIndexOf(',') + 2)..];
                var bareP50 = runs.Where(r => r.Name.StartsWith("(a)", StringComparison.Ordinal) && r.Name.EndsWith(clients, StringComparison.Ordinal)).Average(r => r.Result.P50);
                var edgeP50 = runs.Where(r => r.Name.StartsWith("(b)", StringComparison.Ordinal) && r.Name.EndsWith(clients, StringComparison.Ordinal)).Average(r => r.Result.P50);
                var p50 = group.Average(r => r.Result.P50);
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"| {group.Key} | {group.Average(r => r.Result.PerSecond):F0} | {p50:F2} | {group.Average(r => r.Result.P90):F2} | {group.Average(r => r.Result.P99):F2} | {p50 / bareP50:F1} | {p50 / edgeP50:F1} | {group.Sum(r => r.Result.Errors)} |"));
            }

            Console.WriteLine();
            await CalibrateAsync(client, bare);
        }
        finally
        {
            await TestStack.StopAsync();
        }
    }

    /// <summary>
    /// Serial edge requests of 1 to 64 texts of short to 256-token length; the p50 of each size
    /// against its tokens, fitted as ms = fixed + perToken × tokens (what <c>Edge:Models:*:FixedMs</c>
    /// and <c>PerTokenMs</c> estimate).
    /// </summary>
    private static async Task CalibrateAsync(HttpClient client, MiniLmEmbedder model)
    {
        var word = "inference ";
        var shapes = new (int Texts, int Words)[] { (1, 4), (1, 32), (1, 120), (1, 250), (4, 8), (4, 32), (8, 16), (8, 60), (16, 32), (32, 16), (32, 60), (64, 32) };
        var points = new List<(double Tokens, double Ms)>();
        Console.WriteLine("| texts x words | tokens | edge p50 ms (HTTP, serial) |");
        Console.WriteLine("|---:|---:|---:|");
        foreach (var (texts, words) in shapes)
        {
            var input = Enumerable.Range(0, texts).Select(i => $"{i} " + string.Concat(Enumerable.Repeat(word, words))).ToArray();
            var tokens = input.Sum(t => model.Tokenize(t).Length);
            var body = JsonSerializer.Serialize(new { model = Model, input });
            var result = await SeriesAsync(() => EdgeAsync(client, body), Math.Clamp(2000 / tokens, 5, 60), 1);
            points.Add((tokens, result.P50));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {texts} x {words} | {tokens} | {result.P50:F2} |"));
        }

        // The fit that matters is around the budget: requests of up to about 600 tokens.
        var near = points.Where(p => p.Tokens <= 640).ToList();
        var meanX = near.Average(p => p.Tokens);
        var meanY = near.Average(p => p.Ms);
        var slope = near.Sum(p => (p.Tokens - meanX) * (p.Ms - meanY)) / near.Sum(p => (p.Tokens - meanX) * (p.Tokens - meanX));
        var intercept = meanY - (slope * meanX);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"fit (requests of <= 640 tokens): ms = {intercept:F2} + {slope:F4} x tokens (Edge:Models:<name>:FixedMs, PerTokenMs); tokens within a 100 ms budget: {(100 - intercept) / slope:F0}"));
    }

    private static async Task<bool> EdgeAsync(HttpClient client, string body)
    {
        using var content = new StringContent(body, Encoding.UTF8, "application/json");
        using var response = await client.PostAsync("/v1/embeddings", content);
        await response.Content.LoadIntoBufferAsync();
        return response.IsSuccessStatusCode;
    }

    private static async Task<bool> QueueAsync(HttpClient client, HubConnection hub, string body)
    {
        using var content = new StringContent(body, Encoding.UTF8, "application/json");
        using var response = await client.PostAsync("/v1/jobs", content);
        if ((int)response.StatusCode != 202)
        {
            return false;
        }

        var id = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("id").GetString()!;
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await foreach (var jobEvent in hub.StreamAsync<JobEvent>("StreamJob", id, 0L, cts.Token))
        {
            if (jobEvent.Type == JobEventTypes.Completed)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary><paramref name="count"/> calls, <paramref name="clients"/> at a time, each timed alone.</summary>
    private static async Task<Result> SeriesAsync(Func<Task<bool>> call, int count, int clients)
    {
        var latencies = new double[count];
        var next = -1;
        var errors = 0;
        var clock = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, clients).Select(_ => Task.Run(async () =>
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) < count)
            {
                var started = Stopwatch.GetTimestamp();
                var ok = await call();
                latencies[i] = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
                if (!ok)
                {
                    Interlocked.Increment(ref errors);
                }
            }
        })));
        return Result.From(latencies, clock.Elapsed, errors);
    }

    private static int Arg(string[] args, string name, int fallback)
    {
        var i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? int.Parse(args[i + 1], CultureInfo.InvariantCulture) : fallback;
    }
}
