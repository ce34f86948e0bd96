using System.Globalization;
using InferenceGateway.Tests.Infrastructure;

namespace InferenceGateway.FaultSoak;

/// <summary>
/// The stack under the soak, each part its own process on loopback, on ports and in a folder of its
/// own (<c>.local/soak/RUN/</c>), so it never meets a running <c>./dev.sh up</c> or the test stack:
/// Redis with an append-only file fsynced every second (as <c>./dev.sh up</c> runs it), the emulator
/// keeping its queues on disk (<c>FAUXQS_DATA_DIR</c>), two gateways and two workers as <c>dotnet
/// &lt;dll&gt;</c> from their Release build outputs.
/// </summary>
internal sealed class SoakStack
{
    /// <summary>The queue's visibility timeout: short, so that a killed or stopped worker's jobs come back within the run.</summary>
    public const int VisibilitySeconds = 8;

    public const string SoakPlan = "soak";

    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(90);

    private SoakStack(string directory, SoakProcess redis, SoakProcess emulator, SoakProcess[] gateways, SoakProcess[] workers)
    {
        Directory = directory;
        Redis = redis;
        Emulator = emulator;
        Gateways = gateways;
        Workers = workers;
    }

    public string Directory { get; }

    public SoakProcess Redis { get; }

    public SoakProcess Emulator { get; }

    public SoakProcess[] Gateways { get; }

    public SoakProcess[] Workers { get; }

    public string RedisConfiguration => $"127.0.0.1:{Redis.Port.ToString(CultureInfo.InvariantCulture)},abortConnect=false,connectTimeout=2000,syncTimeout=5000";

    public IEnumerable<SoakProcess> All => [Redis, Emulator, .. Gateways, .. Workers];

