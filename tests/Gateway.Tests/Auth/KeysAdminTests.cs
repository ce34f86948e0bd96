using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using InferenceGateway.Gateway.Auth;
using InferenceGateway.Tests.Infrastructure;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.DependencyInjection;

namespace InferenceGateway.Tests.Auth;

/// <summary>Key management through the admin API and the CLI, on real Redis, with two gateway instances.</summary>
[TestFixture]
public sealed class KeysAdminTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    /// <summary>How long a revocation may take to reach instance B, whose key cache never expires.</summary>
    private static readonly TimeSpan Revocation = TimeSpan.FromSeconds(5);

    private GatewayServer _a = null!;
    private GatewayServer _b = null!;
    private HttpClient _admin = null!;

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        var configuration = TestStack.Configuration(TestStack.UniqueName("keys"));
        _a = await GatewayServer.StartAsync(configuration);
        // B's key cache has a held clock: a key cached there is dropped only by the revocation's
        // pub/sub eviction, never by the cache's 1 s expiry.
        _b = await GatewayServer.StartAsync(configuration, builder => KeyCacheClock.Hold(builder));
        _admin = _a.CreateClient(await _a.CreateKeyAsync(TestStack.UniqueName("ops"), Scopes.Admin));
    }

    [OneTimeTearDown]
    public async Task StopAsync()
    {
        _admin.Dispose();
        await _b.DisposeAsync();
        await _a.DisposeAsync();
    }

    [Test]
    public async Task CreatedKey_IsShownOnce_Works_AndIsListedWithoutItsSecret()
    {
        var tenant = TestStack.UniqueName("acme");
        using var create = await _admin.PostAsJsonAsync("/admin/keys", new { tenant, name = "ci", scopes = new[] { "jobs:read", "jobs:write" }, plan = "pro" }).WaitAsync(Timeout);
        var created = JsonDocument.Parse(await create.Content.ReadAsStringAsync()).RootElement;
        var key = created.GetProperty("key").GetString()!;
        var id = created.GetProperty("id").GetString()!;
        using var client = _b.CreateClient(key);

        using var models = await client.GetAsync("/v1/models").WaitAsync(Timeout);
        var listed = JsonDocument.Parse(await _admin.GetStringAsync($"/admin/keys?tenant={tenant}").WaitAsync(Timeout)).RootElement.GetProperty("data");

        Assert.That(create.StatusCode, Is.EqualTo(HttpStatusCode.Created));
        Assert.That(create.Headers.Location?.ToString(), Is.EqualTo($"/admin/keys/{id}"));
        Assert.That(created.GetProperty("tenant").GetString(), Is.EqualTo(tenant));
        Assert.That(created.GetProperty("plan").GetString(), Is.EqualTo("pro"));
        Assert.That(models.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(listed.GetArrayLength(), Is.EqualTo(1));
        Assert.That(listed[0].GetProperty("id").GetString(), Is.EqualTo(id));
        Assert.That(listed[0].TryGetProperty("key", out _), Is.False, "the secret is never listed");
        Assert.That(await TestStack.Multiplexer.GetDatabase().KeyExistsAsync("apikey:" + ApiKeyStore.Hash(key)), Is.True, "stored under its hash");
        Assert.That(listed.GetRawText(), Does.Not.Contain(key));
    }

    [Test]
    public async Task RevokedKey_StopsWorkingOnEveryInstance()
    {
        var tenant = TestStack.UniqueName("revoke");
        var key = await _a.CreateKeyAsync(tenant);
        using var onA = _a.CreateClient(key);
        using var onB = _b.CreateClient(key);
        foreach (var client in new[] { onA, onB })
        {
            using var warm = await client.GetAsync("/v1/models").WaitAsync(Timeout);
            Assert.That(warm.StatusCode, Is.EqualTo(HttpStatusCode.OK), "cached as valid on both instances first");
        }

        var id = JsonDocument.Parse(await _admin.GetStringAsync($"/admin/keys?tenant={tenant}").WaitAsync(Timeout)).RootElement.GetProperty("data")[0].GetProperty("id").GetString();
        var clock = Stopwatch.StartNew();
        using var revoke = await _admin.DeleteAsync($"/admin/keys/{id}").WaitAsync(Timeout);
        Assert.That(revoke.StatusCode, Is.EqualTo(HttpStatusCode.NoContent));

        var refusedAfter = new List<TimeSpan>();
        foreach (var client in new[] { onA, onB })
        {
            while (true)
            {
                using var response = await client.GetAsync("/v1/models").WaitAsync(Timeout);
                if (response.StatusCode == HttpStatusCode.Unauthorized)
                {
                    refusedAfter.Add(clock.Elapsed);
                    break;
                }

                Assert.That(clock.Elapsed, Is.LessThan(Revocation), "the revoked key kept working (on B only the pub/sub eviction can stop it)");
                await Task.Delay(10);
            }
        }

        TestContext.Out.WriteLine($"revoked key refused after {string.Join(", ", refusedAfter.Select(t => $"{t.TotalMilliseconds:F0} ms"))} (instances A, B)");
        using var again = await _admin.DeleteAsync($"/admin/keys/{id}").WaitAsync(Timeout);
        Assert.That(again.StatusCode, Is.EqualTo(HttpStatusCode.NotFound));
    }

    [Test]
    public async Task RevokedKey_OnAnOpenHubConnection_CanMakeNoMoreCalls_AndTheConnectionCloses()
    {
        var tenant = TestStack.UniqueName("hub-revoke");
        var store = _a.Services.GetRequiredService<ApiKeyStore>();
        var created = await store.CreateAsync(new NewApiKey(tenant, "hub", [Scopes.JobsRead, Scopes.JobsWrite]));
        using var client = _a.CreateClient(created.Key);
        using var submit = await client.PostAsJsonAsync("/v1/jobs", new { model = "all-minilm-l6-v2", input = new { texts = new[] { "x" } } }).WaitAsync(Timeout);
        var jobId = JsonDocument.Parse(await submit.Content.ReadAsStringAsync()).RootElement.GetProperty("id").GetString()!;
        // On B, whose key cache never expires: only the pub/sub eviction can stop the calls.
        await using var hub = _b.CreateHubConnection(created.Key);
        using var cts = new CancellationTokenSource(Timeout);
        var closed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        hub.Closed += _ => { closed.TrySetResult(); return Task.CompletedTask; };
        await hub.StartAsync(cts.Token);
        await using (var first = hub.StreamAsync<InferenceGateway.Contracts.JobEvent>("StreamJob", jobId, 0L, cts.Token).GetAsyncEnumerator(cts.Token))
        {
            Assert.That(await first.MoveNextAsync(), Is.True, "a call works before the revocation, and B has the key cached");
        }

        await store.RevokeAsync(created.Details.Id);
        var revokedAt = Stopwatch.StartNew();
        Exception? refused = null;
        while (refused is null && revokedAt.Elapsed < Revocation)
        {
            try
            {
                await using var events = hub.StreamAsync<InferenceGateway.Contracts.JobEvent>("StreamJob", jobId, 0L, cts.Token).GetAsyncEnumerator(cts.Token);
                await events.MoveNextAsync();
                await Task.Delay(10, cts.Token);
            }
            catch (Exception ex) when (!cts.IsCancellationRequested)
            {
                // A HubException, or the stream cut short as the server closes the connection.
                refused = ex;
            }
        }

        Assert.That(refused, Is.Not.Null, "calls on the open connection kept working after the revocation (on B only the pub/sub eviction can stop them)");
        await closed.Task.WaitAsync(Timeout);
    }

    [Test]
    public async Task ExpiredKey_IsRefused()
    {
        var store = _a.Services.GetRequiredService<ApiKeyStore>();
        var created = await store.CreateAsync(new NewApiKey(TestStack.UniqueName("old"), "expired", [Scopes.JobsRead], ExpiresAt: DateTimeOffset.UtcNow.AddMinutes(-1)));
        using var client = _a.CreateClient(created.Key);

        using var response = await client.GetAsync("/v1/models").WaitAsync(Timeout);

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
        Assert.That(await response.Content.ReadAsStringAsync(), Does.Contain("expired"));
    }

    [Test]
    public async Task AdminApi_WithoutTheAdminScope_Is403()
    {
        using var client = _a.CreateClient(await _a.CreateKeyAsync(TestStack.UniqueName("user")));

        using var list = await client.GetAsync("/admin/keys").WaitAsync(Timeout);
        using var create = await client.PostAsJsonAsync("/admin/keys", new { tenant = "x", name = "y", scopes = new[] { "admin" } }).WaitAsync(Timeout);

        Assert.That(list.StatusCode, Is.EqualTo(HttpStatusCode.Forbidden));
        Assert.That(create.StatusCode, Is.EqualTo(HttpStatusCode.Forbidden));
        Assert.That(create.Content.Headers.ContentType?.MediaType, Is.EqualTo("application/problem+json"));
    }

    [TestCase("{\"tenant\": \"bad tenant!\", \"name\": \"n\", \"scopes\": [\"jobs:read\"]}", "tenant", TestName = "CreateKey_WithABadTenant_Is400")]
    [TestCase("{\"tenant\": \"t\", \"name\": \"n\", \"scopes\": [\"root\"]}", "scopes", TestName = "CreateKey_WithAnUnknownScope_Is400")]
    [TestCase("{\"tenant\": \"t\", \"name\": \"n\", \"scopes\": []}", "scopes", TestName = "CreateKey_WithNoScopes_Is400")]
    [TestCase("{\"tenant\": \"t\", \"name\": \"n\", \"scopes\": [null]}", "scopes", TestName = "CreateKey_WithANullScope_Is400")]
    [TestCase("{\"tenant\": \"t\", \"name\": \"n\", \"scopes\": [\"jobs:read\"], \"plan\": \"platinum\"}", "plan", TestName = "CreateKey_WithAnUnknownPlan_Is400")]
    [TestCase("{\"tenant\": \"t\", \"name\": \"n\", \"scopes\": [\"jobs:read\"], \"expiresAt\": \"2001-01-01T00:00:00Z\"}", "expiresAt", TestName = "CreateKey_ExpiringInThePast_Is400")]
    public async Task CreateKey_Invalid_Is400WithTheField(string body, string field)
    {
        using var response = await _admin.PostAsync("/admin/keys", new StringContent(body, System.Text.Encoding.UTF8, "application/json")).WaitAsync(Timeout);

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
        var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        Assert.That(problem.GetProperty("errors").TryGetProperty(field, out _), Is.True, problem.GetRawText());
    }

    [Test]
    public async Task Cli_CreatesListsAndRevokesKeys()
    {
        var tenant = TestStack.UniqueName("cli");
        var previous = Environment.GetEnvironmentVariable("Redis__Configuration");
        Environment.SetEnvironmentVariable("Redis__Configuration", TestStack.RedisConfiguration);
        var stdout = Console.Out;
        try
        {
            using var created = new StringWriter();
            Console.SetOut(created);
            var createExit = await InferenceGateway.Gateway.Auth.KeysCli.RunAsync(["keys", "create", "--tenant", tenant, "--scopes", "jobs:read", "--plan", "pro"]);
            var key = created.ToString().Trim();

            using var listed = new StringWriter();
            Console.SetOut(listed);
            var listExit = await InferenceGateway.Gateway.Auth.KeysCli.RunAsync(["keys", "list", "--tenant", tenant]);
            var row = listed.ToString().Trim().Split('\t');

            Console.SetOut(stdout);
            using var client = _a.CreateClient(key);
            using var before = await client.GetAsync("/v1/models").WaitAsync(Timeout);
            var revokeExit = await InferenceGateway.Gateway.Auth.KeysCli.RunAsync(["keys", "revoke", row[0]]);
            var listAfter = await _a.Services.GetRequiredService<ApiKeyStore>().ListAsync(tenant);

            Assert.That(createExit, Is.Zero);
            Assert.That(key, Does.StartWith("igw_"));
            Assert.That(listExit, Is.Zero);
            Assert.That(row[1], Is.EqualTo(tenant));
            Assert.That(row[3], Is.EqualTo("jobs:read"));
            Assert.That(row[4], Is.EqualTo("pro"));
            Assert.That(before.StatusCode, Is.EqualTo(HttpStatusCode.OK));
            Assert.That(revokeExit, Is.Zero);
            Assert.That(listAfter, Is.Empty);
        }
        finally
        {
            Console.SetOut(stdout);
            Environment.SetEnvironmentVariable("Redis__Configuration", previous);
        }
    }
}
