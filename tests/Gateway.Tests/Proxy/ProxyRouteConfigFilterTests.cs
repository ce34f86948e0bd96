using InferenceGateway.Gateway.Proxy;
using InferenceGateway.Inference.Hosting;
using Microsoft.Extensions.Options;
using Yarp.ReverseProxy.Configuration;

namespace InferenceGateway.Tests.Proxy;

/// <summary>How route metadata becomes YARP route settings, and what a bad route is told.</summary>
[TestFixture]
public sealed class ProxyRouteConfigFilterTests
{
    private static readonly ClusterConfig Upstream = new() { ClusterId = "up" };

    private readonly ProxyRouteConfigFilter _filter = new(new StaticOptions(new ModelCatalogOptions()));

    [Test]
    public async Task LatencyBudget_BecomesTheRoutesTimeout()
    {
        var route = await _filter.ConfigureRouteAsync(Route("up", ("LatencyBudgetMs", "250")), Upstream, CancellationToken.None);

        Assert.That(route.Timeout, Is.EqualTo(TimeSpan.FromMilliseconds(250)));
    }

    [Test]
    public async Task SyncRoute_WithoutAPolicy_RequiresAnAuthenticatedCaller()
    {
        var route = await _filter.ConfigureRouteAsync(Route("up"), Upstream, CancellationToken.None);

        Assert.That(route.AuthorizationPolicy, Is.EqualTo("Default"));
    }

    [Test]
    public async Task AsyncRoute_DefaultsToJobsWrite_AndTheBuiltInJobsCluster()
    {
        var route = await _filter.ConfigureRouteAsync(Route(null, ("Mode", "async"), ("Model", "all-minilm-l6-v2")), null, CancellationToken.None);

        Assert.That(route.AuthorizationPolicy, Is.EqualTo("jobs:write"));
        Assert.That(route.ClusterId, Is.EqualTo(ProxyExtensions.AsyncJobsClusterId));
    }

    [Test]
    public void BadRoute_IsRefused_WithEveryProblemNamed()
    {
        var bad = Route(null, ("Mode", "async"), ("Model", "gpt-17"), ("LatencyBudgetMs", "-5")) with { AuthorizationPolicy = "Anonymous" };

        var error = Assert.ThrowsAsync<InvalidOperationException>(async () => await _filter.ConfigureRouteAsync(bad, null, CancellationToken.None));

        Assert.That(error!.Message, Does.Contain("'r'").And.Contain("gpt-17").And.Contain("LatencyBudgetMs").And.Contain("Anonymous"));
    }

    [Test]
    public void AsyncRoute_ForAModelPlacedOnlyAtTheEdge_IsRefused()
    {
        var catalog = new ModelCatalogOptions();
        catalog.Models["edge-only"] = new ModelOptions { Source = ModelOptions.EmbeddedMiniLm, Dimensions = 384, Placement = new ModelPlacement { Worker = false, Edge = true } };
        var filter = new ProxyRouteConfigFilter(new StaticOptions(catalog));

        var error = Assert.ThrowsAsync<InvalidOperationException>(async () => await filter.ConfigureRouteAsync(Route(null, ("Mode", "async"), ("Model", "edge-only")), null, CancellationToken.None));

        Assert.That(error!.Message, Does.Contain("'edge-only', which is not served (all-minilm-l6-v2)"));
    }

    [TestCase("sometimes", TestName = "Mode_Unknown_IsRefused")]
    public void UnknownMode_IsRefused(string mode)
    {
        Assert.ThrowsAsync<InvalidOperationException>(async () => await _filter.ConfigureRouteAsync(Route("up", ("Mode", mode)), Upstream, CancellationToken.None));
    }

    [Test]
    public void SyncRoute_NamingNoCluster_IsRefused()
    {
        Assert.ThrowsAsync<InvalidOperationException>(async () => await _filter.ConfigureRouteAsync(Route("nowhere"), null, CancellationToken.None));
    }

    [Test]
    public void BudgetAndTimeoutTogether_AreRefused()
    {
        var both = Route("up", ("LatencyBudgetMs", "100")) with { Timeout = TimeSpan.FromSeconds(1) };

        Assert.ThrowsAsync<InvalidOperationException>(async () => await _filter.ConfigureRouteAsync(both, Upstream, CancellationToken.None));
    }

    [Test]
    public async Task ClusterWithHealthChecks_LeavesOutUnhealthyDestinations_EvenWhenNoneIsLeft()
    {
        var cluster = new ClusterConfig
        {
            ClusterId = "hc",
            HealthCheck = new HealthCheckConfig { Active = new ActiveHealthCheckConfig { Enabled = true } },
        };

        var configured = await _filter.ConfigureClusterAsync(cluster, CancellationToken.None);

        Assert.That(configured.HealthCheck!.AvailableDestinationsPolicy, Is.EqualTo("HealthyAndUnknown"));
    }

    private static RouteConfig Route(string? clusterId, params (string Key, string Value)[] metadata) => new()
    {
        RouteId = "r",
        ClusterId = clusterId,
        Match = new RouteMatch { Path = "/r" },
        Metadata = metadata.ToDictionary(m => m.Key, m => m.Value),
    };

    private sealed class StaticOptions(ModelCatalogOptions value) : IOptionsMonitor<ModelCatalogOptions>
    {
        public ModelCatalogOptions CurrentValue => value;

        public ModelCatalogOptions Get(string? name) => value;

        public IDisposable? OnChange(Action<ModelCatalogOptions, string?> listener) => null;
    }
}
