using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using InferenceGateway.Gateway.Auth;
using InferenceGateway.Tests.Infrastructure;

namespace InferenceGateway.Bench;

/// <summary>
/// The first job after a stack starts, as <c>./dev.sh up</c> and <c>./dev.sh demo</c> run it: the
/// gateway (its edge model on, so it loads the same model and fills the page cache first) started
/// and ready, then a fresh worker process started, then one embedding job, submitted either when
/// the worker says it polls (what <c>./dev.sh</c> waits for) or a fixed delay after the worker was
/// started (what it did before: <c>sleep 1</c>, the job client's own start-up on top), so it can meet
/// the worker's start-up. Redis and the emulator are shared by every run; gateway and worker are new
/// processes each time. The job's <c>initMs</c> is what users see as the cold start; the CPU time
/// worker and gateway spent from the submit to the result (from /proc, by thread) shows what the
/// cold start competed with on the machine's cores.
/// </summary>
internal static class ColdStartStack
{
    private static readonly TimeSpan Deadline = TimeSpan.FromMinutes(2);

    /// <summary>One run: a fresh gateway and worker, one job; <paramref name="submitAfter"/> null submits when the worker polls.</summary>
    public static async Task<StackColdStart> RunAsync(TimeSpan? submitAfter)
    {
        var configuration = TestStack.Configuration(TestStack.UniqueName("coldstart"));
        configuration["Logging:LogLevel:Default"] = "Information"; // as ./dev.sh runs them; the worker's "Polling" line
        configuration["Logging:LogLevel:Microsoft.AspNetCore"] = "Warning";
        configuration["Edge:Enabled"] = "true";

        var port = ExternalProcess.FreePort();
        await using var gateway = await GatewayProcess.StartAsync(configuration, port);
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = Deadline };
        await UntilAsync(async () => (await http.GetAsync(new Uri("/readyz", UriKind.Relative))).IsSuccessStatusCode, "the gateway to be ready (edge model loaded)");

