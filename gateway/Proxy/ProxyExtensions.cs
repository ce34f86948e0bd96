using InferenceGateway.Gateway.Auth;
using Yarp.ReverseProxy.Configuration;
using Yarp.ReverseProxy.Transforms;

namespace InferenceGateway.Gateway.Proxy;

public static class ProxyExtensions
{
    /// <summary>The built-in cluster async routes point at: no destinations, nothing is forwarded.</summary>
    public const string AsyncJobsClusterId = "gateway-async-jobs";

    /// <summary>The header that tells an upstream which tenant called; a caller's own copy is dropped.</summary>
    public const string TenantHeader = "X-Gateway-Tenant";

    /// <summary>
    /// YARP routes from the <c>ReverseProxy</c> section (reloaded when configuration changes), with
    /// the gateway's metadata applied by <see cref="ProxyRouteConfigFilter"/>. The caller's API key
    /// stays at the edge: upstreams get <see cref="TenantHeader"/> instead of <c>Authorization</c>.
    /// </summary>
    public static WebApplicationBuilder AddProxyRoutes(this WebApplicationBuilder builder)
    {
        builder.Services.AddRequestTimeouts();
        builder.Services.AddReverseProxy()
            .LoadFromConfig(builder.Configuration.GetSection("ReverseProxy"))
            .LoadFromMemory([], [new ClusterConfig { ClusterId = AsyncJobsClusterId }])
            .AddConfigFilter<ProxyRouteConfigFilter>()
            .AddTransforms(context =>
            {
                context.AddRequestHeaderRemove("Authorization");
                context.AddRequestTransform(transform =>
                {
                    // Drop any caller-sent copy, also spelt with '_' (CGI-style upstreams fold both into one name).
                    foreach (var name in transform.ProxyRequest.Headers.Select(h => h.Key).Where(IsTenantHeader).ToList())
                    {
                        transform.ProxyRequest.Headers.Remove(name);
                    }

                    if (transform.HttpContext.User.TenantOrNull() is { } tenant)
                    {
                        transform.ProxyRequest.Headers.TryAddWithoutValidation(TenantHeader, tenant);
                    }

                    return ValueTask.CompletedTask;
                });
            });
        return builder;
    }

    private static bool IsTenantHeader(string name) =>
        string.Equals(name.Replace('_', '-'), TenantHeader, StringComparison.OrdinalIgnoreCase);

    /// <summary>
    /// Maps the proxied routes. The pipeline: forwarder errors become problem+json; async routes
    /// become jobs; the rest goes through YARP's own steps to a healthy destination. Call after
    /// <c>UseAuthorization</c>; it adds the request-timeouts middleware that enforces budgets.
    /// </summary>
    public static WebApplication MapProxyRoutes(this WebApplication app)
    {
        app.UseRequestTimeouts();
        app.MapReverseProxy(pipeline =>
        {
            pipeline.UseMiddleware<ProxyErrorProblems>();
            pipeline.UseMiddleware<AsyncJobRouteMiddleware>();
            pipeline.UseSessionAffinity();
            pipeline.UseLoadBalancing();
            pipeline.UsePassiveHealthChecks();
        });
        return app;
    }
}
