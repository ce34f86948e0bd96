using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using InferenceGateway.Gateway.Auth;
using InferenceGateway.Tests.Infrastructure;

namespace InferenceGateway.LoadTest;

/// <summary>
/// <c>-- suite [--quick]</c> (what <c>./dev.sh bench</c> runs): the standard benchmarks in one run,
/// each against a baseline measured in the same run, printed as markdown: a summary with the
/// issue's targets, then each section's table. Gateway and worker run as their own processes, as
/// deployed; Redis and the emulator are the test harness's. Benchmarks, not tests: nothing here
/// fails on a figure.
/// </summary>
internal static class Suite
{
    public static async Task RunAsync(string[] args)
    {
        var quick = args.Contains("--quick");
        var clock = Stopwatch.StartNew();
        var summary = new List<SummaryRow>();
        var sections = new StringBuilder();
        var started = DateTimeOffset.UtcNow;
        var loadBefore = File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Trim() : "n/a";

        // --only stack,submit,coldstart,proxy,push: some of the sections (default: all).
        var only = Args.String(args, "--only")?.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        bool Runs(string section) => only is null || only.Contains(section, StringComparer.OrdinalIgnoreCase);

        // --set key=value (repeatable): a setting for every gateway and worker the suite starts.
        for (var i = 0; i < args.Length - 1; i++)
        {
            if (args[i] == "--set" && args[i + 1].Split('=', 2) is [var key, var value])
            {
                Settings[key] = value;
            }
        }

        var jobs = quick ? 800 : 1600;
        BaselineResult? baseline = null;
        if (Runs("stack"))
        {
            Progress($"plain ONNX Runtime baseline ({jobs} texts)");
            baseline = await StackBench.BaselineAsync(jobs, rounds: quick ? 1 : 2, batches: quick ? "1,8,32,64" : "1,8,16,32,64");
        }

        await TestStack.StartAsync();
        try
        {
            if (baseline is not null)
            {
                await StackSectionAsync(quick, jobs, baseline, summary, sections);
            }

            if (Runs("submit"))
            {
                await SubmitLatencySectionAsync(quick, summary, sections);
            }

            if (Runs("coldstart"))
            {
                await ColdStartSectionAsync(quick, summary, sections);
            }

            if (Runs("proxy"))
            {
                await ProxySectionAsync(quick, summary, sections);
            }

            if (Runs("push"))
            {
                await PushSectionAsync(quick, summary, sections);
            }
        }
        finally
        {
            await TestStack.StopAsync();
        }

        Console.WriteLine();
        Console.WriteLine($"# Benchmarks{(quick ? " (--quick)" : string.Empty)}");
        Console.WriteLine();
        Console.WriteLine(F($"{started:yyyy-MM-dd HH:mm} UTC, {Environment.ProcessorCount} cores, everything on this machine; load average before: {loadBefore}; took {clock.Elapsed.TotalMinutes:F1} min."));
        Console.WriteLine("Ratios are against the baseline measured in the same run.");
        Console.WriteLine();
        Console.WriteLine("| benchmark | result | baseline (same run) | ratio | target |");
        Console.WriteLine("|---|---:|---|---:|---|");
        foreach (var row in summary)
        {
            Console.WriteLine($"| {row.Name} | {row.Result} | {row.Baseline} | {row.Ratio} | {row.Target} |");
        }

        Console.WriteLine();
        Console.Write(sections);
    }

