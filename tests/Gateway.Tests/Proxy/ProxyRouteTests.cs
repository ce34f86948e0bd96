using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using InferenceGateway.Tests.Infrastructure;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Yarp.ReverseProxy;
using Yarp.ReverseProxy.Configuration;

namespace InferenceGateway.Tests.Proxy;

/// <summary>
/// YARP routes from configuration on the real gateway, proxying to a real Kestrel upstream on
/// loopback: auth per route, forwarded headers, reload without restart, problem+json for every
/// proxy failure, and an async route that turns the request into a job a real worker completes.
/// </summary>
[TestFixture]
public sealed class ProxyRouteTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    private readonly ReloadableConfiguration _reload = new();
    private readonly ProxyConfigApplied _applied = new();
    private UpstreamServer _upstream = null!;
    private GatewayServer _gateway = null!;
    private Dictionary<string, string?> _configuration = null!;
    private string _tenant = null!;
    private string _readKey = null!;
    private string _writeKey = null!;
    private string _readWriteKey = null!;

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        _upstream = await UpstreamServer.StartAsync("up");
        _configuration = TestStack.Configuration(TestStack.UniqueName("proxy"));
        _configuration["RateLimits:Plans:tiny:TokensPerMinute"] = "10";
        var routes = new Dictionary<string, string?>
        {
            ["ReverseProxy:Routes:echo:ClusterId"] = "up",
            ["ReverseProxy:Routes:echo:AuthorizationPolicy"] = "jobs:read",
            ["ReverseProxy:Routes:echo:Match:Path"] = "/echo/{**rest}",
            ["ReverseProxy:Routes:slow:ClusterId"] = "up",
            ["ReverseProxy:Routes:slow:AuthorizationPolicy"] = "jobs:read",
            ["ReverseProxy:Routes:slow:Match:Path"] = "/slow/{**rest}",
            ["ReverseProxy:Routes:slow:Metadata:LatencyBudgetMs"] = "300",
            ["ReverseProxy:Routes:down:ClusterId"] = "dead",
            ["ReverseProxy:Routes:down:AuthorizationPolicy"] = "jobs:read",
            ["ReverseProxy:Routes:down:Match:Path"] = "/down/{**rest}",
            ["ReverseProxy:Routes:embed:Match:Path"] = "/embed",
            ["ReverseProxy:Routes:embed:Match:Methods:0"] = "POST",
            ["ReverseProxy:Routes:embed:Metadata:Mode"] = "async",
            ["ReverseProxy:Routes:embed:Metadata:Model"] = "all-minilm-l6-v2",
            ["ReverseProxy:Routes:embed:Metadata:RateLimit"] = "tenant",
            ["ReverseProxy:Clusters:up:Destinations:a:Address"] = _upstream.Address.ToString(),
            ["ReverseProxy:Clusters:dead:Destinations:a:Address"] = $"http://127.0.0.1:{ExternalProcess.FreePort()}/",
        };
        _gateway = await GatewayServer.StartAsync(
            _configuration.Concat(routes).ToDictionary(),
            builder =>
            {
                ((IConfigurationBuilder)builder.Configuration).Add(_reload);
                builder.Services.AddSingleton<IConfigChangeListener>(_applied);
            });
        _tenant = TestStack.UniqueName("tenant");
        _readKey = await _gateway.CreateKeyAsync(_tenant, "jobs:read");
        _writeKey = await _gateway.CreateKeyAsync(_tenant, "jobs:write");
        _readWriteKey = await _gateway.CreateKeyAsync(_tenant, "jobs:read", "jobs:write");
    }

    [OneTimeTearDown]
    public async Task StopAsync()
    {
        await _gateway.DisposeAsync();
        await _upstream.DisposeAsync();
    }

    [Test]
    public async Task SyncRoute_WithoutAKey_Returns401Problem_AndNothingReachesTheUpstream()
    {
        var marker = Guid.NewGuid().ToString("N");
        using var client = _gateway.CreateClient();
        client.DefaultRequestHeaders.Add("X-Test", marker);

        using var response = await client.GetAsync("/echo/private").WaitAsync(Timeout);

        await ProblemAssert.IsProblemAsync(response, HttpStatusCode.Unauthorized);
        Assert.That(response.Headers.WwwAuthenticate.ToString(), Does.StartWith("Bearer"));
        Assert.That(_upstream.Received.Any(r => r.Headers.GetValueOrDefault("X-Test") == marker), Is.False);
    }

    [Test]
    public async Task SyncRoute_WithAKeyLackingTheRoutesScope_Returns403Problem()
    {
        using var client = _gateway.CreateClient(_writeKey);

        using var response = await client.GetAsync("/echo/private").WaitAsync(Timeout);

        await ProblemAssert.IsProblemAsync(response, HttpStatusCode.Forbidden);
    }

    [Test]
    public async Task SyncRoute_WithAValidKey_ReturnsTheUpstreamsAnswer_WithPathHeadersAndForwardedHeaders()
    {
        var marker = Guid.NewGuid().ToString("N");
        using var client = _gateway.CreateClient(_readKey);
        client.DefaultRequestHeaders.Add("X-Test", marker);
        client.DefaultRequestHeaders.Add("X-Gateway-Tenant", "forged-tenant");
        client.DefaultRequestHeaders.Add("X_Gateway_Tenant", "forged-underscore");

        using var response = await client.GetAsync("/echo/a/b?x=1").WaitAsync(Timeout);

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        Assert.That(body.GetProperty("upstream").GetString(), Is.EqualTo("up"));
        var seen = _upstream.Received.Single(r => r.Headers.GetValueOrDefault("X-Test") == marker);
        Assert.Multiple(() =>
        {
            Assert.That(seen.Method, Is.EqualTo("GET"));
            Assert.That(seen.PathAndQuery, Is.EqualTo("/echo/a/b?x=1"));
            Assert.That(seen.Headers.GetValueOrDefault("X-Forwarded-For"), Is.EqualTo("127.0.0.1"));
            Assert.That(seen.Headers.GetValueOrDefault("X-Forwarded-Proto"), Is.EqualTo("http"));
            Assert.That(seen.Headers.GetValueOrDefault("X-Forwarded-Host"), Is.EqualTo(_gateway.BaseAddress.Authority));
            Assert.That(seen.Headers.ContainsKey("Authorization"), Is.False, "the caller's API key stays at the edge");
            Assert.That(seen.Headers.GetValueOrDefault("X-Gateway-Tenant"), Is.EqualTo(_tenant), "the tenant comes from the key, not the caller");
            Assert.That(seen.Headers.ContainsKey("X_Gateway_Tenant"), Is.False, "nor from a look-alike spelt with underscores");
        });
    }

    [Test]
    public async Task SyncRoute_WithTheUpstreamDown_Returns502Problem()
    {
        using var client = _gateway.CreateClient(_readKey);

        using var response = await client.GetAsync("/down/anything").WaitAsync(Timeout);

        var problem = await ProblemAssert.IsProblemAsync(response, HttpStatusCode.BadGateway);
        Assert.That(problem.GetProperty("route").GetString(), Is.EqualTo("down"));
    }

    [Test]
    public async Task SyncRoute_WithAnUpstreamSlowerThanTheLatencyBudget_Returns504Problem()
    {
        using var client = _gateway.CreateClient(_readKey);

        using var response = await client.GetAsync("/slow/forever").WaitAsync(Timeout);

        var problem = await ProblemAssert.IsProblemAsync(response, HttpStatusCode.GatewayTimeout);
        Assert.That(problem.GetProperty("detail").GetString(), Does.Contain("300 ms"));
    }

    [Test]
    public void RouteMetadata_ReachesTheRoute_AndTheLatencyBudgetIsItsTimeout()
    {
        var proxy = _gateway.Services.GetRequiredService<IProxyStateLookup>();

        Assert.That(proxy.TryGetRoute("embed", out var embed), Is.True);
        Assert.That(proxy.TryGetRoute("slow", out var slow), Is.True);
        Assert.That(embed!.Config.Metadata!["RateLimit"], Is.EqualTo("tenant"), "the rate limiter reads its policy here");
        Assert.That(slow!.Config.Timeout, Is.EqualTo(TimeSpan.FromMilliseconds(300)));
    }

    [Test]
    public async Task Reload_AddsARoute_WithoutRestartingTheGateway()
    {
        using var client = _gateway.CreateClient(_readKey);
        using (var before = await client.GetAsync("/added/x").WaitAsync(Timeout))
        {
            Assert.That(before.StatusCode, Is.EqualTo(HttpStatusCode.NotFound));
        }

        var applied = _applied.Next();
        _reload.Set(new Dictionary<string, string?>
        {
            ["ReverseProxy:Routes:added:ClusterId"] = "up",
            ["ReverseProxy:Routes:added:AuthorizationPolicy"] = "jobs:read",
            ["ReverseProxy:Routes:added:Match:Path"] = "/added/{**rest}",
        });
        await applied.WaitAsync(Timeout);

        using var after = await client.GetAsync("/added/x").WaitAsync(Timeout);
        Assert.That(after.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        var body = JsonDocument.Parse(await after.Content.ReadAsStringAsync()).RootElement;
        Assert.That(body.GetProperty("path").GetString(), Is.EqualTo("/added/x"));
    }

    [Test]
    public async Task Reload_WithAnInvalidRoute_KeepsThePreviousRoutes()
    {
        var applied = _applied.Next();
        _reload.Set(new Dictionary<string, string?>
        {
            ["ReverseProxy:Routes:broken:Match:Path"] = "/broken",
            ["ReverseProxy:Routes:broken:Metadata:Mode"] = "async",
            ["ReverseProxy:Routes:broken:Metadata:LatencyBudgetMs"] = "soon",
        });
        try
        {
            var failure = Assert.ThrowsAsync<AggregateException>(() => applied.WaitAsync(Timeout));
            Assert.That(failure!.ToString(), Does.Contain("'Model'").And.Contain("LatencyBudgetMs"), "every problem of the route is reported");

            using var client = _gateway.CreateClient(_readKey);
            using var echo = await client.GetAsync("/echo/still-here").WaitAsync(Timeout);
            using var broken = await client.PostAsync("/broken", JsonContent.Create(new { texts = new[] { "a" } })).WaitAsync(Timeout);
            Assert.That(echo.StatusCode, Is.EqualTo(HttpStatusCode.OK));
            Assert.That(broken.StatusCode, Is.EqualTo(HttpStatusCode.NotFound));
        }
        finally
        {
            applied = _applied.Next();
            _reload.Set(new Dictionary<string, string?>
            {
                ["ReverseProxy:Routes:broken:Metadata:Model"] = "all-minilm-l6-v2",
                ["ReverseProxy:Routes:broken:Metadata:LatencyBudgetMs"] = "5000",
            });
            await applied.WaitAsync(Timeout);
        }
    }

    [TestCase("{\"texts\": []}", "application/json", 400, TestName = "AsyncRoute_WithEmptyTexts_Returns400ValidationProblem")]
    [TestCase("{\"texts\": [\"a\"", "application/json", 400, TestName = "AsyncRoute_WithTruncatedJson_Returns400Problem")]
    [TestCase("null", "application/json", 400, TestName = "AsyncRoute_WithJsonNull_Returns400Problem")]
    [TestCase("{\"texts\": [\"a\"]}", "text/plain", 415, TestName = "AsyncRoute_WithWrongContentType_Returns415Problem")]
    [TestCase(null, "application/json", 413, TestName = "AsyncRoute_WithABodyOverOneMebibyte_Returns413Problem")]
    public async Task AsyncRoute_WithABadBody_ReturnsTheSameProblemAsPostJobs(string? body, string mediaType, int status)
    {
        using var client = _gateway.CreateClient(_writeKey);
        using var content = new StringContent(body ?? "{\"texts\": [\"" + new string('x', 1_100_000) + "\"]}", Encoding.UTF8, mediaType);

        using var response = await client.PostAsync("/embed", content).WaitAsync(Timeout);

        var problem = await ProblemAssert.IsProblemAsync(response, (HttpStatusCode)status);
        if (body == "{\"texts\": []}")
        {
            Assert.That(problem.GetProperty("errors").TryGetProperty("texts", out _), Is.True);
        }
    }

    [Test]
    public void Start_WithAnInvalidRoute_Fails()
    {
        var configuration = TestStack.Configuration(TestStack.UniqueName("bad-route"));
        configuration["ReverseProxy:Routes:bad:Match:Path"] = "/bad";
        configuration["ReverseProxy:Routes:bad:Metadata:Mode"] = "async";

        var failure = Assert.CatchAsync(async () => await (await GatewayServer.StartAsync(configuration)).DisposeAsync());

        Assert.That(failure!.ToString(), Does.Contain("Route 'bad'").And.Contain("'Model'"));
    }

    [Test]
    public async Task AsyncRoute_ChargesTokensPerMinute_LikePostJobs()
    {
        var key = await _gateway.CreateKeyAsync(new InferenceGateway.Gateway.Auth.NewApiKey(TestStack.UniqueName("tpm"), "test", ["jobs:write"], "tiny"));
        using var client = _gateway.CreateClient(key);

        // 10 tokens a minute: 20 characters (5 tokens) fit; 200 characters (50) never can.
        using var fits = await client.PostAsJsonAsync("/embed", new { texts = new[] { new string('a', 20) } }).WaitAsync(Timeout);
        using var never = await client.PostAsJsonAsync("/embed", new { texts = new[] { new string('a', 200) } }).WaitAsync(Timeout);

        Assert.That(fits.StatusCode, Is.EqualTo(HttpStatusCode.Accepted), await fits.Content.ReadAsStringAsync());
        Assert.That(fits.Headers.GetValues("x-ratelimit-limit-tokens").Single(), Is.EqualTo("10"));
        Assert.That(fits.Headers.GetValues("x-ratelimit-remaining-tokens").Single(), Is.EqualTo("5"));
        await ProblemAssert.IsProblemAsync(never, HttpStatusCode.TooManyRequests);
    }

    [Test]
    public async Task AsyncRoute_WithAReadOnlyKey_Returns403Problem()
    {
        using var client = _gateway.CreateClient(_readKey);

        using var response = await client.PostAsJsonAsync("/embed", new { texts = new[] { "a" } }).WaitAsync(Timeout);

        await ProblemAssert.IsProblemAsync(response, HttpStatusCode.Forbidden);
    }

    [Test]
    public async Task AsyncRoute_Returns202WithAJob_ThatAWorkerCompletes()
    {
        await using var worker = await WorkerServer.StartAsync(_configuration);
        using var client = _gateway.CreateClient(_writeKey);

        using var response = await client.PostAsJsonAsync("/embed", new { texts = new[] { "This is an example sentence" } }).WaitAsync(Timeout);

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Accepted), await response.Content.ReadAsStringAsync());
        var accepted = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        var jobId = accepted.GetProperty("id").GetString()!;
        Assert.Multiple(() =>
        {
            Assert.That(jobId, Does.Match("^job_[0-9a-f]{32}$"));
            Assert.That(accepted.GetProperty("status").GetString(), Is.EqualTo("queued"));
            Assert.That(accepted.TryGetProperty("createdAt", out _), Is.True);
            Assert.That(accepted.GetProperty("links").GetProperty("self").GetString(), Is.EqualTo($"/v1/jobs/{jobId}"));
            Assert.That(accepted.GetProperty("links").GetProperty("events").GetString(), Is.EqualTo($"/v1/jobs/{jobId}/events"));
            Assert.That(accepted.GetProperty("links").GetProperty("hub").GetString(), Is.EqualTo("/hubs/jobs"));
            Assert.That(response.Headers.Location?.ToString(), Is.EqualTo($"/v1/jobs/{jobId}"));
        });

        var events = await _gateway.StreamJobAsync(_readWriteKey, jobId, afterSeq: 0, TimeSpan.FromSeconds(60));

        Assert.That(events.Select(e => e.Type), Is.EqualTo(new[] { "queued", "started", "completed" }));
        Assert.That(events[0].Data!.Value.GetProperty("model").GetString(), Is.EqualTo("all-minilm-l6-v2"));
        var result = events[^1].Data!.Value.GetProperty("result");
        Assert.That(result.GetProperty("embeddings").GetArrayLength(), Is.EqualTo(1));
        Assert.That(result.GetProperty("embeddings")[0][0].GetSingle(), Is.EqualTo(0.0677f).Within(0.001f));
    }
}
