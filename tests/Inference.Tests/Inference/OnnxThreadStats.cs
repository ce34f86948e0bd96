using System.Globalization;

namespace InferenceGateway.Tests.Inference;

/// <summary>This process's threads as the load benchmark sees them (<c>/proc/self/task/*/stat</c>): OS names and CPU time. Linux only.</summary>
internal static class OnnxThreadStats
{
    /// <summary>Clock ticks a second of <c>/proc</c>'s CPU times (USER_HZ, 100 on Linux).</summary>
    private const double MsPerTick = 10;

    /// <summary>The OS names of this process's threads, one entry per thread.</summary>
    public static IReadOnlyList<string> Names() => [.. Threads().Select(t => t.Name)];

    /// <summary>CPU milliseconds so far of the threads whose OS name starts with <paramref name="prefix"/>.</summary>
    public static double CpuMs(string prefix) => Threads().Where(t => t.Name.StartsWith(prefix, StringComparison.Ordinal)).Sum(t => t.CpuMs);

    private static IEnumerable<(string Name, double CpuMs)> Threads()
    {
        foreach (var task in Directory.EnumerateDirectories("/proc/self/task"))
        {
            string text;
            try
            {
                text = File.ReadAllText(Path.Combine(task, "stat"));
            }
            catch (IOException)
            {
                continue; // the thread ended
            }

            // tid (comm) state ppid ... utime stime: the name may hold spaces, so split after the last ')'.
            var open = text.IndexOf('(', StringComparison.Ordinal);
            var close = text.LastIndexOf(')');
            var fields = text[(close + 2)..].Split(' ');
            var ticks = long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
            yield return (text[(open + 1)..close], ticks * MsPerTick);
        }
    }
}
