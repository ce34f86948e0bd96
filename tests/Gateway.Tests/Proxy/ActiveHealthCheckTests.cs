using System.Net;
using System.Text.Json;
using InferenceGateway.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Yarp.ReverseProxy;

namespace InferenceGateway.Tests.Proxy;

/// <summary>YARP's active health checks, configured per cluster, against real upstreams.</summary>
[TestFixture]
public sealed class ActiveHealthCheckTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    [Test]
    public async Task ActiveHealthCheck_TakesADeadDestinationOut_AndWithNoneLeftTheRouteAnswers503Problem()
    {
        await using var live = await UpstreamServer.StartAsync("live");
        var configuration = TestStack.Configuration(TestStack.UniqueName("health"));
        configuration["ReverseProxy:Routes:hc:ClusterId"] = "hc";
        configuration["ReverseProxy:Routes:hc:AuthorizationPolicy"] = "Anonymous";
        configuration["ReverseProxy:Routes:hc:Match:Path"] = "/hc/{**rest}";
        configuration["ReverseProxy:Clusters:hc:Destinations:live:Address"] = live.Address.ToString();
        configuration["ReverseProxy:Clusters:hc:Destinations:dead:Address"] = $"http://127.0.0.1:{ExternalProcess.FreePort()}/";
        configuration["ReverseProxy:Clusters:hc:HealthCheck:Active:Enabled"] = "true";
        configuration["ReverseProxy:Clusters:hc:HealthCheck:Active:Interval"] = "00:00:00.100";
        configuration["ReverseProxy:Clusters:hc:HealthCheck:Active:Timeout"] = "00:00:02";
        configuration["ReverseProxy:Clusters:hc:HealthCheck:Active:Policy"] = "ConsecutiveFailures";
        configuration["ReverseProxy:Clusters:hc:HealthCheck:Active:Path"] = "/health";
        configuration["ReverseProxy:Clusters:hc:Metadata:ConsecutiveFailuresHealthPolicy.Threshold"] = "1";
        await using var gateway = await GatewayServer.StartAsync(configuration);
        var proxy = gateway.Services.GetRequiredService<IProxyStateLookup>();
        IReadOnlyList<string> Available() => proxy.TryGetCluster("hc", out var cluster)
            ? [.. cluster.DestinationsState.AvailableDestinations.Select(d => d.DestinationId)]
            : [];
        using var client = gateway.CreateClient();

        await Eventually.HoldsAsync(() => Available() is ["live"], Timeout, "the dead destination is taken out");
        var answeredBy = new List<string>();
        for (var i = 0; i < 20; i++)
        {
            using var response = await client.GetAsync($"/hc/{i}").WaitAsync(Timeout);
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), "no request goes to the dead destination");
            answeredBy.Add(JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("upstream").GetString()!);
        }

        Assert.That(answeredBy, Is.All.EqualTo("live"));

        live.Healthy = false;
        await Eventually.HoldsAsync(() => Available() is [], Timeout, "the failing destination is taken out");

        using var none = await client.GetAsync("/hc/none").WaitAsync(Timeout);
        var problem = await ProblemAssert.IsProblemAsync(none, HttpStatusCode.ServiceUnavailable);
        Assert.That(problem.GetProperty("proxyError").GetString(), Is.EqualTo("NoAvailableDestinations"));
        Assert.That(none.Headers.RetryAfter, Is.Not.Null);
    }
}
