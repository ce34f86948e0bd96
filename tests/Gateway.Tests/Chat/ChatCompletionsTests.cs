using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Amazon.SQS.Model;
using InferenceGateway.Contracts;
using InferenceGateway.Core.Jobs;
using InferenceGateway.Inference.Hosting;
using InferenceGateway.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace InferenceGateway.Tests.Chat;

/// <summary>
/// <c>POST /v1/chat/completions</c> on the real gateway, Redis and SQS, with the worker's part played
/// by the test: it takes the job's message off the queue (what the gateway enqueued) and appends
/// the job's events to its log as the worker does. The end-to-end run with the real worker and a
/// real (tiny) model is in <c>EndToEnd/GenerationFlowTests</c>.
/// </summary>
[TestFixture]
public sealed class ChatCompletionsTests
{
    private const string Model = "tiny-chat";
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    private GatewayServer _gateway = null!;
    private RedisJobStore _store = null!;
    private Amazon.SQS.AmazonSQSClient _sqs = null!;
    private string _queueUrl = null!;
    private string _key = null!;
    private GatewayServer _quiet = null!; // a gateway whose queue only the bad-request test submits to
    private string _quietQueue = null!;
    private string _quietKey = null!;

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        var queue = TestStack.UniqueName("chat");
        var configuration = TestStack.Configuration(queue);
        configuration[$"Models:{Model}:Runtime"] = ModelRuntimes.TextGeneration;
        configuration[$"Models:{Model}:MaxCompletionTokens"] = "64";
        configuration[$"Models:{Model}:MaxTextLength"] = "2000";
        _gateway = await GatewayServer.StartAsync(configuration);
        _store = _gateway.Services.GetRequiredService<RedisJobStore>();
        _key = await _gateway.CreateKeyAsync(TestStack.UniqueName("tenant"));
        _sqs = TestStack.CreateSqsClient();
        _queueUrl = (await _sqs.GetQueueUrlAsync(queue)).QueueUrl;