    private static async Task StackSectionAsync(bool quick, int jobs, BaselineResult baseline, List<SummaryRow> summary, StringBuilder sections)
    {
        var results = new List<StackResult>();
        var rounds = quick ? 1 : 2;
        for (var round = 0; round < rounds; round++)
        {
            foreach (var batching in new[] { true, false })
            {
                Progress($"whole stack, batching {(batching ? "on" : "off")}, round {round + 1} of {rounds}");
                results.Add(await StackBench.RunAsync(new StackRun($"batching {(batching ? "on" : "off")}", jobs, Tenants: 2, InFlight: 64, batching, new Dictionary<string, string?>(Settings))
                {
                    WarmUpLimit = TimeSpan.FromSeconds(quick ? 15 : 90),
                }));
            }
        }

        var on = results.Where(r => r.Run.Batching).ToList();
        var off = results.Where(r => !r.Run.Batching).ToList();
        var best = baseline.BestPerSecond;
        var onRate = on.Average(r => r.JobsPerSecond);
        var offRate = off.Average(r => r.JobsPerSecond);
        var bare = $"plain ONNX Runtime as its docs advise, batch {baseline.BestBatch}: {best:F0} texts/s";
        summary.Add(new("whole stack, one-sentence jobs/s (batching on)", F($"{onRate:F0}"), bare, F($"{onRate / best:F2}"), "≥ 0.6"));
        summary.Add(new("the same, against the plain program made as parallel as the worker", F($"{onRate:F0}"), F($"plain ONNX Runtime, {Environment.ProcessorCount} single-threaded runs at once, batch {baseline.BestParallelBatch}: {baseline.BestParallelPerSecond:F0} texts/s"), F($"{onRate / baseline.BestParallelPerSecond:F2}"), "(reported)"));
        var onOwn = on.Average(r => r.JobsPerSecondWithoutEmulatorAndLoad);
        summary.Add(new("the same, emulator and load generator CPU left out", F($"{onOwn:F0}"), bare, F($"{onOwn / best:F2}"), "(reported)"));
        summary.Add(new("dynamic batching on / off, jobs/s", F($"{onRate:F0} / {offRate:F0}"), "batching off, same stack", F($"{onRate / offRate:F2}"), "≥ 1.8"));
        if (baseline.ParallelBatchingGain is { } gain)
        {
            summary.Add(new(
                "the model's own gain from batching, run as the worker runs it",
                F($"{gain:F2}"),
                F($"plain ONNX Runtime, {Environment.ProcessorCount} single-threaded runs at once: batch {baseline.BestParallelBatch} / batch 1 texts/s"),
                F($"{onRate / offRate / gain:F2}"),
                "(reported: the stack's on / off ratio over this)"));
        }
        var gatewayMs = on.Average(r => r.CpuMsPerJob("gateway"));
        summary.Add(new("gateway CPU-ms per submit (batching on)", F($"{gatewayMs:F2}"), "–", "–", "≤ 0.3"));
        var workerRest = on.Average(r => (r.Cpu.First(c => c.Name == "worker").CpuMs - r.OnnxCpuMs) / Math.Max(1, r.Completed));
        var workerOnnx = on.Average(r => r.OnnxCpuMs / Math.Max(1, r.Completed));
        summary.Add(new("worker CPU-ms per job beyond ONNX Runtime's threads", F($"{workerRest:F2}"), F($"ONNX Runtime threads: {workerOnnx:F2} ms/job; plain program at batch 32: {baseline.CpuMsPerTextAt(32):F2} ms/text"), "–", "≤ 0.3"));
        summary.Add(new("gateway RSS after load, edge model off", F($"{on.Max(r => r.GatewayRssMiB):F0} MiB"), "–", "–", "≤ 200 MB"));
        summary.Add(new("worker RSS after load", F($"{results.Max(r => r.WorkerRssMiB):F0} MiB"), "–", "–", "≤ 700 MB"));

        sections.AppendLine("## Whole stack against plain ONNX Runtime");
        sections.AppendLine();
        sections.AppendLine(F($"{jobs} one-sentence jobs from 2 tenants, 64 submits in flight; gateway, worker, Redis, the emulator and this load generator each their own process on the same {Environment.ProcessorCount} cores; the worker provisioned (no cold start); measured after a warm-up that lasts until the JIT threads are quiet. The plain program (bench/OrtBaseline) embeds the same texts in its own process: ORT_ENABLE_ALL, intra-op threads = cores. Command: `dotnet bench/LoadTest/bin/Release/net10.0/LoadTest.dll stack --jobs {jobs}`."));
        sections.AppendLine();
        sections.Append(Capture(() => StackCommand.Print(baseline, results)));
        sections.AppendLine();
    }

