using System.Globalization;

namespace InferenceGateway.Core.Latency;

/// <summary>
/// Redis names for latency histograms: per series and minute a hash of bucket index to count
/// (<c>&lt;prefix&gt;:h:&lt;series&gt;:&lt;unix seconds of the minute&gt;</c>), a sorted set of
/// series scored by when they were last flushed, and the last audit report.
/// </summary>
public static class LatencyKeys
{
    /// <summary>The width of one time window; fixed, so every process agrees on the keys.</summary>
    public static readonly TimeSpan Window = TimeSpan.FromMinutes(1);

    public static string Histogram(string prefix, string series, DateTimeOffset windowStart) =>
        string.Create(CultureInfo.InvariantCulture, $"{prefix}:h:{series}:{windowStart.ToUnixTimeSeconds()}");

    public static string Series(string prefix) => $"{prefix}:series";

    public static string LastReport(string prefix) => $"{prefix}:audit:last";

    /// <summary>The start of the window <paramref name="at"/> falls in.</summary>
    public static DateTimeOffset WindowOf(DateTimeOffset at)
    {
        var seconds = at.ToUnixTimeSeconds();
        var width = (long)Window.TotalSeconds;
        return DateTimeOffset.FromUnixTimeSeconds(seconds - (((seconds % width) + width) % width));
    }
}
