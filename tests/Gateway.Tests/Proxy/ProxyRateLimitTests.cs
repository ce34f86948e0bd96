using System.Net;
using InferenceGateway.Gateway.Auth;
using InferenceGateway.Tests.Infrastructure;

namespace InferenceGateway.Tests.Proxy;

/// <summary>Proxied routes are limited by the tenant's plan (request bucket by default, <c>Metadata:RateLimit</c> to name another or <c>none</c>) before the upstream sees anything.</summary>
[TestFixture]
public sealed class ProxyRateLimitTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    [Test]
    public async Task LimitedRoute_CarriesRateLimitHeaders_AndRefusesOverThePlan_WithoutReachingTheUpstream()
    {
        await using var upstream = await UpstreamServer.StartAsync("limited-upstream");
        var configuration = TestStack.Configuration(TestStack.UniqueName("proxy-rl"));
        configuration["RateLimits:Plans:tiny:RequestsPerSecond"] = "0.001";
        configuration["RateLimits:Plans:tiny:Burst"] = "2";
        configuration["ReverseProxy:Routes:limited:ClusterId"] = "up";
        configuration["ReverseProxy:Routes:limited:AuthorizationPolicy"] = "jobs:read";
        configuration["ReverseProxy:Routes:limited:Match:Path"] = "/limited/{**rest}";
        configuration["ReverseProxy:Routes:limited:Metadata:RateLimit"] = "requests";
        configuration["ReverseProxy:Routes:open:ClusterId"] = "up";
        configuration["ReverseProxy:Routes:open:AuthorizationPolicy"] = "jobs:read";
        configuration["ReverseProxy:Routes:open:Match:Path"] = "/open/{**rest}";
        configuration["ReverseProxy:Routes:open:Metadata:RateLimit"] = "none";
        configuration["ReverseProxy:Routes:plain:ClusterId"] = "up";
        configuration["ReverseProxy:Routes:plain:AuthorizationPolicy"] = "jobs:read";
        configuration["ReverseProxy:Routes:plain:Match:Path"] = "/plain/{**rest}";
        configuration["ReverseProxy:Clusters:up:Destinations:a:Address"] = upstream.Address.ToString();
        await using var gateway = await GatewayServer.StartAsync(configuration);
        using var client = gateway.CreateClient(await gateway.CreateKeyAsync(new NewApiKey(TestStack.UniqueName("tenant"), "proxy", [Scopes.JobsRead], "tiny")));

        var answers = new List<HttpResponseMessage>();
        try
        {
            for (var i = 0; i < 3; i++)
            {
                answers.Add(await client.GetAsync($"/limited/item/{i}").WaitAsync(Timeout));
            }

            using var unlimited = await client.GetAsync("/open/anything").WaitAsync(Timeout);
            using var byDefault = await client.GetAsync("/plain/anything").WaitAsync(Timeout);

            Assert.That(answers.Select(a => a.StatusCode), Is.EqualTo(new[] { HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.TooManyRequests }));
            Assert.That(answers[0].Headers.GetValues("RateLimit-Limit").Single(), Is.EqualTo("2"));
            Assert.That(answers[1].Headers.GetValues("RateLimit-Remaining").Single(), Is.EqualTo("0"));
            Assert.That(answers[2].Content.Headers.ContentType?.MediaType, Is.EqualTo("application/problem+json"));
            Assert.That(answers[2].Headers.RetryAfter, Is.Not.Null);
            Assert.That(upstream.Received.Select(r => r.PathAndQuery), Is.EqualTo(new[] { "/limited/item/0", "/limited/item/1", "/open/anything" }), "the refused request never reached the upstream");
            Assert.That(unlimited.StatusCode, Is.EqualTo(HttpStatusCode.OK));
            Assert.That(unlimited.Headers.Contains("RateLimit-Limit"), Is.False, "RateLimit: none turns the limit off");
            Assert.That(byDefault.StatusCode, Is.EqualTo(HttpStatusCode.TooManyRequests), "a route that names no bucket draws from the request bucket, already empty");
        }
        finally
        {
            foreach (var answer in answers)
            {
                answer.Dispose();
            }
        }
    }
}
