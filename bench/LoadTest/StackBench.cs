using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using InferenceGateway.Core.Jobs;
using InferenceGateway.Gateway.Auth;
using InferenceGateway.Tests.Infrastructure;
using StackExchange.Redis;

namespace InferenceGateway.LoadTest;

/// <summary>
/// The whole stack as it is deployed, each part its own OS process on this machine (redis-server,
/// the fauxqs emulator on Node.js, the gateway, the worker, and this process as the load
/// generator), against a plain ONNX Runtime program (bench/OrtBaseline) on the same texts in the
/// same run. Jobs are one sentence each, submitted by several tenants with a fixed number in flight;
/// a run ends when the tenants' usage counters have counted every job. Each part's CPU time is read
/// from /proc before and after and divided by the jobs: CPU-ms per job per process. The worker's
/// threads named <c>onnx-</c> (ONNX Runtime's own pool and the thread that calls it) are its model
/// time; the rest of the worker is the pipeline around the model.
/// </summary>
internal static class StackBench
{
    private const string OnnxThreadPrefix = "onnx-";

    /// <summary>The runtime's tiered-compilation thread (a thread's name is cut to 15 characters).</summary>
    private const string JitThreadPrefix = ".NET Tiered Com";


    public static string Sentence(int i) => $"Sentence {i}: the edge accepts a job and a GPU worker runs it later.";

    /// <summary>Runs the plain ONNX Runtime program in its own process: texts/s per batch size and the best, with its CPU per text.</summary>
    public static async Task<BaselineResult> BaselineAsync(int texts, int rounds, string batches = "1,8,16,32,64")
    {
        var dll = Path.Combine(RepoPaths.Root, "bench", "OrtBaseline", "bin", Configuration, "net10.0", "OrtBaseline.dll");
        if (!File.Exists(dll))
        {
            throw new FileNotFoundException($"Build bench/OrtBaseline first ({dll} is missing): dotnet build Gateway.sln -c {Configuration}", dll);
        }

        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, UseShellExecute = false };
        foreach (var argument in new[] { dll, "--texts", texts.ToString(CultureInfo.InvariantCulture), "--rounds", rounds.ToString(CultureInfo.InvariantCulture), "--batches", batches })
        {
            info.ArgumentList.Add(argument);
        }

        using var process = Process.Start(info) ?? throw new InvalidOperationException("Could not start OrtBaseline.");
        var output = await process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync();
        var perBatch = new List<BaselinePass>();
        (int Batch, double PerSecond) best = default;
        (int Batch, double PerSecond) bestParallel = default;
        foreach (var line in output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var parts = line.Split(' ');
            var batch = int.Parse(parts[1], CultureInfo.InvariantCulture);
            var perSecond = double.Parse(parts[2], CultureInfo.InvariantCulture);
            if (parts[0] is "batch" or "parallel")
            {
                perBatch.Add(new BaselinePass(batch, perSecond, double.Parse(parts[3], CultureInfo.InvariantCulture), parts[0] == "parallel"));
            }
            else if (parts[0] == "best")
            {
                best = (batch, perSecond);
            }
            else if (parts[0] == "bestparallel")
            {
                bestParallel = (batch, perSecond);
            }
        }

        if (process.ExitCode != 0 || best.PerSecond <= 0)
        {
            throw new InvalidOperationException($"OrtBaseline failed ({process.ExitCode}):\n{output}");
        }

