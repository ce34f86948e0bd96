using System.Net;
using System.Text.Json;
using InferenceGateway.Gateway.Auth;
using InferenceGateway.Tests.Infrastructure;
using static InferenceGateway.Tests.Edge.EdgeTestClient;

namespace InferenceGateway.Tests.Edge;

/// <summary>
/// Edge embeddings in the latency audit: each answer records <c>edge:&lt;model&gt;</c>, and a model
/// with no <c>LatencyAudit:Budgets</c> entry is held to the budget it is served under at the edge.
/// </summary>
[TestFixture]
public sealed class EdgeLatencyAuditTests
{
    [Test]
    public async Task EdgeAnswers_AreRecordedPerModel_AndJudgedAgainstTheEdgeBudget()
    {
        var configuration = Configuration(TestStack.UniqueName("edge-audit"));
        configuration["LatencyAudit:KeyPrefix"] = TestStack.UniqueName("latency");
        configuration["LatencyAudit:FlushInterval"] = "00:00:00.200";
        configuration["LatencyAudit:MinCount"] = "3";
        // A minute: the verdict does not depend on how fast this machine is.
        configuration[$"Models:{Model}:Placement:LatencyBudgetMs"] = "60000";
        await using var gateway = await GatewayServer.StartAsync(configuration);
        using var client = gateway.CreateClient(await gateway.CreateKeyAsync(TestStack.UniqueName("tenant")));
        using var admin = gateway.CreateClient(await gateway.CreateKeyAsync(TestStack.UniqueName("ops"), Scopes.Admin));

        for (var i = 0; i < 3; i++)
        {
            using var response = await PostAsync(client, new { model = Model, input = $"sentence number {i}" });
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), await response.Content.ReadAsStringAsync());
        }

        JsonElement audit = default;
        await Eventually.HoldsAsync(
            async () =>
            {
                audit = JsonDocument.Parse(await admin.GetStringAsync("/admin/latency-audit")).RootElement.Clone();
                return audit.GetProperty("models").EnumerateArray().Any(m => m.GetProperty("name").GetString() == Model
                    && m.GetProperty("series").TryGetProperty("edge", out var edge) && edge.GetProperty("count").GetInt64() >= 3);
            },
            TimeSpan.FromSeconds(30),
            "the edge answers reach the audit");

        var model = audit.GetProperty("models").EnumerateArray().Single(m => m.GetProperty("name").GetString() == Model);
        Assert.Multiple(() =>
        {
            Assert.That(model.GetProperty("budgetMs").GetDouble(), Is.EqualTo(60000));
            Assert.That(model.GetProperty("budgetSource").GetString(), Is.EqualTo("edge-model"));
            Assert.That(model.GetProperty("series").GetProperty("edge").GetProperty("p99Ms").GetDouble(), Is.GreaterThan(0));
            Assert.That(model.GetProperty("verdict").GetString(), Is.EqualTo("edge"), model.ToString());
        });
    }
}