        _quietQueue = TestStack.UniqueName("chat-bad");
        var quiet = TestStack.Configuration(_quietQueue);
        quiet[$"Models:{Model}:Runtime"] = ModelRuntimes.TextGeneration;
        quiet[$"Models:{Model}:MaxCompletionTokens"] = "64";
        quiet[$"Models:{Model}:MaxTextLength"] = "2000";
        _quiet = await GatewayServer.StartAsync(quiet);
        _quietKey = await _quiet.CreateKeyAsync(TestStack.UniqueName("tenant"));
    }

    [OneTimeTearDown]
    public async Task StopAsync()
    {
        await _gateway.DisposeAsync();
        await _quiet.DisposeAsync();
        _sqs.Dispose();
    }

    [Test]
    public async Task Stream_TokenEventsBecomeOpenAiChunks_EndingWithFinishReasonUsageAndDone()
    {
        using var client = _gateway.CreateClient(_key);
        using var cts = new CancellationTokenSource(Timeout);
        using var request = Post(new
        {
            model = Model,
            messages = new object[] { new { role = "system", content = "Be brief." }, new { role = "user", content = new object[] { new { type = "text", text = "Hi" } } } },
            stream = true,
            stream_options = new { include_usage = true },
            max_tokens = 16,
            temperature = 0.7,
            top_p = 0.9,
            top_k = 40,
            seed = 7,
            stop = "\n\n",
        });
        using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cts.Token);
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(response.Content.Headers.ContentType?.MediaType, Is.EqualTo("text/event-stream"));
        var jobId = response.Headers.GetValues("X-Job-Id").Single();

        // What the gateway put on the queue is what the worker will run.
        var message = await TakeMessageAsync(jobId, cts.Token);
        Assert.Multiple(() =>
        {
            Assert.That(message.Model, Is.EqualTo(Model));
            Assert.That(message.Input.Messages, Is.EqualTo(new[] { new ChatMessage("system", "Be brief."), new ChatMessage("user", "Hi") }));
            Assert.That(message.Input.MaxTokens, Is.EqualTo(16));
            Assert.That(message.Input.Temperature, Is.EqualTo(0.7f));
            Assert.That(message.Input.TopP, Is.EqualTo(0.9f));
            Assert.That(message.Input.TopK, Is.EqualTo(40));
            Assert.That(message.Input.Seed, Is.EqualTo(7));
            Assert.That(message.Input.Stop, Is.EqualTo(new[] { "\n\n" }));
            Assert.That(message.Input.Texts, Is.Null);
        });

        var reader = new SseReader(await response.Content.ReadAsStreamAsync(cts.Token));
        var first = await reader.ReadDataAsync(cts.Token);
        Assert.That(first, Is.Not.Null);
        var role = JsonDocument.Parse(first!).RootElement;
        Assert.Multiple(() =>
        {
            Assert.That(role.GetProperty("id").GetString(), Is.EqualTo("chatcmpl-" + jobId));
            Assert.That(role.GetProperty("object").GetString(), Is.EqualTo("chat.completion.chunk"));
            Assert.That(role.GetProperty("model").GetString(), Is.EqualTo(Model));
            Assert.That(role.GetProperty("choices")[0].GetProperty("delta").GetProperty("role").GetString(), Is.EqualTo("assistant"));
            Assert.That(role.GetProperty("choices")[0].GetProperty("finish_reason").ValueKind, Is.EqualTo(JsonValueKind.Null));
        });

        await AppendAsync(jobId, JobEventTypes.Started, """{"coldStart":false}""", JobStatuses.Running);
        await AppendAsync(jobId, JobEventTypes.Token, """{"index":0,"count":2,"text":"Hel"}""");
        await AppendAsync(jobId, JobEventTypes.Token, """{"index":2,"count":1,"text":"lo ☃"}""");
        await CompleteAsync(jobId, "Hello ☃", FinishReasons.Stop, new TokenUsage(9, 3, 12));

        var content = new List<string>();
        var frames = new List<JsonElement>();
        string? data;
        while ((data = await reader.ReadDataAsync(cts.Token)) is not null && data != "[DONE]")
        {
            frames.Add(JsonDocument.Parse(data).RootElement);
        }

        Assert.That(data, Is.EqualTo("[DONE]"), "the stream ends with [DONE]");
        var choices = frames.Where(f => f.GetProperty("choices").GetArrayLength() > 0).Select(f => f.GetProperty("choices")[0]).ToList();
        foreach (var choice in choices)
        {
            if (choice.GetProperty("delta").TryGetProperty("content", out var piece))
            {
                content.Add(piece.GetString()!);
            }
        }

        Assert.Multiple(() =>
        {
            // One chunk per token event, as the events came (not the result's text at the end).
            Assert.That(content, Is.EqualTo(new[] { "Hel", "lo ☃" }));
            Assert.That(choices[^1].GetProperty("finish_reason").GetString(), Is.EqualTo("stop"));
            Assert.That(choices[^1].GetProperty("delta").EnumerateObject().Count(), Is.Zero, "the last choice's delta is {}");
            var usage = frames[^1];
            Assert.That(usage.GetProperty("choices").GetArrayLength(), Is.Zero, "the usage chunk has no choices");
            Assert.That(usage.GetProperty("usage").GetProperty("prompt_tokens").GetInt32(), Is.EqualTo(9));
            Assert.That(usage.GetProperty("usage").GetProperty("completion_tokens").GetInt32(), Is.EqualTo(3));
            Assert.That(usage.GetProperty("usage").GetProperty("total_tokens").GetInt32(), Is.EqualTo(12));
            Assert.That(frames.All(f => f.GetProperty("id").GetString() == "chatcmpl-" + jobId));
        });
    }

    [Test]
    public async Task Stream_JobRunTwice_SendsEachPieceOfTextOnce()
    {
        var (jobId, reader, cts) = await OpenStreamAsync();
        using (cts)
        {
            // A worker streams "Hel" and dies; the redelivered run generates the same text again.
            await AppendAsync(jobId, JobEventTypes.Started, """{"coldStart":false}""", JobStatuses.Running);
            await AppendAsync(jobId, JobEventTypes.Token, """{"index":0,"count":2,"text":"Hel"}""");
            await AppendAsync(jobId, JobEventTypes.Started, """{"coldStart":true}""", JobStatuses.Running);
            await AppendAsync(jobId, JobEventTypes.Token, """{"index":0,"count":1,"text":"H"}""");
            await AppendAsync(jobId, JobEventTypes.Token, """{"index":1,"count":2,"text":"ello"}""");
            await CompleteAsync(jobId, "Hello", FinishReasons.Stop, new TokenUsage(1, 3, 4));

            var pieces = new List<string>();
            while (await reader.ReadDataAsync(cts.Token) is { } data && data != "[DONE]")
            {
                var choices = JsonDocument.Parse(data).RootElement.GetProperty("choices");
                if (choices.GetArrayLength() > 0 && choices[0].GetProperty("delta").TryGetProperty("content", out var piece))
                {
                    pieces.Add(piece.GetString()!);
                }
            }

            Assert.That(pieces, Is.EqualTo(new[] { "Hel", "lo" }));
        }
    }

    [Test]
    public async Task Stream_JobRunTwice_WithADifferentText_EndsWithAnError_NotASplice()
    {
        var (jobId, reader, cts) = await OpenStreamAsync();
        using (cts)
        {
            await AppendAsync(jobId, JobEventTypes.Started, """{"coldStart":false}""", JobStatuses.Running);
            await AppendAsync(jobId, JobEventTypes.Token, """{"index":0,"count":2,"text":"Hel"}""");
            await AppendAsync(jobId, JobEventTypes.Started, """{"coldStart":true}""", JobStatuses.Running);
            await AppendAsync(jobId, JobEventTypes.Token, """{"index":0,"count":2,"text":"Bye"}""");

            var frames = new List<string>();
            while (await reader.ReadDataAsync(cts.Token) is { } data)
            {
                frames.Add(data);
            }

            Assert.That(frames[^1], Is.EqualTo("[DONE]"));
            Assert.That(JsonDocument.Parse(frames[^2]).RootElement.GetProperty("error").GetProperty("code").GetString(), Is.EqualTo("restarted"));
            Assert.That(frames, Has.None.Contains("Bye"));
        }
    }

    [Test]
    public async Task Stream_TwoRunsAppendingAtOnce_SendsEachTokenIndexOnce_NotASplice()
    {
        var (jobId, reader, cts) = await OpenStreamAsync();
        using (cts)
        {
            // A stalled run and the run that took the job over both append for a moment (what the
            // run lease now fences at the source): their events interleave in the log.
            await AppendAsync(jobId, JobEventTypes.Started, """{"attempt":1}""", JobStatuses.Running);
            await AppendAsync(jobId, JobEventTypes.Token, """{"index":0,"count":1,"text":"Hel"}""");
            await AppendAsync(jobId, JobEventTypes.Started, """{"attempt":2}""", JobStatuses.Running);
            await AppendAsync(jobId, JobEventTypes.Token, """{"index":0,"count":1,"text":"Hel"}""");
            await AppendAsync(jobId, JobEventTypes.Token, """{"index":1,"count":1,"text":"lo"}""");
            await AppendAsync(jobId, JobEventTypes.Token, """{"index":1,"count":2,"text":"lo wor"}""");
            await AppendAsync(jobId, JobEventTypes.Token, """{"index":2,"count":1,"text":" wor"}""");
            await AppendAsync(jobId, JobEventTypes.Token, """{"index":3,"count":1,"text":"ld"}""");
            await CompleteAsync(jobId, "Hello world", FinishReasons.Stop, new TokenUsage(1, 4, 5));

            var pieces = await ReadContentAsync(reader, cts.Token);

            Assert.That(pieces, Is.EqualTo(new[] { "Hel", "lo", " wor", "ld" }), "token 0, 1, 2 and 3, each once");
            Assert.That(string.Concat(pieces), Is.EqualTo("Hello world"));
        }
    }

    [Test]
    public async Task Stream_RerunWhoseTokenDiffersInLength_EndsWithAnError_NotASplice()
    {
        var (jobId, reader, cts) = await OpenStreamAsync();
        using (cts)
        {
            // The first run streamed tokens 0 and 1; the rerun's token 0 is shorter ("He", not "Hel"),
            // so its token 1 does not continue what the client has, whatever the lengths say.
            await AppendAsync(jobId, JobEventTypes.Started, """{"attempt":1}""", JobStatuses.Running);
            await AppendAsync(jobId, JobEventTypes.Token, """{"index":0,"count":1,"text":"Hel"}""");
            await AppendAsync(jobId, JobEventTypes.Token, """{"index":1,"count":1,"text":"lo"}""");
            await AppendAsync(jobId, JobEventTypes.Started, """{"attempt":2}""", JobStatuses.Running);
            await AppendAsync(jobId, JobEventTypes.Token, """{"index":0,"count":1,"text":"He"}""");
            await AppendAsync(jobId, JobEventTypes.Token, """{"index":1,"count":2,"text":"llo!"}""");

            var frames = new List<string>();
            while (await reader.ReadDataAsync(cts.Token) is { } data)
            {
                frames.Add(data);
            }

            Assert.That(frames[^1], Is.EqualTo("[DONE]"));
            Assert.That(JsonDocument.Parse(frames[^2]).RootElement.GetProperty("error").GetProperty("code").GetString(), Is.EqualTo("restarted"));
            Assert.That(frames, Has.None.Contains("!"), "nothing of the rerun's text spliced onto the first run's");
        }
    }

    private static async Task<List<string>> ReadContentAsync(SseReader reader, CancellationToken cancellationToken)
    {
        var pieces = new List<string>();
        while (await reader.ReadDataAsync(cancellationToken) is { } data && data != "[DONE]")
        {
            var choices = JsonDocument.Parse(data).RootElement.GetProperty("choices");
            if (choices.GetArrayLength() > 0 && choices[0].GetProperty("delta").TryGetProperty("content", out var piece))
            {
                pieces.Add(piece.GetString()!);
            }
        }

        return pieces;
    }

    private async Task<(string JobId, SseReader Reader, CancellationTokenSource Cts)> OpenStreamAsync()
    {
        var client = _gateway.CreateClient(_key);
        var cts = new CancellationTokenSource(Timeout);
        var request = Post(new { model = Model, messages = new[] { new { role = "user", content = "Hi" } }, stream = true });
        var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cts.Token);
        var jobId = response.Headers.GetValues("X-Job-Id").Single();
        var reader = new SseReader(await response.Content.ReadAsStreamAsync(cts.Token));
        Assert.That(await reader.ReadDataAsync(cts.Token), Does.Contain("\"role\":\"assistant\""));
        return (jobId, reader, cts);
    }

    [Test]
    public async Task Stream_JobFails_SendsAnErrorObjectThenDone()
    {
        using var client = _gateway.CreateClient(_key);
        using var cts = new CancellationTokenSource(Timeout);
        using var request = Post(new { model = Model, messages = new[] { new { role = "user", content = "Hi" } }, stream = true });
        using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cts.Token);
        var jobId = response.Headers.GetValues("X-Job-Id").Single();
        var reader = new SseReader(await response.Content.ReadAsStreamAsync(cts.Token));
        Assert.That(await reader.ReadDataAsync(cts.Token), Does.Contain("\"role\":\"assistant\""));

        await AppendAsync(jobId, JobEventTypes.Token, """{"index":0,"count":1,"text":"Hel"}""");
        await _store.FailAsync(jobId, new JobError("inference_error", "The model failed on this input (OnnxRuntimeException)."));

        var frames = new List<string>();
        while (await reader.ReadDataAsync(cts.Token) is { } data)
        {
            frames.Add(data);
        }

        Assert.That(frames[^1], Is.EqualTo("[DONE]"));
        var error = JsonDocument.Parse(frames[^2]).RootElement.GetProperty("error");
        Assert.Multiple(() =>
        {
            Assert.That(error.GetProperty("code").GetString(), Is.EqualTo("inference_error"));
            Assert.That(error.GetProperty("message").GetString(), Does.Contain("OnnxRuntimeException"));
            Assert.That(error.GetProperty("job_id").GetString(), Is.EqualTo(jobId));
        });
    }

    [Test]
    public async Task Stream_ClientGoesAway_TheJobIsCancelled()
    {
        using var client = _gateway.CreateClient(_key);
        using var cts = new CancellationTokenSource(Timeout);
        string jobId;
        using (var request = Post(new { model = Model, messages = new[] { new { role = "user", content = "Hi" } }, stream = true }))
        using (var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cts.Token))
        {
            jobId = response.Headers.GetValues("X-Job-Id").Single();
            var reader = new SseReader(await response.Content.ReadAsStreamAsync(cts.Token));
            Assert.That(await reader.ReadDataAsync(cts.Token), Does.Contain("\"role\":\"assistant\""));
        }

        // Disposed mid-stream: the gateway notices, and the queued job ends cancelled.
        await Eventually.HoldsAsync(async () => (await _store.GetAsync(jobId))!.Status == JobStatuses.Cancelled, Timeout, "the abandoned job is cancelled");
    }

    [Test]
    public async Task NoStream_WaitsForTheJob_AndAnswersTheChatCompletion()
    {
        using var client = _gateway.CreateClient(_key);
        using var cts = new CancellationTokenSource(Timeout);
        var marker = Guid.NewGuid().ToString();
        using var request = Post(new { model = Model, messages = new[] { new { role = "user", content = marker } }, max_completion_tokens = 5 });
        request.Headers.Add("Prefer", "wait=20");
        var answer = client.SendAsync(request, cts.Token);

        var message = await TakeMessageAsync(marker, cts.Token);
        Assert.That(message.Input.MaxTokens, Is.EqualTo(5));
        await AppendAsync(message.JobId, JobEventTypes.Started, """{"coldStart":true}""", JobStatuses.Running);
        await AppendAsync(message.JobId, JobEventTypes.Token, """{"index":0,"count":5,"text":"Hello"}""");
        await CompleteAsync(message.JobId, "Hello", FinishReasons.Length, new TokenUsage(4, 5, 9));

        using var response = await answer;
        var body = await response.Content.ReadAsStringAsync(cts.Token);
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), body);
        var completion = JsonDocument.Parse(body).RootElement;
        Assert.Multiple(() =>
        {
            Assert.That(response.Headers.GetValues("Preference-Applied").Single(), Is.EqualTo("wait=20"));
            Assert.That(completion.GetProperty("id").GetString(), Is.EqualTo("chatcmpl-" + message.JobId));
            Assert.That(completion.GetProperty("object").GetString(), Is.EqualTo("chat.completion"));
            var choice = completion.GetProperty("choices")[0];
            Assert.That(choice.GetProperty("index").GetInt32(), Is.Zero);
            Assert.That(choice.GetProperty("message").GetProperty("role").GetString(), Is.EqualTo("assistant"));
            Assert.That(choice.GetProperty("message").GetProperty("content").GetString(), Is.EqualTo("Hello"));
            Assert.That(choice.GetProperty("finish_reason").GetString(), Is.EqualTo("length"));
            Assert.That(completion.GetProperty("usage").GetProperty("prompt_tokens").GetInt32(), Is.EqualTo(4));
            Assert.That(completion.GetProperty("usage").GetProperty("completion_tokens").GetInt32(), Is.EqualTo(5));
            Assert.That(completion.GetProperty("usage").GetProperty("total_tokens").GetInt32(), Is.EqualTo(9));
        });
    }

    [Test]
    public async Task NoStream_NotDoneWithinTheWait_Answers202WithTheJob_ThenTheCompletionLater()
    {
        using var client = _gateway.CreateClient(_key);
        using var cts = new CancellationTokenSource(Timeout);
        using var request = Post(new { model = Model, messages = new[] { new { role = "user", content = "Hi" } } });
        request.Headers.Add("Prefer", "respond-async");
        using var response = await client.SendAsync(request, cts.Token);
        var body = await response.Content.ReadAsStringAsync(cts.Token);
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Accepted), body);
        var accepted = JsonDocument.Parse(body).RootElement;
        var jobId = accepted.GetProperty("id").GetString()!;
        Assert.Multiple(() =>
        {
            Assert.That(response.Headers.GetValues("Preference-Applied").Single(), Is.EqualTo("respond-async"));
            Assert.That(response.Headers.Location?.ToString(), Is.EqualTo($"/v1/jobs/{jobId}"));
            Assert.That(accepted.GetProperty("links").GetProperty("events").GetString(), Is.EqualTo($"/v1/jobs/{jobId}/events"));
        });

        using (var pending = await client.GetAsync($"/v1/chat/completions/chatcmpl-{jobId}", cts.Token))
        {
            Assert.That(pending.StatusCode, Is.EqualTo(HttpStatusCode.Accepted), "still queued");
        }

        await TakeMessageAsync(jobId, cts.Token);
        await CompleteAsync(jobId, "Hi there", FinishReasons.Stop, new TokenUsage(3, 2, 5));
        using var done = await client.GetAsync($"/v1/chat/completions/chatcmpl-{jobId}", cts.Token);
        var completion = JsonDocument.Parse(await done.Content.ReadAsStringAsync(cts.Token)).RootElement;
        Assert.Multiple(() =>
        {
            Assert.That(done.StatusCode, Is.EqualTo(HttpStatusCode.OK));
            Assert.That(completion.GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString(), Is.EqualTo("Hi there"));
            Assert.That(completion.GetProperty("usage").GetProperty("total_tokens").GetInt32(), Is.EqualTo(5));
        });
    }

    [Test]
    public async Task NoStream_WaitPassesWithoutAnEnd_Answers202()
    {
        using var client = _gateway.CreateClient(_key);
        using var request = Post(new { model = Model, messages = new[] { new { role = "user", content = "Hi" } } });
        request.Headers.Add("Prefer", "wait=1");
        using var response = await client.SendAsync(request);
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Accepted), await response.Content.ReadAsStringAsync());
        Assert.That(response.Headers.GetValues("Preference-Applied").Single(), Is.EqualTo("wait=1"));
    }

    [TestCase("inference_error", HttpStatusCode.BadGateway)]
    [TestCase("invalid_input", HttpStatusCode.BadRequest)]
    [TestCase("timed_out", HttpStatusCode.GatewayTimeout)]
    public async Task NoStream_JobFails_AnswersAProblemWithTheJob(string code, HttpStatusCode expected)
    {
        using var client = _gateway.CreateClient(_key);
        using var cts = new CancellationTokenSource(Timeout);
        var marker = Guid.NewGuid().ToString();
        using var request = Post(new { model = Model, messages = new[] { new { role = "user", content = marker } } });
        var answer = client.SendAsync(request, cts.Token);
        var message = await TakeMessageAsync(marker, cts.Token);
        await _store.FailAsync(message.JobId, new JobError(code, "It went wrong."));
        using var response = await answer;
        var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync(cts.Token)).RootElement;
        Assert.Multiple(() =>
        {
            Assert.That(response.StatusCode, Is.EqualTo(expected));
            Assert.That(response.Content.Headers.ContentType?.MediaType, Is.EqualTo("application/problem+json"));
            Assert.That(problem.GetProperty("jobId").GetString(), Is.EqualTo(message.JobId));
            Assert.That(problem.GetProperty("code").GetString(), Is.EqualTo(code));
            Assert.That(problem.GetProperty("detail").GetString(), Is.EqualTo("It went wrong."));
        });
    }

    private static IEnumerable<TestCaseData> BadRequests()
    {
        object user = new { role = "user", content = "Hi" };
        yield return new TestCaseData(new { model = "all-minilm-l6-v2", messages = new[] { user } }, "model").SetName("EmbeddingModel");
        yield return new TestCaseData(new { model = "nope", messages = new[] { user } }, "model").SetName("UnknownModel");
        yield return new TestCaseData(new { model = Model }, "messages").SetName("NoMessages");
        yield return new TestCaseData(new { model = Model, messages = Array.Empty<object>() }, "messages").SetName("EmptyMessages");
        yield return new TestCaseData(new { model = Model, messages = "Hi" }, "messages").SetName("MessagesNotAnArray");
        yield return new TestCaseData(new { model = Model, messages = new[] { new { role = "tool", content = "x" } } }, "messages").SetName("ToolRole");
        yield return new TestCaseData(new { model = Model, messages = new[] { new { role = "user" } } }, "messages").SetName("NoContent");
        yield return new TestCaseData(new { model = Model, messages = new[] { new { role = "user", content = "a\0b" } } }, "messages").SetName("NulInContent");
        yield return new TestCaseData(new { model = Model, messages = new[] { new { role = "user", content = new object[] { new { type = "image_url", image_url = new { url = "http://x" } } } } } }, "messages").SetName("ImagePart");
        yield return new TestCaseData(new { model = Model, messages = new[] { new { role = "user", content = new string('a', 2001) } } }, "messages").SetName("PromptTooLong");
        yield return new TestCaseData(new { model = Model, messages = new[] { user }, n = 2 }, "n").SetName("TwoChoices");
        yield return new TestCaseData(new { model = Model, messages = new[] { user }, tools = new[] { new { type = "function" } } }, "tools").SetName("Tools");
        yield return new TestCaseData(new { model = Model, messages = new[] { user }, temperature = 3 }, "temperature").SetName("TemperatureTooHigh");
        yield return new TestCaseData(new { model = Model, messages = new[] { user }, top_p = 0 }, "top_p").SetName("TopPZero");
        yield return new TestCaseData(new { model = Model, messages = new[] { user }, top_k = -1 }, "top_k").SetName("TopKNegative");
        yield return new TestCaseData(new { model = Model, messages = new[] { user }, max_tokens = 0 }, "max_tokens").SetName("MaxTokensZero");
        yield return new TestCaseData(new { model = Model, messages = new[] { user }, max_tokens = 65 }, "max_tokens").SetName("MaxTokensOverTheModel");
        yield return new TestCaseData(new { model = Model, messages = new[] { user }, stop = new[] { "a", "b", "c", "d", "e" } }, "stop").SetName("FiveStops");
        yield return new TestCaseData(new { model = Model, messages = new[] { user }, stop = new object[] { "a", 1 } }, "stop").SetName("StopNotStrings");
        yield return new TestCaseData(new { model = Model, messages = new[] { user }, stop = "" }, "stop").SetName("EmptyStop");
        yield return new TestCaseData(new { model = Model, messages = new[] { user }, logprobs = true }, "logprobs").SetName("Logprobs");
    }

    [TestCaseSource(nameof(BadRequests))]
    public async Task BadRequest_Answers400NamingTheField_AndEnqueuesNothing(object body, string field)
    {
        using var client = _quiet.CreateClient(_quietKey);
        var before = await TestStack.QueuedCountAsync(_quietQueue);
        using var response = await client.PostAsJsonAsync("/v1/chat/completions", body);
        var text = await response.Content.ReadAsStringAsync();
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest), text);
        Assert.That(response.Content.Headers.ContentType?.MediaType, Is.EqualTo("application/problem+json"));
        Assert.That(JsonDocument.Parse(text).RootElement.GetProperty("errors").TryGetProperty(field, out _), Is.True, text);
        Assert.That(response.Headers.Contains("X-Job-Id"), Is.False);
        Assert.That(await TestStack.QueuedCountAsync(_quietQueue), Is.EqualTo(before), "nothing was enqueued");
    }

    [TestCase("{\"model\": \"tiny-chat\", \"messages\": [")]
    [TestCase("{\"model\": \"tiny-chat\", \"messages\": [], \"temperature\": \"hot\"}")]
    [TestCase("{\"model\": \"tiny-chat\", \"max_tokens\": 99999999999}")]
    [TestCase("[1, 2]")]
    public async Task MalformedBody_Answers400Problem(string body)
    {
        using var client = _gateway.CreateClient(_key);
        using var response = await client.PostAsync("/v1/chat/completions", new StringContent(body, Encoding.UTF8, "application/json"));
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest), await response.Content.ReadAsStringAsync());
        Assert.That(response.Content.Headers.ContentType?.MediaType, Is.EqualTo("application/problem+json"));
    }

    [Test]
    public async Task BadPreferWait_Answers400()
    {
        using var client = _gateway.CreateClient(_key);
        using var request = Post(new { model = Model, messages = new[] { new { role = "user", content = "Hi" } } });
        request.Headers.TryAddWithoutValidation("Prefer", "wait=soon");
        using var response = await client.SendAsync(request);
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest), await response.Content.ReadAsStringAsync());
        Assert.That(response.Headers.Contains("X-Job-Id"), Is.False);
    }

    [Test]
    public async Task WithoutAKey_Answers401()
    {
        using var client = _gateway.CreateClient();
        using var response = await client.PostAsJsonAsync("/v1/chat/completions", new { model = Model, messages = new[] { new { role = "user", content = "Hi" } } });
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
    }

    [Test]
    public async Task AnotherTenantsCompletion_Is404()
    {
        using var client = _gateway.CreateClient(_key);
        using var request = Post(new { model = Model, messages = new[] { new { role = "user", content = "Hi" } } });
        request.Headers.Add("Prefer", "respond-async");
        using var response = await client.SendAsync(request);
        var jobId = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("id").GetString();
        using var other = _gateway.CreateClient(await _gateway.CreateKeyAsync(TestStack.UniqueName("other")));
        using var answer = await other.GetAsync($"/v1/chat/completions/chatcmpl-{jobId}");
        Assert.That(answer.StatusCode, Is.EqualTo(HttpStatusCode.NotFound));
    }

    [Test]
    public async Task JobsApi_GenerationModel_TakesAPromptOrMessages_NotTexts()
    {
        using var client = _gateway.CreateClient(_key);
        using (var prompt = await client.PostAsJsonAsync("/v1/jobs", new { model = Model, input = new { prompt = "Once upon", maxTokens = 8, seed = 1 } }))
        {
            Assert.That(prompt.StatusCode, Is.EqualTo(HttpStatusCode.Accepted), await prompt.Content.ReadAsStringAsync());
        }

        using var texts = await client.PostAsJsonAsync("/v1/jobs", new { model = Model, input = new { texts = new[] { "a" } } });
        var body = await texts.Content.ReadAsStringAsync();
        Assert.That(texts.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest), body);
        Assert.That(body, Does.Contain("input.texts"));

        using var both = await client.PostAsJsonAsync("/v1/jobs", new { model = Model, input = new { prompt = "a", messages = new[] { new { role = "user", content = "b" } } } });
        Assert.That(both.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
    }

    [Test]
    public async Task Models_ListTheGenerationModel_InOpenAisListShape()
    {
        using var client = _gateway.CreateClient(_key);
        var list = JsonDocument.Parse(await client.GetStringAsync("/v1/models")).RootElement;
        var model = list.GetProperty("data").EnumerateArray().Single(m => m.GetProperty("id").GetString() == Model);
        Assert.Multiple(() =>
        {
            Assert.That(list.GetProperty("object").GetString(), Is.EqualTo("list"));
            Assert.That(model.GetProperty("object").GetString(), Is.EqualTo("model"));
            Assert.That(model.GetProperty("owned_by").GetString(), Is.Not.Empty);
            Assert.That(model.GetProperty("kind").GetString(), Is.EqualTo("text-generation"));
            Assert.That(model.GetProperty("maxCompletionTokens").GetInt32(), Is.EqualTo(64));
        });
    }

    private static HttpRequestMessage Post(object body) => new(HttpMethod.Post, "/v1/chat/completions") { Content = JsonContent.Create(body) };

    /// <summary>
    /// Takes the message of the job <paramref name="jobIdOrMarker"/> off the queue, as a worker would
    /// (or of the job whose last message says <paramref name="jobIdOrMarker"/>, for a request whose
    /// job id comes only with its answer); other messages are left for the other tests.
    /// </summary>
    private async Task<JobMessage> TakeMessageAsync(string jobIdOrMarker, CancellationToken cancellationToken)
    {
        while (true)
        {
            var received = await _sqs.ReceiveMessageAsync(new ReceiveMessageRequest { QueueUrl = _queueUrl, MaxNumberOfMessages = 10, WaitTimeSeconds = 1 }, cancellationToken);
            foreach (var message in received.Messages ?? [])
            {
                var job = JsonSerializer.Deserialize(message.Body, ContractsJsonContext.Default.JobMessage)!;
                if (job.JobId == jobIdOrMarker || job.Input.Messages?[^1].Content == jobIdOrMarker)
                {
                    await _sqs.DeleteMessageAsync(_queueUrl, message.ReceiptHandle, cancellationToken);
                    return job;
                }

                await _sqs.ChangeMessageVisibilityAsync(_queueUrl, message.ReceiptHandle, 0, cancellationToken);
            }
        }
    }

    private async Task AppendAsync(string jobId, string type, string data, string? status = null)
    {
        var result = await _store.AppendAsync(jobId, type, data, status is null ? [] : [new(JobFields.Status, status)]);
        Assert.That(result.Outcome, Is.EqualTo(AppendOutcome.Appended), $"append {type}");
    }

    private async Task CompleteAsync(string jobId, string text, string finishReason, TokenUsage usage)
    {
        var result = JsonSerializer.Serialize(new GenerationResult(Model, text, finishReason, usage), ContractsJsonContext.Default.GenerationResult);
        var appended = await _store.AppendAsync(jobId, JobEventTypes.Completed, $$"""{"result":{{result}}}""", [new(JobFields.Status, JobStatuses.Completed), new(JobFields.Result, result)]);
        Assert.That(appended.Outcome, Is.EqualTo(AppendOutcome.Appended));
    }
}
