using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace InferenceGateway.FaultSoak;

/// <summary>
/// One of the stack's processes under a fixed name, port and command line, so that it can be killed,
/// stopped, continued and started again exactly as before (same port, same data). Its output goes to
/// <c>logs/NAME.log</c>, appended across restarts.
/// </summary>
internal sealed partial class SoakProcess(string name, int port, string logDirectory, string fileName, IReadOnlyList<string> arguments, IReadOnlyDictionary<string, string> environment)
{
    public const int SigKill = 9;
    public const int SigTerm = 15;
    public const int SigCont = 18;
    public const int SigStop = 19;

    private readonly StreamWriter _log = OpenLog(Path.Combine(logDirectory, name + ".log"));
    private Process? _process;

    public string Name { get; } = name;

    public int Port { get; } = port;

    public string LogPath { get; } = Path.Combine(logDirectory, name + ".log");

    /// <summary>How many times it was started (1 after the first start).</summary>
    public int Starts { get; private set; }

    /// <summary>When the running instance was started.</summary>
    public DateTimeOffset StartedAt { get; private set; }

    public int Pid => _process?.Id ?? 0;

    public bool IsRunning => _process is { HasExited: false };

    /// <summary>Starts it and returns the length of its log before this start (where to look for its ready line).</summary>
    public long Start()
    {
        if (IsRunning)
        {
            throw new InvalidOperationException($"{Name} is already running.");
        }

        _process?.Dispose();
        lock (_log)
        {
            _log.Flush();
        }

        var offset = new FileInfo(LogPath).Length;

        // Started directly, not through a shell: a shell may drop environment variables whose names
        // are not identifiers (Models__tiny-llm__Source), and the pid is then the program's own.
        var info = new ProcessStartInfo(fileName)
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
        };
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        foreach (var (key, value) in environment)
        {
            info.Environment[key] = value;
        }

        var process = Process.Start(info) ?? throw new InvalidOperationException($"Could not start {Name}.");
        process.OutputDataReceived += (_, e) => Write(e.Data);
        process.ErrorDataReceived += (_, e) => Write(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        _process = process;
        Starts++;
        StartedAt = DateTimeOffset.UtcNow;
        Write($"[soak] started {Name}, pid {process.Id}");
        return offset;
    }

    /// <summary>Sends a signal to the running instance (no-op when it is gone).</summary>
    public void Signal(int signal)
    {
        if (_process is { HasExited: false } process)
        {
            _ = Kill(process.Id, signal);
        }
    }

    /// <summary>Waits for the running instance to exit; false if it still runs after <paramref name="timeout"/>.</summary>
    public async Task<bool> WaitForExitAsync(TimeSpan timeout)
    {
        if (_process is null)
        {
            return true;
        }

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

    /// <summary>SIGKILL and wait for the exit.</summary>
    public async Task KillAsync()
    {
        Signal(SigCont); // a stopped process dies on SIGKILL too, but continuing it first costs nothing
        Signal(SigKill);
        await WaitForExitAsync(TimeSpan.FromSeconds(20));
    }

    /// <summary>SIGTERM, then SIGKILL after <paramref name="grace"/>.</summary>
    public async Task StopAsync(TimeSpan grace)
    {
        Signal(SigCont);
        Signal(SigTerm);
        if (!await WaitForExitAsync(grace))
        {
            await KillAsync();
        }
    }

    /// <summary>Waits until its port accepts connections; false if it exits or the time runs out first.</summary>
    public async Task<bool> WaitForPortAsync(TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < timeout)
        {
            if (!IsRunning)
            {
                return false;
            }

            using var client = new TcpClient();
            try
            {
                await client.ConnectAsync(IPAddress.Loopback, Port).WaitAsync(TimeSpan.FromSeconds(1));
                return true;
            }
            catch (Exception ex) when (ex is SocketException or TimeoutException)
            {
                await Task.Delay(50);
            }
        }

        return false;
    }

    /// <summary>Waits until its log, after <paramref name="offset"/>, contains <paramref name="text"/>.</summary>
    public async Task<bool> WaitForLogAsync(long offset, string text, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < timeout)
        {
            if (ReadLog(offset).Contains(text, StringComparison.Ordinal))
            {
                return true;
            }

            if (!IsRunning)
            {
                return false;
            }

            await Task.Delay(100);
        }

        return false;
    }

    /// <summary>The log from <paramref name="offset"/> on (at most the last 1 MiB).</summary>
    public string ReadLog(long offset = 0)
    {
        lock (_log)
        {
            _log.Flush();
        }

        try
        {
            using var stream = new FileStream(LogPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            stream.Position = Math.Max(offset, stream.Length - (1 << 20));
            using var reader = new StreamReader(stream);
            return reader.ReadToEnd();
        }
        catch (IOException)
        {
            return string.Empty;
        }
    }

    /// <summary>The last <paramref name="lines"/> lines of its log, for error messages.</summary>
    public string Tail(int lines = 30) => string.Join('\n', ReadLog().Split('\n').TakeLast(lines));

    /// <summary>Writes a line of the process's output, or the soak's own note, to its log.</summary>
    public void Write(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_log)
        {
            _log.WriteLine(line);
        }
    }

    private static StreamWriter OpenLog(string path)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        return new StreamWriter(new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.ReadWrite)) { AutoFlush = true };
    }

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);
}
