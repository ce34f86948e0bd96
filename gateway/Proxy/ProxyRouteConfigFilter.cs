using InferenceGateway.Gateway.Auth;
using InferenceGateway.Inference.Hosting;
using Microsoft.Extensions.Options;
using Yarp.ReverseProxy.Configuration;
using Yarp.ReverseProxy.Health;

namespace InferenceGateway.Gateway.Proxy;

/// <summary>
/// Applies and checks the gateway's route metadata each time YARP loads its configuration (at
/// start and on every reload): <c>LatencyBudgetMs</c> becomes the route's <c>Timeout</c>; an
/// <c>async</c> route needs a served <c>Model</c>, defaults to the <c>jobs:write</c> policy and to
/// the built-in jobs cluster; a route without <c>AuthorizationPolicy</c> requires an authenticated
/// caller (<c>Default</c>); only an explicit <c>Anonymous</c> opens a sync route; clusters with
/// health checks leave out unhealthy destinations even when none is left. A bad route is
/// reported with every problem it has: at start the gateway does not start, on a reload YARP keeps
/// the previous configuration and logs the errors.
/// </summary>
public sealed class ProxyRouteConfigFilter(IOptionsMonitor<ModelCatalogOptions> catalog) : IProxyConfigFilter
{
    /// <summary>
    /// A cluster with health checks defaults to <c>HealthyAndUnknown</c>: when every destination is
    /// unhealthy the route answers 503 at once, instead of YARP's default <c>HealthyOrPanic</c>,
    /// which then sends requests to all of them. Set the policy explicitly to keep panic mode.
    /// </summary>
    public ValueTask<ClusterConfig> ConfigureClusterAsync(ClusterConfig cluster, CancellationToken cancel)
    {
        var health = cluster.HealthCheck;
        if (health is null || !string.IsNullOrEmpty(health.AvailableDestinationsPolicy)
            || (health.Active?.Enabled != true && health.Passive?.Enabled != true))
        {
            return ValueTask.FromResult(cluster);
        }

        return ValueTask.FromResult(cluster with
        {
            HealthCheck = health with { AvailableDestinationsPolicy = HealthCheckConstants.AvailableDestinations.HealthyAndUnknown },
        });
    }

    public ValueTask<RouteConfig> ConfigureRouteAsync(RouteConfig route, ClusterConfig? cluster, CancellationToken cancel)
    {
        var errors = new List<string>();
        var settings = RouteSettings.Parse(route.Metadata, errors);

        if (settings.LatencyBudget is { } budget)
        {
            if (route.Timeout is not null || !string.IsNullOrEmpty(route.TimeoutPolicy))
            {
                errors.Add($"Set either metadata '{RouteMetadata.LatencyBudgetMs}' or 'Timeout'/'TimeoutPolicy', not both.");
            }
            else
            {
                route = route with { Timeout = budget };
            }
        }

        var anonymous = string.Equals(route.AuthorizationPolicy, "Anonymous", StringComparison.OrdinalIgnoreCase);
        if (settings.IsAsync)
        {
            if (settings.Model is null)
            {
                errors.Add($"An async route needs metadata '{RouteMetadata.Model}'.");
            }
            else if (catalog.CurrentValue.On(ModelRunsOn.Worker).Select(m => m.Key).ToList() is var served && !served.Contains(settings.Model, StringComparer.Ordinal))
            {
                errors.Add($"Metadata '{RouteMetadata.Model}' is '{settings.Model}', which is not served ({string.Join(", ", served)}).");
            }

            if (anonymous)
            {
                errors.Add("An async route submits jobs for a tenant; it cannot be 'Anonymous'.");
            }
            else if (string.IsNullOrEmpty(route.AuthorizationPolicy))
            {
                route = route with { AuthorizationPolicy = Scopes.JobsWrite };
            }

            if (string.IsNullOrEmpty(route.ClusterId))
            {
                route = route with { ClusterId = ProxyExtensions.AsyncJobsClusterId };
            }
        }
        else
        {
            if (string.IsNullOrEmpty(route.ClusterId))
            {
                errors.Add("A sync route needs a 'ClusterId'.");
            }
            else if (cluster is null)
            {
                errors.Add($"'ClusterId' is '{route.ClusterId}', which names no cluster.");
            }

            if (string.IsNullOrEmpty(route.AuthorizationPolicy))
            {
                route = route with { AuthorizationPolicy = "Default" };
            }
        }

        if (errors.Count > 0)
        {
            throw new InvalidOperationException($"Route '{route.RouteId}': {string.Join(" ", errors)}");
        }

        return ValueTask.FromResult(route);
    }
}
