// The stack under load, on loopback only, bounded in time: a YARP route with authentication and the
// Redis rate limit against calling the same upstream directly (closed loop), and POST /v1/jobs at
// a fixed arrival rate (open loop, latency measured from each request's scheduled time, so a slow
// server cannot hide its queueing). Ratios against the direct baseline measured in the same run.
// `-- suite [--quick]`: the standard set that ./dev.sh bench runs, as one markdown report (Suite.cs).
// `-- stack`: the whole stack as separate processes against plain ONNX Runtime, CPU-ms per job per process (StackCommand.cs).
// `-- jobs`: job throughput through the whole stack in this process against bare MiniLmEmbedder (JobThroughput.cs).
// `-- push`: event recorded -> received by hub and SSE subscribers, against bare Redis pub/sub (PushLatency.cs).
// `-- writer`: one job's stream writer into its real Redis log, items/s and events (WriterThroughput.cs).
// `-- edge`: POST /v1/embeddings at the edge against the queued job path and bare ONNX Runtime, and the edge cost model's fit (EdgeLatency.cs).
using System.Globalization;
using InferenceGateway.Gateway.Auth;
using InferenceGateway.LoadTest;
using InferenceGateway.Tests.Infrastructure;

if (args.Length > 0 && args[0] == "push")
{
    await PushLatency.RunAsync(args);
    return;
}

if (args.Length > 0 && args[0] == "writer")
{
    await WriterThroughput.RunAsync(args);
    return;
}

if (args.Length > 0 && args[0] == "edge")
{
    await EdgeLatency.RunAsync(args);
    return;
}

if (args.Length > 0 && args[0] == "suite")
{
    await Suite.RunAsync(args);
    return;
}

if (args.Length > 0 && args[0] == "stack")
{
    await StackCommand.RunAsync(args);
    return;
}

if (args.Length > 0 && args[0] == "jobs")
{
    await JobThroughput.RunAsync(args);
    return;
}

var seconds = Arg("--seconds", 8);
var concurrency = Arg("--concurrency", 16);
var rate = Arg("--rate", 200);

await TestStack.StartAsync();
try
{
    await using var upstream = await UpstreamServer.StartAsync("bench");
    var configuration = TestStack.Configuration(TestStack.UniqueName("bench"));
    configuration["RateLimits:Plans:bench:RequestsPerSecond"] = "1000000";
    configuration["RateLimits:Plans:bench:Burst"] = "1000000";
    configuration["RateLimits:Plans:bench:MaxActiveJobs"] = "0";
    configuration["ReverseProxy:Routes:bench:ClusterId"] = "up";
    configuration["ReverseProxy:Routes:bench:AuthorizationPolicy"] = "jobs:read";
    configuration["ReverseProxy:Routes:bench:Match:Path"] = "/bench/{**rest}";
    configuration["ReverseProxy:Routes:bench:Metadata:RateLimit"] = "requests";
    configuration["ReverseProxy:Routes:bare:ClusterId"] = "up";
    configuration["ReverseProxy:Routes:bare:AuthorizationPolicy"] = "Anonymous";
    configuration["ReverseProxy:Routes:bare:Match:Path"] = "/bare/{**rest}";
    configuration["ReverseProxy:Clusters:up:Destinations:a:Address"] = upstream.Address.ToString();
    configuration["Logging:LogLevel:Default"] = "Error";
    await using var gateway = await GatewayServer.StartAsync(configuration);
    var key = await gateway.CreateKeyAsync(new NewApiKey("bench-tenant", "bench", [Scopes.JobsRead, Scopes.JobsWrite], "bench"));

    using var direct = LoadLoops.Client(upstream.Address, null);
    using var proxied = LoadLoops.Client(gateway.BaseAddress, key);
    Console.WriteLine($"closed loop: {concurrency} concurrent GETs for {seconds} s each, twice, interleaved");
    await LoadLoops.ClosedLoopAsync(concurrency, direct, "/bench/ping", TimeSpan.FromSeconds(3)); // warm-up (JIT, tiering, pools)
    await LoadLoops.ClosedLoopAsync(concurrency, proxied, "/bench/ping", TimeSpan.FromSeconds(3));
    await LoadLoops.ClosedLoopAsync(concurrency, proxied, "/bare/ping", TimeSpan.FromSeconds(3));
    var runs = new List<(string Name, Result Result)>();
    for (var round = 0; round < 2; round++)
    {
        runs.Add(("direct to upstream", await LoadLoops.ClosedLoopAsync(concurrency, direct, "/bench/ping", TimeSpan.FromSeconds(seconds))));
        runs.Add(("YARP route alone (anonymous, no limit)", await LoadLoops.ClosedLoopAsync(concurrency, proxied, "/bare/ping", TimeSpan.FromSeconds(seconds))));
        runs.Add(("YARP route + API key + Redis limit", await LoadLoops.ClosedLoopAsync(concurrency, proxied, "/bench/ping", TimeSpan.FromSeconds(seconds))));
    }

    var baseline = runs.Where(r => r.Name.StartsWith("direct", StringComparison.Ordinal)).Average(r => r.Result.PerSecond);
    var baselineP50 = runs.Where(r => r.Name.StartsWith("direct", StringComparison.Ordinal)).Average(r => r.Result.P50);
    Console.WriteLine("| path | requests/s | ratio | p50 ms | p99 ms | errors |");
    Console.WriteLine("|---|---:|---:|---:|---:|---:|");
    foreach (var (name, result) in runs)
    {
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {name} | {result.PerSecond:F0} | {result.PerSecond / baseline:F2} | {result.P50:F2} | {result.P99:F2} | {result.Errors} |"));
    }

    var proxiedP50 = runs.Where(r => r.Name.Contains("API key", StringComparison.Ordinal)).Average(r => r.Result.P50);
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"p50 added by the edge: {proxiedP50 - baselineP50:F2} ms"));

    Console.WriteLine();
    Console.WriteLine($"open loop: POST /v1/jobs at {rate}/s for {seconds} s (no worker; jobs stay queued)");
    await LoadLoops.OpenLoopAsync(proxied, rate, TimeSpan.FromSeconds(2)); // warm-up
    var open = await LoadLoops.OpenLoopAsync(proxied, rate, TimeSpan.FromSeconds(seconds));
    Console.WriteLine("| requests | achieved/s | p50 ms | p90 ms | p99 ms | max ms | non-202 |");
    Console.WriteLine("|---:|---:|---:|---:|---:|---:|---:|");
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {open.Count} | {open.PerSecond:F0} | {open.P50:F2} | {open.P90:F2} | {open.P99:F2} | {open.Max:F2} | {open.Errors} |"));
}
finally
{
    await TestStack.StopAsync();
}

int Arg(string name, int fallback)
{
    var i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length ? int.Parse(args[i + 1], CultureInfo.InvariantCulture) : fallback;
}

/// <summary>Throughput and latency percentiles of one run.</summary>
internal sealed record Result(int Count, double PerSecond, double P50, double P90, double P99, double Max, int Errors)
{
    /// <summary>An open loop's own lateness at p99: how long after its scheduled time a request started (every latency includes it).</summary>
    public double LateP99 { get; init; }

    public static Result From(double[] latencies, TimeSpan elapsed, int errors)
    {
        Array.Sort(latencies);
        double At(double q) => latencies.Length == 0 ? 0 : latencies[Math.Min(latencies.Length - 1, (int)Math.Ceiling(q * latencies.Length) - 1)];
        return new Result(latencies.Length, latencies.Length / elapsed.TotalSeconds, At(0.50), At(0.90), At(0.99), latencies.LastOrDefault(), errors);
    }
}
