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

    /// <summary>The OS process id (benchmarks read its CPU time from /proc).</summary>
    public int Pid => _process.Id;

    /// <summary>The worker's own build output, in the configuration the tests were built in (its deps.json fits only there).</summary>
    public static string WorkerDirectory { get; } = Path.Combine(
        RepoPaths.Root,
        "inference-worker",
        "bin",
        new DirectoryInfo(AppContext.BaseDirectory).Parent!.Name,
        new DirectoryInfo(AppContext.BaseDirectory).Name);

    public int ExitCode => _process.ExitCode;

    /// <summary>
    /// Starts the worker against the test stack (<see cref="TestStack.Configuration"/> with a queue
    /// of its own, then <paramref name="configuration"/> over it), passed as environment variables
    /// (<c>a:b</c> as <c>a__b</c>).
    /// </summary>
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
        foreach (var (key, value) in TestStack.Configuration(TestStack.UniqueName("worker-process")).Concat(configuration))
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

    /// <summary>Waits for the process to exit and its output to be read to the end; false if it still runs after <paramref name="timeout"/>.</summary>
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

    /// <summary>Waits until the output contains <paramref name="text"/>; false if the process exits or the time runs out first.</summary>
    public async Task<bool> WaitForOutputAsync(string text, TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        using var tick = new PeriodicTimer(TimeSpan.FromMilliseconds(50));
        while (!Output.Contains(text, StringComparison.Ordinal))
        {
            if (_process.HasExited)
            {
                await _process.WaitForExitAsync(); // the output read to its end
                return Output.Contains(text, StringComparison.Ordinal);
            }

            try
            {
                await tick.WaitForNextTickAsync(cts.Token);
            }
            catch (OperationCanceledException)
            {
                return false;
            }
        }

        return true;
    }

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
