using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using InferenceGateway.Contracts;
using InferenceGateway.Gateway.Auth;
using InferenceGateway.Inference.Hosting;
using InferenceGateway.Tests.Delivery;
using InferenceGateway.Tests.Infrastructure;
using InferenceGateway.Tests.TextGeneration;
using InferenceGateway.Tools.TinyModels;
using Microsoft.AspNetCore.SignalR.Client;

namespace InferenceGateway.Tests.EndToEnd;

/// <summary>
/// Text generation through the whole stack: the real gateway, SQS emulator, Redis and worker
/// running the tiny generated decoder model. The same tokens reach a client over OpenAI's stream,
/// the job's SSE stream and the SignalR hub, and add up to the job's result.
/// </summary>
[TestFixture]
public sealed class GenerationFlowTests
{
    private const string Model = TinyModelWriter.ModelName;
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    private GatewayServer _gateway = null!;
    private WorkerServer _worker = null!;
    private string _key = null!;

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        var queue = TestStack.UniqueName("generation-flow");
        var gateway = TestStack.Configuration(queue);
        gateway[$"Models:{Model}:Runtime"] = ModelRuntimes.TextGeneration;
        gateway[$"Models:{Model}:MaxCompletionTokens"] = "64";
        gateway["RateLimits:Plans:tiny:TokensPerMinute"] = "100";
        gateway["RateLimits:Plans:tiny:RequestsPerSecond"] = "1000";
        gateway["RateLimits:Plans:tiny:Burst"] = "1000";
        var worker = TestStack.Configuration(queue);
        worker["Worker:WaitTimeSeconds"] = "1";
        worker["Inference:ModelCacheDirectory"] = string.Empty;
        worker[$"Models:{Model}:Runtime"] = "text-generation";
        worker[$"Models:{Model}:Source"] = TinyModel.Directory;
        worker[$"Models:{Model}:MaxNewTokens"] = "64";
        _gateway = await GatewayServer.StartAsync(gateway);
        _worker = await WorkerServer.StartAsync(worker);
        _key = await _gateway.CreateKeyAsync(TestStack.UniqueName("tenant"));
    }

    [OneTimeTearDown]
    public async Task StopAsync()
    {
        await _worker.DisposeAsync();
        await _gateway.DisposeAsync();
    }

    [Test]
    public async Task ChatCompletionStream_CarriesTheTokens_OfTheJobsResult()
    {
        using var client = _gateway.CreateClient(_key);
        using var cts = new CancellationTokenSource(Timeout);
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions")
        {
            Content = JsonContent.Create(new
            {
                model = Model,
                messages = new[] { new { role = "user", content = "Tell me a story." } },
                stream = true,
                stream_options = new { include_usage = true },
                max_tokens = 24,
            }),
        };
        using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cts.Token);
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), await ErrorOf(response));
        var jobId = response.Headers.GetValues("X-Job-Id").Single();
        await using var reader = new SseReader(await response.Content.ReadAsStreamAsync(cts.Token));
        var content = new StringBuilder();
        var chunks = 0;
        string? finishReason = null;
        JsonElement usage = default;
        while (await reader.ReadDataAsync(cts.Token) is { } data)
        {
            if (data == "[DONE]")
            {
                break;
            }

            var chunk = JsonDocument.Parse(data).RootElement;
            Assert.That(chunk.TryGetProperty("error", out _), Is.False, data);
            if (chunk.GetProperty("choices").GetArrayLength() == 0)
            {
                usage = chunk.GetProperty("usage").Clone();
                continue;
            }

            var choice = chunk.GetProperty("choices")[0];
            if (choice.GetProperty("delta").TryGetProperty("content", out var piece) && piece.GetString() is { Length: > 0 } text)
            {
                content.Append(text);
                chunks++;
            }

            if (choice.GetProperty("finish_reason").ValueKind == JsonValueKind.String)
            {
                finishReason = choice.GetProperty("finish_reason").GetString();
            }
        }

        var result = await ResultAsync(client, jobId);
        Assert.Multiple(() =>
        {
            Assert.That(content.ToString(), Is.EqualTo(result.Text), "the streamed text is the job's result");
            Assert.That(chunks, Is.GreaterThan(0), "text arrived as chunks");
            Assert.That(finishReason, Is.EqualTo(result.FinishReason));
            Assert.That(usage.GetProperty("completion_tokens").GetInt32(), Is.EqualTo(result.Usage.CompletionTokens));
            Assert.That(usage.GetProperty("prompt_tokens").GetInt32(), Is.EqualTo(result.Usage.PromptTokens));
            Assert.That(result.Usage.CompletionTokens, Is.LessThanOrEqualTo(24));
        });
    }

    [Test]
    public async Task GenerationJob_TokensOverSseAndTheHub_AreTheResult()
    {
        using var client = _gateway.CreateClient(_key);
        using var cts = new CancellationTokenSource(Timeout);
        using var submitted = await client.PostAsJsonAsync("/v1/jobs", new { model = Model, input = new { prompt = "Once upon a time", maxTokens = 32, temperature = 0.8, seed = 42 } }, cts.Token);
        Assert.That(submitted.StatusCode, Is.EqualTo(HttpStatusCode.Accepted), await ErrorOf(submitted));
        var jobId = JsonDocument.Parse(await submitted.Content.ReadAsStringAsync(cts.Token)).RootElement.GetProperty("id").GetString()!;

        var hubEvents = new List<JobEvent>();
        await using var hub = _gateway.CreateHubConnection(_key);
        await hub.StartAsync(cts.Token);
        var hubRead = Task.Run(async () =>
        {
            await foreach (var jobEvent in hub.StreamAsync<JobEvent>("StreamJob", jobId, 0L, cts.Token))
            {
                hubEvents.Add(jobEvent);
            }
        });

        var sseEvents = new List<JobEvent>();
        await using (var sse = await SseStream.OpenAsync(client, jobId, null, cts.Token))
        {
            while (await sse.ReadAsync(cts.Token) is { } jobEvent)
            {
                sseEvents.Add(jobEvent);
            }
        }

        await hubRead;
        var result = await ResultAsync(client, jobId);
        foreach (var (events, channel) in new[] { (sseEvents, "sse"), (hubEvents, "hub") })
        {
            Assert.That(events[^1].Type, Is.EqualTo(JobEventTypes.Completed), channel);
            var text = string.Concat(events.Where(e => e.Type == JobEventTypes.Token).Select(e => e.Data!.Value.GetProperty("text").GetString()));
            Assert.That(text, Is.EqualTo(result.Text), $"{channel}: the token events add up to the result");
        }

        // Seeded sampling: the same request gives the same text.
        var replay = await Submit(client, new { prompt = "Once upon a time", maxTokens = 32, temperature = 0.8, seed = 42 }, cts.Token);
        Assert.That((await ResultAsync(client, replay)).Text, Is.EqualTo(result.Text));
    }

    [Test]
    public async Task ChatCompletion_NoStream_AnswersTheCompletion_EqualToTheJobsResult()
    {
        using var client = _gateway.CreateClient(_key);
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions")
        {
            Content = JsonContent.Create(new { model = Model, messages = new[] { new { role = "user", content = "Hello" } }, max_tokens = 12, stop = new[] { "zz" } }),
        };
        request.Headers.Add("Prefer", "wait=50");
        using var response = await client.SendAsync(request);
        var body = await response.Content.ReadAsStringAsync();
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), body);
        var completion = JsonDocument.Parse(body).RootElement;
        var jobId = response.Headers.GetValues("X-Job-Id").Single();
        var result = await ResultAsync(client, jobId);
        Assert.Multiple(() =>
        {
            Assert.That(completion.GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString(), Is.EqualTo(result.Text));
            Assert.That(completion.GetProperty("choices")[0].GetProperty("finish_reason").GetString(), Is.EqualTo(result.FinishReason));
            Assert.That(completion.GetProperty("usage").GetProperty("total_tokens").GetInt32(), Is.EqualTo(result.Usage.TotalTokens));
            Assert.That(completion.GetProperty("model").GetString(), Is.EqualTo(Model));
        });
    }

    [Test]
    public async Task TokensPerMinute_ChargeMaxTokensUpFront_AndRefuseWithA429()
    {
        var key = await _gateway.CreateKeyAsync(new NewApiKey(TestStack.UniqueName("tpm"), "test", [Scopes.JobsRead, Scopes.JobsWrite], "tiny"));
        using var client = _gateway.CreateClient(key);
        object Body(int maxTokens) => new { model = Model, messages = new[] { new { role = "user", content = "Hi" } }, max_tokens = maxTokens };

        // 100 tokens a minute: 60 up front (1 for the prompt, 59 it may generate) fit once...
        using var first = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions") { Content = JsonContent.Create(Body(59)) };
        first.Headers.Add("Prefer", "respond-async");
        using var accepted = await client.SendAsync(first);
        Assert.That(accepted.StatusCode, Is.EqualTo(HttpStatusCode.Accepted), await ErrorOf(accepted));
        Assert.That(accepted.Headers.GetValues("x-ratelimit-limit-tokens").Single(), Is.EqualTo("100"));
        Assert.That(accepted.Headers.GetValues("x-ratelimit-remaining-tokens").Single(), Is.EqualTo("40"));

        // ...not twice; and a request bigger than the whole minute never fits.
        using var refused = await client.PostAsJsonAsync("/v1/chat/completions", Body(59));
        using var never = await client.PostAsJsonAsync("/v1/jobs", new { model = Model, input = new { prompt = new string('a', 500), maxTokens = 8 } });
        Assert.Multiple(async () =>
        {
            Assert.That(refused.StatusCode, Is.EqualTo(HttpStatusCode.TooManyRequests), await ErrorOf(refused));
            Assert.That(refused.Headers.RetryAfter, Is.Not.Null);
            Assert.That(refused.Content.Headers.ContentType?.MediaType, Is.EqualTo("application/problem+json"));
            Assert.That(never.StatusCode, Is.EqualTo(HttpStatusCode.TooManyRequests));
            Assert.That(await never.Content.ReadAsStringAsync(), Does.Contain("neverFits"));
        });
    }

    private static async Task<string> Submit(HttpClient client, object input, CancellationToken cancellationToken)
    {
        using var response = await client.PostAsJsonAsync("/v1/jobs", new { model = Model, input }, cancellationToken);
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Accepted), await ErrorOf(response));
        return JsonDocument.Parse(await response.Content.ReadAsStringAsync(cancellationToken)).RootElement.GetProperty("id").GetString()!;
    }

    /// <summary>The job's result, once it completed (read with GET /v1/jobs/{id}).</summary>
    private static async Task<GenerationResult> ResultAsync(HttpClient client, string jobId)
    {
        JsonElement job = default;
        await Eventually.HoldsAsync(
            async () =>
            {
                job = JsonDocument.Parse(await client.GetStringAsync($"/v1/jobs/{jobId}")).RootElement.Clone();
                return job.GetProperty("status").GetString() is JobStatuses.Completed or JobStatuses.Failed;
            },
            Timeout,
            $"job {jobId} ends");
        Assert.That(job.GetProperty("status").GetString(), Is.EqualTo(JobStatuses.Completed), job.ToString());
        return job.GetProperty("result").Deserialize(ContractsJsonContext.Default.GenerationResult)!;
    }

    private static async Task<string> ErrorOf(HttpResponseMessage response) =>
        response.IsSuccessStatusCode ? string.Empty : await response.Content.ReadAsStringAsync();
}
