using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using InferenceGateway.Tests.Infrastructure;
using Microsoft.AspNetCore.SignalR;

namespace InferenceGateway.Tests.EndToEnd;

/// <summary>
/// One job the whole way on real components: HTTP into the gateway on Kestrel, Redis, the SQS
/// emulator, the worker running the real model, and back over the real SignalR client.
/// </summary>
[TestFixture]
public sealed class JobFlowTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    private GatewayServer _gateway = null!;
    private WorkerServer _worker = null!;
    private string _key = null!;

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        var configuration = TestStack.Configuration(TestStack.UniqueName("e2e"));
        _gateway = await GatewayServer.StartAsync(configuration);
        _worker = await WorkerServer.StartAsync(configuration);
        _key = await _gateway.CreateKeyAsync(TestStack.UniqueName("tenant"));
    }

    [OneTimeTearDown]
    public async Task StopAsync()
    {
        await _worker.DisposeAsync();
        await _gateway.DisposeAsync();
    }

    [Test]
    public async Task Submit_ThenStreamOverSignalR_ReceivesStartedAndCompleted_AndGetShowsTheEmbeddings()
    {
        using var client = _gateway.CreateClient(_key);
        using var response = await client.PostAsJsonAsync(
            "/v1/jobs",
            new { model = "all-minilm-l6-v2", input = new { texts = new[] { "This is an example sentence", "Each sentence is converted" } } })
            .WaitAsync(Timeout);

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Accepted));
        var accepted = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        var jobId = accepted.GetProperty("id").GetString()!;
        Assert.Multiple(() =>
        {
            Assert.That(jobId, Does.Match("^job_[0-9a-f]{32}$"));
            Assert.That(accepted.GetProperty("status").GetString(), Is.EqualTo("queued"));
            Assert.That(accepted.GetProperty("links").GetProperty("self").GetString(), Is.EqualTo($"/v1/jobs/{jobId}"));
            Assert.That(accepted.GetProperty("links").GetProperty("events").GetString(), Is.EqualTo($"/v1/jobs/{jobId}/events"));
            Assert.That(accepted.GetProperty("links").GetProperty("hub").GetString(), Is.EqualTo("/hubs/jobs"));
            Assert.That(response.Headers.Location?.ToString(), Is.EqualTo($"/v1/jobs/{jobId}"));
        });

        var events = await _gateway.StreamJobAsync(_key, jobId, afterSeq: 0, Timeout);

        Assert.That(events.Select(e => e.Type), Is.EqualTo(new[] { "queued", "started", "completed" }));
        Assert.That(events.Select(e => e.Seq), Is.EqualTo(new long[] { 1, 2, 3 }));
        Assert.That(events.Select(e => e.JobId), Is.All.EqualTo(jobId));
        var pushedResult = events[^1].Data!.Value.GetProperty("result");
        Assert.That(pushedResult.GetProperty("embeddings").GetArrayLength(), Is.EqualTo(2));

        var job = JsonDocument.Parse(await client.GetStringAsync($"/v1/jobs/{jobId}").WaitAsync(Timeout)).RootElement;
        Assert.That(job.GetProperty("status").GetString(), Is.EqualTo("completed"));
        Assert.That(job.GetProperty("model").GetString(), Is.EqualTo("all-minilm-l6-v2"));
        var result = job.GetProperty("result");
        Assert.That(result.GetProperty("dimensions").GetInt32(), Is.EqualTo(384));
        var embeddings = result.GetProperty("embeddings").EnumerateArray().Select(v => v.EnumerateArray().Select(x => x.GetSingle()).ToArray()).ToArray();
        Assert.That(embeddings, Has.Length.EqualTo(2));
        Assert.That(embeddings.Select(v => v.Length), Is.All.EqualTo(384));
        Assert.That(embeddings[0].Take(3), Is.EqualTo(new[] { 0.0677f, 0.0635f, 0.0487f }).Within(0.001f));
        Assert.That(Math.Sqrt(embeddings[1].Sum(x => x * (double)x)), Is.EqualTo(1.0).Within(1e-4));

        var metrics = job.GetProperty("metrics");
        Assert.That(metrics.GetProperty("executionMs").GetDouble(), Is.GreaterThan(0));
        Assert.That(metrics.GetProperty("billedMs").GetInt64(), Is.GreaterThanOrEqualTo((long)Math.Ceiling(metrics.GetProperty("executionMs").GetDouble())));
        Assert.That(metrics.GetProperty("queueMs").GetInt64(), Is.GreaterThanOrEqualTo(0));
        Assert.That(job.GetProperty("startedAt").GetDateTimeOffset(), Is.LessThanOrEqualTo(job.GetProperty("completedAt").GetDateTimeOffset()));
    }

    [Test]
    public async Task StreamJob_AfterTheJobEnded_ReplaysTheLogAfterSeqAndCompletes()
    {
        var jobId = await SubmitAsync("Replay me");
        var all = await _gateway.StreamJobAsync(_key, jobId, afterSeq: 0, Timeout);
        Assert.That(all[^1].Type, Is.EqualTo("completed"));

        var tail = await _gateway.StreamJobAsync(_key, jobId, afterSeq: 1, Timeout);

        Assert.That(tail.Select(e => e.Seq), Is.EqualTo(all.Skip(1).Select(e => e.Seq)));
        Assert.That(tail.Select(e => e.Type), Is.EqualTo(new[] { "started", "completed" }));
    }

    [Test]
    public async Task Resume_AfterTheLastEvent_CompletesAtOnce_OnTheHubAndAs204OverSse()
    {
        var jobId = await SubmitAsync("Resume at the end");
        var all = await _gateway.StreamJobAsync(_key, jobId, afterSeq: 0, Timeout);
        var lastSeq = all[^1].Seq;
        using var client = _gateway.CreateClient(_key);
        using var resume = new HttpRequestMessage(HttpMethod.Get, $"/v1/jobs/{jobId}/events");
        resume.Headers.Add("Last-Event-ID", lastSeq.ToString(System.Globalization.CultureInfo.InvariantCulture));

        var tail = await _gateway.StreamJobAsync(_key, jobId, afterSeq: lastSeq, Timeout);
        using var sse = await client.SendAsync(resume).WaitAsync(Timeout);

        Assert.That(tail, Is.Empty);
        Assert.That(sse.StatusCode, Is.EqualTo(HttpStatusCode.NoContent), "204 tells an EventSource to stop reconnecting");
    }

    [TestCase("-1", TestName = "Sse_NegativeLastEventId_Returns400")]
    [TestCase("9223372036854775807", TestName = "Sse_HugeLastEventId_Returns400")]
    [TestCase("abc", TestName = "Sse_NonNumericLastEventId_Returns400")]
    public async Task Sse_InvalidLastEventId_Returns400Problem(string lastEventId)
    {
        var jobId = await SubmitAsync("Bad resume");
        using var client = _gateway.CreateClient(_key);
        using var request = new HttpRequestMessage(HttpMethod.Get, $"/v1/jobs/{jobId}/events");
        request.Headers.TryAddWithoutValidation("Last-Event-ID", lastEventId);

        using var response = await client.SendAsync(request).WaitAsync(Timeout);

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
        Assert.That(response.Content.Headers.ContentType?.MediaType, Is.EqualTo("application/problem+json"));
    }

    [TestCase(-1L, TestName = "Hub_NegativeAfterSeq_IsAHubError")]
    [TestCase(long.MaxValue, TestName = "Hub_HugeAfterSeq_IsAHubError")]
    public async Task Hub_InvalidAfterSeq_IsAHubError(long afterSeq)
    {
        var jobId = await SubmitAsync("Bad hub resume");

        var error = Assert.ThrowsAsync<HubException>(() => _gateway.StreamJobAsync(_key, jobId, afterSeq, Timeout));

        Assert.That(error!.Message, Does.Contain("afterSeq"));
    }

    [Test]
    public async Task Hub_NullJobId_IsAClearHubError()
    {
        var error = Assert.ThrowsAsync<HubException>(() => _gateway.StreamJobAsync(_key, null!, 0, Timeout));

        Assert.That(error!.Message, Does.Contain("no job"));
    }

    [Test]
    public async Task EventsOverSse_CarrySequenceIds_AndResumeAfterLastEventId()
    {
        var jobId = await SubmitAsync("Server-sent events");
        await _gateway.StreamJobAsync(_key, jobId, 0, Timeout);
        using var client = _gateway.CreateClient(_key);

        var full = await client.GetStringAsync($"/v1/jobs/{jobId}/events").WaitAsync(Timeout);
        using var resume = new HttpRequestMessage(HttpMethod.Get, $"/v1/jobs/{jobId}/events");
        resume.Headers.Add("Last-Event-ID", "2");
        using var resumed = await client.SendAsync(resume).WaitAsync(Timeout);
        var tail = await resumed.Content.ReadAsStringAsync();

        Assert.That(Frames(full), Is.EqualTo(new[] { ("1", "queued"), ("2", "started"), ("3", "completed") }));
        Assert.That(resumed.Content.Headers.ContentType?.MediaType, Is.EqualTo("text/event-stream"));
        Assert.That(Frames(tail), Is.EqualTo(new[] { ("3", "completed") }));
    }

    [Test]
    public async Task AnotherTenantsJob_IsNotFound_OnHttpSseAndHub()
    {
        var jobId = await SubmitAsync("Private to its tenant");
        var otherKey = await _gateway.CreateKeyAsync(TestStack.UniqueName("other"));
        using var other = _gateway.CreateClient(otherKey);

        using var get = await other.GetAsync($"/v1/jobs/{jobId}").WaitAsync(Timeout);
        using var sse = await other.GetAsync($"/v1/jobs/{jobId}/events").WaitAsync(Timeout);
        using var unknown = await other.GetAsync("/v1/jobs/job_00000000000000000000000000000000").WaitAsync(Timeout);

        Assert.That(get.StatusCode, Is.EqualTo(HttpStatusCode.NotFound));
        Assert.That(sse.StatusCode, Is.EqualTo(HttpStatusCode.NotFound));
        var foreignBody = (await get.Content.ReadAsStringAsync()).Replace(jobId, "ID", StringComparison.Ordinal);
        var unknownBody = (await unknown.Content.ReadAsStringAsync()).Replace("job_00000000000000000000000000000000", "ID", StringComparison.Ordinal);
        Assert.That(StripTraceId(foreignBody), Is.EqualTo(StripTraceId(unknownBody)), "a foreign job must look exactly like a missing one");
        var hubError = Assert.ThrowsAsync<HubException>(() => _gateway.StreamJobAsync(otherKey, jobId, 0, Timeout));
        Assert.That(hubError!.Message, Does.Contain("no job"));
    }

    [Test]
    public async Task Hub_WithoutAValidKey_RefusesTheConnection()
    {
        await using var hub = _gateway.CreateHubConnection("igw_not-a-real-key");
        using var cts = new CancellationTokenSource(Timeout);

        var error = Assert.ThrowsAsync<HttpRequestException>(() => hub.StartAsync(cts.Token));

        Assert.That(error!.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
    }

    private Task<string> SubmitAsync(string text) => _gateway.SubmitJobAsync(_key, text);

    private static string StripTraceId(string problem) =>
        System.Text.RegularExpressions.Regex.Replace(problem, "\"traceId\":\"[^\"]*\"", string.Empty);

    private static (string? Id, string Type)[] Frames(string sse) =>
        [.. SseReader.Parse(sse).Select(frame => (frame.EventId, frame.EventType))];
}
