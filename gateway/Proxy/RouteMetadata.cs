using System.Globalization;

namespace InferenceGateway.Gateway.Proxy;

/// <summary>
/// The route <c>Metadata</c> keys the gateway reads (values are strings, as YARP's configuration
/// holds them). <see cref="RateLimit"/> is read by the rate limiter; the rest by this folder.
/// </summary>
public static class RouteMetadata
{
    /// <summary><c>sync</c> (default): proxy to the route's cluster. <c>async</c>: the request becomes a job.</summary>
    public const string Mode = "Mode";

    /// <summary>Milliseconds the route may take synchronously; over it the caller gets 504.</summary>
    public const string LatencyBudgetMs = "LatencyBudgetMs";

    /// <summary>For <c>async</c> routes: the model the job runs on.</summary>
    public const string Model = "Model";

    /// <summary>The rate-limit policy for the route (a policy name such as <c>tenant</c>).</summary>
    public const string RateLimit = "RateLimit";

    public const string SyncMode = "sync";
    public const string AsyncMode = "async";
}

/// <summary>What a route's metadata asks of the gateway.</summary>
public sealed record RouteSettings(bool IsAsync, TimeSpan? LatencyBudget, string? Model)
{
    private static readonly RouteSettings Default = new(false, null, null);

    /// <summary>Reads the settings, adding one message to <paramref name="errors"/> per bad value.</summary>
    public static RouteSettings Parse(IReadOnlyDictionary<string, string>? metadata, ICollection<string> errors)
    {
        if (metadata is null || metadata.Count == 0)
        {
            return Default;
        }

        var isAsync = false;
        if (Find(metadata, RouteMetadata.Mode) is { } mode)
        {
            if (string.Equals(mode, RouteMetadata.AsyncMode, StringComparison.OrdinalIgnoreCase))
            {
                isAsync = true;
            }
            else if (!string.Equals(mode, RouteMetadata.SyncMode, StringComparison.OrdinalIgnoreCase))
            {
                errors.Add($"Metadata '{RouteMetadata.Mode}' is '{mode}'; use '{RouteMetadata.SyncMode}' or '{RouteMetadata.AsyncMode}'.");
            }
        }

        TimeSpan? budget = null;
        if (Find(metadata, RouteMetadata.LatencyBudgetMs) is { } budgetText)
        {
            if (int.TryParse(budgetText, NumberStyles.None, CultureInfo.InvariantCulture, out var ms) && ms > 0)
            {
                budget = TimeSpan.FromMilliseconds(ms);
            }
            else
            {
                errors.Add($"Metadata '{RouteMetadata.LatencyBudgetMs}' is '{budgetText}'; use a positive whole number of milliseconds.");
            }
        }

        return new RouteSettings(isAsync, budget, Find(metadata, RouteMetadata.Model));
    }

    /// <summary>Reads settings already validated when the route was loaded.</summary>
    public static RouteSettings Of(IReadOnlyDictionary<string, string>? metadata) => Parse(metadata, new List<string>());

    private static string? Find(IReadOnlyDictionary<string, string> metadata, string key)
    {
        if (metadata.TryGetValue(key, out var exact))
        {
            return string.IsNullOrWhiteSpace(exact) ? null : exact.Trim();
        }

        foreach (var (name, value) in metadata)
        {
            if (string.Equals(name, key, StringComparison.OrdinalIgnoreCase))
            {
                return string.IsNullOrWhiteSpace(value) ? null : value.Trim();
            }
        }

        return null;
    }
}