    /// <summary>Lays out the folder and the command lines; starts nothing.</summary>
    public static SoakStack Create(string directory)
    {
        var root = RepoPaths.Root;
        var configuration = new DirectoryInfo(AppContext.BaseDirectory).Parent!.Name; // the soak's own build configuration (Release)
        var gatewayDll = Path.Combine(root, "gateway", "bin", configuration, "net10.0", "InferenceGateway.Gateway.dll");
        var workerDll = Path.Combine(root, "inference-worker", "bin", configuration, "net10.0", "InferenceGateway.Worker.dll");
        foreach (var dll in new[] { gatewayDll, workerDll })
        {
            if (!File.Exists(dll))
            {
                throw new FileNotFoundException($"{dll} is missing: build the solution first (./dev.sh soak does).", dll);
            }
        }

        var logs = Path.Combine(directory, "logs");
        var redisDir = Path.Combine(directory, "redis");
        var sqsDir = Path.Combine(directory, "sqs");
        var model = Path.Combine(directory, "models", "tiny-llm");
        foreach (var dir in new[] { logs, redisDir, sqsDir })
        {
            System.IO.Directory.CreateDirectory(dir);
        }

        Tools.TinyModels.TinyModelWriter.Write(model);

        var redisPort = ExternalProcess.FreePort();
        var sqsPort = ExternalProcess.FreePort();
        var redis = new SoakProcess("redis", redisPort, logs, "redis-server",
            ["--port", Invariant(redisPort), "--bind", "127.0.0.1", "--dir", redisDir, "--save", "", "--appendonly", "yes", "--appendfsync", "everysec", "--daemonize", "no"],
            new Dictionary<string, string>());
        var emulator = new SoakProcess("sqs", sqsPort, logs, RepoPaths.Node,
            ["--import", RepoPaths.FauxqsLoopbackShim, RepoPaths.FauxqsStart],
            new Dictionary<string, string>
            {
                ["FAUXQS_PORT"] = Invariant(sqsPort),
                ["FAUXQS_LOGGER"] = "false",
                ["FAUXQS_DATA_DIR"] = sqsDir,
                ["FAUXQS_PERSISTENCE"] = "true",
            });

        var shared = new Dictionary<string, string>
        {
            ["Redis__Configuration"] = $"127.0.0.1:{Invariant(redisPort)}",
            ["Sqs__ServiceUrl"] = $"http://127.0.0.1:{Invariant(sqsPort)}",
            ["Sqs__QueueName"] = "jobs",
            ["Sqs__DeadLetterQueueName"] = "jobs-dlq",
            ["Sqs__CreateQueues"] = "true",
            ["Sqs__AccessKey"] = "test",
            ["Sqs__SecretKey"] = "test",
            ["Sqs__Region"] = "us-east-1",
            ["Sqs__VisibilityTimeoutSeconds"] = Invariant(VisibilitySeconds),
            ["Models__tiny-llm__Runtime"] = "text-generation",
            ["Models__tiny-llm__Source"] = model,
            ["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1",
            ["DOTNET_NOLOGO"] = "1",
        };

        var gateways = new SoakProcess[2];
        for (var i = 0; i < gateways.Length; i++)
        {
            var port = ExternalProcess.FreePort();
            var environment = new Dictionary<string, string>(shared)
            {
                ["ASPNETCORE_ENVIRONMENT"] = "Development", // as ./dev.sh up: webhooks may go to loopback
                ["Edge__Enabled"] = "false", // every job goes through the queue
                [$"RateLimits__Plans__{SoakPlan}__RequestsPerSecond"] = "100000",
                [$"RateLimits__Plans__{SoakPlan}__Burst"] = "100000",
                [$"RateLimits__Plans__{SoakPlan}__MaxActiveJobs"] = "0",
                [$"RateLimits__Plans__{SoakPlan}__TokensPerMinute"] = "0",
                [$"RateLimits__Plans__{SoakPlan}__HubConnectsPerSecond"] = "100000",
                [$"RateLimits__Plans__{SoakPlan}__HubConnectBurst"] = "100000",
                ["Webhooks__AllowedNetworks__0"] = "127.0.0.1/32",
                ["Webhooks__BaseDelay"] = "00:00:00.200",
                ["Webhooks__MaxDelay"] = "00:00:02",
                ["Webhooks__AttemptTimeout"] = "00:00:05",
                ["Webhooks__ClaimAfter"] = "00:00:10", // a SIGKILLed gateway's deliveries are taken over within the run
            };
            gateways[i] = new SoakProcess($"gateway{i + 1}", port, logs, "dotnet",
                [gatewayDll, "--contentRoot", Path.GetDirectoryName(gatewayDll)!, "--urls", $"http://127.0.0.1:{Invariant(port)}"],
                environment);
        }

        var workers = new SoakProcess[2];
        for (var i = 0; i < workers.Length; i++)
        {
            var environment = new Dictionary<string, string>(shared)
            {
                ["DOTNET_ENVIRONMENT"] = "Development",
                ["Worker__SummaryIntervalSeconds"] = "10",
            };
            workers[i] = new SoakProcess($"worker{i + 1}", 0, logs, "dotnet", [workerDll], environment);
        }

        return new SoakStack(directory, redis, emulator, gateways, workers);
    }

    public async Task StartAsync()
    {
        await StartRedisAsync();
        await StartEmulatorAsync();
        await Task.WhenAll(Gateways.Select(StartGatewayAsync));
        await Task.WhenAll(Workers.Select(StartWorkerAsync));
    }

    public async Task StartRedisAsync()
    {
        Redis.Start();
        await Ready(Redis, await Redis.WaitForPortAsync(StartTimeout));
    }

    public async Task StartEmulatorAsync()
    {
        Emulator.Start();
        await Ready(Emulator, await Emulator.WaitForPortAsync(StartTimeout));
    }

    /// <summary>Starts a gateway and waits until it listens (not until /readyz: Redis may be what is down).</summary>
    public async Task StartGatewayAsync(SoakProcess gateway)
    {
        gateway.Start();
        await Ready(gateway, await gateway.WaitForPortAsync(StartTimeout));
    }

    /// <summary>Starts a worker and waits for its "Polling" line (its start-up done).</summary>
    public async Task StartWorkerAsync(SoakProcess worker)
    {
        var offset = worker.Start();
        await Ready(worker, await worker.WaitForLogAsync(offset, "Polling ", StartTimeout));
    }

    /// <summary>Stops everything: workers and gateways first, then the emulator and Redis.</summary>
    public async Task StopAsync()
    {
        await Task.WhenAll(Workers.Concat(Gateways).Select(p => p.StopAsync(TimeSpan.FromSeconds(5))));
        await Task.WhenAll(new[] { Emulator, Redis }.Select(p => p.StopAsync(TimeSpan.FromSeconds(10))));
    }

    private static async Task Ready(SoakProcess process, bool ready)
    {
        if (!ready)
        {
            var tail = process.Tail();
            await process.KillAsync();
            throw new InvalidOperationException($"{process.Name} did not start (log {process.LogPath}):\n{tail}");
        }
    }

    private static string Invariant(int value) => value.ToString(CultureInfo.InvariantCulture);
}
