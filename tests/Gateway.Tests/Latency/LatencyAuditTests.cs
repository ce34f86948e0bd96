using System.Net;
using System.Text.Json;
using InferenceGateway.Core.Latency;
using InferenceGateway.Gateway.Auth;
using InferenceGateway.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace InferenceGateway.Tests.Latency;

/// <summary>
/// <c>GET /admin/latency-audit</c> after real requests through the real gateway on Kestrel and real
/// jobs through the real worker (SQS emulator, Redis, the model). The fixture has its own key
/// prefix, so only its own traffic counts. Budgets make every verdict deterministic: 10 minutes
/// fits anything here, 0.01 ms fits nothing (the smallest bucket reports 0.05 ms).
/// </summary>
[TestFixture]
public sealed class LatencyAuditTests
{
    private const string Model = "all-minilm-l6-v2";
    private const int Jobs = 3;
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(90);

    private GatewayServer _gateway = null!;
    private WorkerServer _worker = null!;
    private string _key = null!;
    private HttpClient _admin = null!;
    private JsonElement _firstReport;
    private string _prefix = null!;

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        _prefix = TestStack.UniqueName("audit");
        var configuration = TestStack.Configuration(TestStack.UniqueName("audit"));
        configuration["LatencyAudit:KeyPrefix"] = _prefix;
        configuration["LatencyAudit:FlushInterval"] = "00:00:00.200";
        configuration["LatencyAudit:MinCount"] = Jobs.ToString(System.Globalization.CultureInfo.InvariantCulture);
        configuration[$"LatencyAudit:Budgets:{Model}"] = "600000";
        configuration["LatencyAudit:Budgets:POST /v1/jobs"] = "600000";
        configuration["LatencyAudit:Budgets:GET /v1/models"] = "0.01";
        configuration["LatencyAudit:Budgets:DELETE /v1/jobs/{id}"] = "100";
        configuration["Worker:WaitTimeSeconds"] = "1";
        _gateway = await GatewayServer.StartAsync(configuration);
        _worker = await WorkerServer.StartAsync(configuration);
        _key = await _gateway.CreateKeyAsync(TestStack.UniqueName("tenant"));
        _admin = _gateway.CreateClient(await _gateway.CreateKeyAsync(TestStack.UniqueName("ops"), Scopes.Admin));

        // Before any traffic: the first report there has ever been for this prefix.
        _firstReport = await AuditAsync();

        using var client = _gateway.CreateClient(_key);
        for (var i = 0; i < Jobs; i++)
        {
            var jobId = await _gateway.SubmitJobAsync(_key, $"latency audit {i}");
            var events = await _gateway.StreamJobAsync(_key, jobId, afterSeq: 0, Timeout);
            Assert.That(events[^1].Type, Is.EqualTo("completed"));
            using var models = await client.GetAsync("/v1/models").WaitAsync(Timeout);
            Assert.That(models.StatusCode, Is.EqualTo(HttpStatusCode.OK));
            using var sse = await client.GetAsync($"/v1/jobs/{jobId}/events").WaitAsync(Timeout);
            Assert.That(sse.Content.Headers.ContentType?.MediaType, Is.EqualTo("text/event-stream"));
        }

