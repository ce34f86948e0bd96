using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using InferenceGateway.Gateway.Auth;
using InferenceGateway.Gateway.Edge;
using InferenceGateway.Tests.Infrastructure;
using InferenceGateway.Tests.Proxy;
using Microsoft.Extensions.DependencyInjection;
using static InferenceGateway.Tests.Edge.EdgeTestClient;

namespace InferenceGateway.Tests.Edge;

/// <summary>
/// <c>POST /v1/embeddings</c> answered at the edge by the real gateway on Kestrel, with the real
/// model in-process and real Redis: OpenAI's answer shape, float and base64, usage from the
/// model's tokenizer, order, and a 4xx problem (never a 500) for every kind of bad input.
/// </summary>
[TestFixture]
public sealed class EmbeddingsApiTests
{
    private GatewayServer _gateway = null!;
    private string _key = null!;

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        _gateway = await GatewayServer.StartAsync(Configuration(TestStack.UniqueName("edge")));
        _key = await _gateway.CreateKeyAsync(TestStack.UniqueName("tenant"));
    }

    [OneTimeTearDown]
    public async Task StopAsync() => await _gateway.DisposeAsync();

    [Test]
    public async Task Embeddings_OfOneString_AnswersOpenAisShape_AtTheEdge_WithTheTokenizersCount()
    {
        using var client = _gateway.CreateClient(_key);

        using var response = await PostAsync(client, new { model = Model, input = "This is an example sentence" });

        var answer = await ReadJsonAsync(response, HttpStatusCode.OK);
        Assert.Multiple(() =>
        {
            Assert.That(response.Content.Headers.ContentType?.MediaType, Is.EqualTo("application/json"));
            Assert.That(Header(response, EmbeddingsApi.PlacementHeader), Is.EqualTo("edge"));
            Assert.That(answer.GetProperty("object").GetString(), Is.EqualTo("list"));
            Assert.That(answer.GetProperty("model").GetString(), Is.EqualTo(Model));
            Assert.That(answer.GetProperty("data").GetArrayLength(), Is.EqualTo(1));
            var item = answer.GetProperty("data")[0];
            Assert.That(item.GetProperty("object").GetString(), Is.EqualTo("embedding"));
            Assert.That(item.GetProperty("index").GetInt32(), Is.EqualTo(0));
            Assert.That(item.GetProperty("embedding").GetArrayLength(), Is.EqualTo(384));

            // [CLS] this is an example sentence [SEP]: 101, 2023, 2003, 2019, 2742, 6251, 102.
            Assert.That(answer.GetProperty("usage").GetProperty("prompt_tokens").GetInt64(), Is.EqualTo(7));
            Assert.That(answer.GetProperty("usage").GetProperty("total_tokens").GetInt64(), Is.EqualTo(7));
            Assert.That(Header(response, "x-ratelimit-limit-tokens"), Is.Not.Empty);
            Assert.That(Header(response, "x-ratelimit-remaining-tokens"), Is.Not.Empty);
        });

        // The sentence-transformers reference (see DESIGN.md), L2-normalised.
        var vector = Vectors(answer)[0];
        Assert.That(vector.Take(3), Is.EqualTo(new[] { 0.0677f, 0.0635f, 0.0487f }).Within(0.001f));
        Assert.That(Math.Sqrt(vector.Sum(x => x * (double)x)), Is.EqualTo(1.0).Within(1e-4));
    }

    [Test]
    public async Task Embeddings_OfAnArray_KeepTheInputsOrder_AndEachEqualsItsSingleAnswer_AndUsageSumsTheTokens()
    {
        string[] texts = ["A much longer sentence about serverless GPUs that pay a cold start", "short", "Edge inference answers in milliseconds."];
        using var client = _gateway.CreateClient(_key);

        using var response = await PostAsync(client, new { model = Model, input = texts });

        var answer = await ReadJsonAsync(response, HttpStatusCode.OK);
        Assert.That(answer.GetProperty("data").EnumerateArray().Select(d => d.GetProperty("index").GetInt32()), Is.EqualTo(new[] { 0, 1, 2 }));
        var vectors = Vectors(answer);
        for (var i = 0; i < texts.Length; i++)
        {
            using var single = await PostAsync(client, new { model = Model, input = texts[i] });
            var alone = Vectors(await ReadJsonAsync(single, HttpStatusCode.OK))[0];
            Assert.That(Similarity.Cosine(vectors[i], alone), Is.GreaterThanOrEqualTo(0.9999), $"text {i}");
        }

        var edge = _gateway.Services.GetRequiredService<EdgeModels>();
        using var lease = await edge.AcquireAsync(Model, CancellationToken.None);
        var expected = texts.Sum(t => lease.Model.Tokenize(t).Length);
        Assert.That(answer.GetProperty("usage").GetProperty("prompt_tokens").GetInt64(), Is.EqualTo(expected));
    }

    [Test]
    public async Task Embeddings_InBase64_DecodeToTheSameFloats_AsLittleEndianFloat32()
    {
        string[] texts = ["first text", "second text"];
        using var client = _gateway.CreateClient(_key);

        using var floats = await PostAsync(client, new { model = Model, input = texts, encoding_format = "float" });
        using var base64 = await PostAsync(client, new { model = Model, input = texts, encoding_format = "base64" });

        var expected = Vectors(await ReadJsonAsync(floats, HttpStatusCode.OK));
        var answer = await ReadJsonAsync(base64, HttpStatusCode.OK);
        var decoded = answer.GetProperty("data").EnumerateArray().Select(d =>
        {
            var bytes = Convert.FromBase64String(d.GetProperty("embedding").GetString()!);
            return Enumerable.Range(0, bytes.Length / 4).Select(i => System.Buffers.Binary.BinaryPrimitives.ReadSingleLittleEndian(bytes.AsSpan(i * 4))).ToArray();
        }).ToArray();
        Assert.That(decoded, Has.Length.EqualTo(2));
        Assert.That(decoded.Select(v => v.Length), Is.All.EqualTo(384));
        for (var i = 0; i < decoded.Length; i++)
        {
            Assert.That(Similarity.Cosine(decoded[i], expected[i]), Is.GreaterThanOrEqualTo(0.9999));
        }
    }

    [Test]
    public async Task Embeddings_WithTheModelsOwnDimensions_AndAUser_AreAccepted()
    {
        using var client = _gateway.CreateClient(_key);

        using var response = await PostAsync(client, new { model = Model, input = "hello", dimensions = 384, user = "end-user-1" });

        Assert.That(Vectors(await ReadJsonAsync(response, HttpStatusCode.OK))[0], Has.Length.EqualTo(384));
    }

    [TestCase("""{"model":"all-minilm-l6-v2","input":""}""", "input", TestName = "Embeddings_WithAnEmptyString_Is400")]
    [TestCase("""{"model":"all-minilm-l6-v2","input":"   "}""", "input", TestName = "Embeddings_WithOnlyWhitespace_Is400")]
    [TestCase("""{"model":"all-minilm-l6-v2","input":[]}""", "input", TestName = "Embeddings_WithAnEmptyArray_Is400")]
    [TestCase("""{"model":"all-minilm-l6-v2","input":["ok",""]}""", "input", TestName = "Embeddings_WithAnEmptyStringInTheArray_Is400")]
    [TestCase("""{"model":"all-minilm-l6-v2","input":"a\u0000b"}""", "input", TestName = "Embeddings_WithANulCharacter_Is400")]
    [TestCase("""{"model":"all-minilm-l6-v2","input":[101,2023,102]}""", "input", TestName = "Embeddings_WithATokenArray_Is400")]
    [TestCase("""{"model":"all-minilm-l6-v2","input":[[101,2023],[102]]}""", "input", TestName = "Embeddings_WithArraysOfTokenArrays_Is400")]
    [TestCase("""{"model":"all-minilm-l6-v2","input":["ok",{"a":[1,{"b":null}]},true]}""", "input", TestName = "Embeddings_WithNestedJunkInTheArray_Is400")]
    [TestCase("""{"model":"all-minilm-l6-v2","input":{"texts":["x"]}}""", "input", TestName = "Embeddings_WithAnObjectInput_Is400")]
    [TestCase("""{"model":"all-minilm-l6-v2","input":12}""", "input", TestName = "Embeddings_WithANumberInput_Is400")]
    [TestCase("""{"model":"all-minilm-l6-v2","input":null}""", "input", TestName = "Embeddings_WithANullInput_Is400")]
    [TestCase("""{"model":"all-minilm-l6-v2"}""", "input", TestName = "Embeddings_WithoutInput_Is400")]
    [TestCase("""{"input":"x"}""", "model", TestName = "Embeddings_WithoutModel_Is400")]
    [TestCase("""{"model":"no-such-model","input":"x"}""", "model", TestName = "Embeddings_ForAnUnknownModel_Is400")]
    [TestCase("""{"model":"all-minilm-l6-v2","input":"x","encoding_format":"int8"}""", "encoding_format", TestName = "Embeddings_WithAnUnknownEncoding_Is400")]
    [TestCase("""{"model":"all-minilm-l6-v2","input":"x","dimensions":128}""", "dimensions", TestName = "Embeddings_WithOtherDimensions_Is400")]
    [TestCase("""{"model":"all-minilm-l6-v2","input":"x","dimensions":"384"}""", "dimensions", TestName = "Embeddings_WithDimensionsAsAString_Is400")]
    [TestCase("""{"model":"all-minilm-l6-v2","input":"x","user":{"id":1}}""", "user", TestName = "Embeddings_WithAUserObject_Is400")]
    public async Task Embeddings_WithBadInput_AreAValidationProblemNamingTheField(string body, string field)
    {
        using var client = _gateway.CreateClient(_key);

        using var response = await PostRawAsync(client, body);

        var problem = await ProblemAssert.IsProblemAsync(response, HttpStatusCode.BadRequest);
        Assert.That(problem.GetProperty("errors").TryGetProperty(field, out _), Is.True, problem.ToString());
    }

    [TestCase("""{"model":17,"input":"x"}""", TestName = "Embeddings_WithAModelNumber_Is400")]
    [TestCase("""{"model":"all-minilm-l6-v2","input":"x","encoding_format":[1]}""", TestName = "Embeddings_WithAnEncodingArray_Is400")]
    [TestCase("""{"model":"all-minilm-l6-v2","input":"x""", TestName = "Embeddings_WithTruncatedJson_Is400")]
    [TestCase("""["model","input"]""", TestName = "Embeddings_WithAnArrayBody_Is400")]
    [TestCase("null", TestName = "Embeddings_WithANullBody_Is400")]
    public async Task Embeddings_WithMalformedJson_AreA400Problem(string body)
    {
        using var client = _gateway.CreateClient(_key);

        using var response = await PostRawAsync(client, body);

        await ProblemAssert.IsProblemAsync(response, HttpStatusCode.BadRequest);
    }

    [Test]
    public async Task Embeddings_NestedDeeperThanTheLimit_AreA400Problem()
    {
        using var client = _gateway.CreateClient(_key);
        var junk = new string('[', 200) + new string(']', 200);

        using var response = await PostRawAsync(client, $$"""{"model":"all-minilm-l6-v2","input":{{junk}}}""");

        await ProblemAssert.IsProblemAsync(response, HttpStatusCode.BadRequest);
    }

    [Test]
    public async Task Embeddings_WithTooManyTexts_OrATextTooLong_AreA400Problem()
    {
        using var client = _gateway.CreateClient(_key);

        using var many = await PostAsync(client, new { model = Model, input = Enumerable.Repeat("x", 257).ToArray() });
        using var longText = await PostAsync(client, new { model = Model, input = new string('a', 10_001) });

        Assert.That((await ProblemAssert.IsProblemAsync(many, HttpStatusCode.BadRequest)).GetProperty("errors").GetProperty("input")[0].GetString(), Does.Contain("257"));
        Assert.That((await ProblemAssert.IsProblemAsync(longText, HttpStatusCode.BadRequest)).GetProperty("errors").GetProperty("input")[0].GetString(), Does.Contain("10001"));
    }

    [Test]
    public async Task Embeddings_WithAHugeBody_AreA413Problem_NotA500()
    {
        using var client = _gateway.CreateClient(_key);
        var texts = Enumerable.Repeat(new string('z', 9_000), 200).ToArray(); // 1.8 MB, over the 1 MiB body limit

        using var response = await PostAsync(client, new { model = Model, input = texts });

        await ProblemAssert.IsProblemAsync(response, HttpStatusCode.RequestEntityTooLarge);
    }

    [Test]
    public async Task Embeddings_AsPlainText_AreA415Problem()
    {
        using var client = _gateway.CreateClient(_key);
        using var content = new StringContent("""{"model":"all-minilm-l6-v2","input":"x"}""", System.Text.Encoding.UTF8, "text/plain");

        using var response = await client.PostAsync("/v1/embeddings", content).WaitAsync(RequestTimeout);

        await ProblemAssert.IsProblemAsync(response, HttpStatusCode.UnsupportedMediaType);
    }

    [Test]
    public async Task Embeddings_WithoutAKey_Are401_AndWithAReadOnlyKey_Are403()
    {
        using var anonymous = _gateway.CreateClient();
        using var readOnly = _gateway.CreateClient(await _gateway.CreateKeyAsync(TestStack.UniqueName("tenant"), Scopes.JobsRead));

        using var missing = await PostAsync(anonymous, new { model = Model, input = "x" });
        using var forbidden = await PostAsync(readOnly, new { model = Model, input = "x" });

        Assert.That(missing.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
        Assert.That(forbidden.StatusCode, Is.EqualTo(HttpStatusCode.Forbidden));
    }

    [Test]
    public async Task Models_ShowTheEdgeModel_WithPlacementEdge_AndReadyzItsLoad()
    {
        using var client = _gateway.CreateClient(_key);

        JsonElement model = default;
        await Eventually.HoldsAsync(
            async () =>
            {
                var list = JsonDocument.Parse(await client.GetStringAsync("/v1/models")).RootElement;
                model = list.GetProperty("data").EnumerateArray().First(m => m.GetProperty("id").GetString() == Model).Clone();
                return model.GetProperty("placement").EnumerateArray().Any(p => p.GetString() == "edge");
            },
            RequestTimeout,
            "GET /v1/models lists all-minilm-l6-v2 with placement edge");

        Assert.That(model.GetProperty("placement").EnumerateArray().Select(p => p.GetString()), Is.EqualTo(new[] { "edge", "queue" }));
        Assert.That(model.GetProperty("edgeGateways").GetInt32(), Is.GreaterThanOrEqualTo(1));
        var ready = JsonDocument.Parse(await client.GetStringAsync("/readyz")).RootElement;
        Assert.That(ready.GetProperty("checks").GetProperty("edge").GetString(), Is.EqualTo("ok"));
    }

    [Test]
    public async Task Models_ListAModelOnlyGatewaysServe_WithPlacementEdgeAlone_AndJobsForItAreRefused()
    {
        var name = TestStack.UniqueName("edge-only");
        var registry = _gateway.Services.GetRequiredService<InferenceGateway.Core.Models.ModelRegistry>();
        await registry.HeartbeatEdgeAsync("gw-elsewhere", name, JsonSerializer.Serialize(new { name, kind = "embedding", dimensions = 8, placement = "edge" }));
        using var client = _gateway.CreateClient(_key);

        JsonElement? listed = null;
        await Eventually.HoldsAsync(
            async () =>
            {
                var list = JsonDocument.Parse(await client.GetStringAsync("/v1/models")).RootElement;
                listed = list.GetProperty("data").EnumerateArray().Where(m => m.GetProperty("id").GetString() == name).Select(m => (JsonElement?)m.Clone()).FirstOrDefault();
                return listed is not null;
            },
            RequestTimeout,
            "GET /v1/models lists the edge-only model");
        using var job = await client.PostAsJsonAsync("/v1/jobs", new { model = name, input = new { texts = new[] { "x" } } }).WaitAsync(RequestTimeout);

        Assert.That(listed!.Value.GetProperty("placement").EnumerateArray().Select(p => p.GetString()), Is.EqualTo(new[] { "edge" }));
        Assert.That(listed.Value.GetProperty("workers").GetInt32(), Is.Zero);
        var problem = await ProblemAssert.IsProblemAsync(job, HttpStatusCode.BadRequest);
        Assert.That(problem.GetProperty("errors").TryGetProperty("model", out _), Is.True, problem.ToString());
        await registry.LeaveEdgeAsync("gw-elsewhere", [name]);
    }
}
