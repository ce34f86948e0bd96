using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using InferenceGateway.Contracts;
using InferenceGateway.Core.Jobs;
using InferenceGateway.Gateway.Auth;
using InferenceGateway.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace InferenceGateway.Tests.Auth;

/// <summary>
/// JWT bearer beside API keys, on the real gateway (Kestrel, Redis, the SQS emulator, the SignalR
/// client). Tokens are minted here with the key the gateway is configured with, or deliberately not.
/// </summary>
[TestFixture]
public sealed class JwtAuthTests
{
    private const string Issuer = "https://issuer.test";
    private const string Audience = "inference-gateway";
    private const string SigningKey = "a test signing key that is comfortably over 32 bytes";

    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);
    private static readonly string[] ReadWrite = [Scopes.JobsRead, Scopes.JobsWrite];

    private GatewayServer _gateway = null!;
    private Dictionary<string, string?> _configuration = null!;

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        _configuration = TestStack.Configuration(TestStack.UniqueName("jwt"));
        _configuration["Jwt:Issuer"] = Issuer;
        _configuration["Jwt:Audience"] = Audience;
        _configuration["Jwt:SigningKey"] = SigningKey;
        _gateway = await GatewayServer.StartAsync(_configuration);
    }

    [OneTimeTearDown]
    public Task StopAsync() => _gateway.DisposeAsync().AsTask();

    public static IEnumerable<TestCaseData> RejectedTokens()
    {
        var now = DateTime.UtcNow;
        yield return new TestCaseData(Mint(tenant: "t", expires: now.AddMinutes(-5), issuedAt: now.AddMinutes(-10)), "expired")
            .SetName("Token_Expired_Returns401InvalidToken");
        yield return new TestCaseData(Mint(tenant: "t", audience: "someone-else"), "audience")
            .SetName("Token_ForAnotherAudience_Returns401InvalidToken");
        yield return new TestCaseData(Mint(tenant: "t", issuer: "https://evil.test"), "issuer")
            .SetName("Token_FromAnotherIssuer_Returns401InvalidToken");
        yield return new TestCaseData(Mint(tenant: "t", key: "another key that is also more than thirty-two bytes"), "signature")
            .SetName("Token_SignedWithAnotherKey_Returns401InvalidToken");
        yield return new TestCaseData(Unsigned(tenant: "t"), "signature")
            .SetName("Token_WithAlgNone_Returns401InvalidToken");
        yield return new TestCaseData(Mint(tenant: null), "'tenant' claim")
            .SetName("Token_WithoutTheTenantClaim_Returns401InvalidToken");
        yield return new TestCaseData(Mint(tenant: null, extra: new() { ["tenant"] = new[] { "a", "b" } }), "'tenant' claim")
            .SetName("Token_WithTwoTenants_Returns401InvalidToken");
        yield return new TestCaseData(Mint(tenant: "bad tenant\r\nX-Injected: 1"), "'tenant' claim must be")
            .SetName("Token_WithATenantThatIsNotATenantName_Returns401InvalidToken");
        yield return new TestCaseData("eyJhbGciOiJIUzI1NiJ9.bm90IGpzb24.c2ln", "not valid")
            .SetName("Token_WithAPayloadThatIsNotJson_Returns401InvalidToken");
    }

    [Test]
    public async Task ValidToken_SubmitsAJob_AndReadsItBack()
    {
        using var client = _gateway.CreateClient(Mint(TestStack.UniqueName("tenant")));

        var jobId = await SubmitAsync(client);
        using var read = await client.GetAsync($"/v1/jobs/{jobId}").WaitAsync(Timeout);

        Assert.That(read.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        var job = JsonDocument.Parse(await read.Content.ReadAsStringAsync()).RootElement;
        Assert.That(job.GetProperty("id").GetString(), Is.EqualTo(jobId));
        Assert.That(job.GetProperty("status").GetString(), Is.EqualTo(JobStatuses.Queued));
    }

    [Test]
    public async Task JobSubmittedWithAJwt_BelongsToTheTenantInTheClaim()
    {
        var tenantA = TestStack.UniqueName("tenant-a");
        var tenantB = TestStack.UniqueName("tenant-b");
        using var jwtClient = _gateway.CreateClient(Mint(tenantA));
        using var keyA = _gateway.CreateClient(await _gateway.CreateKeyAsync(tenantA));
        using var keyB = _gateway.CreateClient(await _gateway.CreateKeyAsync(tenantB));
        var jobId = await SubmitAsync(jwtClient);

        using var asB = await keyB.GetAsync($"/v1/jobs/{jobId}").WaitAsync(Timeout);
        using var asA = await keyA.GetAsync($"/v1/jobs/{jobId}").WaitAsync(Timeout);

        Assert.That(asB.StatusCode, Is.EqualTo(HttpStatusCode.NotFound), "another tenant's key must not see it");
        Assert.That(asA.StatusCode, Is.EqualTo(HttpStatusCode.OK), "the claim's tenant's key sees it");
        var record = await _gateway.Services.GetRequiredService<RedisJobStore>().GetAsync(jobId);
        Assert.That(record!.Tenant, Is.EqualTo(tenantA));
    }

    [TestCaseSource(nameof(RejectedTokens))]
    public async Task RejectedToken_Returns401ProblemWithInvalidTokenChallenge(string token, string detailMentions)
    {
        using var client = _gateway.CreateClient(token);

        using var response = await client.PostAsJsonAsync("/v1/jobs", Job()).WaitAsync(Timeout);

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
        Assert.That(response.Content.Headers.ContentType?.MediaType, Is.EqualTo("application/problem+json"));
        Assert.That(response.Headers.WwwAuthenticate.ToString(), Is.EqualTo("Bearer error=\"invalid_token\""));
        var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        Assert.That(problem.GetProperty("status").GetInt32(), Is.EqualTo(401));
        Assert.That(problem.GetProperty("detail").GetString(), Does.Contain(detailMentions));
    }

    [Test]
    public async Task TokenWithoutJobsWrite_Submit_Returns403Problem_ButItMayRead()
    {
        using var client = _gateway.CreateClient(Mint(TestStack.UniqueName("tenant"), scopes: [Scopes.JobsRead]));

        using var submit = await client.PostAsJsonAsync("/v1/jobs", Job()).WaitAsync(Timeout);
        using var models = await client.GetAsync("/v1/models").WaitAsync(Timeout);

        Assert.That(submit.StatusCode, Is.EqualTo(HttpStatusCode.Forbidden));
        Assert.That(submit.Content.Headers.ContentType?.MediaType, Is.EqualTo("application/problem+json"));
        var problem = JsonDocument.Parse(await submit.Content.ReadAsStringAsync()).RootElement;
        Assert.That(problem.GetProperty("status").GetInt32(), Is.EqualTo(403));
        Assert.That(models.StatusCode, Is.EqualTo(HttpStatusCode.OK));
    }

    [Test]
    public async Task ScopesAsAScpJsonArray_AreHonoured()
    {
        var token = Mint(TestStack.UniqueName("tenant"), scopes: [], extra: new() { ["scp"] = ReadWrite });
        using var client = _gateway.CreateClient(token);

        await SubmitAsync(client);
    }

    [Test]
    public async Task ScopeClaimNamingAdminAmongOthers_GrantsOnlyWhatItNames()
    {
        // "scope": "jobs:read admin" is two scopes, neither of them jobs:write.
        using var client = _gateway.CreateClient(Mint(TestStack.UniqueName("tenant"), scopes: [Scopes.JobsRead, Scopes.Admin]));

        using var submit = await client.PostAsJsonAsync("/v1/jobs", Job()).WaitAsync(Timeout);

        Assert.That(submit.StatusCode, Is.EqualTo(HttpStatusCode.Forbidden));
    }

    [Test]
    public async Task AdminScopeInAToken_IsIgnored_SoNoTenantCanManageOthersKeys()
    {
        using var client = _gateway.CreateClient(Mint(TestStack.UniqueName("tenant"), scopes: [Scopes.JobsRead, Scopes.Admin]));

        using var list = await client.GetAsync("/admin/keys").WaitAsync(Timeout);
        using var create = await client.PostAsJsonAsync("/admin/keys", new { tenant = "someone-else", name = "x", scopes = new[] { "jobs:read" } }).WaitAsync(Timeout);

        Assert.That(list.StatusCode, Is.EqualTo(HttpStatusCode.Forbidden));
        Assert.That(create.StatusCode, Is.EqualTo(HttpStatusCode.Forbidden));
    }

    [Test]
    public async Task Hub_WithAJwtFromTheAccessTokenProvider_StreamsTheJobsEvents()
    {
        var token = Mint(TestStack.UniqueName("tenant"));
        using var client = _gateway.CreateClient(token);
        var jobId = await SubmitAsync(client);
        // No worker runs here: the test plays its part on the job's event log.
        var store = _gateway.Services.GetRequiredService<RedisJobStore>();
        await store.AppendAsync(jobId, JobEventTypes.Started, "{\"attempt\":1}", [new(JobFields.Status, JobStatuses.Running)]);
        await store.AppendAsync(jobId, JobEventTypes.Completed, "{\"result\":{}}", [new(JobFields.Status, JobStatuses.Completed)]);

        var events = await _gateway.StreamJobAsync(token, jobId, afterSeq: 0, Timeout);

        Assert.That(events.Select(e => e.Type), Is.EqualTo(new[] { JobEventTypes.Queued, JobEventTypes.Started, JobEventTypes.Completed }));
        Assert.That(events.Select(e => e.JobId), Is.All.EqualTo(jobId));
    }

    [Test]
    public async Task Hub_AnotherTenantsJwt_CannotStreamTheJob()
    {
        using var client = _gateway.CreateClient(Mint(TestStack.UniqueName("tenant-a")));
        var jobId = await SubmitAsync(client);

        var error = Assert.ThrowsAsync<Microsoft.AspNetCore.SignalR.HubException>(
            () => _gateway.StreamJobAsync(Mint(TestStack.UniqueName("tenant-b")), jobId, afterSeq: 0, Timeout));

        Assert.That(error!.Message, Does.Contain("no job"));
    }

    [Test]
    public async Task HubNegotiate_WithAJwtInTheAccessTokenQuery_IsAccepted_AndAnExpiredOneIs401()
    {
        var good = Mint(TestStack.UniqueName("tenant"));
        var expired = Mint(TestStack.UniqueName("tenant"), expires: DateTime.UtcNow.AddMinutes(-5), issuedAt: DateTime.UtcNow.AddMinutes(-10));
        using var client = _gateway.CreateClient();

        using var accepted = await client.PostAsync($"/hubs/jobs/negotiate?negotiateVersion=1&access_token={good}", null).WaitAsync(Timeout);
        using var refused = await client.PostAsync($"/hubs/jobs/negotiate?negotiateVersion=1&access_token={expired}", null).WaitAsync(Timeout);

        Assert.That(accepted.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(refused.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
        Assert.That(refused.Headers.WwwAuthenticate.ToString(), Is.EqualTo("Bearer error=\"invalid_token\""));
    }

    [Test]
    public async Task ApiKeys_StillWork_WhenJwtIsOn()
    {
        var key = await _gateway.CreateKeyAsync(TestStack.UniqueName("tenant"));
        using var client = _gateway.CreateClient(key);
        using var anonymous = _gateway.CreateClient();
        using var unknown = _gateway.CreateClient("igw_not-a-real-key");

        var jobId = await SubmitAsync(client);
        using var read = await client.GetAsync($"/v1/jobs/{jobId}").WaitAsync(Timeout);
        using var negotiate = await anonymous.PostAsync($"/hubs/jobs/negotiate?negotiateVersion=1&access_token={key}", null).WaitAsync(Timeout);
        using var none = await anonymous.PostAsJsonAsync("/v1/jobs", Job()).WaitAsync(Timeout);
        using var bad = await unknown.PostAsJsonAsync("/v1/jobs", Job()).WaitAsync(Timeout);

        Assert.That(read.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(negotiate.StatusCode, Is.EqualTo(HttpStatusCode.OK), "an API key in the hub's access_token still works");
        Assert.That(none.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
        Assert.That(bad.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
        Assert.That(bad.Headers.WwwAuthenticate.ToString(), Is.EqualTo("Bearer"), "an API key is answered by the API-key handler");
        Assert.That(bad.Content.Headers.ContentType?.MediaType, Is.EqualTo("application/problem+json"));
    }

    [Test]
    public async Task WithJwtOff_AJwtShapedBearer_IsAnUnknownApiKey()
    {
        await using var gateway = await GatewayServer.StartAsync(TestStack.Configuration(TestStack.UniqueName("jwt-off")));
        using var client = gateway.CreateClient(Mint(TestStack.UniqueName("tenant")));

        using var response = await client.PostAsJsonAsync("/v1/jobs", Job()).WaitAsync(Timeout);

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
        Assert.That(response.Headers.WwwAuthenticate.ToString(), Is.EqualTo("Bearer"));
        var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        Assert.That(problem.GetProperty("detail").GetString(), Does.Contain("API key"));
    }

    [Test]
    public void Start_WithBadJwtSettings_FailsNamingEveryOne()
    {
        var configuration = TestStack.Configuration(TestStack.UniqueName("jwt-bad"));
        configuration["Jwt:Issuer"] = Issuer;
        configuration["Jwt:SigningKey"] = "too short";
        configuration["Jwt:ClockSkew"] = "01:00:00";

        var error = Assert.ThrowsAsync<OptionsValidationException>(() => GatewayServer.StartAsync(configuration));

        Assert.That(error!.Failures, Has.Some.Contains("Jwt:Audience"));
        Assert.That(error.Failures, Has.Some.Contains("Jwt:SigningKey is 9 bytes"));
        Assert.That(error.Failures, Has.Some.Contains("Jwt:ClockSkew"));
    }

    [Test]
    public async Task Start_WithABase64SigningKey_ValidatesTokensSignedWithTheDecodedBytes()
    {
        var keyBytes = RandomNumberGenerator.GetBytes(32);
        var configuration = TestStack.Configuration(TestStack.UniqueName("jwt-b64"));
        configuration["Jwt:Issuer"] = Issuer;
        configuration["Jwt:Audience"] = Audience;
        configuration["Jwt:SigningKey"] = "base64:" + Convert.ToBase64String(keyBytes);
        await using var gateway = await GatewayServer.StartAsync(configuration);
        using var client = gateway.CreateClient(Mint(TestStack.UniqueName("tenant"), keyBytes: keyBytes));

        await SubmitAsync(client);
    }

    [Test]
    public async Task ConfiguredClaimNames_AreTheOnlyOnesRead_SoARawTenantClaimIsIgnored()
    {
        var configuration = TestStack.Configuration(TestStack.UniqueName("jwt-claims"));
        configuration["Jwt:Issuer"] = Issuer;
        configuration["Jwt:Audience"] = Audience;
        configuration["Jwt:SigningKey"] = SigningKey;
        configuration["Jwt:TenantClaim"] = "org";
        configuration["Jwt:ScopeClaim"] = "permissions";
        await using var gateway = await GatewayServer.StartAsync(configuration);
        var org = TestStack.UniqueName("org");
        var other = TestStack.UniqueName("tenant");
        var token = Mint(tenant: other, scopes: [], extra: new()
        {
            ["org"] = org,
            ["permissions"] = string.Join(' ', ReadWrite),
        });
        var readOnly = Mint(tenant: other, scopes: ReadWrite, extra: new()
        {
            ["org"] = org,
            ["permissions"] = Scopes.JobsRead,
        });
        using var client = gateway.CreateClient(token);
        using var readOnlyClient = gateway.CreateClient(readOnly);

        var jobId = await SubmitAsync(client);
        using var refused = await readOnlyClient.PostAsJsonAsync("/v1/jobs", Job()).WaitAsync(Timeout);

        var record = await gateway.Services.GetRequiredService<RedisJobStore>().GetAsync(jobId);
        Assert.That(record!.Tenant, Is.EqualTo(org), "the tenant comes from Jwt:TenantClaim, not from a claim that happens to be called 'tenant'");
        Assert.That(refused.StatusCode, Is.EqualTo(HttpStatusCode.Forbidden), "scopes come from Jwt:ScopeClaim (or scp), not from 'scope'");
    }

    private static object Job() => new { model = "all-minilm-l6-v2", input = new { texts = new[] { "Hello from a JWT" } } };

    private static async Task<string> SubmitAsync(HttpClient client)
    {
        using var response = await client.PostAsJsonAsync("/v1/jobs", Job()).WaitAsync(Timeout);
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Accepted), await response.Content.ReadAsStringAsync());
        return JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("id").GetString()!;
    }

    private static string Mint(
        string? tenant,
        string[]? scopes = null,
        string issuer = Issuer,
        string audience = Audience,
        string key = SigningKey,
        byte[]? keyBytes = null,
        DateTime? expires = null,
        DateTime? issuedAt = null,
        Dictionary<string, object>? extra = null)
    {
        var claims = new Dictionary<string, object>(extra ?? [])
        {
            ["sub"] = "user-1",
            ["jti"] = Guid.NewGuid().ToString("N"),
        };
        if (tenant is not null)
        {
            claims["tenant"] = tenant;
        }

        scopes ??= ReadWrite;
        if (scopes.Length > 0)
        {
            claims["scope"] = string.Join(' ', scopes);
        }

        var now = issuedAt ?? DateTime.UtcNow;
        return new JsonWebTokenHandler { SetDefaultTimesOnTokenCreation = false }.CreateToken(new SecurityTokenDescriptor
        {
            Issuer = issuer,
            Audience = audience,
            IssuedAt = now,
            NotBefore = now,
            Expires = expires ?? now.AddMinutes(10),
            Claims = claims,
            SigningCredentials = new SigningCredentials(new SymmetricSecurityKey(keyBytes ?? Encoding.UTF8.GetBytes(key)), SecurityAlgorithms.HmacSha256),
        });
    }

    private static string Unsigned(string tenant)
    {
        var expires = DateTimeOffset.UtcNow.AddMinutes(10).ToUnixTimeSeconds();
        var header = Base64UrlEncoder.Encode("{\"alg\":\"none\",\"typ\":\"JWT\"}");
        var payload = Base64UrlEncoder.Encode(JsonSerializer.Serialize(new Dictionary<string, object>
        {
            ["iss"] = Issuer,
            ["aud"] = Audience,
            ["exp"] = expires,
            ["tenant"] = tenant,
            ["scope"] = string.Join(' ', ReadWrite),
        }));
        return $"{header}.{payload}.";
    }
}
