using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;

namespace InferenceGateway.LoadTest;

/// <summary>
/// Linux <c>perf record</c> of some processes (CPU-clock samples with call stacks), for naming where
/// their CPU goes; .NET code is named through the perf map the runtime writes with <c>DOTNET_PerfMapEnabled=1</c>.
/// Read the result with <c>perf report -i FILE --no-children --sort comm,dso,sym</c>.
/// </summary>
internal sealed partial class Perf : IDisposable
{
    private readonly Process _process;

    private Perf(Process process) => _process = process;

    public static Perf Start(string output, params int[] pids)
    {
        var info = new ProcessStartInfo("perf") { UseShellExecute = false, RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var argument in new[] { "record", "-e", "cpu-clock", "-F", "499", "-g", "-o", output, "-p", string.Join(',', pids.Select(p => p.ToString(CultureInfo.InvariantCulture))) })
        {
            info.ArgumentList.Add(argument);
        }

        return new Perf(Process.Start(info) ?? throw new InvalidOperationException("Could not start perf (apt-get install linux-perf)."));
    }

    public async Task StopAsync()
    {
        _ = Kill(_process.Id, 2); // SIGINT: perf writes its file and exits
        await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));
    }

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            _process.Kill();
        }

        _process.Dispose();
    }

    [LibraryImport("libc", EntryPoint = "kill")]
    private static partial int Kill(int pid, int signal);
}
