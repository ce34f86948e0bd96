// The fault soak of issue 14: does every accepted job end exactly once while processes die?
// Starts on loopback, on free ports, in .local/soak/RUN/: Redis with an AOF (fsync every second),
// the emulator on its data directory, 2 gateways and 2 workers (the Release build outputs; this
// program builds nothing: ./dev.sh soak builds first). Runs a mixed load (embeddings, streamed
// embeddings, generation with token events, chat completions streamed, webhooks to a receiver in this
// process that sometimes answers 503, SSE and hub subscribers that drop and resume from their cursor,
// cancellations) while an injector applies faults at random moments (seeded): SIGKILL a gateway,
// SIGKILL a worker, SIGSTOP a worker past the visibility timeout, restart the emulator, restart Redis,
// pause Redis. Then drains (bounded) and checks the ledger; prints one markdown table on stdout and
// exits 1 when a check fails.
//
//   FaultSoak [--short] [--duration SECONDS] [--jobs N] [--faults N] [--seed N] [--kinds a,b]
//             [--drain SECONDS] [--keep-data]
using System.Diagnostics;
using System.Globalization;
using InferenceGateway.FaultSoak;
using InferenceGateway.Gateway.Auth;
using InferenceGateway.Tests.Infrastructure;
using StackExchange.Redis;

SoakOptions options;
try
{
    options = Parse(args);
}
catch (Exception ex) when (ex is ArgumentException or FormatException)
{
    Console.Error.WriteLine($"[soak] {ex.Message}");
    Console.Error.WriteLine("usage: FaultSoak [--short] [--duration SECONDS] [--jobs N] [--faults N] [--seed N] [--kinds " + string.Join(',', FaultKinds.All) + "] [--drain SECONDS] [--keep-data]");
    return 2;
}

var runName = $"{DateTime.UtcNow:yyyyMMdd'T'HHmmss'Z'}-{Environment.ProcessId.ToString(CultureInfo.InvariantCulture)}";
// SOAK_DIR: where runs go (./dev.sh soak: .local/soak; the test: a temporary folder).
var directory = Path.Combine(Environment.GetEnvironmentVariable("SOAK_DIR") is { Length: > 0 } soakDir ? soakDir : Path.Combine(RepoPaths.Root, ".local", "soak"), runName);
Console.Error.WriteLine($"[soak] seed {options.Seed}; {options.Jobs} jobs over {options.Duration.TotalSeconds:F0} s, {options.Faults} faults; folder {directory}");
var wall = Stopwatch.StartNew();
var stack = SoakStack.Create(directory);
using var stopping = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true;
    stopping.Cancel();
};
AppDomain.CurrentDomain.ProcessExit += (_, _) =>
{
    foreach (var process in stack.All)
    {
        process.Signal(SoakProcess.SigKill);
    }
};