    private static async Task SubmitLatencySectionAsync(bool quick, List<SummaryRow> summary, StringBuilder sections)
    {
        const int Rate = 200;
        var seconds = quick ? 5 : 10;
        var configuration = BenchConfiguration("submit");
        var port = ExternalProcess.FreePort();
        await using var gateway = await GatewayProcess.StartAsync(configuration, port);
        var key = await CreateKeyAsync("bench-submit");
        using var client = LoadLoops.Client(new Uri($"http://127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}"), key);

        Progress("submit latency: warm-up");
        await WarmUpSubmitsAsync(client, quick ? 2000 : 4000);
        await PurgeAsync(configuration["Sqs:QueueName"]!); // the warm-up's jobs are not run
        await Task.Delay(TimeSpan.FromSeconds(1));
        // Rounds, each the submit then the floor right after it: one 10 s window's p99 is its 20th
        // worst request, and on a shared VM it moves by milliseconds between windows (so does the
        // floor's), so the summary takes the median round.
        var rounds = quick ? 1 : 3;
        await LoadLoops.OpenLoopAsync(client, 1000, TimeSpan.FromSeconds(2), getPath: "/healthz"); // the floor's warm-up
        var idleRounds = new List<Result>();
        var floorRounds = new List<Result>();
        for (var round = 0; round < rounds; round++)
        {
            Progress($"submit latency: POST /v1/jobs at {Rate}/s for {seconds} s, no worker, then GET /healthz the same (the loop's own floor), round {round + 1} of {rounds}");
            idleRounds.Add(await LoadLoops.OpenLoopAsync(client, Rate, TimeSpan.FromSeconds(seconds), offset: 10_000_000 + (round * 100_000)));
            floorRounds.Add(await LoadLoops.OpenLoopAsync(client, Rate, TimeSpan.FromSeconds(seconds), getPath: "/healthz"));
        }

        var idle = idleRounds.OrderBy(r => r.P99).ElementAt(rounds / 2);
        var floor = floorRounds[idleRounds.IndexOf(idle)]; // the floor measured right after that round

        Progress("submit latency: a worker drains the queue (its warm-up), then the same with it running");
        await using var worker = WorkerProcess.Start(WorkerConfiguration(configuration));
        await WaitForEmptyQueueAsync(configuration["Sqs:QueueName"]!, TimeSpan.FromMinutes(3));
        var busy = await LoadLoops.OpenLoopAsync(client, Rate, TimeSpan.FromSeconds(seconds), offset: 20_000_000);

        summary.Add(new(F($"POST /v1/jobs p99 at {Rate}/s open loop, no worker{(rounds > 1 ? $" (median of {rounds} rounds: {string.Join(", ", idleRounds.Select(r => F($"{r.P99:F1}")))})" : "")}"), F($"{idle.P99:F1} ms"), F($"p50 {idle.P50:F1} ms; GET /healthz in the same loop: p50 {floor.P50:F1}, p99 {floor.P99:F1} ms"), "–", "≤ 10 ms"));
        summary.Add(new(F($"the same with the worker running the jobs"), F($"{busy.P99:F1} ms"), F($"p50 {busy.P50:F1} ms"), "–", "(reported)"));
        sections.AppendLine("## Submit latency at a fixed rate");
        sections.AppendLine();
        sections.AppendLine(F($"`POST /v1/jobs` (API key, Redis rate limit and token charge, record, SQS send) at {Rate}/s for {seconds} s{(rounds > 1 ? $", {rounds} rounds, each followed by the floor (the summary takes the round with the median p99)" : "")}, open loop: each latency counts from the request's scheduled time, and includes the load generator's own lateness in starting it (its p99 is a column: requests start on a thread that sleeps to each one's time with `clock_nanosleep`). The gateway is its own process, warmed up with {(quick ? 2000 : 4000)} submits first."));
        sections.AppendLine();
        sections.AppendLine("| run | requests | achieved/s | p50 ms | p90 ms | p99 ms | max ms | non-202 | generator late, p99 ms |");
        sections.AppendLine("|---|---:|---:|---:|---:|---:|---:|---:|---:|");
        var runs = new List<(string, Result)>();
        for (var round = 0; round < rounds; round++)
        {
            var label = rounds > 1 ? F($", round {round + 1}") : string.Empty;
            runs.Add((F($"no worker (jobs stay queued){label}"), idleRounds[round]));
            runs.Add((F($"(baseline) `GET /healthz`, same loop, client and gateway: the floor{label}"), floorRounds[round]));
        }

        runs.Add(("worker running the jobs on the same cores", busy));
        foreach (var (name, r) in runs)
        {
            sections.AppendLine(F($"| {name} | {r.Count} | {r.PerSecond:F0} | {r.P50:F2} | {r.P90:F2} | {r.P99:F2} | {r.Max:F2} | {r.Errors} | {r.LateP99:F2} |"));
        }

        sections.AppendLine();
    }

