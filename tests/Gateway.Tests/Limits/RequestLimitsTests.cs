using System.Net;
using System.Text;
using System.Text.Json;
using InferenceGateway.Tests.Infrastructure;
using Microsoft.Extensions.Options;

namespace InferenceGateway.Tests.Limits;

/// <summary>The <c>RequestLimits</c> settings: checked on start, and the configured values are the ones enforced.</summary>
[TestFixture]
public sealed class RequestLimitsTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    [Test]
    public void Start_WithBadRequestLimits_FailsNamingEveryOne()
    {
        var configuration = TestStack.Configuration(TestStack.UniqueName("limits-bad"));
        configuration["RequestLimits:MaxJsonDepth"] = "1";
        configuration["RequestLimits:MaxHeaderCount"] = "0";
        configuration["RequestLimits:MaxHeaderBytes"] = "20000";
        configuration["RequestLimits:MaxHeadersTotalBytes"] = "10000";

        var error = Assert.ThrowsAsync<OptionsValidationException>(() => GatewayServer.StartAsync(configuration));

        Assert.That(error!.Failures, Has.Some.Contains("MaxJsonDepth"));
        Assert.That(error.Failures, Has.Some.Contains("MaxHeaderCount"));
        Assert.That(error.Failures, Has.Some.Contains("RequestLimits:MaxHeaderBytes (20000) must not exceed RequestLimits:MaxHeadersTotalBytes (10000)"));
    }

    [Test]
    public async Task Submit_UnderConfiguredLimits_EnforcesThoseLimits_OnOneClient()
    {
        var configuration = TestStack.Configuration(TestStack.UniqueName("limits-low"));
        configuration["RequestLimits:MaxJobBodyBytes"] = "2048";
        configuration["RequestLimits:MaxJsonDepth"] = "4";
        configuration["RequestLimits:MaxUrlBytes"] = "1024";
        await using var gateway = await GatewayServer.StartAsync(configuration);
        using var client = gateway.CreateClient(await gateway.CreateKeyAsync(TestStack.UniqueName("tenant")));

        using var big = await client.PostAsync("/v1/jobs", Json(Job("\"" + new string('x', 3000) + "\""))).WaitAsync(Timeout);
        using var chunked = new HttpRequestMessage(HttpMethod.Post, "/v1/jobs") { Content = new StreamContent(new MemoryStream(Encoding.UTF8.GetBytes(Job("\"" + new string('x', 3000) + "\"")))) };
        chunked.Content.Headers.ContentType = new("application/json");
        chunked.Headers.TransferEncodingChunked = true;
        using var bigChunked = await client.SendAsync(chunked).WaitAsync(Timeout);
        using var deep = await client.PostAsync("/v1/jobs", Json("{\"model\": \"all-minilm-l6-v2\", \"input\": {\"texts\": [\"a\"]}, \"x\": [[[[1]]]]}")).WaitAsync(Timeout);
        using var longUrl = await client.GetAsync("/v1/jobs/" + new string('a', 1100)).WaitAsync(Timeout);
        using var fits = await client.PostAsync("/v1/jobs", Json(Job("\"" + new string('x', 1500) + "\""))).WaitAsync(Timeout);

        await AssertProblemAsync(big, HttpStatusCode.RequestEntityTooLarge, "at most 2048");
        await AssertProblemAsync(bigChunked, HttpStatusCode.RequestEntityTooLarge, "2048");
        await AssertProblemAsync(deep, HttpStatusCode.BadRequest, "nested at most 4 deep");
        await AssertProblemAsync(longUrl, HttpStatusCode.RequestUriTooLong, "the limit is 1024");
        Assert.That(fits.StatusCode, Is.EqualTo(HttpStatusCode.Accepted), await fits.Content.ReadAsStringAsync());
    }

    [Test]
    public async Task ProxiedRoute_WithItsOwnBodyLimit_KeepsIt_AndOthersGetTheDefault()
    {
        var configuration = TestStack.Configuration(TestStack.UniqueName("limits-proxy"));
        configuration["ReverseProxy:Routes:big:ClusterId"] = "nowhere";
        configuration["ReverseProxy:Routes:big:Match:Path"] = "/big/{**rest}";
        configuration["ReverseProxy:Routes:big:AuthorizationPolicy"] = "Anonymous";
        configuration["ReverseProxy:Routes:big:MaxRequestBodySize"] = (4 * 1024 * 1024).ToString(System.Globalization.CultureInfo.InvariantCulture);
        configuration["ReverseProxy:Routes:small:ClusterId"] = "nowhere";
        configuration["ReverseProxy:Routes:small:Match:Path"] = "/small/{**rest}";
        configuration["ReverseProxy:Routes:small:AuthorizationPolicy"] = "Anonymous";
        configuration["ReverseProxy:Clusters:nowhere:Destinations:d1:Address"] = "http://127.0.0.1:1/";
        await using var gateway = await GatewayServer.StartAsync(configuration);
        using var client = gateway.CreateClient();
        var twoMebibytes = new byte[2 * 1024 * 1024];

        using var big = await client.PostAsync("/big/upload", new ByteArrayContent(twoMebibytes)).WaitAsync(Timeout);
        using var small = await client.PostAsync("/small/upload", new ByteArrayContent(twoMebibytes)).WaitAsync(Timeout);

        // The upstream does not exist: past the limits, the proxy itself answers (502).
        Assert.That(big.StatusCode, Is.EqualTo(HttpStatusCode.BadGateway), await big.Content.ReadAsStringAsync());
        await AssertProblemAsync(small, HttpStatusCode.RequestEntityTooLarge, "at most 1048576");
    }

    private static string Job(string textsJson) => "{\"model\": \"all-minilm-l6-v2\", \"input\": {\"texts\": [" + textsJson + "]}}";

    private static StringContent Json(string body) => new(body, Encoding.UTF8, "application/json");

    private static async Task AssertProblemAsync(HttpResponseMessage response, HttpStatusCode status, string detail)
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.That(response.StatusCode, Is.EqualTo(status), body);
        Assert.That(response.Content.Headers.ContentType?.MediaType, Is.EqualTo("application/problem+json"), body);
        Assert.That(JsonDocument.Parse(body).RootElement.GetProperty("detail").GetString(), Does.Contain(detail));
    }
}