        return new BaselineResult(perBatch, best.Batch, best.PerSecond, bestParallel.Batch, bestParallel.PerSecond);
    }

    /// <summary>The configuration this benchmark was built in (Release or Debug): the other programs are taken from the same.</summary>
    public static string Configuration { get; } = new DirectoryInfo(AppContext.BaseDirectory).Parent!.Name;

    /// <summary>
    /// One run of the run's one-sentence jobs through a fresh gateway and worker
    /// (each its own process) on the shared Redis and emulator.
    /// </summary>
    public static async Task<StackResult> RunAsync(StackRun run)
    {
        var queue = TestStack.UniqueName("bench");
        var configuration = TestStack.Configuration(queue);
        configuration["Logging:LogLevel:Default"] = "Information"; // as ./dev.sh up runs them (appsettings.json)
        configuration["Logging:LogLevel:Microsoft.AspNetCore"] = "Warning";
        configuration["RateLimits:Plans:bench:RequestsPerSecond"] = "1000000";
        configuration["RateLimits:Plans:bench:Burst"] = "1000000";
        configuration["RateLimits:Plans:bench:MaxActiveJobs"] = "0";
        configuration["RateLimits:Plans:bench:TokensPerMinute"] = "1000000000";
        configuration["Inference:Provisioned"] = "true"; // cold starts are measured on their own
        configuration["Batching:Enabled"] = run.Batching ? "true" : "false";
        if (run.PerfOutput is not null)
        {
            configuration["DOTNET_PerfMapEnabled"] = "1"; // JIT-compiled methods named for perf in /tmp/perf-<pid>.map
            configuration["DOTNET_EnableWriteXorExecute"] = "0"; // else JIT code sits in a memfd mapping perf does not look up in the map
        }

        foreach (var (key, value) in run.Settings)
        {
            configuration[key] = value;
        }

        var port = ExternalProcess.FreePort();
        await using var gateway = await GatewayProcess.StartAsync(configuration, port);
        await using var worker = WorkerProcess.Start(configuration);
        if (!await worker.WaitForOutputAsync("Polling", TimeSpan.FromSeconds(60)))
        {
            throw new InvalidOperationException($"The worker did not start polling:\n{worker.Output}");
        }

        var redis = TestStack.Multiplexer.GetDatabase();
        var store = new ApiKeyStore(TestStack.Multiplexer, TimeProvider.System);
        var tenants = new string[run.Tenants];
        var keys = new string[run.Tenants];
        for (var t = 0; t < run.Tenants; t++)
        {
            tenants[t] = TestStack.UniqueName($"bench-t{t}");
            keys[t] = (await store.CreateAsync(new NewApiKey(tenants[t], "bench", [Scopes.JobsRead, Scopes.JobsWrite], "bench"))).Key;
        }

        var baseAddress = new Uri($"http://127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}");
        using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = run.InFlight, PooledConnectionLifetime = TimeSpan.FromMinutes(10) })
        {
            BaseAddress = baseAddress,
            Timeout = TimeSpan.FromSeconds(60),
        };

        // Warm-up: connection pools, the worker's first batches, and above all the JIT. Tiered
        // compilation recompiles thousands of hot methods (ours and the framework's) in the
        // background during the first tens of seconds under load, at first costing more CPU than
        // the jobs themselves; the measured part starts once the gateway's and the worker's JIT
        // threads have been nearly idle through a warm-up round (or after WarmUpLimit).
        var warmUp = Math.Min(run.Jobs, 256);
        var warmed = 0L;
        var warmClock = Stopwatch.StartNew();
        for (var round = 0; ; round++)
        {
            var roundJit = ProcessCpu.ThreadMilliseconds(gateway.Pid, JitThreadPrefix) + ProcessCpu.ThreadMilliseconds(worker.Pid, JitThreadPrefix);
            await SubmitAllAsync(http, keys, warmUp, run.InFlight, offset: 1_000_000 * (round + 1));
            warmed += warmUp;
            await WaitForAsync(redis, tenants, warmed, TimeSpan.FromMinutes(2));
            var jitMs = ProcessCpu.ThreadMilliseconds(gateway.Pid, JitThreadPrefix) + ProcessCpu.ThreadMilliseconds(worker.Pid, JitThreadPrefix) - roundJit;
            if (jitMs < 0.02 * warmUp || warmClock.Elapsed > run.WarmUpLimit)
            {
                break;
            }
        }

        var warmUpTime = warmClock.Elapsed;
        var baseInvocations = await CountAsync(redis, tenants);

        var pids = new (string Name, int Pid)[]
        {
            ("gateway", gateway.Pid),
            ("worker", worker.Pid),
            ("redis", TestStack.Redis.Pid),
            ("emulator", TestStack.Sqs.Pid),
            ("load generator", Environment.ProcessId),
        };
        var before = pids.Select(p => ProcessCpu.Milliseconds(p.Pid)).ToArray();
        var onnxBefore = ProcessCpu.ThreadMilliseconds(worker.Pid, OnnxThreadPrefix);
        var jitBefore = ProcessCpu.ThreadMilliseconds(gateway.Pid, JitThreadPrefix) + ProcessCpu.ThreadMilliseconds(worker.Pid, JitThreadPrefix);
        using var perf = run.PerfOutput is { } perfOutput ? Perf.Start(perfOutput, gateway.Pid, worker.Pid) : null;
        var clock = Stopwatch.StartNew();
        var submit = await SubmitAllAsync(http, keys, run.Jobs, run.InFlight, offset: 0);
        var submitted = clock.Elapsed;
        var expected = baseInvocations + run.Jobs - submit.Refused;
        var done = await WaitForAsync(redis, tenants, expected, TimeSpan.FromMinutes(5));
        var elapsed = clock.Elapsed;
        var after = pids.Select(p => ProcessCpu.Milliseconds(p.Pid)).ToArray();
        var onnxAfter = ProcessCpu.ThreadMilliseconds(worker.Pid, OnnxThreadPrefix);
        var jitAfter = ProcessCpu.ThreadMilliseconds(gateway.Pid, JitThreadPrefix) + ProcessCpu.ThreadMilliseconds(worker.Pid, JitThreadPrefix);
        if (perf is not null)
        {
            await perf.StopAsync();
        }

        var completed = done - baseInvocations;

        var cpu = pids.Select((p, i) => new ProcessShare(p.Name, after[i] - before[i])).ToList();
        return new StackResult(
            run,
            completed,
            submit.Refused,
            elapsed,
            submitted,
            cpu,
            onnxAfter - onnxBefore,
            jitAfter - jitBefore,
            warmUpTime,
            ProcessCpu.ResidentMiB(gateway.Pid),
            ProcessCpu.ResidentMiB(worker.Pid),
            submit.Latencies);
    }

    private static async Task<SubmitResult> SubmitAllAsync(HttpClient http, string[] keys, int jobs, int inFlight, int offset)
    {
        var refused = 0;
        var latencies = new double[jobs];
        using var gate = new SemaphoreSlim(inFlight);
        var tasks = new Task[jobs];
        for (var i = 0; i < jobs; i++)
        {
            await gate.WaitAsync();
            var index = i;
            tasks[i] = Task.Run(async () =>
            {
                try
                {
                    using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/jobs")
                    {
                        Content = new StringContent("""{"model":"all-minilm-l6-v2","input":{"texts":[""" + "\"" + Sentence(offset + index) + "\"]}}", Encoding.UTF8, "application/json"),
                    };
                    request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", keys[index % keys.Length]);
                    var started = Stopwatch.GetTimestamp();
                    using var response = await http.SendAsync(request);
                    latencies[index] = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
                    if ((int)response.StatusCode != 202)
                    {
                        Interlocked.Increment(ref refused);
                    }
                }
                finally
                {
                    gate.Release();
                }
            });
        }

        await Task.WhenAll(tasks);
        return new SubmitResult(refused, latencies);
    }

    private static async Task<long> CountAsync(IDatabase redis, string[] tenants)
    {
        long total = 0;
        foreach (var tenant in tenants)
        {
            total += (long?)await redis.HashGetAsync(UsageKeys.Total(tenant), UsageKeys.Invocations) ?? 0;
        }

        return total;
    }

    /// <summary>Polls the tenants' usage counters (two HGETs per 20 ms) until they reach <paramref name="expected"/>.</summary>
    private static async Task<long> WaitForAsync(IDatabase redis, string[] tenants, long expected, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        long count;
        while ((count = await CountAsync(redis, tenants)) < expected)
        {
            if (clock.Elapsed > timeout)
            {
                throw new TimeoutException($"Only {count} of {expected} jobs ended within {timeout}.");
            }

            await Task.Delay(20);
        }

        return count;
    }

    private sealed record SubmitResult(int Refused, double[] Latencies);
}

