using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using InferenceGateway.Tests.Infrastructure;

namespace InferenceGateway.Tests.Deployment;

/// <summary>
/// <c>./dev.sh up</c> and <c>./dev.sh down</c> as a user runs them (on free ports, the state folder
/// in a temporary directory, the solution already built): <c>down</c> waits for the worker's
/// graceful stop instead of killing it, and the next <c>up</c> finds the queue as it was left.
/// </summary>
[TestFixture]
public sealed class DevShStackTests
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(180);
    private static readonly TimeSpan StopTimeout = TimeSpan.FromSeconds(120);
    private static readonly TimeSpan JobTimeout = TimeSpan.FromSeconds(120);

    [Test]
    public async Task DownWithAJobRunning_LetsTheWorkerStopGracefully_AndTheNextUpFinishesTheJobAndKeepsTheQueue()
    {
        var localDirectory = Path.Combine(Path.GetTempPath(), TestStack.UniqueName("devsh-local"));
        var environment = new Dictionary<string, string>
        {
            ["GATEWAY_PORT"] = ExternalProcess.FreePort().ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["REDIS_PORT"] = ExternalProcess.FreePort().ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["SQS_PORT"] = ExternalProcess.FreePort().ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["DEV_LOCAL_DIR"] = localDirectory,
            ["DEV_NO_BUILD"] = "1",
        };
        DevSh? up = null;
        try
        {
            up = await DevSh.UpAsync(environment);
            var stack = ReadStackEnv(localDirectory);
            var jobId = await SubmitLongJobAsync(stack);

            // A message on a queue of its own, which nothing consumes: it must outlive down and up.
            using (var sqs = CreateSqsClient(stack))
            {
                var probeUrl = (await sqs.CreateQueueAsync("durable-probe").WaitAsync(JobTimeout)).QueueUrl;
                await sqs.SendMessageAsync(probeUrl, "probe").WaitAsync(JobTimeout);
            }

            // The worker holds the job (and, with slots free, an open 20 s long poll) when down comes.
            await Eventually.HoldsAsync(async () => await StatusAsync(stack, jobId) == "running", JobTimeout, "the job running");
            var down = await DevSh.RunAsync(environment, "down", StopTimeout);
            Assert.That(await up.WaitForExitAsync(StopTimeout), Is.True, "./dev.sh up ends after ./dev.sh down");

            var output = up.Output + down.Output;
            Assert.That(output, Does.Not.Contain("killing"), "the worker's graceful stop is waited for, not cut short with SIGKILL");
            Assert.That(output, Does.Contain("[dev] stopped"));

            await up.DisposeAsync();
            up = null;
            up = await DevSh.UpAsync(environment);
            stack = ReadStackEnv(localDirectory);
            using (var sqs = CreateSqsClient(stack))
            {
                var probeUrl = (await sqs.GetQueueUrlAsync("durable-probe").WaitAsync(JobTimeout)).QueueUrl;
                var received = await sqs.ReceiveMessageAsync(new Amazon.SQS.Model.ReceiveMessageRequest { QueueUrl = probeUrl, WaitTimeSeconds = 5 }).WaitAsync(JobTimeout);
                Assert.That(received.Messages?.Select(m => m.Body), Is.EqualTo(new[] { "probe" }), "the message queued before down is there after up");
            }

            // Finished within the grace period, or released and run again by the new worker.
            await Eventually.HoldsAsync(async () => await StatusAsync(stack, jobId) == "completed", JobTimeout, "the job completed");
        }
        finally
        {
            await using (var down = DevSh.Start(environment, "down"))
            {
                await down.WaitForExitAsync(StopTimeout);
            }

            if (up is not null)
            {
                await up.DisposeAsync();
            }

            if (Directory.Exists(localDirectory))
            {
                Directory.Delete(localDirectory, recursive: true);
            }
        }
    }

    private static Dictionary<string, string> ReadStackEnv(string localDirectory) =>
        File.ReadAllLines(Path.Combine(localDirectory, "stack.env"))
            .Select(line => line.Split('=', 2))
            .Where(parts => parts.Length == 2)
            .ToDictionary(parts => parts[0], parts => parts[1].Trim('\''));

    private static Amazon.SQS.AmazonSQSClient CreateSqsClient(Dictionary<string, string> stack) =>
        SqsEmulator.CreateClient(new Uri(stack["SQS_URL"]).Port);

    private static HttpClient CreateClient(Dictionary<string, string> stack)
    {
        var client = new HttpClient { BaseAddress = new Uri(stack["GATEWAY_URL"]), Timeout = TimeSpan.FromSeconds(30) };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", stack["API_KEY"]);
        return client;
    }

    private static async Task<string> SubmitLongJobAsync(Dictionary<string, string> stack)
    {
        // 128 texts at the 256-token limit: seconds of work on two cores, so down lands mid-run.
        var texts = Enumerable.Range(0, 128)
            .Select(i => string.Join(' ', Enumerable.Range(0, 300).Select(w => $"word{(i * 7 + w) % 97}")))
            .ToArray();
        using var client = CreateClient(stack);
        using var response = await client.PostAsJsonAsync("/v1/jobs", new { model = "all-minilm-l6-v2", input = new { texts } });
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Accepted), await response.Content.ReadAsStringAsync());
        return JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("id").GetString()!;
    }

    private static async Task<string?> StatusAsync(Dictionary<string, string> stack, string jobId)
    {
        using var client = CreateClient(stack);
        using var response = await client.GetAsync(new Uri($"/v1/jobs/{jobId}", UriKind.Relative));
        response.EnsureSuccessStatusCode();
        return JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("status").GetString();
    }

    /// <summary>One run of <c>bash dev.sh COMMAND</c> with its output (dev.sh logs to stderr) kept.</summary>
    private sealed class DevSh : IAsyncDisposable
    {
        private readonly Process _process;
        private readonly StringBuilder _output = new();

        private DevSh(Process process) => _process = process;

        public string Output
        {
            get
            {
                lock (_output)
                {
                    return _output.ToString();
                }
            }
        }

        public static DevSh Start(IDictionary<string, string> environment, string command)
        {
            var info = new ProcessStartInfo("bash")
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
                WorkingDirectory = RepoPaths.Root,
            };
            info.ArgumentList.Add(Path.Combine(RepoPaths.Root, "dev.sh"));
            info.ArgumentList.Add(command);
            info.Environment["REPO_ROOT"] = RepoPaths.Root;
            foreach (var (key, value) in environment)
            {
                info.Environment[key] = value;
            }

            var process = Process.Start(info) ?? throw new InvalidOperationException("Could not start dev.sh.");
            var devSh = new DevSh(process);
            process.OutputDataReceived += (_, e) => devSh.Append(e.Data);
            process.ErrorDataReceived += (_, e) => devSh.Append(e.Data);
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            return devSh;
        }

        /// <summary>Starts <c>up</c> and waits until it says the stack is up.</summary>
        public static async Task<DevSh> UpAsync(IDictionary<string, string> environment)
        {
            var up = Start(environment, "up");
            var deadline = Stopwatch.StartNew();
            using var tick = new PeriodicTimer(TimeSpan.FromMilliseconds(100));
            while (!up.Output.Contains("stack is up", StringComparison.Ordinal))
            {
                if (up._process.HasExited || deadline.Elapsed > StartTimeout)
                {
                    Assert.Fail("./dev.sh up did not say the stack is up:\n" + up.Output);
                }

                await tick.WaitForNextTickAsync();
            }

            return up;
        }

        /// <summary>Runs a command to its end.</summary>
        public static async Task<DevSh> RunAsync(IDictionary<string, string> environment, string command, TimeSpan timeout)
        {
            var run = Start(environment, command);
            Assert.That(await run.WaitForExitAsync(timeout), Is.True, $"./dev.sh {command} ends:\n" + run.Output);
            return run;
        }

        public async Task<bool> WaitForExitAsync(TimeSpan timeout)
        {
            try
            {
                await _process.WaitForExitAsync().WaitAsync(timeout);
                return true;
            }
            catch (TimeoutException)
            {
                return false;
            }
        }

        public async ValueTask DisposeAsync()
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                await _process.WaitForExitAsync().WaitAsync(StopTimeout);
            }

            _process.Dispose();
        }

        private void Append(string? line)
        {
            if (line is null)
            {
                return;
            }

            lock (_output)
            {
                _output.AppendLine(line);
            }
        }
    }
}