    private static async Task ColdStartSectionAsync(bool quick, List<SummaryRow> summary, StringBuilder sections)
    {
        var runs = quick ? 2 : 5;
        var configuration = BenchConfiguration("coldstart");
        var cache = Path.Combine(Path.GetTempPath(), $"bench-model-cache-{Environment.ProcessId}");
        configuration["Inference:ModelCacheDirectory"] = cache;
        var port = ExternalProcess.FreePort();
        await using var gateway = await GatewayProcess.StartAsync(configuration, port);
        var key = await CreateKeyAsync("bench-coldstart");
        using var client = LoadLoops.Client(new Uri($"http://127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}"), key);
        var worker = new List<(double InitMs, double FirstJobMs, string Cache)>();
        var plain = new List<double>();
        try
        {
            Progress("cold start: a first worker fills the model cache (not counted)");
            await FirstJobAsync(client, configuration, "cold start, cache fill");
            for (var run = 0; run < runs; run++)
            {
                Progress($"cold start: run {run + 1} of {runs}");
                plain.Add(await PlainLoadAsync());
                worker.Add(await FirstJobAsync(client, configuration, $"cold start {run}"));
            }
        }
        finally
        {
            try
            {
                Directory.Delete(cache, recursive: true);
            }
            catch (IOException)
            {
                // A temp folder; best effort.
            }
        }

        var init = worker.Select(w => w.InitMs).Order().ToArray();
        var first = worker.Select(w => w.FirstJobMs).Order().ToArray();
        var baselineMs = plain.Order().ToArray();
        summary.Add(new("cold start: first job's initMs in a fresh worker process, model cache warm (median)", F($"{Median(init):F0} ms"), F($"plain ONNX Runtime program's load to first answer: {Median(baselineMs):F0} ms"), F($"{Median(init) / Median(baselineMs):F2}"), "≤ 300 ms"));
        sections.AppendLine("## Cold start where users see it");
        sections.AppendLine();
        sections.AppendLine(F($"A fresh worker process (not provisioned) is started beside a running gateway, one one-sentence job is submitted once it polls, and the job's own `metrics.initMs` is read back; {runs} runs, after one that fills the optimised-model cache. Baseline, interleaved: the plain ONNX Runtime program (bench/OrtBaseline --load-only) in a fresh process, from reading the model to its first embedding."));
        sections.AppendLine();
        sections.AppendLine("| case | median ms | min | max |");
        sections.AppendLine("|---|---:|---:|---:|");
        sections.AppendLine(F($"| plain ONNX Runtime program: model read, session, tokenizer, first embedding (baseline) | {Median(baselineMs):F0} | {baselineMs[0]:F0} | {baselineMs[^1]:F0} |"));
        sections.AppendLine(F($"| worker: the first job's initMs (cache: {string.Join(", ", worker.Select(w => w.Cache).Distinct())}) | {Median(init):F0} | {init[0]:F0} | {init[^1]:F0} |"));
        sections.AppendLine(F($"| worker: the first job from submit to completed (submitted once the worker polls) | {Median(first):F0} | {first[0]:F0} | {first[^1]:F0} |"));
        sections.AppendLine();
    }

