using System.Diagnostics;
using System.Text;

namespace InferenceGateway.Tests.Infrastructure;

/// <summary>
/// The real inference worker as its own OS process (the built InferenceGateway.Worker.dll), for
/// what an in-process host cannot show: being killed with SIGKILL, or refusing to start.
/// </summary>
public sealed class WorkerProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();

    private WorkerProcess(Process process) => _process = process;

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

    public bool HasExited => _process.HasExited;

    /// <summary>The worker's own build output, in the configuration the tests were built in (its deps.json fits only there).</summary>
    public static string WorkerDirectory { get; } = Path.Combine(
        RepoPaths.Root,
        "inference-worker",
        "bin",
        new DirectoryInfo(AppContext.BaseDirectory).Parent!.Name,
        new DirectoryInfo(AppContext.BaseDirectory).Name);

    public int ExitCode => _process.ExitCode;

    /// <summary>Starts the worker with <paramref name="configuration"/> passed as environment variables (<c>a:b</c> as <c>a__b</c>).</summary>
    public static WorkerProcess Start(IDictionary<string, string?> configuration)
    {
        var info = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = WorkerDirectory,
        };
        info.ArgumentList.Add(Path.Combine(WorkerDirectory, "InferenceGateway.Worker.dll"));
        info.Environment["DOTNET_ENVIRONMENT"] = "Testing";
        foreach (var (key, value) in configuration)
        {
            info.Environment[key.Replace(":", "__", StringComparison.Ordinal)] = value ?? string.Empty;
        }

        var process = Process.Start(info) ?? throw new InvalidOperationException("Could not start the worker.");
        var worker = new WorkerProcess(process);
        process.OutputDataReceived += (_, e) => worker.Append(e.Data);
        process.ErrorDataReceived += (_, e) => worker.Append(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return worker;
    }

    /// <summary>SIGKILL: no shutdown hook runs, as when a machine or container dies.</summary>
    public async Task KillAsync()
    {
        _process.Kill(entireProcessTree: true);
        await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
    }

    public Task WaitForExitAsync(TimeSpan timeout) => _process.WaitForExitAsync().WaitAsync(timeout);

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            await KillAsync();
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
