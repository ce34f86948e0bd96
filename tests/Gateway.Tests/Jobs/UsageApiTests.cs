using System.Globalization;
using System.Net;
using System.Text.Json;
using InferenceGateway.Contracts;
using InferenceGateway.Core.Jobs;
using InferenceGateway.Gateway.Auth;
using InferenceGateway.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace InferenceGateway.Tests.Jobs;

/// <summary>
/// <c>GET /v1/usage</c> and <c>GET /admin/usage/{tenant}</c> over the counters a worker writes with
/// a job's terminal event (written here through <see cref="RedisJobStore.AppendTerminalAsync"/>, as
/// the worker does). Tenants are unique per test, so their counters start at zero.
/// </summary>
[TestFixture]
public sealed class UsageApiTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    private GatewayServer _gateway = null!;
    private RedisJobStore _store = null!;

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        _gateway = await GatewayServer.StartAsync(TestStack.Configuration(TestStack.UniqueName("usage")));
        _store = _gateway.Services.GetRequiredService<RedisJobStore>();
    }

    [OneTimeTearDown]
    public async Task StopAsync()
    {
        await _gateway.DisposeAsync();
    }

    [Test]
    public async Task Usage_AfterAnInvocation_ShowsItInTotalPeriodAndItsDay()
    {
        var tenant = TestStack.UniqueName("tenant");
        var key = await _gateway.CreateKeyAsync(tenant);
        await CompleteJobAsync(tenant, key);
        using var client = _gateway.CreateClient(key);

        var usage = await GetUsageAsync(client, "/v1/usage");

        Assert.That(usage.GetProperty("tenant").GetString(), Is.EqualTo(tenant));
        Assert.That(usage.GetProperty("days").GetInt32(), Is.EqualTo(7));
        AssertOneInvocation(usage.GetProperty("total"));
        AssertOneInvocation(usage.GetProperty("period"));
        var daily = usage.GetProperty("daily").EnumerateArray().ToList();
        Assert.That(daily, Has.Count.EqualTo(1));
        var today = DateTime.UtcNow;
        Assert.That(daily[0].GetProperty("date").GetString(), Is.AnyOf(today.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture), today.AddDays(-1).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture)));
        AssertOneInvocation(daily[0].GetProperty("usage"));
    }

    [Test]
    public async Task Usage_OfAnotherTenant_ShowsNothingOfIt()
    {
        var tenant = TestStack.UniqueName("tenant");
        await CompleteJobAsync(tenant, await _gateway.CreateKeyAsync(tenant));
        using var other = _gateway.CreateClient(await _gateway.CreateKeyAsync(TestStack.UniqueName("other")));

        var usage = await GetUsageAsync(other, "/v1/usage");

        Assert.That(usage.GetProperty("tenant").GetString(), Is.Not.EqualTo(tenant));
        Assert.That(usage.GetProperty("total").GetProperty("invocations").GetInt64(), Is.EqualTo(0));
        Assert.That(usage.GetProperty("total").GetProperty("byModel").EnumerateObject(), Is.Empty);
        Assert.That(usage.GetProperty("daily").GetArrayLength(), Is.EqualTo(0));
    }

    [Test]
    public async Task Usage_ASecondTerminalAppendForTheSameJob_CountsNothing()
    {
        var tenant = TestStack.UniqueName("tenant");
        var key = await _gateway.CreateKeyAsync(tenant);
        var jobId = await CompleteJobAsync(tenant, key);

        var again = await _store.AppendTerminalAsync(jobId, JobEventTypes.Completed, null, [new(JobFields.Status, JobStatuses.Completed)], Invocation(tenant));

        Assert.That(again.Outcome, Is.EqualTo(AppendOutcome.AlreadyTerminal));
        using var client = _gateway.CreateClient(key);
        var usage = await GetUsageAsync(client, "/v1/usage");
        AssertOneInvocation(usage.GetProperty("total"));
    }

    [TestCase("1", 1, 1)]
    [TestCase("3", 3, 1)]
    [TestCase("90", 90, 2)]
    public async Task Usage_WithDays_ListsThatManyDays(string days, int expected, int invocationsInWindow)
    {
        // One invocation billed now and one five days ago, each on the day the store's clock says.
        var tenant = TestStack.UniqueName("tenant");
        var key = await _gateway.CreateKeyAsync(tenant);
        await CompleteJobAsync(tenant, key);
        var fiveDaysAgo = new RedisJobStore(TestStack.Multiplexer, Options.Create(new JobStoreOptions()), new FakeTimeProvider(DateTimeOffset.UtcNow.AddDays(-5)));
        var old = await _gateway.SubmitJobAsync(key, "billed", "five days ago");
        Assert.That((await fiveDaysAgo.AppendTerminalAsync(old, JobEventTypes.Completed, null, [new(JobFields.Status, JobStatuses.Completed)], Invocation(tenant))).Outcome, Is.EqualTo(AppendOutcome.Appended));
        using var client = _gateway.CreateClient(key);

        var usage = await GetUsageAsync(client, $"/v1/usage?days={days}");

        Assert.That(usage.GetProperty("days").GetInt32(), Is.EqualTo(expected));
        Assert.That(usage.GetProperty("total").GetProperty("invocations").GetInt64(), Is.EqualTo(2));
        // Today's invocation is in every window (for days=1 unless the UTC day turned in between);
        // the one five days ago only in the 90-day window.
        var period = usage.GetProperty("period").GetProperty("invocations").GetInt64();
        var daily = usage.GetProperty("daily").EnumerateArray().Select(d => d.GetProperty("usage").GetProperty("invocations").GetInt64()).Sum();
        if (expected == 1)
        {
            Assert.That(period, Is.LessThanOrEqualTo(1), "the invocation five days ago is outside a 1-day window");
        }
        else
        {
            Assert.That(period, Is.EqualTo(invocationsInWindow));
        }

        Assert.That(daily, Is.EqualTo(period), "the days listed add up to the period");
    }

    [TestCase("0", TestName = "Usage_WithZeroDays_Returns400")]
    [TestCase("91", TestName = "Usage_WithMoreThan90Days_Returns400")]
    [TestCase("-1", TestName = "Usage_WithNegativeDays_Returns400")]
    [TestCase("abc", TestName = "Usage_WithNonNumericDays_Returns400")]
    [TestCase("1.5", TestName = "Usage_WithFractionalDays_Returns400")]
    [TestCase("", TestName = "Usage_WithEmptyDays_Returns400")]
    [TestCase("99999999999999", TestName = "Usage_WithDaysPastInt32_Returns400")]
    public async Task Usage_WithBadDays_Returns400Problem(string days)
    {
        using var client = _gateway.CreateClient(await _gateway.CreateKeyAsync(TestStack.UniqueName("tenant")));

        using var response = await client.GetAsync($"/v1/usage?days={Uri.EscapeDataString(days)}").WaitAsync(Timeout);

        var body = await response.Content.ReadAsStringAsync();
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest), body);
        Assert.That(response.Content.Headers.ContentType?.MediaType, Is.EqualTo("application/problem+json"), body);
        Assert.That(JsonDocument.Parse(body).RootElement.GetProperty("errors").TryGetProperty("days", out _), Is.True, body);
    }

    [Test]
    public async Task Usage_WithoutTheJobsReadScope_Returns403()
    {
        using var client = _gateway.CreateClient(await _gateway.CreateKeyAsync(TestStack.UniqueName("tenant"), Scopes.JobsWrite));

        using var response = await client.GetAsync("/v1/usage").WaitAsync(Timeout);

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Forbidden));
    }

    [Test]
    public async Task AdminUsage_ShowsTheNamedTenantsUsage()
    {
        var tenant = TestStack.UniqueName("tenant");
        await CompleteJobAsync(tenant, await _gateway.CreateKeyAsync(tenant));
        using var admin = _gateway.CreateClient(await _gateway.CreateKeyAsync(TestStack.UniqueName("ops"), Scopes.Admin));

        var usage = await GetUsageAsync(admin, $"/admin/usage/{tenant}?days=3");

        Assert.That(usage.GetProperty("tenant").GetString(), Is.EqualTo(tenant));
        Assert.That(usage.GetProperty("days").GetInt32(), Is.EqualTo(3));
        AssertOneInvocation(usage.GetProperty("total"));
    }

    [Test]
    public async Task AdminUsage_WithAJobsKey_Returns403()
    {
        var tenant = TestStack.UniqueName("tenant");
        using var client = _gateway.CreateClient(await _gateway.CreateKeyAsync(tenant));

        using var response = await client.GetAsync($"/admin/usage/{tenant}").WaitAsync(Timeout);

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Forbidden));
    }

    [TestCase("has%20space", TestName = "AdminUsage_ForATenantNameWithASpace_Returns404")]
    [TestCase("x2345678901234567890123456789012345678901234567890123456789012345", TestName = "AdminUsage_ForATenantNameOver64Characters_Returns404")]
    public async Task AdminUsage_ForAnInvalidTenantName_Returns404Problem(string tenant)
    {
        using var admin = _gateway.CreateClient(await _gateway.CreateKeyAsync(TestStack.UniqueName("ops"), Scopes.Admin));

        using var response = await admin.GetAsync($"/admin/usage/{tenant}").WaitAsync(Timeout);

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.NotFound));
        Assert.That(response.Content.Headers.ContentType?.MediaType, Is.EqualTo("application/problem+json"));
    }

    /// <summary>Submits a job and ends it the way a worker does: the terminal event and its invocation's cost, in one step.</summary>
    private async Task<string> CompleteJobAsync(string tenant, string key)
    {
        var jobId = await _gateway.SubmitJobAsync(key, "billed", "twice");
        var ended = await _store.AppendTerminalAsync(jobId, JobEventTypes.Completed, null, [new(JobFields.Status, JobStatuses.Completed)], Invocation(tenant));
        Assert.That(ended.Outcome, Is.EqualTo(AppendOutcome.Appended));
        return jobId;
    }

    private static Invocation Invocation(string tenant) =>
        new(tenant, "all-minilm-l6-v2", BilledMs: 120, InitMs: 100, ExecutionMs: 20, ColdStart: true, Texts: 2);

    private static void AssertOneInvocation(JsonElement counters)
    {
        Assert.That(counters.GetProperty("invocations").GetInt64(), Is.EqualTo(1), counters.ToString());
        Assert.That(counters.GetProperty("billedMs").GetInt64(), Is.EqualTo(120));
        Assert.That(counters.GetProperty("initMs").GetInt64(), Is.EqualTo(100));
        Assert.That(counters.GetProperty("executionMs").GetInt64(), Is.EqualTo(20));
        Assert.That(counters.GetProperty("coldStarts").GetInt64(), Is.EqualTo(1));
        Assert.That(counters.GetProperty("texts").GetInt64(), Is.EqualTo(2));
        Assert.That(counters.GetProperty("byStatus").GetProperty("completed").GetInt64(), Is.EqualTo(1));
        Assert.That(counters.GetProperty("byStatus").EnumerateObject().Count(), Is.EqualTo(1));
        var model = counters.GetProperty("byModel").GetProperty("all-minilm-l6-v2");
        Assert.That(model.GetProperty("invocations").GetInt64(), Is.EqualTo(1));
        Assert.That(model.GetProperty("billedMs").GetInt64(), Is.EqualTo(120));
    }

    private static async Task<JsonElement> GetUsageAsync(HttpClient client, string path)
    {
        using var response = await client.GetAsync(path).WaitAsync(Timeout);
        var body = await response.Content.ReadAsStringAsync();
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), body);
        Assert.That(response.Content.Headers.ContentType?.MediaType, Is.EqualTo("application/json"), body);
        return JsonDocument.Parse(body).RootElement.Clone();
    }
}