    private static async Task ProxySectionAsync(bool quick, List<SummaryRow> summary, StringBuilder sections)
    {
        var seconds = quick ? 2 : 8;
        const int Concurrency = 16;
        await using var upstream = await UpstreamServer.StartAsync("bench");
        var configuration = BenchConfiguration("proxy");
        configuration["ReverseProxy:Routes:bench:ClusterId"] = "up";
        configuration["ReverseProxy:Routes:bench:AuthorizationPolicy"] = "jobs:read";
        configuration["ReverseProxy:Routes:bench:Match:Path"] = "/bench/{**rest}";
        configuration["ReverseProxy:Routes:bench:Metadata:RateLimit"] = "requests";
        configuration["ReverseProxy:Routes:bare:ClusterId"] = "up";
        configuration["ReverseProxy:Routes:bare:AuthorizationPolicy"] = "Anonymous";
        configuration["ReverseProxy:Routes:bare:Match:Path"] = "/bare/{**rest}";
        configuration["ReverseProxy:Clusters:up:Destinations:a:Address"] = upstream.Address.ToString();
        var port = ExternalProcess.FreePort();
        await using var gateway = await GatewayProcess.StartAsync(configuration, port);
        var key = await CreateKeyAsync("bench-proxy");
        using var direct = LoadLoops.Client(upstream.Address, null);
        using var proxied = LoadLoops.Client(new Uri($"http://127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}"), key);

        Progress("proxy overhead: warm-up");
        foreach (var (client, path) in new[] { (direct, "/bench/ping"), (proxied, "/bench/ping"), (proxied, "/bare/ping") })
        {
            await LoadLoops.ClosedLoopAsync(Concurrency, client, path, TimeSpan.FromSeconds(quick ? 2 : 5));
        }

        var runs = new List<(string Name, Result Result)>();
        for (var round = 0; round < 2; round++)
        {
            Progress($"proxy overhead: round {round + 1} of 2");
            runs.Add(("direct to upstream (baseline)", await LoadLoops.ClosedLoopAsync(Concurrency, direct, "/bench/ping", TimeSpan.FromSeconds(seconds))));
            runs.Add(("YARP route alone (anonymous, no limit)", await LoadLoops.ClosedLoopAsync(Concurrency, proxied, "/bare/ping", TimeSpan.FromSeconds(seconds))));
            runs.Add(("YARP route + API key + Redis rate limit", await LoadLoops.ClosedLoopAsync(Concurrency, proxied, "/bench/ping", TimeSpan.FromSeconds(seconds))));
        }

        var baseline = runs.Where(r => r.Name.StartsWith("direct", StringComparison.Ordinal)).Average(r => r.Result.PerSecond);
        var ours = runs.Where(r => r.Name.Contains("API key", StringComparison.Ordinal)).ToList();
        summary.Add(new("proxy: GETs/s through a route with API key + Redis limit", F($"{ours.Average(r => r.Result.PerSecond):F0}"), F($"direct to the upstream: {baseline:F0}/s"), F($"{ours.Average(r => r.Result.PerSecond) / baseline:F2}"), "(reported)"));
        sections.AppendLine("## Proxy overhead");
        sections.AppendLine();
        sections.AppendLine(F($"A closed loop of {Concurrency} concurrent GETs for {seconds} s against a tiny upstream, directly and through the gateway process, twice, interleaved, after a warm-up. A proxied request costs two HTTP hops to the direct one's one, on the same cores."));
        sections.AppendLine();
        sections.AppendLine("| path | requests/s | ratio | p50 ms | p99 ms | errors |");
        sections.AppendLine("|---|---:|---:|---:|---:|---:|");
        foreach (var (name, result) in runs)
        {
            sections.AppendLine(F($"| {name} | {result.PerSecond:F0} | {result.PerSecond / baseline:F2} | {result.P50:F2} | {result.P99:F2} | {result.Errors} |"));
        }

        sections.AppendLine();
    }