        var tenant = TestStack.UniqueName("coldstart");
        var key = await new ApiKeyStore(TestStack.Multiplexer, TimeProvider.System)
            .CreateAsync(new NewApiKey(tenant, "coldstart", [Scopes.JobsRead, Scopes.JobsWrite], "bench"));
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key.Key);

        var started = Stopwatch.GetTimestamp();
        await using var worker = WorkerProcess.Start(configuration);
        if (submitAfter is { } delay)
        {
            await Task.Delay(delay);
        }
        else if (!await worker.WaitForOutputAsync("Polling", Deadline))
        {
            throw new InvalidOperationException($"The worker did not start polling:\n{worker.Output}");
        }

        var submittedAt = Stopwatch.GetElapsedTime(started);
        var workerBefore = ThreadCpu(worker.Pid);
        var gatewayBefore = ThreadCpu(gateway.Pid);
        using var submitted = await http.PostAsJsonAsync(
            new Uri("/v1/jobs", UriKind.Relative),
            new { model = "all-minilm-l6-v2", input = new { texts = new[] { "This is an example sentence", "Serverless GPUs pay a cold start" } } });
        var body = await submitted.Content.ReadAsStringAsync();
        if ((int)submitted.StatusCode != 202)
        {
            throw new InvalidOperationException($"POST /v1/jobs: {(int)submitted.StatusCode} {body}");
        }

        var jobId = JsonDocument.Parse(body).RootElement.GetProperty("id").GetString()!;
        JsonElement job = default;
        await UntilAsync(
            async () =>
            {
                job = JsonDocument.Parse(await http.GetStringAsync(new Uri($"/v1/jobs/{jobId}", UriKind.Relative))).RootElement;
                return job.GetProperty("status").GetString() is "completed" or "failed";
            },
            $"job {jobId} to finish");
        var finishedAt = Stopwatch.GetElapsedTime(started);
        var workerCpu = Difference(ThreadCpu(worker.Pid), workerBefore);
        var gatewayCpu = Difference(ThreadCpu(gateway.Pid), gatewayBefore);
        if (job.GetProperty("status").GetString() != "completed")
        {
            throw new InvalidOperationException($"job {jobId}: {job}\n{worker.Output}");
        }

        var metrics = job.GetProperty("metrics");
        if (!metrics.GetProperty("coldStart").GetBoolean())
        {
            throw new InvalidOperationException($"job {jobId} was not a cold start: {metrics}");
        }

        var result = new StackColdStart(
            metrics.GetProperty("initMs").GetDouble(),
            metrics.GetProperty("queueMs").GetDouble(),
            metrics.GetProperty("executionMs").GetDouble(),
            submittedAt.TotalMilliseconds,
            finishedAt.TotalMilliseconds,
            workerCpu.Values.Sum(),
            workerCpu.Where(t => t.Key.StartsWith(JitThread, StringComparison.Ordinal)).Sum(t => t.Value),
            gatewayCpu.Values.Sum());
        Console.WriteLine(string.Create(
            CultureInfo.InvariantCulture,
            $"  run: initMs {result.InitMs:F0}, queueMs {result.QueueMs:F0}; CPU ms from submit to result: worker {result.WorkerCpuMs:F0} ({string.Join(", ", workerCpu.Where(t => t.Value > 0).OrderByDescending(t => t.Value).Take(5).Select(t => $"{t.Key} {t.Value:F0}"))}), gateway {result.GatewayCpuMs:F0}; load {File.ReadAllText("/proc/loadavg").Split(' ')[0]}"));
        return result;
    }

    /// <summary>The runtime's tiered-compilation thread (a thread's name is cut to 15 characters).</summary>
    private const string JitThread = ".NET Tiered Com";

    /// <summary>CPU milliseconds (user + system) of each thread name of <paramref name="pid"/>, summed over threads of the same name.</summary>
    private static Dictionary<string, double> ThreadCpu(int pid)
    {
        var byName = new Dictionary<string, double>(StringComparer.Ordinal);
        try
        {
            foreach (var task in Directory.EnumerateDirectories($"/proc/{pid}/task"))
            {
                var text = File.ReadAllText(Path.Combine(task, "stat"));
                var open = text.IndexOf('(', StringComparison.Ordinal);
                var close = text.LastIndexOf(')');
                var name = text[(open + 1)..close];
                var fields = text[(close + 2)..].Split(' ');
                var ticks = long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
                byName[name] = byName.GetValueOrDefault(name) + (ticks * 1000.0 / 100); // USER_HZ is 100 on Linux
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // A thread or the process ended meanwhile.
        }

        return byName;
    }

    private static Dictionary<string, double> Difference(Dictionary<string, double> after, Dictionary<string, double> before) =>
        after.ToDictionary(t => t.Key, t => t.Value - before.GetValueOrDefault(t.Key), StringComparer.Ordinal);

    private static async Task UntilAsync(Func<Task<bool>> condition, string what)
    {
        var deadline = Stopwatch.GetTimestamp() + (long)(Deadline.TotalSeconds * Stopwatch.Frequency);
        while (true)
        {
            try
            {
                if (await condition())
                {
                    return;
                }
            }
            catch (HttpRequestException) when (Stopwatch.GetTimestamp() < deadline)
            {
                // Not listening yet.
            }

            if (Stopwatch.GetTimestamp() > deadline)
            {
                throw new TimeoutException($"Waited {Deadline.TotalSeconds:F0} s for {what}.");
            }

            await Task.Delay(100);
        }
    }
}

/// <summary>One first job after start: its metrics, and when (from the worker's start) it was submitted and finished.</summary>
internal sealed record StackColdStart(double InitMs, double QueueMs, double ExecutionMs, double SubmittedMs, double FinishedMs, double WorkerCpuMs, double WorkerJitCpuMs, double GatewayCpuMs);
