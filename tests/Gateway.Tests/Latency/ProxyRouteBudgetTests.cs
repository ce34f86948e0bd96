using System.Net;
using System.Text.Json;
using InferenceGateway.Gateway.Auth;
using InferenceGateway.Tests.Infrastructure;

namespace InferenceGateway.Tests.Latency;

/// <summary>A proxied route's <c>LatencyBudgetMs</c> metadata is its audit budget unless <c>LatencyAudit:Budgets</c> names one.</summary>
[TestFixture]
public sealed class ProxyRouteBudgetTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    [Test]
    public async Task ProxiedRoute_IsAuditedAgainstItsLatencyBudgetMs_AndAConfiguredBudgetWins()
    {
        await using var upstream = await UpstreamServer.StartAsync("up");
        var configuration = TestStack.Configuration(TestStack.UniqueName("lat-proxy"));
        configuration["LatencyAudit:KeyPrefix"] = TestStack.UniqueName("lat");
        configuration["LatencyAudit:MinCount"] = "2";
        configuration["LatencyAudit:Budgets:GET /overridden/{**rest}"] = "0.01";
        configuration["ReverseProxy:Routes:budgeted:ClusterId"] = "up";
        configuration["ReverseProxy:Routes:budgeted:AuthorizationPolicy"] = "jobs:read";
        configuration["ReverseProxy:Routes:budgeted:Match:Path"] = "/budgeted/{**rest}";
        configuration["ReverseProxy:Routes:budgeted:Metadata:LatencyBudgetMs"] = "30000";
        configuration["ReverseProxy:Routes:overridden:ClusterId"] = "up";
        configuration["ReverseProxy:Routes:overridden:AuthorizationPolicy"] = "jobs:read";
        configuration["ReverseProxy:Routes:overridden:Match:Path"] = "/overridden/{**rest}";
        configuration["ReverseProxy:Routes:overridden:Metadata:LatencyBudgetMs"] = "30000";
        configuration["ReverseProxy:Clusters:up:Destinations:a:Address"] = upstream.Address.ToString();
        await using var gateway = await GatewayServer.StartAsync(configuration);
        using var client = gateway.CreateClient(await gateway.CreateKeyAsync(TestStack.UniqueName("tenant"), Scopes.JobsRead));
        using var admin = gateway.CreateClient(await gateway.CreateKeyAsync(TestStack.UniqueName("ops"), Scopes.Admin));
        foreach (var path in new[] { "/budgeted/a", "/budgeted/b", "/overridden/a", "/overridden/b" })
        {
            using var proxied = await client.GetAsync(path).WaitAsync(Timeout);
            Assert.That(proxied.StatusCode, Is.EqualTo(HttpStatusCode.OK), path);
        }

        using var response = await admin.GetAsync("/admin/latency-audit").WaitAsync(Timeout);
        var body = await response.Content.ReadAsStringAsync();
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), body);
        var routes = JsonDocument.Parse(body).RootElement.GetProperty("routes").EnumerateArray().ToDictionary(r => r.GetProperty("name").GetString()!);

        var budgeted = routes["GET /budgeted/{**rest}"];
        Assert.That(budgeted.GetProperty("budgetMs").GetDouble(), Is.EqualTo(30000));
        Assert.That(budgeted.GetProperty("budgetSource").GetString(), Is.EqualTo("proxy-route"));
        Assert.That(budgeted.GetProperty("series").GetProperty("route").GetProperty("count").GetInt64(), Is.EqualTo(2));
        Assert.That(budgeted.GetProperty("verdict").GetString(), Is.EqualTo("edge"));
        var overridden = routes["GET /overridden/{**rest}"];
        Assert.That(overridden.GetProperty("budgetMs").GetDouble(), Is.EqualTo(0.01));
        Assert.That(overridden.GetProperty("budgetSource").GetString(), Is.EqualTo("config"));
        Assert.That(overridden.GetProperty("verdict").GetString(), Is.EqualTo("over-budget"));
    }
}