try
{
    await stack.StartAsync();
    Console.Error.WriteLine($"[soak] stack up after {wall.Elapsed.TotalSeconds:F0} s");
    SoakTenants tenants;
    await using (var redis = await ConnectionMultiplexer.ConnectAsync(stack.RedisConfiguration))
    {
        var keys = new ApiKeyStore(redis, TimeProvider.System);
        var jobsTenant = $"soak-jobs-{options.Seed.ToString(CultureInfo.InvariantCulture)}";
        var chatTenant = $"soak-chat-{options.Seed.ToString(CultureInfo.InvariantCulture)}";
        var jobsKey = await keys.CreateAsync(new NewApiKey(jobsTenant, "soak", [Scopes.JobsRead, Scopes.JobsWrite, Scopes.Webhooks], SoakStack.SoakPlan));
        var chatKey = await keys.CreateAsync(new NewApiKey(chatTenant, "soak", [Scopes.JobsRead, Scopes.JobsWrite], SoakStack.SoakPlan));
        tenants = new SoakTenants(jobsTenant, jobsKey.Key, chatTenant, chatKey.Key);
    }

    await using var receiver = await WebhookReceiver.StartAsync(options.Seed, failShare: 0.2);
    using var client = new SoakClient(stack.Gateways.Select(g => g.Port));
    var run = new SoakRun(options, stack, client, receiver, tenants);
    var plans = SoakRun.PlanJobs(options);
    var faults = SoakRun.PlanFaults(options);
    await run.RunAsync(plans, faults).WaitAsync(stopping.Token);
    await File.WriteAllLinesAsync(
        Path.Combine(directory, "logs", "rss.csv"),
        ["seconds,process,pid,rss_mib", .. run.RssSamples.Select(s => string.Create(CultureInfo.InvariantCulture, $"{s.At.TotalSeconds:F0},{s.Name},{s.Pid},{s.MiB:F1}"))]);
    Console.Error.WriteLine($"[soak] load and faults done after {run.LoadTime.TotalSeconds:F0} s, drained in {run.DrainTime.TotalSeconds:F0} s; checking the ledger");

    var ledger = new Ledger(options, stack, client, run, receiver, tenants);
    var table = await ledger.CheckAsync();
    Console.WriteLine("# Fault soak");
    Console.WriteLine();
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, seed {options.Seed} (`./dev.sh soak{(options.Short ? " --short" : string.Empty)} --seed {options.Seed}{(options.Short ? string.Empty : $" --duration {options.Duration.TotalSeconds:F0} --jobs {options.Jobs} --faults {options.Faults}")}` repeats the plan), {options.Jobs} jobs planned over {options.Duration.TotalSeconds:F0} s, {options.Faults} faults planned; load and faults took {run.LoadTime.TotalSeconds:F0} s, the drain {run.DrainTime.TotalSeconds:F0} s (bound {options.Drain.TotalSeconds:F0} s), the whole run {wall.Elapsed.TotalSeconds:F0} s. Stack: Redis (AOF, fsync every second), the emulator on its data directory, 2 gateways, 2 workers, visibility timeout {SoakStack.VisibilitySeconds} s. Logs: {Path.Combine(directory, "logs")}/."));
    Console.WriteLine();
    Console.Write(table);
    Console.WriteLine();
    Console.WriteLine(ledger.Passed ? "Result: every check passed." : "Result: FAILED (see the rows marked FAIL and the details above).");
    return ledger.Passed ? 0 : 1;
}
catch (OperationCanceledException) when (stopping.IsCancellationRequested)
{
    Console.Error.WriteLine("[soak] interrupted");
    return 130;
}
catch (Exception ex)
{
    Console.Error.WriteLine($"[soak] the soak itself failed: {ex}");
    return 2;
}
finally
{
    await stack.StopAsync();
    if (!options.KeepData)
    {
        foreach (var data in new[] { "redis", "sqs", "models" })
        {
            var path = Path.Combine(directory, data);
            if (Directory.Exists(path))
            {
                Directory.Delete(path, recursive: true);
            }
        }
    }
}

static SoakOptions Parse(string[] args)
{
    var isShort = args.Contains("--short");
    var duration = TimeSpan.FromSeconds(isShort ? 90 : 600);
    var jobs = isShort ? 270 : 2400;
    var faults = isShort ? FaultKinds.All.Length : 36;
    var drain = TimeSpan.FromSeconds(isShort ? 45 : 120);
    var seed = Random.Shared.Next(1, 1_000_000);
    var kinds = FaultKinds.All;
    var keep = false;
    for (var i = 0; i < args.Length; i++)
    {
        string Value() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
        int Number() => int.Parse(Value(), NumberStyles.None, CultureInfo.InvariantCulture);
        switch (args[i])
        {
            case "--short":
                break;
            case "--duration":
                duration = TimeSpan.FromSeconds(Number());
                break;
            case "--jobs":
                jobs = Number();
                break;
            case "--faults":
                faults = Number();
                break;
            case "--seed":
                seed = Number();
                break;
            case "--drain":
                drain = TimeSpan.FromSeconds(Number());
                break;
            case "--kinds":
                kinds = Value().Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
                if (kinds.Length == 0 || kinds.Any(k => !FaultKinds.All.Contains(k)))
                {
                    throw new ArgumentException($"--kinds takes some of {string.Join(',', FaultKinds.All)}");
                }

                break;
            case "--keep-data":
                keep = true;
                break;
            default:
                throw new ArgumentException($"unknown argument '{args[i]}'");
        }
    }

    if (duration < TimeSpan.FromSeconds(20) || jobs < 1)
    {
        throw new ArgumentException("--duration must be at least 20 s and --jobs at least 1");
    }

    return new SoakOptions(duration, jobs, seed, faults, isShort, kinds, drain, keep);
}
