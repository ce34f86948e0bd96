using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using InferenceGateway.Contracts;
using InferenceGateway.Core.Jobs;
using InferenceGateway.Tests.Infrastructure;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets;
using StackExchange.Redis;

namespace InferenceGateway.Tests.EndToEnd;

/// <summary>
/// <c>input.stream: true</c> the whole way: the real worker streams <c>chunk</c> events through
/// Redis, and the gateway delivers them over the hub and SSE with backpressure: a client that
/// stops reading holds back only its own feed.
/// </summary>
[TestFixture]
public sealed class StreamingFlowTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(90);
    private const char RecordSeparator = '\u001e';

    private GatewayServer _gateway = null!;
    private WorkerServer _worker = null!;
    private string _key = null!;

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        var configuration = TestStack.Configuration(TestStack.UniqueName("stream"));
        configuration["Streaming:ChunkTexts"] = "8";

        // Small socket send buffers (accepted sockets inherit the listener's): otherwise Linux grows
        // a loopback socket's send buffer to MBs and the kernel, not the gateway, holds the stream
        // of the slow client below. Kestrel's own limits stay as they ship.
        _gateway = await GatewayServer.StartAsync(configuration, builder =>
            builder.WebHost.UseSockets(sockets => sockets.CreateBoundListenSocket = endpoint =>
            {
                var socket = SocketTransportOptions.CreateDefaultBoundListenSocket(endpoint);
                socket.SendBufferSize = 16 * 1024;
                return socket;
            }));
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
    public async Task StreamTrue_HubAndSse_ReceiveChunksBeforeCompleted_ThatAddUpToTheResult()
    {
        var texts = Texts(40);
        var jobId = await SubmitAsync(new { model = "all-minilm-l6-v2", input = new { texts, stream = true } });
        using var client = _gateway.CreateClient(_key);

        var hub = _gateway.StreamJobAsync(_key, jobId, 0, Timeout);
        var sse = client.GetStringAsync($"/v1/jobs/{jobId}/events").WaitAsync(Timeout);
        await Task.WhenAll(hub, sse);

        var job = JsonDocument.Parse(await client.GetStringAsync($"/v1/jobs/{jobId}").WaitAsync(Timeout)).RootElement;
        Assert.That(job.GetProperty("status").GetString(), Is.EqualTo("completed"));
        var result = Embeddings(job.GetProperty("result").GetProperty("embeddings"));
        Assert.That(result, Has.Length.EqualTo(texts.Length));
        foreach (var (name, events) in new[] { ("hub", await hub), ("sse", SseEvents(await sse)) })
        {
            AssertStreamed(name, events, result);
        }
    }

    [Test]
    public async Task StreamAbsent_RecordsNoChunks()
    {
        var jobId = await SubmitAsync(new { model = "all-minilm-l6-v2", input = new { texts = Texts(3) } });

        var events = await _gateway.StreamJobAsync(_key, jobId, 0, Timeout);

        Assert.That(events.Select(e => e.Type), Is.EqualTo(new[] { "queued", "started", "completed" }));
    }

    [Test]
    public async Task SlowSseClient_HoldsBackNeitherTheWorkerNorAnotherSubscriber_AndLaterGetsEveryEventOnceInOrder()
    {
        // 256 texts: about 2.4 MB of SSE (the chunks, then the same vectors in completed), far more
        // than the socket buffers of a client that reads nothing.
        var jobId = await SubmitAsync(new { model = "all-minilm-l6-v2", input = new { texts = Texts(256), stream = true } });
        using var slow = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { ReceiveBufferSize = 4096 };
        using var cts = new CancellationTokenSource(Timeout);
        await slow.ConnectAsync(_gateway.BaseAddress.Host, _gateway.BaseAddress.Port, cts.Token);
        var request = $"GET /v1/jobs/{jobId}/events HTTP/1.1\r\nHost: {_gateway.BaseAddress.Authority}\r\nAuthorization: Bearer {_key}\r\n" +
            "Accept: text/event-stream\r\nConnection: close\r\n\r\n";
        await slow.SendAsync(Encoding.ASCII.GetBytes(request), SocketFlags.None, cts.Token);

        // Meanwhile: the worker finishes and another subscriber gets everything.
        var hubEvents = await _gateway.StreamJobAsync(_key, jobId, 0, Timeout);
        using var client = _gateway.CreateClient(_key);
        var status = JsonDocument.Parse(await client.GetStringAsync($"/v1/jobs/{jobId}").WaitAsync(Timeout)).RootElement.GetProperty("status").GetString();
        Assert.That(status, Is.EqualTo("completed"));
        Assert.That(hubEvents[^1].Type, Is.EqualTo("completed"));

        // The slow client's feed is still subscribed to the job's wake-ups: it has not yet passed
        // the terminal event to its response, so the gateway is producing that stream lazily, as
        // the client takes it, rather than having written it all out or queued it in memory.
        var channel = RedisChannel.Literal(JobKeys.Notify(jobId));
        Assert.That(await SubscribersAsync(channel), Is.EqualTo(1), "the slow client's feed waits on its writes");
        var waiting = slow.Available;

        var raw = await ReadToEndAsync(slow, cts.Token);
        var events = SseEvents(DecodeHttpResponse(raw));

        Assert.That(waiting, Is.LessThan(raw.Length), "the client's socket did not already hold the whole stream");
        Assert.That(events.Select(e => (e.Seq, e.Type)), Is.EqualTo(hubEvents.Select(e => (e.Seq, e.Type))), "every event once, in order");
        AssertStreamed("slow sse", events, Embeddings(hubEvents[^1].Data!.Value.GetProperty("result").GetProperty("embeddings")));
        await Eventually.HoldsAsync(async () => await SubscribersAsync(channel) == 0, Timeout, "the slow client's feed ended after the terminal event");
        TestContext.Out.WriteLine($"SSE stream: {raw.Length} bytes, {events.Count} events; {waiting} bytes waited in the stalled client's socket");
    }

    [Test]
    public async Task SlowHubClient_HoldsBackNeitherTheWorkerNorAnotherSubscriber_AndLaterGetsEveryEventOnceInOrder()
    {
        var jobId = await SubmitAsync(new { model = "all-minilm-l6-v2", input = new { texts = Texts(256), stream = true } });
        using var cts = new CancellationTokenSource(Timeout);

        // The SignalR JSON protocol over a raw WebSocket whose socket takes 4 KiB and is then not
        // read: the real client reads eagerly, so it cannot play a slow subscriber.
        using var handler = new SocketsHttpHandler
        {
            ConnectCallback = async (context, cancellationToken) =>
            {
                var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { ReceiveBufferSize = 4096 };
                await socket.ConnectAsync(context.DnsEndPoint, cancellationToken);
                return new NetworkStream(socket, ownsSocket: true);
            },
        };
        using var invoker = new HttpMessageInvoker(handler);
        using var slow = new ClientWebSocket();
        var uri = new UriBuilder(_gateway.BaseAddress) { Scheme = "ws", Path = "/hubs/jobs", Query = "access_token=" + Uri.EscapeDataString(_key) }.Uri;
        await slow.ConnectAsync(uri, invoker, cts.Token);
        await SendAsync(slow, """{"protocol":"json","version":1}""", cts.Token);
        var handshake = await ReceiveMessagesAsync(slow, until: _ => true, cts.Token);
        Assert.That(handshake[0].TryGetProperty("error", out _), Is.False, handshake[0].GetRawText());
        await SendAsync(slow, $$"""{"type":4,"invocationId":"1","target":"StreamJob","arguments":["{{jobId}}",0]}""", cts.Token);

        // Meanwhile: the worker finishes and an SSE subscriber gets everything.
        using var client = _gateway.CreateClient(_key);
        var sseEvents = SseEvents(await client.GetStringAsync($"/v1/jobs/{jobId}/events").WaitAsync(Timeout));
        var status = JsonDocument.Parse(await client.GetStringAsync($"/v1/jobs/{jobId}").WaitAsync(Timeout)).RootElement.GetProperty("status").GetString();
        Assert.That(status, Is.EqualTo("completed"));
        Assert.That(sseEvents[^1].Type, Is.EqualTo("completed"));
        var channel = RedisChannel.Literal(JobKeys.Notify(jobId));
        Assert.That(await SubscribersAsync(channel), Is.EqualTo(1), "the slow hub client's feed waits on its writes");

        var messages = await ReceiveMessagesAsync(slow, until: m => m.GetProperty("type").GetInt32() == 3, cts.Token);
        var completion = messages[^1];
        Assert.That(completion.TryGetProperty("error", out var error), Is.False, error.ToString());
        var events = messages
            .Where(m => m.GetProperty("type").GetInt32() == 2)
            .Select(m => JsonSerializer.Deserialize(m.GetProperty("item").GetRawText(), ContractsJsonContext.Default.JobEvent)!)
            .ToList();

        Assert.That(events.Select(e => (e.Seq, e.Type)), Is.EqualTo(sseEvents.Select(e => (e.Seq, e.Type))), "every event once, in order");
        AssertStreamed("slow hub", events, Embeddings(sseEvents[^1].Data!.Value.GetProperty("result").GetProperty("embeddings")));
        await Eventually.HoldsAsync(async () => await SubscribersAsync(channel) == 0, Timeout, "the slow hub client's feed ended after the terminal event");
    }

    [TestCase("\"true\"", TestName = "Stream_AsAString_Returns400Problem")]
    [TestCase("1", TestName = "Stream_AsANumber_Returns400Problem")]
    [TestCase("null", TestName = "Stream_Null_Returns400Problem")]
    [TestCase("{}", TestName = "Stream_AsAnObject_Returns400Problem")]
    public async Task Stream_NotABoolean_Returns400Problem(string value)
    {
        using var client = _gateway.CreateClient(_key);
        using var content = new StringContent("""{"model":"all-minilm-l6-v2","input":{"texts":["a"],"stream":""" + value + "}}", Encoding.UTF8, "application/json");

        using var response = await client.PostAsync("/v1/jobs", content).WaitAsync(Timeout);

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
        Assert.That(response.Content.Headers.ContentType?.MediaType, Is.EqualTo("application/problem+json"));
    }

    private static void AssertStreamed(string subscriber, List<JobEvent> events, float[][] result)
    {
        Assert.That(events.Select(e => e.Seq), Is.EqualTo(Enumerable.Range(1, events.Count).Select(i => (long)i)), $"{subscriber}: seqs 1..n, strictly increasing");
        Assert.That(events.Take(2).Select(e => e.Type), Is.EqualTo(new[] { "queued", "started" }), subscriber);
        Assert.That(events[^1].Type, Is.EqualTo("completed"), $"{subscriber}: the chunks arrive before completed");
        Assert.That(events.Skip(2).SkipLast(1).Select(e => e.Type), Is.All.EqualTo(JobEventTypes.Chunk), $"{subscriber}: only chunks between (no progress)");
        var chunks = events.Where(e => e.Type == JobEventTypes.Chunk).Select(e => e.Data!.Value).ToArray();
        Assert.That(chunks, Has.Length.GreaterThan(1), $"{subscriber}: several chunks");
        var offsets = chunks.Select(c => c.GetProperty("offset").GetInt32()).ToArray();
        var counts = chunks.Select(c => c.GetProperty("count").GetInt32()).ToArray();
        Assert.That(offsets, Is.EqualTo(counts.Select((_, i) => counts.Take(i).Sum())), $"{subscriber}: contiguous offsets from 0");
        var streamed = chunks.SelectMany(c => Embeddings(c.GetProperty("embeddings"))).ToArray();
        Assert.That(streamed, Is.EqualTo(result), $"{subscriber}: the chunks' vectors are the result's, in order");
    }

    private async Task<string> SubmitAsync(object body)
    {
        using var client = _gateway.CreateClient(_key);
        using var response = await client.PostAsJsonAsync("/v1/jobs", body).WaitAsync(Timeout);
        var text = await response.Content.ReadAsStringAsync();
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Accepted), text);
        return JsonDocument.Parse(text).RootElement.GetProperty("id").GetString()!;
    }

    private static string[] Texts(int count) =>
        [.. Enumerable.Range(0, count).Select(i => string.Create(CultureInfo.InvariantCulture, $"Sentence number {i} about streaming partial results to clients"))];

    private static float[][] Embeddings(JsonElement vectors) =>
        [.. vectors.EnumerateArray().Select(v => v.EnumerateArray().Select(x => x.GetSingle()).ToArray())];

    private static async Task<long> SubscribersAsync(RedisChannel channel)
    {
        var reply = await TestStack.Multiplexer.GetDatabase().ExecuteAsync("PUBSUB", "NUMSUB", channel.ToString());
        return (long)((RedisResult[])reply!)[1];
    }

    private static List<JobEvent> SseEvents(string sse) =>
        [.. SseReader.Parse(sse).Select(frame => JsonSerializer.Deserialize(frame.Data, ContractsJsonContext.Default.JobEvent)!)];

    private static Task SendAsync(ClientWebSocket socket, string message, CancellationToken cancellationToken) =>
        socket.SendAsync(Encoding.UTF8.GetBytes(message + RecordSeparator), WebSocketMessageType.Text, endOfMessage: true, cancellationToken);

    /// <summary>SignalR JSON messages (each ends with 0x1E) until one matches <paramref name="until"/>; pings are skipped.</summary>
    private static async Task<List<JsonElement>> ReceiveMessagesAsync(ClientWebSocket socket, Func<JsonElement, bool> until, CancellationToken cancellationToken)
    {
        var messages = new List<JsonElement>();
        var pending = new MemoryStream();
        var buffer = new byte[64 * 1024];
        while (true)
        {
            var received = await socket.ReceiveAsync(buffer, cancellationToken);
            Assert.That(received.MessageType, Is.Not.EqualTo(WebSocketMessageType.Close), "the hub closed the connection");
            pending.Write(buffer, 0, received.Count);
            var text = Encoding.UTF8.GetString(pending.ToArray());
            var end = text.LastIndexOf(RecordSeparator);
            if (end < 0)
            {
                continue;
            }

            pending = new MemoryStream();
            pending.Write(Encoding.UTF8.GetBytes(text[(end + 1)..]));
            foreach (var record in text[..end].Split(RecordSeparator))
            {
                var message = JsonDocument.Parse(record).RootElement.Clone();
                if (message.TryGetProperty("type", out var type) && type.GetInt32() == 6)
                {
                    continue;
                }

                messages.Add(message);
                if (until(message))
                {
                    return messages;
                }
            }
        }
    }

    private static async Task<byte[]> ReadToEndAsync(Socket socket, CancellationToken cancellationToken)
    {
        using var all = new MemoryStream();
        var buffer = new byte[64 * 1024];
        int read;
        while ((read = await socket.ReceiveAsync(buffer, SocketFlags.None, cancellationToken)) > 0)
        {
            all.Write(buffer, 0, read);
        }

        return all.ToArray();
    }

    /// <summary>The body of an HTTP/1.1 response with chunked transfer coding, as text.</summary>
    private static string DecodeHttpResponse(byte[] raw)
    {
        var text = Encoding.UTF8.GetString(raw);
        var headerEnd = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
        var head = text[..headerEnd];
        Assert.That(head, Does.StartWith("HTTP/1.1 200"));
        Assert.That(head, Does.Contain("text/event-stream"));
        Assert.That(head.ToUpperInvariant(), Does.Contain("TRANSFER-ENCODING: CHUNKED"));
        var body = new StringBuilder();
        var at = headerEnd + 4;
        while (true)
        {
            var lineEnd = text.IndexOf("\r\n", at, StringComparison.Ordinal);
            var size = int.Parse(text.AsSpan(at, lineEnd - at), NumberStyles.HexNumber, CultureInfo.InvariantCulture);
            if (size == 0)
            {
                return body.ToString();
            }

            // Sizes count bytes; the frames are ASCII apart from JSON, which escapes non-ASCII.
            body.Append(text, lineEnd + 2, size);
            at = lineEnd + 2 + size + 2;
        }
    }
}
