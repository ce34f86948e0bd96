using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using InferenceGateway.Core.Jobs;
using InferenceGateway.Gateway.Auth;
using InferenceGateway.Inference;
using InferenceGateway.Inference.Batching;
using InferenceGateway.Inference.Embeddings;
using InferenceGateway.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace InferenceGateway.LoadTest;

/// <summary>
/// Job throughput through the whole stack against the raw compute, side by side in one run:
/// (a) bare ONNX Runtime embedding the same one-sentence texts at batch sizes 1 to 64 (the best is
/// the baseline); (b) the same texts as that many concurrent one-sentence jobs, POST /v1/jobs to the
/// gateway, SQS, the worker with dynamic batching, the result recorded in Redis; (c) the same with
/// dynamic batching off. Every stage shares this machine's cores; rounds are interleaved.
/// </summary>
internal static class JobThroughput
{
    public static async Task RunAsync(string[] args)
    {
        var jobs = Arg(args, "--jobs", 512);
        var rounds = Arg(args, "--rounds", 2);
        var stackRounds = rounds;
        var texts = Enumerable.Range(0, jobs).Select(i => $"Sentence {i}: the edge accepts a job and a GPU worker runs it later.").ToArray();

        await TestStack.StartAsync();
        try
        {
            var results = new List<(string Name, double PerSecond, string Note)>();
            // One call at a time with every core as its intra-op threads: the plain ONNX Runtime way.
            using (var model = MiniLmEmbedder.Load(new InferenceOptions { MaxBatchSize = 1024, ConcurrentRuns = 1 }))
            {
                if (args.Contains("--stack-only"))
                {
                    rounds = 0; // for profiling the stack: keep one bare batch-64 pass as the baseline
                    results.Add(("(a) bare ONNX Runtime, batch 64", Bare(model, texts, 64), string.Empty));
                }

                Bare(model, texts[..64], 8); // warm-up
                for (var round = 0; round < rounds; round++)
                {
                    foreach (var size in new[] { 1, 8, 16, 32, 64 })
                    {
                        results.Add(($"(a) bare ONNX Runtime, batch {size}", Bare(model, texts, size), string.Empty));
                    }
                }
            }

            for (var round = 0; round < stackRounds; round++)
            {
                foreach (var batching in new[] { true, false })
                {
                    var (perSecond, note) = await StackAsync(texts, batching, round);
                    results.Add((batching ? "(b) whole stack, dynamic batching on" : "(c) whole stack, dynamic batching off", perSecond, note));
                }
            }

            var best = results.Where(r => r.Name.StartsWith("(a)", StringComparison.Ordinal))
                .GroupBy(r => r.Name)
                .Select(g => (Name: g.Key, PerSecond: g.Average(r => r.PerSecond)))
                .MaxBy(g => g.PerSecond);
            var unbatched = results.Where(r => r.Name.StartsWith("(c)", StringComparison.Ordinal)).Average(r => r.PerSecond);
            Console.WriteLine($"{jobs} one-sentence texts/jobs, {rounds} rounds; baseline = {best.Name} ({best.PerSecond:F0} texts/s, mean of rounds)");
            Console.WriteLine("| run | texts or jobs/s | ratio to best bare | ratio to unbatched stack | note |");
            Console.WriteLine("|---|---:|---:|---:|---|");
            foreach (var (name, perSecond, note) in results)
            {
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {name} | {perSecond:F0} | {perSecond / best.PerSecond:F2} | {perSecond / unbatched:F2} | {note} |"));
            }
        }
        finally
        {
            await TestStack.StopAsync();
        }
    }

    private static double Bare(MiniLmEmbedder model, string[] texts, int batch)
    {
        var clock = Stopwatch.StartNew();
        for (var start = 0; start < texts.Length; start += batch)
        {
            model.Embed(texts[start..Math.Min(texts.Length, start + batch)]);
        }

        return texts.Length / clock.Elapsed.TotalSeconds;
    }

    private static async Task<(double PerSecond, string Note)> StackAsync(string[] texts, bool batching, int round)
    {
        var configuration = TestStack.Configuration(TestStack.UniqueName("jobs"));
        configuration["RateLimits:Plans:bench:RequestsPerSecond"] = "1000000";
        configuration["RateLimits:Plans:bench:Burst"] = "1000000";
        configuration["RateLimits:Plans:bench:MaxActiveJobs"] = "0";
        configuration["Logging:LogLevel:Default"] = "Error";
        configuration["Inference:Provisioned"] = "true"; // the cold start is measured elsewhere
        configuration["Worker:WaitTimeSeconds"] = "1";
        configuration["Batching:Enabled"] = batching ? "true" : "false";
        await using var gateway = await GatewayServer.StartAsync(configuration);
        await using var worker = await WorkerServer.StartAsync(configuration);
        var tenant = $"bench-{round}-{(batching ? "on" : "off")}";
        var key = await gateway.CreateKeyAsync(new NewApiKey(tenant, "bench", [Scopes.JobsRead, Scopes.JobsWrite], "bench"));
        using var client = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 64 }) { BaseAddress = gateway.BaseAddress, Timeout = TimeSpan.FromSeconds(60) };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        var usage = gateway.Services.GetRequiredService<UsageReader>();

        var clock = Stopwatch.StartNew();
        var failed = 0;
        using var gate = new SemaphoreSlim(64);
        var submits = texts.Select(async text =>
        {
            await gate.WaitAsync();
            try
            {
                using var content = new StringContent($"{{\"model\":\"all-minilm-l6-v2\",\"input\":{{\"texts\":[\"{text}\"]}}}}", Encoding.UTF8, "application/json");
                using var response = await client.PostAsync("/v1/jobs", content);
                if ((int)response.StatusCode != 202)
                {
                    Interlocked.Increment(ref failed);
                }
            }
            finally
            {
                gate.Release();
            }
        }).ToArray();
        await Task.WhenAll(submits);
        var submitted = clock.Elapsed;
        var expected = texts.Length - failed;
        var deadline = TimeSpan.FromMinutes(5);
        TenantUsage done;
        while ((done = await usage.GetAsync(tenant, 1)).Total.Invocations < expected && clock.Elapsed < deadline)
        {
            await Task.Delay(25);
        }

        var elapsed = clock.Elapsed;
        var completed = done.Total.ByStatus.GetValueOrDefault("completed");
        var stats = worker.Services.GetRequiredService<EmbeddingBatcher>().Statistics;
        var note = string.Create(CultureInfo.InvariantCulture, $"{completed}/{texts.Length} completed in {elapsed.TotalSeconds:F2} s (all submitted at {submitted.TotalSeconds:F2} s), {failed} refused, {stats.Batches} model calls, mean batch {stats.MeanBatchSize:F1}");
        return (completed / elapsed.TotalSeconds, note);
    }

    private static int Arg(string[] args, string name, int fallback)
    {
        var i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? int.Parse(args[i + 1], CultureInfo.InvariantCulture) : fallback;
    }
}