    private static async Task PushSectionAsync(bool quick, List<SummaryRow> summary, StringBuilder sections)
    {
        var events = quick ? 300 : 1000;
        var fanOut = quick ? 20 : 100;
        Progress($"push latency: {events} events");
        var rows = await PushLatency.MeasureAsync(events, fanOut, rounds: quick ? 1 : 2);
        var baseline = rows.Where(r => r.Name.StartsWith("(baseline)", StringComparison.Ordinal)).Average(r => r.Stats.P50);
        var hub = rows.Where(r => r.Name == "append -> hub subscriber").Average(r => r.Stats.P50);
        summary.Add(new("push: event appended -> hub subscriber, p50", F($"{hub:F2} ms"), F($"Redis PUBLISH -> subscriber: {baseline:F2} ms"), F($"{hub / baseline:F1}"), "(reported)"));
        sections.AppendLine("## Push latency");
        sections.AppendLine();
        sections.AppendLine(F($"{events} events appended one at a time to a job's log as the worker appends them (each once the last reached every subscriber), to one hub and one SSE subscriber, and to {fanOut} hub subscribers of one job; gateway in this process (one clock for both ends)."));
        sections.AppendLine();
        sections.Append(Capture(() => PushLatency.Print(rows)));
        sections.AppendLine();
    }

    /// <summary>One fresh worker process: waits until it polls, submits one job, returns the job's initMs and its submit-to-completed time.</summary>
    private static async Task<(double InitMs, double FirstJobMs, string Cache)> FirstJobAsync(HttpClient client, Dictionary<string, string?> configuration, string text)
    {
        var settings = WorkerConfiguration(configuration);
        settings["Inference:Provisioned"] = "false";
        // Each run's worker is killed at the end (SIGKILL, no shutdown): its long poll stays open
        // at the emulator, which would hand the next run's job to the dead connection, and the job
        // would wait out the visibility timeout (30 s) for the next worker. A 1 s poll ends that
        // receive before the next worker is up; a job sent while a poll is open is still answered
        // at once.
        settings["Worker:WaitTimeSeconds"] = "1";
        await using var worker = WorkerProcess.Start(settings);
        if (!await worker.WaitForOutputAsync("Polling", TimeSpan.FromSeconds(60)))
        {
            throw new InvalidOperationException($"The worker did not start polling:\n{worker.Output}");
        }

        var submitted = Stopwatch.GetTimestamp();
        using var response = await client.PostAsJsonAsync("/v1/jobs", new { model = "all-minilm-l6-v2", input = new { texts = new[] { text } } });
        var id = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("id").GetString()!;
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < TimeSpan.FromMinutes(2))
        {
            using var job = JsonDocument.Parse(await client.GetStringAsync($"/v1/jobs/{id}"));
            var status = job.RootElement.GetProperty("status").GetString();
            if (status == "completed")
            {
                var elapsed = Stopwatch.GetElapsedTime(submitted).TotalMilliseconds;
                var initMs = job.RootElement.GetProperty("metrics").GetProperty("initMs").GetDouble();
                var line = worker.Output.Split('\n').FirstOrDefault(l => l.Contains("optimised-model cache:", StringComparison.Ordinal)) ?? string.Empty;
                var cache = line.Contains("cache: ", StringComparison.Ordinal) ? line[(line.LastIndexOf("cache: ", StringComparison.Ordinal) + 7)..].TrimEnd(')', '\r', ' ') : "?";
                return (initMs, elapsed, cache);
            }

            if (status is not ("queued" or "running"))
            {
                throw new InvalidOperationException($"The cold-start job ended {status}:\n{worker.Output}");
            }

            await Task.Delay(10);
        }

