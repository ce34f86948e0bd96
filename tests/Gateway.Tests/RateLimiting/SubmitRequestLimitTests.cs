using System.Net;
using System.Text;
using InferenceGateway.Core.Jobs;
using InferenceGateway.Gateway.Auth;
using InferenceGateway.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace InferenceGateway.Tests.RateLimiting;

/// <summary>
/// <c>POST /v1/jobs</c> takes its request limit in the same Redis round trip as its token charge and
/// its place under the cap: every answer still draws from the request bucket (a refused body too),
/// with the RateLimit headers, and a tenant over its request limit gets the 429 first, whatever the body.
/// </summary>
[TestFixture]
public sealed class SubmitRequestLimitTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    [Test]
    public async Task EverySubmitDrawsFromTheRequestBucket_AndOverItTheAnswerIs429_WithNothingElseTaken()
    {
        var configuration = TestStack.Configuration(TestStack.UniqueName("rl-submit"));
        configuration["RateLimits:Plans:three:RequestsPerSecond"] = "0.001";
        configuration["RateLimits:Plans:three:Burst"] = "3";
        configuration["RateLimits:Plans:three:TokensPerMinute"] = "100000";
        await using var gateway = await GatewayServer.StartAsync(configuration);
        var tenant = TestStack.UniqueName("tenant");
        using var client = gateway.CreateClient(await gateway.CreateKeyAsync(new NewApiKey(tenant, "rl", [Scopes.JobsRead, Scopes.JobsWrite], "three")));

        using var notJson = await PostAsync(client, "texts", "text/plain");
        using var unknownModel = await PostAsync(client, """{"model":"no-such-model","input":{"texts":["x"]}}""");
        using var accepted = await PostAsync(client, """{"model":"all-minilm-l6-v2","input":{"texts":["x"]}}""");
        using var refusedInvalid = await PostAsync(client, """{"model":"no-such-model","input":{"texts":["x"]}}""");
        using var refusedValid = await PostAsync(client, """{"model":"all-minilm-l6-v2","input":{"texts":["y"]}}""");

        Assert.That(
            new[] { notJson.StatusCode, unknownModel.StatusCode, accepted.StatusCode, refusedInvalid.StatusCode, refusedValid.StatusCode },
            Is.EqualTo(new[] { HttpStatusCode.UnsupportedMediaType, HttpStatusCode.BadRequest, HttpStatusCode.Accepted, HttpStatusCode.TooManyRequests, HttpStatusCode.TooManyRequests }));
        Assert.That(new[] { notJson, unknownModel, accepted }.Select(r => Header(r, "RateLimit-Remaining")), Is.EqualTo(new[] { "2", "1", "0" }));
        Assert.That(Header(accepted, "RateLimit-Limit"), Is.EqualTo("3"));
        Assert.That(Header(accepted, "x-ratelimit-limit-tokens"), Is.EqualTo("100000"), "the token charge came with the request");
        foreach (var refused in new[] { refusedInvalid, refusedValid })
        {
            Assert.That(refused.Content.Headers.ContentType?.MediaType, Is.EqualTo("application/problem+json"));
            Assert.That(refused.Headers.RetryAfter?.Delta, Is.GreaterThan(TimeSpan.Zero));
            Assert.That(Header(refused, "RateLimit-Remaining"), Is.EqualTo("0"));
            Assert.That(await refused.Content.ReadAsStringAsync(), Does.Contain("The 'requests' limit of this tenant's plan is used up"));
            Assert.That(refused.Headers.Contains("x-ratelimit-remaining-tokens"), Is.False, "no tokens asked over the request limit");
        }

        Assert.That(await gateway.Services.GetRequiredService<ActiveJobs>().CountAsync(tenant), Is.EqualTo(1), "only the accepted job holds a place");
    }

    private static Task<HttpResponseMessage> PostAsync(HttpClient client, string body, string mediaType = "application/json") =>
        client.PostAsync("/v1/jobs", new StringContent(body, Encoding.UTF8, mediaType)).WaitAsync(Timeout);

    private static string? Header(HttpResponseMessage response, string name) =>
        response.Headers.TryGetValues(name, out var values) ? values.Single() : null;
}