/// <summary>What one stack run is: jobs, tenants, jobs in flight, dynamic batching, extra settings for gateway and worker.</summary>
/// <remarks><c>PerfOutput</c>: record the gateway and the worker with Linux <c>perf</c> (CPU-clock samples with call stacks) into this file during the measured part.</remarks>
internal sealed record StackRun(string Name, int Jobs, int Tenants, int InFlight, bool Batching, IReadOnlyDictionary<string, string?> Settings, string? PerfOutput = null)
{
    /// <summary>The longest the warm-up may take before the measured part starts, JIT quiet or not.</summary>
    public TimeSpan WarmUpLimit { get; init; } = TimeSpan.FromSeconds(90);
}

/// <summary>CPU milliseconds one process used during a run.</summary>
internal sealed record ProcessShare(string Name, double CpuMs);

/// <summary>
/// One pass of the plain ONNX Runtime program over the texts at one batch size: texts/s and its
/// process's CPU ms per text; <c>Parallel</c>: one single-threaded Run per core at once instead of
/// one Run on every core.
/// </summary>
internal sealed record BaselinePass(int Batch, double PerSecond, double CpuMsPerText, bool Parallel);

/// <summary>
/// The plain ONNX Runtime program's passes, its best batch size as its docs advise it (one Run on
/// every core; mean texts/s over rounds) and its best with one single-threaded Run per core.
/// </summary>
internal sealed record BaselineResult(IReadOnlyList<BaselinePass> Passes, int BestBatch, double BestPerSecond, int BestParallelBatch, double BestParallelPerSecond)
{
    /// <summary>CPU ms per text of the docs-tuned passes at the batch size nearest <paramref name="batch"/> (mean over rounds).</summary>
    public double CpuMsPerTextAt(double batch) =>
        Passes.Where(p => !p.Parallel).GroupBy(p => p.Batch).MinBy(g => Math.Abs(g.Key - batch))!.Average(p => p.CpuMsPerText);

