using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using InferenceGateway.Core.Jobs;
using InferenceGateway.Gateway.Auth;
using InferenceGateway.Tests.Auth;
using InferenceGateway.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace InferenceGateway.Tests.Security;

/// <summary>
/// Malformed and hostile requests against the real gateway on Kestrel, real Redis and the SQS
/// emulator: each answer is the expected 4xx as problem+json, nothing reaches the queue, and the
/// gateway stays healthy; after them all a valid job is still accepted. Requests that
/// <see cref="HttpClient"/> will not send (a 100 KB query, dot segments, smuggling headers) go over
/// a raw socket.
/// </summary>
[TestFixture]
public sealed class HostileInputTests
{
    private const string Model = "all-minilm-l6-v2";
    private const string ValidJob = "{\"model\": \"all-minilm-l6-v2\", \"input\": {\"texts\": [\"hello\"]}}";
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    private GatewayServer _gateway = null!;
    private string _queueName = null!;
    private Target _target = null!;

    /// <summary>Every hostile case: a name that reads as a sentence, the status it must get, and how to send it.</summary>
    public static IEnumerable<TestCaseData> Cases() =>
        HostileCases().Select(c => new TestCaseData(c).SetName(c.Name));

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        _queueName = TestStack.UniqueName("hostile");
        // The key cache's clock is held: the revoked key below stays cached until the revocation's
        // pub/sub eviction drops it, so its case fails if that eviction is broken (the cache's own
        // 1 s expiry cannot rescue it).
        _gateway = await GatewayServer.StartAsync(TestStack.Configuration(_queueName), builder => KeyCacheClock.Hold(builder));
        var tenant = TestStack.UniqueName("tenant");
        var store = _gateway.Services.GetRequiredService<ApiKeyStore>();

        // "pro": this fixture sends many requests as one tenant and tests limits, not the rate limit.
        var writer = await _gateway.CreateKeyAsync(new NewApiKey(tenant, "writer", [Scopes.JobsRead, Scopes.JobsWrite], "pro"));
        var reader = await _gateway.CreateKeyAsync(new NewApiKey(tenant, "reader", [Scopes.JobsRead], "pro"));
        var expired = await _gateway.CreateKeyAsync(new NewApiKey(tenant, "expired", [Scopes.JobsRead, Scopes.JobsWrite], "pro", DateTimeOffset.UtcNow.AddMinutes(-1)));
        var admin = await _gateway.CreateKeyAsync(new NewApiKey(TestStack.UniqueName("ops"), "admin", [Scopes.Admin], "pro"));
        var revoked = await store.CreateAsync(new NewApiKey(tenant, "revoked", [Scopes.JobsRead, Scopes.JobsWrite], "pro"));
        using (var client = _gateway.CreateClient(revoked.Key))
        {
            // Used once, so the gateway has it cached when it is revoked.
            using var before = await client.GetAsync("/v1/models").WaitAsync(Timeout);
            Assert.That(before.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        }

        Assert.That(await store.RevokeAsync(revoked.Details.Id).WaitAsync(Timeout), Is.True);

        // A job of this tenant that exists in Redis but was never enqueued, for the SSE cases.
        var jobId = "job_" + Guid.NewGuid().ToString("N");
        await _gateway.Services.GetRequiredService<RedisJobStore>().CreateAsync(jobId, tenant, Model, DateTimeOffset.UtcNow).WaitAsync(Timeout);

        _target = new Target(_gateway, writer, reader, expired, revoked.Key, admin, jobId);
    }

    [OneTimeTearDown]
    public async Task StopAsync()
    {
        await _gateway.DisposeAsync();
    }

