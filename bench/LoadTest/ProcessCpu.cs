using System.Globalization;
using System.Runtime.InteropServices;

namespace InferenceGateway.LoadTest;

/// <summary>
/// CPU time and memory of a process (and of its threads) as Linux accounts them in <c>/proc</c>:
/// user + system time, in milliseconds; resident set size, in MiB. Benchmarks take a reading before
/// and after a run and divide the difference by the jobs it carried.
/// </summary>
internal static partial class ProcessCpu
{
    private const int ScClkTck = 2;

    private static readonly double MsPerTick = 1000.0 / Math.Max(1, Sysconf(ScClkTck));

    /// <summary>User + system CPU time the process has used so far, in milliseconds; 0 when it is gone.</summary>
    public static double Milliseconds(int pid) => ReadStat($"/proc/{pid}/stat")?.CpuMs ?? 0;

    /// <summary>CPU milliseconds of each thread of <paramref name="pid"/> whose name (comm) starts with <paramref name="prefix"/>, summed.</summary>
    public static double ThreadMilliseconds(int pid, string prefix)
    {
        double total = 0;
        try
        {
            foreach (var task in Directory.EnumerateDirectories($"/proc/{pid}/task"))
            {
                if (ReadStat(Path.Combine(task, "stat")) is { } stat && stat.Name.StartsWith(prefix, StringComparison.Ordinal))
                {
                    total += stat.CpuMs;
                }
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // The process ended.
        }

        return total;
    }

    /// <summary>Resident set size in MiB (VmRSS); 0 when the process is gone.</summary>
    public static double ResidentMiB(int pid)
    {
        try
        {
            foreach (var line in File.ReadLines($"/proc/{pid}/status"))
            {
                if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
                {
                    var kb = line["VmRSS:".Length..].Trim().Split(' ')[0];
                    return double.Parse(kb, CultureInfo.InvariantCulture) / 1024;
                }
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // The process ended.
        }

        return 0;
    }

    private static (string Name, double CpuMs)? ReadStat(string path)
    {
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;
        }

        // pid (comm) state ppid ... utime stime: comm may hold spaces and parentheses, so split after the last ')'.
        var open = text.IndexOf('(', StringComparison.Ordinal);
        var close = text.LastIndexOf(')');
        var fields = text[(close + 2)..].Split(' ');
        var utime = long.Parse(fields[11], CultureInfo.InvariantCulture);
        var stime = long.Parse(fields[12], CultureInfo.InvariantCulture);
        return (text[(open + 1)..close], (utime + stime) * MsPerTick);
    }

    [LibraryImport("libc", EntryPoint = "sysconf")]
    private static partial long Sysconf(int name);
}