    /// <summary>
    /// What batching gains the model itself, run as the worker runs it (one single-threaded Run per
    /// core): its best texts/s over its texts/s at batch 1 (mean over rounds). The stack's batching
    /// on / off ratio cannot exceed it by more than the per-job pipeline cost it spreads; null
    /// without a parallel pass at batch 1.
    /// </summary>
    public double? ParallelBatchingGain =>
        Passes.Where(p => p.Parallel && p.Batch == 1).Select(p => p.PerSecond).DefaultIfEmpty().Average() is var atOne and > 0
            ? BestParallelPerSecond / atOne
            : null;
}

internal sealed record StackResult(
    StackRun Run,
    long Completed,
    int Refused,
    TimeSpan Elapsed,
    TimeSpan Submitted,
    IReadOnlyList<ProcessShare> Cpu,
    double OnnxCpuMs,
    double JitCpuMs,
    TimeSpan WarmUp,
    double GatewayRssMiB,
    double WorkerRssMiB,
    double[] SubmitLatencies)
{
    public double JobsPerSecond => Completed / Elapsed.TotalSeconds;

    public double CpuMsPerJob(string process) => Cpu.First(c => c.Name == process).CpuMs / Math.Max(1, Completed);

    /// <summary>
    /// Jobs/s if gateway, worker and Redis had the machine's cores to themselves: the jobs over the
    /// CPU seconds those three used, times the cores. Meaningful only for a run that kept the cores busy.
    /// </summary>
    public double JobsPerSecondWithoutEmulatorAndLoad
    {
        get
        {
            var own = Cpu.Where(c => c.Name is "gateway" or "worker" or "redis").Sum(c => c.CpuMs) / 1000;
            return own <= 0 ? 0 : Completed / own * Environment.ProcessorCount;
        }
    }
}
