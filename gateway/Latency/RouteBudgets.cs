using InferenceGateway.Gateway.Proxy;
using Yarp.ReverseProxy;

namespace InferenceGateway.Gateway.Latency;

/// <summary>
/// A route's budget when <c>LatencyAudit:Budgets</c> names none: the <c>LatencyBudgetMs</c> metadata
/// of the proxied route it is (the same number that is the route's timeout), matched by its path
/// pattern and methods as YARP loaded them (current after a configuration reload).
/// </summary>
public static class RouteBudgets
{
    public const string FromConfig = "config";
    public const string FromProxyRoute = "proxy-route";

    /// <summary>A model's budget from <c>Models:&lt;name&gt;:Placement:LatencyBudgetMs</c>, when it is placed at the edge.</summary>
    public const string FromEdgeModel = "edge-model";

    /// <summary>The budget of a route subject (<c>GET /echo/{**rest}</c>) from the proxy's routes; null when none says.</summary>
    public static double? FromProxy(IProxyStateLookup? proxy, string subject)
    {
        var space = subject.IndexOf(' ', StringComparison.Ordinal);
        if (proxy is null || space <= 0)
        {
            return null;
        }

        var method = subject[..space];
        var pattern = subject[(space + 1)..];
        foreach (var route in proxy.GetRoutes())
        {
            var match = route.Config.Match;
            if (match.Path is { } path && string.Equals(Normalize(path), pattern, StringComparison.Ordinal)
                && (match.Methods is not { Count: > 0 } methods || methods.Contains(method, StringComparer.OrdinalIgnoreCase))
                && RouteSettings.Of(route.Config.Metadata).LatencyBudget is { } budget)
            {
                return budget.TotalMilliseconds;
            }
        }

        return null;
    }

    /// <summary>As <see cref="RequestLatencyMiddleware"/> names patterns: a leading slash, no trailing one.</summary>
    public static string Normalize(string pattern)
    {
        var path = pattern.StartsWith('/') ? pattern : "/" + pattern;
        return path.Length > 1 ? path.TrimEnd('/') : path;
    }
}