        throw new TimeoutException($"The cold-start job did not complete:\n{worker.Output}");
    }

    private static async Task<double> PlainLoadAsync()
    {
        var dll = Path.Combine(RepoPaths.Root, "bench", "OrtBaseline", "bin", StackBench.Configuration, "net10.0", "OrtBaseline.dll");
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, UseShellExecute = false };
        info.ArgumentList.Add(dll);
        info.ArgumentList.Add("--load-only");
        using var process = Process.Start(info) ?? throw new InvalidOperationException("Could not start OrtBaseline.");
        var output = await process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync();
        var line = output.Split('\n').First(l => l.StartsWith("load ", StringComparison.Ordinal));
        return double.Parse(line[5..], CultureInfo.InvariantCulture);
    }

    private static async Task WarmUpSubmitsAsync(HttpClient client, int count)
    {
        using var gate = new SemaphoreSlim(32);
        await Task.WhenAll(Enumerable.Range(0, count).Select(async i =>
        {
            await gate.WaitAsync();
            try
            {
                using var content = new StringContent($"{{\"model\":\"all-minilm-l6-v2\",\"input\":{{\"texts\":[\"warm-up {i}\"]}}}}", Encoding.UTF8, "application/json");
                using var response = await client.PostAsync("/v1/jobs", content);
            }
            finally
            {
                gate.Release();
            }
        }));
    }

    private static async Task PurgeAsync(string queue)
    {
        using var sqs = TestStack.CreateSqsClient();
        await sqs.PurgeQueueAsync((await sqs.GetQueueUrlAsync(queue)).QueueUrl);
    }

    private static async Task WaitForEmptyQueueAsync(string queue, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        while (await TestStack.QueuedCountAsync(queue) > 0)
        {
            if (clock.Elapsed > timeout)
            {
                throw new TimeoutException($"The queue {queue} was not drained within {timeout}.");
            }

            await Task.Delay(200);
        }
    }

    private static readonly Dictionary<string, string?> Settings = new(StringComparer.Ordinal);

    private static Dictionary<string, string?> BenchConfiguration(string name)
    {
        var configuration = TestStack.Configuration(TestStack.UniqueName($"bench-{name}"));
        configuration["Logging:LogLevel:Default"] = "Information";
        configuration["Logging:LogLevel:Microsoft.AspNetCore"] = "Warning";
        configuration["RateLimits:Plans:bench:RequestsPerSecond"] = "1000000";
        configuration["RateLimits:Plans:bench:Burst"] = "1000000";
        configuration["RateLimits:Plans:bench:MaxActiveJobs"] = "0";
        configuration["RateLimits:Plans:bench:TokensPerMinute"] = "1000000000";
        foreach (var (key, value) in Settings)
        {
            configuration[key] = value;
        }

        return configuration;
    }

    private static Dictionary<string, string?> WorkerConfiguration(Dictionary<string, string?> configuration) =>
        new(configuration) { ["Inference:Provisioned"] = "true" };

    private static async Task<string> CreateKeyAsync(string tenant)
    {
        var store = new ApiKeyStore(TestStack.Multiplexer, TimeProvider.System);
        return (await store.CreateAsync(new NewApiKey(TestStack.UniqueName(tenant), "bench", [Scopes.JobsRead, Scopes.JobsWrite], "bench"))).Key;
    }

    private static string Capture(Action print)
    {
        var original = Console.Out;
        using var writer = new StringWriter(CultureInfo.InvariantCulture);
        Console.SetOut(writer);
        try
        {
            print();
        }
        finally
        {
            Console.SetOut(original);
        }

        return writer.ToString();
    }

    private static double Median(double[] sorted) =>
        sorted.Length == 0 ? double.NaN : sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[(sorted.Length / 2) - 1] + sorted[sorted.Length / 2]) / 2;

    private static void Progress(string what) => Console.Error.WriteLine($"[bench] {what}");

    private static string F(FormattableString value) => value.ToString(CultureInfo.InvariantCulture);

    private sealed record SummaryRow(string Name, string Result, string Baseline, string Ratio, string Target);
}
