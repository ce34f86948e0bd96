using System.Diagnostics;
using Amazon.Runtime;
using Amazon.SQS;

namespace InferenceGateway.Tests.Infrastructure;

/// <summary>
/// The fauxqs emulator started as dev.sh starts it: <c>deploy/fauxqs.mjs</c> with the loopback
/// preload and its request log off and, given a data directory, its queues and messages kept there
/// (<c>FAUXQS_DATA_DIR</c> with <c>FAUXQS_PERSISTENCE=true</c>). <see cref="TestStack"/> keeps its
/// shared emulator in memory, for speed.
/// </summary>
public static class SqsEmulator
{
    public static Task<ExternalProcess> StartAsync(string? dataDirectory = null, int? port = null)
    {
        var environment = new Dictionary<string, string>
        {
            ["FAUXQS_PORT"] = "{port}",
            ["FAUXQS_LOGGER"] = "false",
        };
        if (dataDirectory is not null)
        {
            environment["FAUXQS_DATA_DIR"] = dataDirectory;
            environment["FAUXQS_PERSISTENCE"] = "true";
        }

        return ExternalProcess.StartAsync(RepoPaths.Node, _ => ["--import", RepoPaths.FauxqsLoopbackShim, RepoPaths.FauxqsStart], environment, port);
    }

    /// <summary>An SQS client for the emulator on <paramref name="port"/>.</summary>
    public static AmazonSQSClient CreateClient(int port) =>
        new(new BasicAWSCredentials("test", "test"), new AmazonSQSConfig { ServiceURL = $"http://127.0.0.1:{port}", AuthenticationRegion = "us-east-1" });

    /// <summary>Sends <paramref name="signal"/> (<c>TERM</c>, <c>KILL</c>, ...) to <paramref name="pid"/> with kill(1).</summary>
    public static async Task SignalAsync(int pid, string signal)
    {
        using var kill = Process.Start(new ProcessStartInfo("kill") { ArgumentList = { "-" + signal, pid.ToString(System.Globalization.CultureInfo.InvariantCulture) } })
            ?? throw new InvalidOperationException("Could not run kill.");
        await kill.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10));
        if (kill.ExitCode != 0)
        {
            throw new InvalidOperationException($"kill -{signal} {pid} exited with {kill.ExitCode}.");
        }
    }
}
