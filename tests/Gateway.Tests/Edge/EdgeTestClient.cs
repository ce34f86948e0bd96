using System.Net.Http.Json;
using System.Text.Json;
using InferenceGateway.Tests.Infrastructure;

namespace InferenceGateway.Tests.Edge;

/// <summary>What the edge tests share: gateway configuration with the edge on, requests to <c>/v1/embeddings</c>, and vector maths.</summary>
internal static class EdgeTestClient
{
    public const string Model = "all-minilm-l6-v2";

    public static readonly TimeSpan RequestTimeout = TimeSpan.FromSeconds(60);

    /// <summary>The shared test configuration with the edge on (the built-in all-minilm-l6-v2 at the edge).</summary>
    public static Dictionary<string, string?> Configuration(string queueName)
    {
        var configuration = TestStack.Configuration(queueName);
        configuration["Edge:Enabled"] = "true";
        return configuration;
    }

    public static async Task<HttpResponseMessage> PostAsync(HttpClient client, object body) =>
        await client.PostAsJsonAsync("/v1/embeddings", body).WaitAsync(RequestTimeout);

    public static async Task<HttpResponseMessage> PostRawAsync(HttpClient client, string json)
    {
        using var content = new StringContent(json, System.Text.Encoding.UTF8, "application/json");
        return await client.PostAsync("/v1/embeddings", content).WaitAsync(RequestTimeout);
    }

    public static async Task<JsonElement> ReadJsonAsync(HttpResponseMessage response, System.Net.HttpStatusCode expected)
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.That(response.StatusCode, Is.EqualTo(expected), body);
        return JsonDocument.Parse(body).RootElement.Clone();
    }

    public static float[][] Vectors(JsonElement answer) =>
        [.. answer.GetProperty("data").EnumerateArray().Select(d => d.GetProperty("embedding").EnumerateArray().Select(x => x.GetSingle()).ToArray())];

    public static string Header(HttpResponseMessage response, string name) =>
        response.Headers.TryGetValues(name, out var values) ? string.Join(",", values) : string.Empty;
}
