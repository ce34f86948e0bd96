using System.Globalization;

namespace InferenceGateway.FaultSoak;

/// <summary>A process's resident set size as Linux accounts it (<c>VmRSS</c> in <c>/proc/PID/status</c>).</summary>
internal static class Rss
{
    /// <summary>VmRSS in MiB; 0 when the process is gone.</summary>
    public static double MiB(int pid)
    {
        try
        {
            foreach (var line in File.ReadLines($"/proc/{pid.ToString(CultureInfo.InvariantCulture)}/status"))
            {
                if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
                {
                    return double.Parse(line["VmRSS:".Length..].Trim().Split(' ')[0], CultureInfo.InvariantCulture) / 1024;
                }
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // The process ended.
        }

        return 0;
    }
}