        // The worker flushes on its own clock: wait for its last job to be counted, reading Redis
        // directly so that no report is stored meanwhile.
        var reader = _gateway.Services.GetRequiredService<LatencyReader>();
        await Eventually.HoldsAsync(
            async () => (await reader.ReadAsync([LatencySeries.EndToEnd(Model)], DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow))[LatencySeries.EndToEnd(Model)].Count >= Jobs,
            Timeout,
            "the worker's histograms reach Redis");
    }

    [OneTimeTearDown]
    public async Task StopAsync()
    {
        _admin.Dispose();
        await _worker.DisposeAsync();
        await _gateway.DisposeAsync();
    }

    [Test, Order(1)]
    public void FirstReport_HasNothingToCompareWith_AndReportsBudgetedSubjectsWithoutData()
    {
        Assert.That(_firstReport.GetProperty("previousReportAt").ValueKind, Is.EqualTo(JsonValueKind.Null));
        var delete = Subject(_firstReport, "routes", "DELETE /v1/jobs/{id}");
        Assert.That(delete.GetProperty("verdict").GetString(), Is.EqualTo("insufficient-data"));
        Assert.That(delete.GetProperty("changes").ValueKind, Is.EqualTo(JsonValueKind.Null));
        Assert.That(Subject(_firstReport, "models", Model).GetProperty("verdict").GetString(), Is.EqualTo("insufficient-data"));
    }

    [Test, Order(2)]
    public async Task Audit_AfterRealRequestsAndJobs_ReportsPercentilesPerRouteAndModel_WithVerdictsForTheBudgets()
    {
        var report = await AuditAsync();
        await TestContext.Out.WriteLineAsync(report.ToString());

        var submit = Subject(report, "routes", "POST /v1/jobs");
        var route = submit.GetProperty("series").GetProperty("route");
        Assert.That(route.GetProperty("series").GetString(), Is.EqualTo("route:POST /v1/jobs"));
        Assert.That(route.GetProperty("count").GetInt64(), Is.EqualTo(Jobs));
        AssertPercentiles(route);
        Assert.That(submit.GetProperty("budgetMs").GetDouble(), Is.EqualTo(600000));
        Assert.That(submit.GetProperty("verdict").GetString(), Is.EqualTo("edge"));
        Assert.That(submit.GetProperty("evidence").GetProperty("edgeP99Ms").GetDouble(), Is.EqualTo(route.GetProperty("p99Ms").GetDouble()));
        Assert.That(submit.GetProperty("evidence").GetProperty("edgeCount").GetInt64(), Is.EqualTo(Jobs));

        var models = Subject(report, "routes", "GET /v1/models");
        Assert.That(models.GetProperty("verdict").GetString(), Is.EqualTo("over-budget"));
        Assert.That(models.GetProperty("evidence").GetProperty("reason").GetString(), Does.Contain("over the 0.01 ms budget"));

        var sse = Subject(report, "routes", "GET /v1/jobs/{id}/events").GetProperty("series");
        Assert.That(sse.TryGetProperty("route", out _), Is.False, "a stream is not timed to its end");
        Assert.That(sse.GetProperty("ttfb").GetProperty("count").GetInt64(), Is.EqualTo(Jobs), "but to its first byte");
        // A hub connection's request ends when the client has closed it, a moment after the client returns.
        Assert.That(Subject(report, "routes", "GET /hubs/jobs").GetProperty("series").GetProperty("ttfb").GetProperty("count").GetInt64(), Is.InRange(1, Jobs), "hub connections likewise");
        Assert.That(Subject(report, "routes", "POST /hubs/jobs/negotiate").GetProperty("series").GetProperty("route").GetProperty("count").GetInt64(), Is.EqualTo(Jobs));

        var model = Subject(report, "models", Model);
        var series = model.GetProperty("series");
        foreach (var kind in new[] { "queue", "execution", "e2e" })
        {
            Assert.That(series.GetProperty(kind).GetProperty("count").GetInt64(), Is.EqualTo(Jobs), kind);
            AssertPercentiles(series.GetProperty(kind));
        }

        Assert.That(series.GetProperty("coldStart").GetProperty("count").GetInt64(), Is.EqualTo(1), "the first job loaded the model");
        Assert.That(series.TryGetProperty("edge", out _), Is.False);
        Assert.That(series.GetProperty("e2e").GetProperty("p50Ms").GetDouble(), Is.GreaterThanOrEqualTo(series.GetProperty("queue").GetProperty("p50Ms").GetDouble()));
        Assert.That(model.GetProperty("verdict").GetString(), Is.EqualTo("queue"));
        var evidence = model.GetProperty("evidence");
        Assert.That(evidence.GetProperty("queueSeries").GetString(), Is.EqualTo("e2e:" + Model));
        Assert.That(evidence.GetProperty("queueP99Ms").GetDouble(), Is.EqualTo(series.GetProperty("e2e").GetProperty("p99Ms").GetDouble()));
        Assert.That(evidence.GetProperty("edgeCount").GetInt64(), Is.Zero);
        Assert.That(evidence.GetProperty("reason").GetString(), Does.Contain("not served at the edge"));
        Assert.That(report.GetProperty("window").GetProperty("minutes").GetInt32(), Is.EqualTo(15));
        Assert.That(report.GetProperty("recorder").GetProperty("flushFailures").GetInt64(), Is.Zero);
    }

    [Test, Order(3)]
    public async Task SecondReport_SaysWhatChangedSinceTheFirst()
    {
        var before = await AuditAsync();
        var jobId = await _gateway.SubmitJobAsync(_key, "one more job");
        await _gateway.StreamJobAsync(_key, jobId, afterSeq: 0, Timeout);
        var reader = _gateway.Services.GetRequiredService<LatencyReader>();
        var expected = Subject(before, "models", Model).GetProperty("series").GetProperty("e2e").GetProperty("count").GetInt64() + 1;
        await Eventually.HoldsAsync(
            async () => (await reader.ReadAsync([LatencySeries.EndToEnd(Model)], DateTimeOffset.UtcNow.AddMinutes(-14), DateTimeOffset.UtcNow))[LatencySeries.EndToEnd(Model)].Count >= expected,
            Timeout,
            "the extra job reaches Redis");

        var after = await AuditAsync();

        Assert.That(after.GetProperty("previousReportAt").GetDateTimeOffset(), Is.EqualTo(before.GetProperty("generatedAt").GetDateTimeOffset()));
        var changes = Subject(after, "models", Model).GetProperty("changes");
        Assert.That(changes.GetProperty("previousVerdict").GetString(), Is.EqualTo("queue"));
        Assert.That(changes.GetProperty("verdictChanged").GetBoolean(), Is.False);
        var e2e = changes.GetProperty("series").GetProperty("e2e");
        Assert.That(e2e.GetProperty("countDelta").GetInt64(), Is.EqualTo(1));
        var p99Before = Subject(before, "models", Model).GetProperty("series").GetProperty("e2e").GetProperty("p99Ms").GetDouble();
        var p99After = Subject(after, "models", Model).GetProperty("series").GetProperty("e2e").GetProperty("p99Ms").GetDouble();
        Assert.That(e2e.GetProperty("p99DeltaMs").GetDouble(), Is.EqualTo(Math.Round(p99After - p99Before, 3)).Within(1e-9));
        var submit = Subject(after, "routes", "POST /v1/jobs").GetProperty("changes");
        Assert.That(submit.GetProperty("series").GetProperty("route").GetProperty("countDelta").GetInt64(), Is.EqualTo(1));
        Assert.That(submit.GetProperty("previousVerdict").GetString(), Is.EqualTo("edge"));
    }

    [Test]
    public async Task Audit_WithoutTheAdminScope_Is403_AndWithoutAKey_Is401()
    {
        using var tenant = _gateway.CreateClient(_key);
        using var anonymous = _gateway.CreateClient();

        using var forbidden = await tenant.GetAsync("/admin/latency-audit").WaitAsync(Timeout);
        using var unauthorized = await anonymous.GetAsync("/admin/latency-audit").WaitAsync(Timeout);

        Assert.That(forbidden.StatusCode, Is.EqualTo(HttpStatusCode.Forbidden));
        Assert.That(unauthorized.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
    }

    [TestCase("0")]
    [TestCase("61")]
    public async Task Audit_WithAWindowOutsideTheRetention_Is400(string minutes)
    {
        using var response = await _admin.GetAsync($"/admin/latency-audit?minutes={minutes}").WaitAsync(Timeout);

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
        Assert.That(response.Content.Headers.ContentType?.MediaType, Is.EqualTo("application/problem+json"));
    }

    private static void AssertPercentiles(JsonElement series)
    {
        var p50 = series.GetProperty("p50Ms").GetDouble();
        var p95 = series.GetProperty("p95Ms").GetDouble();
        var p99 = series.GetProperty("p99Ms").GetDouble();
        Assert.That(p50, Is.GreaterThan(0));
        Assert.That(p95, Is.GreaterThanOrEqualTo(p50));
        Assert.That(p99, Is.GreaterThanOrEqualTo(p95));
    }

    private static JsonElement Subject(JsonElement report, string group, string name)
    {
        foreach (var subject in report.GetProperty(group).EnumerateArray())
        {
            if (subject.GetProperty("name").GetString() == name)
            {
                return subject;
            }
        }

        Assert.Fail($"No {group} entry '{name}' in {report}");
        return default;
    }

    private async Task<JsonElement> AuditAsync()
    {
        using var response = await _admin.GetAsync("/admin/latency-audit").WaitAsync(Timeout);
        var body = await response.Content.ReadAsStringAsync();
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), body);
        return JsonDocument.Parse(body).RootElement.Clone();
    }
}
