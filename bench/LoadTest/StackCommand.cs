using System.Globalization;
using InferenceGateway.Tests.Infrastructure;

namespace InferenceGateway.LoadTest;

/// <summary>
/// <c>-- stack</c>: whole-stack job throughput with dynamic batching on and off, against the plain
/// ONNX Runtime program in the same run, with CPU-ms per job for each process.
/// </summary>
internal static class StackCommand
{
    public static async Task RunAsync(string[] args)
    {
        var jobs = Args.Int(args, "--jobs", 800);
        var tenants = Args.Int(args, "--tenants", 2);
        var inFlight = Args.Int(args, "--in-flight", 64);
        var rounds = Args.Int(args, "--rounds", 1);
        var modes = (Args.String(args, "--batching") ?? "on,off").Split(',');
        var perf = Args.String(args, "--perf"); // a folder: one perf.data per run
        // --set key=value (repeatable): a setting for gateway and worker, e.g. Batching:WindowMs=0 or DOTNET_gcServer=0
        var settings = new Dictionary<string, string?>();
        for (var i = 0; i < args.Length - 1; i++)
        {
            if (args[i] == "--set" && args[i + 1].Split('=', 2) is [var key, var value])
            {
                settings[key] = value;
            }
        }

        Console.WriteLine($"plain ONNX Runtime on {jobs} texts ({Environment.ProcessorCount} cores)...");
        var baseline = await StackBench.BaselineAsync(jobs, rounds: 2);
        await TestStack.StartAsync();
        var results = new List<StackResult>();
        try
        {
            for (var round = 0; round < rounds; round++)
            {
                foreach (var mode in modes)
                {
                    var perfOutput = perf is null ? null : Path.Combine(Path.GetFullPath(perf), $"stack-batching-{mode}-{round + 1}.perf.data");
                    var run = new StackRun($"batching {mode}", jobs, tenants, inFlight, mode == "on", settings, perfOutput);
                    Console.WriteLine($"stack, {run.Name}, round {round + 1}...");
                    results.Add(await StackBench.RunAsync(run));
                }
            }
        }
        finally
        {
            await TestStack.StopAsync();
        }

        Print(baseline, results);
    }

    public static void Print(BaselineResult baseline, IReadOnlyList<StackResult> results)
    {
        Console.WriteLine();
        Console.WriteLine(F($"Baseline (× bare best): the plain program's best as its docs advise, batch {baseline.BestBatch}, {baseline.BestPerSecond:F0} texts/s; with {Environment.ProcessorCount} single-threaded runs at once its best is batch {baseline.BestParallelBatch}, {baseline.BestParallelPerSecond:F0} texts/s."));
        Console.WriteLine();
        Console.WriteLine("| run | texts or jobs/s | × bare best | note |");
        Console.WriteLine("|---|---:|---:|---|");
        foreach (var pass in baseline.Passes)
        {
            var how = pass.Parallel ? $"{Environment.ProcessorCount} single-threaded runs at once" : "one run on every core (as its docs advise)";
            Console.WriteLine(F($"| plain ONNX Runtime, {how}, batch {pass.Batch} | {pass.PerSecond:F0} | {pass.PerSecond / baseline.BestPerSecond:F2} | {pass.CpuMsPerText:F2} CPU-ms/text |"));
        }

        foreach (var r in results)
        {
            Console.WriteLine(F($"| whole stack, {r.Run.Name} | {r.JobsPerSecond:F0} | {r.JobsPerSecond / baseline.BestPerSecond:F2} | {r.JobsPerSecond / baseline.BestParallelPerSecond:F2} × the parallel plain program; {r.Completed} jobs in {r.Elapsed.TotalSeconds:F2} s, all submitted at {r.Submitted.TotalSeconds:F2} s, {r.Refused} refused, after {r.WarmUp.TotalSeconds:F0} s of warm-up |"));
            Console.WriteLine(F($"| whole stack, {r.Run.Name}, emulator and load generator CPU left out | {r.JobsPerSecondWithoutEmulatorAndLoad:F0} | {r.JobsPerSecondWithoutEmulatorAndLoad / baseline.BestPerSecond:F2} | jobs per CPU-second of gateway + worker + Redis × {Environment.ProcessorCount} cores |"));
        }

        Console.WriteLine();
        Console.WriteLine("CPU-ms per job, by process:");
        Console.WriteLine();
        Console.WriteLine("| process | " + string.Join(" | ", results.Select(r => r.Run.Name)) + " |");
        Console.WriteLine("|---|" + string.Concat(results.Select(_ => "---:|")));
        foreach (var name in results[0].Cpu.Select(c => c.Name))
        {
            Console.WriteLine($"| {name} | " + string.Join(" | ", results.Select(r => F($"{r.CpuMsPerJob(name):F2}"))) + " |");
        }

        Console.WriteLine("| worker: ONNX Runtime threads (onnx-*) | " + string.Join(" | ", results.Select(r => F($"{r.OnnxCpuMs / Math.Max(1, r.Completed):F2}"))) + " |");
        Console.WriteLine("| worker: the rest (pipeline) | " + string.Join(" | ", results.Select(r => F($"{(r.Cpu.First(c => c.Name == "worker").CpuMs - r.OnnxCpuMs) / Math.Max(1, r.Completed):F2}"))) + " |");
        Console.WriteLine("| gateway + worker: JIT thread (in the rows above) | " + string.Join(" | ", results.Select(r => F($"{r.JitCpuMs / Math.Max(1, r.Completed):F2}"))) + " |");
        Console.WriteLine("| all | " + string.Join(" | ", results.Select(r => F($"{r.Cpu.Sum(c => c.CpuMs) / Math.Max(1, r.Completed):F2}"))) + " |");
        Console.WriteLine();
        Console.WriteLine("| memory after the run | " + string.Join(" | ", results.Select(r => r.Run.Name)) + " |");
        Console.WriteLine("|---|" + string.Concat(results.Select(_ => "---:|")));
        Console.WriteLine("| gateway RSS MiB | " + string.Join(" | ", results.Select(r => F($"{r.GatewayRssMiB:F0}"))) + " |");
        Console.WriteLine("| worker RSS MiB | " + string.Join(" | ", results.Select(r => F($"{r.WorkerRssMiB:F0}"))) + " |");
    }

    private static string F(FormattableString value) => value.ToString(CultureInfo.InvariantCulture);
}

/// <summary>Command-line arguments of the form <c>--name value</c>.</summary>
internal static class Args
{
    public static int Int(string[] args, string name, int fallback) =>
        String(args, name) is { } value ? int.Parse(value, CultureInfo.InvariantCulture) : fallback;

    public static string? String(string[] args, string name)
    {
        var i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
    }
}