    [TestCaseSource(nameof(Cases))]
    [Order(1)]
    public async Task HostileRequest_IsRefusedWithAProblem_AndNothingIsEnqueued(HostileCase hostile)
    {
        var answer = await hostile.Send(_target).WaitAsync(Timeout);

        Assert.That(answer.Status, Is.EqualTo(hostile.Status), answer.Body);
        Assert.That(answer.MediaType, Is.EqualTo("application/problem+json"), answer.Body);
        var problem = JsonDocument.Parse(answer.Body).RootElement;
        Assert.That(problem.GetProperty("status").GetInt32(), Is.EqualTo(hostile.Status));
        Assert.That(problem.GetProperty("title").GetString(), Is.Not.Empty);
        Assert.That(await QueuedCountAsync(), Is.Zero, "a refused request must not reach the queue");
        await AssertHealthyAsync();
    }

    [Test]
    [Order(2)]
    public async Task AfterTheHostileRequests_TheGatewayIsHealthy_AndAcceptsAValidJob()
    {
        await AssertHealthyAsync();
        using var client = _gateway.CreateClient(_target.Writer);
        using var content = new StringContent(ValidJob, Encoding.UTF8, "application/json");

        using var response = await client.PostAsync("/v1/jobs", content).WaitAsync(Timeout);

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Accepted), await response.Content.ReadAsStringAsync());
        Assert.That(await QueuedCountAsync(), Is.EqualTo(1), "the empty-queue checks above watch the queue jobs really go to");
    }

    private static IEnumerable<HostileCase> HostileCases()
    {

        // Malformed JSON.
        yield return Json("Submit_TruncatedJson_Returns400", "{\"model\": \"all-minilm-l6-v2\", \"input\": {\"texts\": [\"a\"", 400);
        yield return Json("Submit_EmptyBody_Returns400", string.Empty, 400);
        yield return Json("Submit_TrailingGarbageAfterTheObject_Returns400", ValidJob + " trailing", 400);
        yield return Json("Submit_TwoConcatenatedObjects_Returns400", ValidJob + ValidJob, 400);
        yield return Json("Submit_JsonWithComments_Returns400", "{/* hi */ \"model\": \"all-minilm-l6-v2\", \"input\": {\"texts\": [\"a\"]}}", 400);
        yield return Json("Submit_TrailingComma_Returns400", "{\"model\": \"all-minilm-l6-v2\", \"input\": {\"texts\": [\"a\",]},}", 400);
        yield return Json("Submit_SingleQuotedStrings_Returns400", "{'model': 'all-minilm-l6-v2', 'input': {'texts': ['a']}}", 400);
        yield return Json("Submit_NaNLiteral_Returns400", "{\"model\": NaN, \"input\": {\"texts\": [\"a\"]}}", 400);
        yield return Json("Submit_BooleanBody_Returns400", "true", 400);
        yield return Json("Submit_AModelNameOf500KB_Returns400", "{\"model\": \"" + new string('m', 500_000) + "\", \"input\": {\"texts\": [\"a\"]}}", 400);

        // Wrong shapes and types.
        yield return Json("Submit_DuplicateModelProperty_Returns400", "{\"model\": \"all-minilm-l6-v2\", \"model\": \"other\", \"input\": {\"texts\": [\"a\"]}}", 400);
        yield return Json("Submit_DuplicateTextsProperty_Returns400", "{\"model\": \"all-minilm-l6-v2\", \"input\": {\"texts\": [\"a\"], \"texts\": [\"b\"]}}", 400);
        yield return Json("Submit_DuplicatePropertyDifferingInCase_Returns400", "{\"model\": \"all-minilm-l6-v2\", \"Model\": \"other\", \"input\": {\"texts\": [\"a\"]}}", 400);
        yield return Json("Submit_NumbersWhereTextsBelong_Returns400", "{\"model\": \"all-minilm-l6-v2\", \"input\": {\"texts\": [1, 2, 3]}}", 400);
        yield return Json("Submit_ModelAsAnArray_Returns400", "{\"model\": [\"all-minilm-l6-v2\"], \"input\": {\"texts\": [\"a\"]}}", 400);
        yield return Json("Submit_ModelAsAHugeNumber_Returns400", "{\"model\": 1e999999, \"input\": {\"texts\": [\"a\"]}}", 400);
        yield return Json("Submit_TextsAsAnObject_Returns400", "{\"model\": \"all-minilm-l6-v2\", \"input\": {\"texts\": {\"0\": \"a\"}}}", 400);

        // Size and depth.
        yield return Json("Submit_OneHugeText_Returns400", Job("\"" + new string('x', 900_000) + "\""), 400);
        yield return Json("Submit_TenThousandTexts_Returns400", Job(string.Join(",", Enumerable.Repeat("\"x\"", 10_000))), 400);
        yield return Json("Submit_DeepNestingInAnIgnoredProperty_Returns400", "{\"model\": \"all-minilm-l6-v2\", \"input\": {\"texts\": [\"a\"]}, \"x\": " + new string('[', 40) + new string(']', 40) + "}", 400);
        yield return Json("Submit_DeepNestingOfObjects_Returns400", "{\"model\": \"all-minilm-l6-v2\", \"input\": {\"texts\": [\"a\"]}, \"x\": " + string.Concat(Enumerable.Repeat("{\"a\":", 40)) + "1" + new string('}', 40) + "}", 400);
        yield return Json("Submit_DeepNestingInsideTexts_Returns400", Job(new string('[', 10_000) + new string(']', 10_000)), 400);
        yield return Json("Submit_BodyOverOneMebibyteWithContentLength_Returns413", Job("\"" + new string('x', 1_100_000) + "\""), 413);
        yield return new("Submit_ChunkedBodyOverOneMebibyte_Returns413", 413, t => SendAsync(t, HttpMethod.Post, "/v1/jobs", t.Writer, request =>
        {
            request.Content = new StreamContent(new MemoryStream(Encoding.UTF8.GetBytes(Job("\"" + new string('x', 1_100_000) + "\""))));
            request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
            request.Headers.TransferEncodingChunked = true;
        }));

        // Bytes that are not UTF-8, or not text at all.
        yield return Bytes("Submit_InvalidUtf8ByteInAText_Returns400", [0xFF, 0xFE], 400);
        yield return Bytes("Submit_OverlongUtf8Slash_Returns400", [0xC0, 0xAF], 400);
        yield return Bytes("Submit_OverlongUtf8Nul_Returns400", [0xC0, 0x80], 400);
        yield return Bytes("Submit_LoneUtf8ContinuationByte_Returns400", [0x80], 400);
        yield return Bytes("Submit_TruncatedUtf8Sequence_Returns400", [0xE2, 0x82], 400);
        yield return Bytes("Submit_Utf8EncodedSurrogate_Returns400", [0xED, 0xA0, 0x80], 400);
        yield return Bytes("Submit_RawNulByteInAText_Returns400", [0x00], 400);
        yield return Json("Submit_EscapedNulInAText_Returns400", Job("\"a\\u0000b\""), 400);
        yield return Json("Submit_EscapedLoneSurrogateInAText_Returns400", Job("\"a\\ud800b\""), 400);
        yield return new("Submit_Utf16BodyLabelledUtf8_Returns400", 400, t => PostBytesAsync(t, [.. Encoding.Unicode.GetPreamble(), .. Encoding.Unicode.GetBytes(ValidJob)], "application/json; charset=utf-8"));
        yield return new("Submit_ByteOrderMarkInsideTheObject_Returns400", 400, t => PostBytesAsync(t, [.. "{"u8, .. Encoding.UTF8.GetPreamble(), .. Encoding.UTF8.GetBytes(ValidJob[1..])], "application/json"));

        // Content types.
        yield return Typed("Submit_AsTextPlain_Returns415", "text/plain", 415);
        yield return Typed("Submit_WithoutAContentType_Returns415", null, 415);
        yield return Typed("Submit_AsAForm_Returns415", "application/x-www-form-urlencoded", 415);
        yield return Typed("Submit_AsMultipart_Returns415", "multipart/form-data; boundary=x", 415);
        yield return Typed("Submit_AsXml_Returns415", "application/xml", 415);
        yield return Typed("Submit_WithAnUnknownCharset_Returns415", "application/json; charset=no-such-charset", 415);
        yield return Typed("Submit_WithUtf7Charset_Returns415", "application/json; charset=utf-7", 415);

        // Keys: missing, forged, expired, revoked, wrong scope.
        yield return new("Submit_WithoutAKey_Returns401", 401, t => PostJsonAsync(t, ValidJob, key: null));
        yield return new("Submit_WithANeverIssuedKey_Returns401", 401, t => PostJsonAsync(t, ValidJob, key: "igw_" + new string('A', 43)));
        yield return new("Submit_WithAForgedKeyOneCharacterOff_Returns401", 401, t => PostJsonAsync(t, ValidJob, key: t.Writer[..^1] + (t.Writer[^1] == 'A' ? 'B' : 'A')));
        yield return new("Submit_WithAnExpiredKey_Returns401", 401, t => PostJsonAsync(t, ValidJob, key: t.Expired));
        yield return new("Submit_WithARevokedKey_Returns401Within1s", 401, RevokedKeyAsync);
        yield return new("Submit_WithAJwtShapedGarbageToken_Returns401", 401, t => PostJsonAsync(t, ValidJob, key: "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.c2ln"));
        yield return new("Submit_WithAFourKilobyteKey_Returns401", 401, t => PostJsonAsync(t, ValidJob, key: "igw_" + new string('k', 4096)));
        yield return new("Submit_WithTheKeyInTheQueryString_Returns401", 401, t => SendAsync(t, HttpMethod.Post, "/v1/jobs?access_token=" + t.Writer, key: null, r => r.Content = JsonContent(ValidJob)));
        yield return new("Submit_WithBasicAuth_Returns401", 401, t => SendAsync(t, HttpMethod.Post, "/v1/jobs", key: null, r =>
        {
            r.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String("a:b"u8));
            r.Content = JsonContent(ValidJob);
        }));
        yield return new("Submit_WithAReadOnlyKey_Returns403", 403, t => PostJsonAsync(t, ValidJob, key: t.Reader));

        // Admin endpoints.
        yield return new("AdminList_WithAJobsKey_Returns403", 403, t => SendAsync(t, HttpMethod.Get, "/admin/keys", t.Writer));
        yield return new("AdminCreate_WithAJobsKey_Returns403", 403, t => SendAsync(t, HttpMethod.Post, "/admin/keys", t.Writer, r => r.Content = JsonContent("{\"tenant\": \"evil\", \"scopes\": [\"admin\"]}")));
        yield return new("AdminRevoke_WithAJobsKey_Returns403", 403, t => SendAsync(t, HttpMethod.Delete, "/admin/keys/key_0000000000000000", t.Writer));
        yield return new("AdminCreate_WithAnExpiredKey_Returns401", 401, t => SendAsync(t, HttpMethod.Get, "/admin/keys", t.Expired));
        yield return new("AdminCreate_WithInvalidUtf8_Returns400", 400, t => SendAsync(t, HttpMethod.Post, "/admin/keys", t.Admin, r => r.Content = BytesContent([.. "{\"tenant\": \"a"u8, 0xC3, 0x28, .. "\"}"u8], "application/json")));
        yield return new("AdminCreate_WithDuplicateTenant_Returns400", 400, t => SendAsync(t, HttpMethod.Post, "/admin/keys", t.Admin, r => r.Content = JsonContent("{\"tenant\": \"a\", \"tenant\": \"b\"}")));
        yield return new("AdminCreate_WithABodyOver64KiB_Returns413", 413, t => SendAsync(t, HttpMethod.Post, "/admin/keys", t.Admin, r => r.Content = JsonContent("{\"tenant\": \"" + new string('a', 70_000) + "\"}")));
        yield return new("AdminCreate_AsTextPlain_Returns415", 415, t => SendAsync(t, HttpMethod.Post, "/admin/keys", t.Admin, r => r.Content = new StringContent("{\"tenant\": \"a\"}", Encoding.UTF8, "text/plain")));
        yield return new("AdminRevoke_PathTraversalId_Returns404", 404, t => SendAsync(t, HttpMethod.Delete, "/admin/keys/..%2F..%2Fapikeys", t.Admin));

        // Ids and paths.
        yield return Get("Get_EncodedPathTraversalId_Returns404", "/v1/jobs/..%2F..%2Fetc%2Fpasswd", 404);
        yield return Get("Get_EncodedDotSegmentsId_Returns404", "/v1/jobs/%2e%2e%2f%2e%2e%2fhealthz", 404);
        yield return Get("Get_BackslashTraversalId_Returns404", "/v1/jobs/job_..%5C..%5Cwin.ini", 404);
        yield return Get("Get_RedisGlobId_Returns404", "/v1/jobs/job_*", 404);
        yield return Get("Get_TwoThousandCharacterId_Returns404", "/v1/jobs/job_" + new string('a', 2000), 404);
        yield return Get("Events_EncodedPathTraversalId_Returns404", "/v1/jobs/..%2F..%2Fapikeys/events", 404);
        yield return new("Get_DotSegmentsToTheAdminApi_Returns403", 403, t => RawAsync(t, $"GET /v1/jobs/../../admin/keys HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {t.Writer}\r\n"));
        yield return Get("Get_UrlPathOverTheLimit_Returns414", "/v1/jobs/" + new string('a', 9000), 414);
        yield return new("Healthz_WithAQueryStringOf100KB_Returns414", 414, t => RawAsync(t, $"GET /healthz?q={new string('q', 100_000)} HTTP/1.1\r\nHost: x\r\n"));
        yield return new("Negotiate_WithAnAccessTokenOverTheUrlLimit_Returns414", 414, t => SendAsync(t, HttpMethod.Post, "/hubs/jobs/negotiate?negotiateVersion=1&access_token=igw_" + new string('t', 9000), key: null));

        // Headers.
        yield return new("Submit_WithOneHeaderOverTheLimit_Returns431", 431, t => PostJsonAsync(t, ValidJob, t.Writer, r => r.Headers.TryAddWithoutValidation("X-Big", new string('h', 9 * 1024))));
        yield return new("Submit_WithOneHundredAndTwentyHeaders_Returns431", 431, t => PostJsonAsync(t, ValidJob, t.Writer, r =>
        {
            for (var i = 0; i < 120; i++)
            {
                r.Headers.TryAddWithoutValidation($"X-Many-{i}", "v");
            }
        }));
        yield return new("Submit_WithHeadersOverTheTotalLimit_Returns431", 431, t => PostJsonAsync(t, ValidJob, t.Writer, r =>
        {
            for (var i = 0; i < 3; i++)
            {
                r.Headers.TryAddWithoutValidation($"X-Part-{i}", new string('p', 6 * 1024));
            }
        }));
        yield return new("Healthz_WithOneHeaderOverTheLimit_Returns431", 431, t => SendAsync(t, HttpMethod.Get, "/healthz", key: null, r => r.Headers.TryAddWithoutValidation("X-Big", new string('h', 9 * 1024))));
        yield return new("Submit_WithAControlCharacterInIdempotencyKey_Returns400", 400, t => RawPostJobAsync(t, "Idempotency-Key: abc\u0001def\r\n"));
        yield return new("Submit_WithATabInIdempotencyKey_Returns400", 400, t => PostJsonAsync(t, ValidJob, t.Writer, r => r.Headers.TryAddWithoutValidation("Idempotency-Key", "abc\tdef")));
        yield return new("Submit_WithA256CharacterIdempotencyKey_Returns400", 400, t => PostJsonAsync(t, ValidJob, t.Writer, r => r.Headers.TryAddWithoutValidation("Idempotency-Key", new string('i', 256))));
        yield return new("Submit_ContentLengthBesideChunkedWithABadChunk_Returns400", 400, t => RawAsync(
            t,
            $"POST /v1/jobs HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {t.Writer}\r\nContent-Type: application/json\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n",
            Encoding.UTF8.GetBytes("4\r\n{\"a\"\r\n0\r\n\r\n")));
        yield return new("Submit_WithAnUnparsableChunkSize_Returns400", 400, t => RawAsync(
            t,
            $"POST /v1/jobs HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {t.Writer}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n",
            Encoding.UTF8.GetBytes("zz\r\n{}\r\n0\r\n\r\n")));
        // A client that writes the whole oversize body before it reads (no Expect: 100-continue)
        // still gets the 413: the gateway reads and drops the body after answering. Six MiB is more
        // than loopback's socket buffers hold, so the write fails if the gateway closed instead.
        yield return new("Submit_AnOversizeBodyWrittenWholeBeforeReading_GetsThe413NotABrokenPipe", 413, t => RawAsync(
            t,
            $"POST /v1/jobs HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {t.Writer}\r\nContent-Type: application/json\r\nContent-Length: {6 * 1024 * 1024}\r\n",
            new byte[6 * 1024 * 1024]));
        yield return new("Submit_AContentLengthBeyondWhatIsDiscarded_Returns413WithoutWaitingForTheBody", 413, t => RawAsync(
            t,
            $"POST /v1/jobs HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {t.Writer}\r\nContent-Type: application/json\r\nContent-Length: 100000000\r\n"));
        yield return new("Submit_ExpectContinueWithAnOversizeContentLength_Returns413BeforeTheBody", 413, t => RawAsync(
            t,
            $"POST /v1/jobs HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {t.Writer}\r\nContent-Type: application/json\r\nContent-Length: 5000000\r\nExpect: 100-continue\r\n"));
        yield return new("Events_WithGarbageLastEventId_Returns400", 400, t => SendAsync(t, HttpMethod.Get, $"/v1/jobs/{t.JobId}/events", t.Reader, r => r.Headers.TryAddWithoutValidation("Last-Event-ID", "'; DROP TABLE jobs; --")));
        yield return new("Events_WithANegativeLastEventId_Returns400", 400, t => SendAsync(t, HttpMethod.Get, $"/v1/jobs/{t.JobId}/events", t.Reader, r => r.Headers.TryAddWithoutValidation("Last-Event-ID", "-1")));
        yield return new("Events_WithAnOverflowingLastEventId_Returns400", 400, t => SendAsync(t, HttpMethod.Get, $"/v1/jobs/{t.JobId}/events", t.Reader, r => r.Headers.TryAddWithoutValidation("Last-Event-ID", "99999999999999999999999999")));

        // Methods.
        yield return new("Put_OnJobs_Returns405", 405, t => SendAsync(t, HttpMethod.Put, "/v1/jobs", t.Writer, r => r.Content = JsonContent(ValidJob)));
        yield return new("Patch_OnAJob_Returns405", 405, t => SendAsync(t, HttpMethod.Patch, $"/v1/jobs/{t.JobId}", t.Writer, r => r.Content = JsonContent("{}")));
        yield return new("Post_OnHealthz_Returns405", 405, t => SendAsync(t, HttpMethod.Post, "/healthz", key: null, r => r.Content = JsonContent("{}")));
        yield return new("Trace_OnJobs_Returns405", 405, t => RawAsync(t, "TRACE /v1/jobs HTTP/1.1\r\nHost: x\r\n"));
        yield return new("Patch_OnAdminKeys_Returns405", 405, t => SendAsync(t, HttpMethod.Patch, "/admin/keys", t.Admin, r => r.Content = JsonContent("{}")));

        // The hub's handshake.
        yield return new("Negotiate_WithAGarbageBearer_Returns401", 401, t => SendAsync(t, HttpMethod.Post, "/hubs/jobs/negotiate?negotiateVersion=1", "not-a-key"));
        yield return new("Negotiate_WithAGarbageAccessToken_Returns401", 401, t => SendAsync(t, HttpMethod.Post, "/hubs/jobs/negotiate?negotiateVersion=1&access_token=%00%FF%FEgarbage", key: null));
        yield return new("Negotiate_WithAnExpiredKey_Returns401", 401, t => SendAsync(t, HttpMethod.Post, "/hubs/jobs/negotiate?negotiateVersion=1", t.Expired));
        yield return new("HubWebSocketUpgrade_WithAGarbageAccessToken_Returns401", 401, t => RawAsync(
            t,
            "GET /hubs/jobs?id=garbage&access_token=igw_forged HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"));
        yield return new("Negotiate_WithoutAToken_Returns401", 401, t => SendAsync(t, HttpMethod.Post, "/hubs/jobs/negotiate?negotiateVersion=1", key: null));
    }

    private static string Job(string textsJson) => "{\"model\": \"all-minilm-l6-v2\", \"input\": {\"texts\": [" + textsJson + "]}}";

    private static HostileCase Json(string name, string body, int status) => new(name, status, t => PostJsonAsync(t, body, t.Writer));

    private static HostileCase Bytes(string name, byte[] inText, int status) =>
        new(name, status, t => PostBytesAsync(t, [.. "{\"model\": \"all-minilm-l6-v2\", \"input\": {\"texts\": [\"a"u8, .. inText, .. "b\"]}}"u8], "application/json"));

    private static HostileCase Typed(string name, string? contentType, int status) =>
        new(name, status, t => SendAsync(t, HttpMethod.Post, "/v1/jobs", t.Writer, r =>
        {
            r.Content = new ByteArrayContent(Encoding.UTF8.GetBytes(ValidJob));
            if (contentType is not null)
            {
                r.Content.Headers.TryAddWithoutValidation("Content-Type", contentType);
            }
        }));

    private static HostileCase Get(string name, string path, int status) => new(name, status, t => SendAsync(t, HttpMethod.Get, path, t.Writer));

    private static StringContent JsonContent(string body) => new(body, Encoding.UTF8, "application/json");

    private static ByteArrayContent BytesContent(byte[] body, string contentType)
    {
        var content = new ByteArrayContent(body);
        content.Headers.TryAddWithoutValidation("Content-Type", contentType);
        return content;
    }

    private static Task<Answer> PostJsonAsync(Target t, string body, string? key, Action<HttpRequestMessage>? configure = null) =>
        SendAsync(t, HttpMethod.Post, "/v1/jobs", key, r =>
        {
            r.Content = JsonContent(body);
            configure?.Invoke(r);
        });

    private static Task<Answer> PostBytesAsync(Target t, byte[] body, string contentType) =>
        SendAsync(t, HttpMethod.Post, "/v1/jobs", t.Writer, r => r.Content = BytesContent(body, contentType));

    private static async Task<Answer> SendAsync(Target t, HttpMethod method, string path, string? key, Action<HttpRequestMessage>? configure = null)
    {
        using var client = t.Gateway.CreateClient(key);
        using var request = new HttpRequestMessage(method, path);
        configure?.Invoke(request);
        using var response = await client.SendAsync(request);
        return new Answer((int)response.StatusCode, response.Content.Headers.ContentType?.MediaType, await response.Content.ReadAsStringAsync());
    }

    /// <summary>The revocation's eviction reaches the (never expiring) cache within a second: wait for the 401 with a deadline, never a sleep.</summary>
    private static async Task<Answer> RevokedKeyAsync(Target t)
    {
        var deadline = DateTimeOffset.UtcNow.AddSeconds(5);
        while (true)
        {
            var answer = await PostJsonAsync(t, ValidJob, t.Revoked);
            if (answer.Status == 401 || DateTimeOffset.UtcNow > deadline)
            {
                return answer;
            }

            await Task.Delay(50);
        }
    }

    private static Task<Answer> RawPostJobAsync(Target t, string extraHeaders) =>
        RawAsync(
            t,
            $"POST /v1/jobs HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {t.Writer}\r\nContent-Type: application/json\r\nContent-Length: {Encoding.UTF8.GetByteCount(ValidJob)}\r\n{extraHeaders}",
            Encoding.UTF8.GetBytes(ValidJob));

    /// <summary>One request over a raw socket, exactly as written (<paramref name="head"/> without its final empty line); reads the answer to the end.</summary>
    private static async Task<Answer> RawAsync(Target t, string head, byte[]? body = null)
    {
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(t.Gateway.BaseAddress.Host, t.Gateway.BaseAddress.Port);
        var stream = tcp.GetStream();
        await stream.WriteAsync(Encoding.Latin1.GetBytes(head + "Connection: close\r\n\r\n"));
        if (body is not null)
        {
            await stream.WriteAsync(body);
        }

        using var received = new MemoryStream();
        await stream.CopyToAsync(received);
        return ParseResponse(received.ToArray());
    }

    private static Answer ParseResponse(byte[] bytes)
    {
        var text = Encoding.UTF8.GetString(bytes);
        var headEnd = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
        Assert.That(headEnd, Is.GreaterThan(0), $"no complete response: '{text}'");
        var lines = text[..headEnd].Split("\r\n");
        var status = int.Parse(lines[0].Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture);
        var headers = lines.Skip(1).Select(l => l.Split(':', 2)).ToDictionary(p => p[0].Trim(), p => p[1].Trim(), StringComparer.OrdinalIgnoreCase);
        var body = text[(headEnd + 4)..];
        if (headers.TryGetValue("Transfer-Encoding", out var encoding) && encoding.Contains("chunked", StringComparison.OrdinalIgnoreCase))
        {
            var decoded = new StringBuilder();
            var at = 0;
            while (true)
            {
                var lineEnd = body.IndexOf("\r\n", at, StringComparison.Ordinal);
                var size = Convert.ToInt32(body[at..lineEnd], 16);
                if (size == 0)
                {
                    break;
                }

                decoded.Append(body, lineEnd + 2, size);
                at = lineEnd + 2 + size + 2;
            }

            body = decoded.ToString();
        }

        var mediaType = headers.TryGetValue("Content-Type", out var type) ? type.Split(';')[0].Trim() : null;
        return new Answer(status, mediaType, body);
    }

    private async Task AssertHealthyAsync()
    {
        using var client = _gateway.CreateClient();
        using var health = await client.GetAsync("/healthz").WaitAsync(Timeout);
        Assert.That(health.StatusCode, Is.EqualTo(HttpStatusCode.OK), "the gateway must stay healthy");
    }

    private Task<int> QueuedCountAsync() => TestStack.QueuedCountAsync(_queueName);

    /// <summary>A hostile request, the status it must get, and how to send it.</summary>
    public sealed record HostileCase(string Name, int Status, Func<Target, Task<Answer>> Send)
    {
        public override string ToString() => Name;
    }

    /// <summary>What the cases aim at: the gateway, and keys of one tenant (plus an admin) in every state.</summary>
    public sealed record Target(GatewayServer Gateway, string Writer, string Reader, string Expired, string Revoked, string Admin, string JobId);

    /// <summary>An answer, whether it came through HttpClient or a raw socket.</summary>
    public sealed record Answer(int Status, string? MediaType, string Body);
}
