using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using InferenceGateway.Contracts;
using InferenceGateway.Core.Jobs;
using InferenceGateway.Gateway.Auth;
using InferenceGateway.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace InferenceGateway.Tests.Webhooks;

/// <summary>
/// Webhooks against the real gateway on Kestrel, real Redis and the SQS emulator, delivering to a
/// real Kestrel receiver. No worker runs here: a test moves its job on through the job store, as a
/// worker would. Signatures are checked by an implementation of the Standard Webhooks spec written
/// in the test and by the official <c>standardwebhooks</c> npm package.
/// </summary>
[TestFixture]
public sealed class WebhookDeliveryTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    private GatewayServer _gateway = null!;
    private GatewayServer _strict = null!;
    private WebhookReceiver _receiver = null!;
    private RedisJobStore _store = null!;
    private string _outbox = null!;
    private string _strictOutbox = null!;

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        _receiver = await WebhookReceiver.StartAsync();
        _outbox = "webhooks:outbox:" + Guid.NewGuid().ToString("N");
        _strictOutbox = "webhooks:outbox:" + Guid.NewGuid().ToString("N");

        // The receiver is on loopback, which the default policy refuses: this gateway allows 127.0.0.1 only.
        var configuration = Configuration("webhooks", _outbox);
        configuration["Webhooks:AllowedNetworks:0"] = "127.0.0.1/32";
        _gateway = await GatewayServer.StartAsync(configuration);
        _store = _gateway.Services.GetRequiredService<RedisJobStore>();

        // The default policy (not the Development environment): private and loopback targets refused.
        _strict = await GatewayServer.StartAsync(Configuration("webhooks-strict", _strictOutbox));
    }

    [OneTimeTearDown]
    public async Task StopAsync()
    {
        await _strict.DisposeAsync();
        await _gateway.DisposeAsync();
        await _receiver.DisposeAsync();
    }

    /// <summary>Test settings: short delays so retries take milliseconds; a takeover only after a minute.</summary>
    public static Dictionary<string, string?> Configuration(string name, string outbox)
    {
        var configuration = TestStack.Configuration(TestStack.UniqueName(name));
        configuration["Webhooks:Outbox"] = outbox;
        configuration["Webhooks:BaseDelay"] = "00:00:00.050";
        configuration["Webhooks:MaxDelay"] = "00:00:00.200";
        configuration["Webhooks:PollInterval"] = "00:00:00.020";
        configuration["Webhooks:MaxAttempts"] = "4";
        configuration["Webhooks:AttemptTimeout"] = "00:00:05";
        configuration["Webhooks:ClaimAfter"] = "00:01:00";
        configuration["Webhooks:RotationOverlap"] = "01:00:00";
        return configuration;
    }

    [Test]
    public async Task Completed_IsDeliveredOnce_SignedPerStandardWebhooks_VerifiedIndependentlyAndByTheOfficialLibrary()
    {
        var (key, secret) = await TenantAsync(_gateway);
        var path = $"/hooks/{Guid.NewGuid():N}";
        var jobId = await SubmitAsync(_gateway, key, new { url = _receiver.Url(path) });
        await CompleteAsync(jobId);

        await Eventually.HoldsAsync(() => _receiver.At(path).Count >= 1, Timeout, "the completed webhook arrives");
        var deliveries = await WaitForLogAsync(_gateway, key, jobId, d => d.Any(e => e.Outcome == "delivered"));

        var received = _receiver.At(path).Single();
        Assert.That(StandardWebhooksVerifier.Verify(secret, received), Is.True, "independent verification");
        Assert.That(await StandardWebhooksVerifier.VerifyWithOfficialLibraryAsync(secret, received), Is.Null, "the standardwebhooks npm package");
        Assert.That(StandardWebhooksVerifier.Verify("whsec_" + Convert.ToBase64String(new byte[32]), received), Is.False, "another secret does not verify");

        var body = JsonDocument.Parse(received.Body).RootElement;
        Assert.Multiple(() =>
        {
            Assert.That(received.Header("webhook-id"), Is.EqualTo($"msg_{jobId}_3"));
            Assert.That(received.Header("content-type"), Does.StartWith("application/json"));
            Assert.That(received.Header("user-agent"), Does.Contain("InferenceGateway"));
            Assert.That(body.GetProperty("type").GetString(), Is.EqualTo("job.completed"));
            Assert.That(body.GetProperty("timestamp").ValueKind, Is.EqualTo(JsonValueKind.String));
            var data = body.GetProperty("data");
            Assert.That(data.GetProperty("jobId").GetString(), Is.EqualTo(jobId));
            Assert.That(data.GetProperty("seq").GetInt64(), Is.EqualTo(3));
            Assert.That(data.GetProperty("type").GetString(), Is.EqualTo("completed"));
            Assert.That(data.GetProperty("status").GetString(), Is.EqualTo("completed"));
            Assert.That(data.GetProperty("result").GetProperty("dimensions").GetInt32(), Is.EqualTo(3));
            Assert.That(deliveries.Single().Attempt, Is.EqualTo(1));
            Assert.That(deliveries.Single().StatusCode, Is.EqualTo(200));
        });
    }

    [Test]
    public async Task ReceiverFailingTwice_GetsThreeAttempts_WithTheSameWebhookId_FreshlySigned_AndTheLogShowsRetryingRetryingDelivered()
    {
        var (key, secret) = await TenantAsync(_gateway);
        var path = $"/fail-twice/{Guid.NewGuid():N}";
        var jobId = await SubmitAsync(_gateway, key, new { url = _receiver.Url(path), events = new[] { "completed" } });
        await CompleteAsync(jobId);

        var deliveries = await WaitForLogAsync(_gateway, key, jobId, d => d.Any(e => e.Outcome is "delivered" or "failed"));

        var received = _receiver.At(path);
        Assert.That(received, Has.Count.EqualTo(3));
        Assert.That(received.Select(r => r.Header("webhook-id")).Distinct(), Is.EqualTo(new[] { $"msg_{jobId}_3" }));
        Assert.That(received.Select(r => StandardWebhooksVerifier.Verify(secret, r)), Is.All.True, "each attempt is signed with its own timestamp");
        Assert.That(received.Select(r => long.Parse(r.Header("webhook-timestamp"), System.Globalization.CultureInfo.InvariantCulture)), Is.Ordered);
        Assert.That(received.Select(r => r.Body).Distinct().Count(), Is.EqualTo(1), "the same body on every attempt");
        Assert.That(deliveries.Select(d => d.Outcome), Is.EqualTo(new[] { "retrying", "retrying", "delivered" }));
        Assert.That(deliveries.Select(d => d.Attempt), Is.EqualTo(new[] { 1, 2, 3 }));
        Assert.That(deliveries.Select(d => d.StatusCode), Is.EqualTo(new int?[] { 500, 500, 200 }));
        Assert.That(deliveries.Select(d => d.WebhookId), Is.All.EqualTo($"msg_{jobId}_3"));
    }

    [Test]
    public async Task FilterCompletedAndFailed_DeliversOnlyTheEnd_AndAll_DeliversEveryEventInSeqOrder()
    {
        var (key, _) = await TenantAsync(_gateway);
        var endOnly = $"/hooks/{Guid.NewGuid():N}";
        var every = $"/hooks/{Guid.NewGuid():N}";
        var failedOnly = $"/hooks/{Guid.NewGuid():N}";
        var endJob = await SubmitAsync(_gateway, key, new { url = _receiver.Url(endOnly), events = new[] { "completed", "failed" } });
        var allJob = await SubmitAsync(_gateway, key, new { url = _receiver.Url(every), events = "all" });
        var failedJob = await SubmitAsync(_gateway, key, new { url = _receiver.Url(failedOnly), events = new[] { "failed" } });
        await CompleteAsync(endJob, progress: true);
        await CompleteAsync(allJob, progress: true);
        await _store.FailAsync(failedJob, new JobError("model_error", "it broke"));

        // One job's events go out in seq order, so once the last one is in, none before it is still coming.
        await Eventually.HoldsAsync(() => _receiver.At(endOnly).Count >= 1, Timeout, "the completed webhook arrives");
        await Eventually.HoldsAsync(() => _receiver.At(every).Any(r => r.Body.Contains("job.completed", StringComparison.Ordinal)), Timeout, "every event arrives");
        await Eventually.HoldsAsync(() => _receiver.At(failedOnly).Count >= 1, Timeout, "the failed webhook arrives");

        Assert.That(_receiver.At(endOnly).Select(Type), Is.EqualTo(new[] { "job.completed" }));
        Assert.That(_receiver.At(every).Select(Type), Is.EqualTo(new[] { "job.queued", "job.started", "job.progress", "job.completed" }));
        Assert.That(_receiver.At(every).Select(r => Data(r).GetProperty("seq").GetInt64()), Is.EqualTo(new long[] { 1, 2, 3, 4 }));
        var failed = Data(_receiver.At(failedOnly).Single());
        Assert.That(failed.GetProperty("status").GetString(), Is.EqualTo("failed"));
        Assert.That(failed.GetProperty("error").GetProperty("code").GetString(), Is.EqualTo("model_error"));

        using var client = _gateway.CreateClient(key);
        var view = JsonDocument.Parse(await client.GetStringAsync($"/v1/jobs/{allJob}").WaitAsync(Timeout)).RootElement;
        Assert.That(view.GetProperty("webhook").GetProperty("url").GetString(), Is.EqualTo(_receiver.Url(every)));
        Assert.That(view.GetProperty("webhook").GetProperty("events").EnumerateArray().Select(e => e.GetString()), Is.EqualTo(new[] { "all" }));
    }

    [Test]
    public async Task ACancelledJob_DeliversCancelled_ByTheDefaultFilter()
    {
        var (key, _) = await TenantAsync(_gateway);
        var path = $"/hooks/{Guid.NewGuid():N}";
        var jobId = await SubmitAsync(_gateway, key, new { url = _receiver.Url(path) });
        using var client = _gateway.CreateClient(key);
        using var cancel = await client.DeleteAsync($"/v1/jobs/{jobId}").WaitAsync(Timeout);
        Assert.That(cancel.StatusCode, Is.EqualTo(HttpStatusCode.OK));

        await Eventually.HoldsAsync(() => _receiver.At(path).Count >= 1, Timeout, "the cancelled webhook arrives");
        Assert.That(_receiver.At(path).Select(Type), Is.EqualTo(new[] { "job.cancelled" }));
    }

    [Test]
    public async Task ARedirect_IsNotFollowed_TheTargetGetsNothing_AndTheLogSaysSo()
    {
        var (key, _) = await TenantAsync(_gateway);
        var id = Guid.NewGuid().ToString("N");
        var jobId = await SubmitAsync(_gateway, key, new { url = _receiver.Url($"/redirect/{id}") });
        await CompleteAsync(jobId);

        var deliveries = await WaitForLogAsync(_gateway, key, jobId, d => d.Count > 0);

        Assert.That(deliveries, Has.Count.EqualTo(1), "a redirect is not retried");
        Assert.That(deliveries[0].Outcome, Is.EqualTo("failed"));
        Assert.That(deliveries[0].StatusCode, Is.EqualTo(302));
        Assert.That(deliveries[0].Error, Does.Contain("redirect not followed").And.Contain($"/redirect-target/{id}"));
        Assert.That(_receiver.At($"/redirect/{id}"), Has.Count.EqualTo(1));
        Assert.That(_receiver.At($"/redirect-target/{id}"), Is.Empty);
    }

    [Test]
    public async Task A4xxAnswer_IsNotRetried_AndLoggedFailed()
    {
        var (key, _) = await TenantAsync(_gateway);
        var path = $"/gone/{Guid.NewGuid():N}";
        var jobId = await SubmitAsync(_gateway, key, new { url = _receiver.Url(path) });
        await CompleteAsync(jobId);

        var deliveries = await WaitForLogAsync(_gateway, key, jobId, d => d.Count > 0);

        Assert.That(deliveries.Select(d => (d.Outcome, d.StatusCode)), Is.EqualTo(new[] { ("failed", (int?)410) }));
        Assert.That(deliveries[0].Error, Does.Contain("410").And.Contain("not retried"));
        Assert.That(_receiver.At(path), Has.Count.EqualTo(1));
    }

    [Test]
    public async Task AStoredWebhookThatCannotBeDelivered_IsDroppedFromTheOutbox_NotRetriedForever()
    {
        var jobId = await CreateJobDirectlyAsync(_outbox, "this is not a url", "tenant-" + Guid.NewGuid().ToString("N"));
        await CompleteAsync(jobId);
        var db = TestStack.Multiplexer.GetDatabase();

        await Eventually.HoldsAsync(
            async () => (await db.StreamRangeAsync(_outbox)).All(e => e["job"] != jobId),
            Timeout,
            "the entry is acknowledged and deleted");
        Assert.That(await _gateway.Services.GetRequiredService<InferenceGateway.Gateway.Webhooks.WebhookDeliveryLog>().ReadAsync(jobId), Is.Empty);
    }

    [Test]
    public async Task AJobWithoutAWebhook_HasAnEmptyDeliveryLog_AndNoWebhookInItsView()
    {
        var (key, _) = await TenantAsync(_gateway);
        var jobId = await _gateway.SubmitJobAsync(key, "no webhook");
        using var client = _gateway.CreateClient(key);

        var log = JsonDocument.Parse(await client.GetStringAsync($"/v1/jobs/{jobId}/webhooks").WaitAsync(Timeout)).RootElement;
        var view = JsonDocument.Parse(await client.GetStringAsync($"/v1/jobs/{jobId}").WaitAsync(Timeout)).RootElement;

        Assert.That(log.GetProperty("url").ValueKind, Is.EqualTo(JsonValueKind.Null));
        Assert.That(log.GetProperty("deliveries").GetArrayLength(), Is.Zero);
        Assert.That(view.TryGetProperty("webhook", out _), Is.False);
    }

    [Test]
    public async Task TheSameIdempotencyKey_WithAnotherWebhook_Is422()
    {
        var (key, _) = await TenantAsync(_gateway);
        using var client = _gateway.CreateClient(key);
        var idempotencyKey = Guid.NewGuid().ToString("N");

        async Task<HttpStatusCode> SubmitWithKeyAsync(string url)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/jobs")
            {
                Content = JsonContent(new { model = "all-minilm-l6-v2", input = new { texts = new[] { "same" } }, webhook = new { url } }),
            };
            request.Headers.Add("Idempotency-Key", idempotencyKey);
            using var response = await client.SendAsync(request).WaitAsync(Timeout);
            return response.StatusCode;
        }

        Assert.That(await SubmitWithKeyAsync(_receiver.Url("/hooks/a")), Is.EqualTo(HttpStatusCode.Accepted));
        Assert.That(await SubmitWithKeyAsync(_receiver.Url("/hooks/a")), Is.EqualTo(HttpStatusCode.Accepted));
        Assert.That(await SubmitWithKeyAsync(_receiver.Url("/hooks/b")), Is.EqualTo(HttpStatusCode.UnprocessableEntity));
    }

    [Test]
    public async Task AReceiverThatIsDown_IsRetriedUpToMaxAttempts_ThenLoggedFailed_AndTheJobIsUnaffected()
    {
        var (key, _) = await TenantAsync(_gateway);
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop(); // nothing listens there now: connection refused
        var jobId = await SubmitAsync(_gateway, key, new { url = $"http://127.0.0.1:{port}/down" });
        await CompleteAsync(jobId);

        var deliveries = await WaitForLogAsync(_gateway, key, jobId, d => d.Any(e => e.Outcome == "failed"));

        Assert.That(deliveries.Select(d => d.Outcome), Is.EqualTo(new[] { "retrying", "retrying", "retrying", "failed" }), "Webhooks:MaxAttempts is 4 here");
        Assert.That(deliveries.Select(d => d.StatusCode), Is.All.Null);
        Assert.That(deliveries[^1].Error, Does.Contain("gave up after 4 attempts"));
        using var client = _gateway.CreateClient(key);
        var job = JsonDocument.Parse(await client.GetStringAsync($"/v1/jobs/{jobId}").WaitAsync(Timeout)).RootElement;
        Assert.That(job.GetProperty("status").GetString(), Is.EqualTo("completed"));
        Assert.That(job.GetProperty("result").GetProperty("dimensions").GetInt32(), Is.EqualTo(3));
    }

    [Test]
    public async Task Secret_GetCreatesOnceAndRepeats_PostRotates_DuringTheOverlapBothSecretsVerify_AndTenantsDiffer()
    {
        var tenant = TestStack.UniqueName("tenant");
        var key = await _gateway.CreateKeyAsync(tenant, Scopes.JobsRead, Scopes.JobsWrite, Scopes.Webhooks);
        using var client = _gateway.CreateClient(key);
        var first = await SecretAsync(client, HttpMethod.Get);
        var again = await SecretAsync(client, HttpMethod.Get);
        Assert.That(first.GetProperty("secret").GetString(), Does.Match("^whsec_[A-Za-z0-9+/]{43}=$"));
        Assert.That(again.GetProperty("secret").GetString(), Is.EqualTo(first.GetProperty("secret").GetString()));
        Assert.That(Convert.FromBase64String(first.GetProperty("secret").GetString()!["whsec_".Length..]), Has.Length.EqualTo(32));

        var (_, otherSecret) = await TenantAsync(_gateway);
        Assert.That(otherSecret, Is.Not.EqualTo(first.GetProperty("secret").GetString()));

        var rotated = await SecretAsync(client, HttpMethod.Post);
        var oldSecret = first.GetProperty("secret").GetString()!;
        var newSecret = rotated.GetProperty("secret").GetString()!;
        Assert.That(newSecret, Is.Not.EqualTo(oldSecret));
        Assert.That(rotated.GetProperty("previousSecretExpiresAt").GetDateTimeOffset(), Is.GreaterThan(DateTimeOffset.UtcNow));
        Assert.That((await SecretAsync(client, HttpMethod.Get)).GetProperty("secret").GetString(), Is.EqualTo(newSecret));

        var path = $"/hooks/{Guid.NewGuid():N}";
        var jobId = await SubmitAsync(_gateway, key, new { url = _receiver.Url(path) });
        await CompleteAsync(jobId);
        await Eventually.HoldsAsync(() => _receiver.At(path).Count >= 1, Timeout, "the webhook arrives");

        var received = _receiver.At(path).Single();
        var signatures = received.Header("webhook-signature").Split(' ');
        Assert.That(signatures, Has.Length.EqualTo(2));
        Assert.That(StandardWebhooksVerifier.Verify(newSecret, received with { Headers = WithSignature(received, signatures[0]) }), Is.True, "the first signature is the new secret's");
        Assert.That(StandardWebhooksVerifier.Verify(oldSecret, received with { Headers = WithSignature(received, signatures[1]) }), Is.True, "the second is the previous secret's");
        Assert.That(await StandardWebhooksVerifier.VerifyWithOfficialLibraryAsync(newSecret, received), Is.Null);
        Assert.That(await StandardWebhooksVerifier.VerifyWithOfficialLibraryAsync(oldSecret, received), Is.Null);
    }

    [Test]
    public async Task Secret_NeedsTheWebhooksScope_AndTheDeliveryLogIsTheOwnersOnly()
    {
        var jobsOnly = await _gateway.CreateKeyAsync(TestStack.UniqueName("tenant"), Scopes.JobsRead, Scopes.JobsWrite);
        using var client = _gateway.CreateClient(jobsOnly);
        using var get = await client.GetAsync("/v1/webhooks/secret").WaitAsync(Timeout);
        using var post = await client.PostAsync("/v1/webhooks/secret", null).WaitAsync(Timeout);
        Assert.That(get.StatusCode, Is.EqualTo(HttpStatusCode.Forbidden));
        Assert.That(post.StatusCode, Is.EqualTo(HttpStatusCode.Forbidden));

        var (owner, _) = await TenantAsync(_gateway);
        var jobId = await SubmitAsync(_gateway, owner, new { url = _receiver.Url($"/hooks/{Guid.NewGuid():N}") });
        using var other = await client.GetAsync($"/v1/jobs/{jobId}/webhooks").WaitAsync(Timeout);
        Assert.That(other.StatusCode, Is.EqualTo(HttpStatusCode.NotFound));
        Assert.That(other.Content.Headers.ContentType?.MediaType, Is.EqualTo("application/problem+json"));
    }

    [TestCase("http://127.0.0.1:9/hook", TestName = "Refused_Loopback")]
    [TestCase("http://2130706433/hook", TestName = "Refused_LoopbackAsADecimalNumber")]
    [TestCase("http://169.254.169.254/latest/meta-data/", TestName = "Refused_CloudMetadata")]
    [TestCase("http://[::1]/hook", TestName = "Refused_Ipv6Loopback")]
    [TestCase("http://[::ffff:127.0.0.1]/hook", TestName = "Refused_Ipv4MappedLoopback")]
    [TestCase("http://10.0.0.1/hook", TestName = "Refused_Rfc1918")]
    [TestCase("http://192.168.1.1/hook", TestName = "Refused_Rfc1918Class_C")]
    [TestCase("http://[fd00::1]/hook", TestName = "Refused_UniqueLocalIpv6")]
    [TestCase("http://0.0.0.0/hook", TestName = "Refused_Unspecified")]
    [TestCase("http://localhost/hook", TestName = "Refused_AHostNameResolvingToLoopback")]
    public async Task PrivateTarget_WithTheDefaultPolicy_Is400ProblemJson(string url)
    {
        var (key, _) = await TenantAsync(_strict);
        var (status, problem) = await TrySubmitAsync(_strict, key, new { url });

        Assert.That(status, Is.EqualTo(HttpStatusCode.BadRequest), problem.ToString());
        Assert.That(problem.GetProperty("errors").GetProperty("webhook.url")[0].GetString(), Does.Contain("not an allowed webhook target"));
    }

    [Test]
    public async Task AHostNameResolvingToAPrivateAddress_IsRefusedWithoutShowingTheAddress()
    {
        var (key, _) = await TenantAsync(_strict);
        var (status, problem) = await TrySubmitAsync(_strict, key, new { url = "http://localhost/hook" });

        var error = problem.GetProperty("errors").GetProperty("webhook.url")[0].GetString();
        Assert.That(status, Is.EqualTo(HttpStatusCode.BadRequest), problem.ToString());
        Assert.That(error, Does.Contain("'localhost' resolves to an address webhooks may not reach"));
        Assert.That(error, Does.Not.Contain("127.0.0.1").And.Not.Contain("::1"));
    }

    [Test]
    public async Task AHostNameLongerThan253Characters_Is400_NotA500()
    {
        var (key, _) = await TenantAsync(_gateway);
        var label = new string('a', 63);
        var (status, problem) = await TrySubmitAsync(_gateway, key, new { url = $"http://{label}.{label}.{label}.{label}.{label}/hook" });

        Assert.That(status, Is.EqualTo(HttpStatusCode.BadRequest), problem.ToString());
        Assert.That(problem.GetProperty("errors").GetProperty("webhook.url")[0].GetString(), Does.Contain("253"));
    }

    [Test]
    public async Task AUrlLongerThan2048OnceNormalised_Is400()
    {
        var (key, _) = await TenantAsync(_gateway);
        var url = "http://127.0.0.1/" + new string('é', 400); // 417 characters as sent, each é escaped to six
        var (status, problem) = await TrySubmitAsync(_gateway, key, new { url });

        Assert.That(status, Is.EqualTo(HttpStatusCode.BadRequest), problem.ToString());
        Assert.That(problem.GetProperty("errors").GetProperty("webhook.url")[0].GetString(), Does.Contain("2048").And.Contain("normalised"));
    }

    [Test]
    public async Task TheConnectTimeCheck_RefusesAStoredTargetThePolicyNowDenies_AndNothingReachesTheReceiver()
    {
        // Stored as if accepted under a laxer policy; the strict gateway's dispatcher must still refuse it.
        var (_, _) = await TenantAsync(_strict);
        var path = $"/hooks/{Guid.NewGuid():N}";
        var jobId = await CreateJobDirectlyAsync(_strictOutbox, _receiver.Url(path), "tenant-" + Guid.NewGuid().ToString("N"));
        await CompleteAsync(jobId);

        var log = _strict.Services.GetRequiredService<InferenceGateway.Gateway.Webhooks.WebhookDeliveryLog>();
        await Eventually.HoldsAsync(async () => (await log.ReadAsync(jobId)).Count > 0, Timeout, "the delivery is logged");
        var deliveries = await log.ReadAsync(jobId);

        Assert.That(deliveries.Select(d => d.Outcome), Is.EqualTo(new[] { "refused" }), "a refusal is not retried");
        Assert.That(deliveries[0].Error, Does.Contain("127.0.0.1"));
        Assert.That(_receiver.At(path), Is.Empty);
    }

    [Test]
    public async Task TheConnectTimeCheck_ResolvesTheHostNameItself_AndRefusesWhenAnAddressIsDenied()
    {
        // The name is resolved again when connecting; what it resolves to then (loopback) is refused.
        var path = $"/hooks/{Guid.NewGuid():N}";
        var jobId = await CreateJobDirectlyAsync(_strictOutbox, $"http://localhost:{_receiver.Address.Port}{path}", "tenant-" + Guid.NewGuid().ToString("N"));
        await CompleteAsync(jobId);

        var log = _strict.Services.GetRequiredService<InferenceGateway.Gateway.Webhooks.WebhookDeliveryLog>();
        await Eventually.HoldsAsync(async () => (await log.ReadAsync(jobId)).Count > 0, Timeout, "the delivery is logged");
        var deliveries = await log.ReadAsync(jobId);

        Assert.That(deliveries.Select(d => d.Outcome), Is.EqualTo(new[] { "refused" }));
        Assert.That(deliveries[0].Error, Does.Contain("'localhost' resolves to an address webhooks may not reach"));
        Assert.That(deliveries[0].Error, Does.Not.Contain("127.0.0.1"), "the log is the tenant's to read: no internal addresses");
        Assert.That(_receiver.At(path), Is.Empty);
    }

    [TestCase("""{"url":"not a url"}""", "webhook.url", TestName = "Hostile_NotAUrl")]
    [TestCase("""{"url":"/relative/path"}""", "webhook.url", TestName = "Hostile_RelativeUrl")]
    [TestCase("""{"url":"ftp://example.com/hook"}""", "webhook.url", TestName = "Hostile_FtpScheme")]
    [TestCase("""{"url":"file:///etc/passwd"}""", "webhook.url", TestName = "Hostile_FileScheme")]
    [TestCase("""{"url":"javascript:alert(1)"}""", "webhook.url", TestName = "Hostile_JavascriptScheme")]
    [TestCase("""{"url":"http://user:pass@127.0.0.1/hook"}""", "webhook.url", TestName = "Hostile_UserInfo")]
    [TestCase("""{}""", "webhook.url", TestName = "Hostile_NoUrl")]
    [TestCase("""{"url":"http://127.0.0.1/hook","events":["bogus"]}""", "webhook.events", TestName = "Hostile_UnknownEventType")]
    [TestCase("""{"url":"http://127.0.0.1/hook","events":[]}""", "webhook.events", TestName = "Hostile_NoEvents")]
    [TestCase("""{"url":"http://127.0.0.1/hook","events":42}""", "webhook.events", TestName = "Hostile_EventsANumber")]
    [TestCase("""{"url":"http://127.0.0.1/hook","events":"some"}""", "webhook.events", TestName = "Hostile_EventsAnotherString")]
    [TestCase("""{"url":"http://127.0.0.1/hook","events":[null]}""", "webhook.events", TestName = "Hostile_EventsNull")]
    [TestCase("""{"url":"http://127.0.0.1/hook","events":["all","bogus"]}""", "webhook.events", TestName = "Hostile_AllThenAnUnknownType")]
    [TestCase("""{"url":"http://127.0.0.1/hook","events":["completed","all"]}""", "webhook.events", TestName = "Hostile_AllMixedWithATypes")]
    public async Task HostileWebhook_Is400ProblemJson_NamingTheField(string webhookJson, string field)
    {
        var (key, _) = await TenantAsync(_gateway);
        var (status, problem) = await TrySubmitRawAsync(_gateway, key, webhookJson);

        Assert.That(status, Is.EqualTo(HttpStatusCode.BadRequest), problem.ToString());
        Assert.That(problem.GetProperty("errors").TryGetProperty(field, out _), Is.True, problem.ToString());
    }

    [TestCase("""{"url":"http://127.0.0.1/hook","secret":"x"}""", TestName = "Hostile_UnknownMember")]
    [TestCase("""{"url":42}""", TestName = "Hostile_UrlANumber")]
    [TestCase("\"http://127.0.0.1/hook\"", TestName = "Hostile_WebhookAString")]
    public async Task MalformedWebhook_Is400ProblemJson(string webhookJson)
    {
        var (key, _) = await TenantAsync(_gateway);
        var (status, problem) = await TrySubmitRawAsync(_gateway, key, webhookJson);

        Assert.That(status, Is.EqualTo(HttpStatusCode.BadRequest), problem.ToString());
        Assert.That(problem.GetProperty("detail").GetString(), Does.Contain("$.webhook"));
    }

    [Test]
    public async Task AUrlLongerThan2048_Is400()
    {
        var (key, _) = await TenantAsync(_gateway);
        var url = "http://127.0.0.1/" + new string('a', 2048);
        var (status, problem) = await TrySubmitAsync(_gateway, key, new { url });

        Assert.That(status, Is.EqualTo(HttpStatusCode.BadRequest));
        Assert.That(problem.GetProperty("errors").GetProperty("webhook.url")[0].GetString(), Does.Contain("2048"));
    }

    private static StringContent JsonContent(object value) =>
        new(JsonSerializer.Serialize(value), System.Text.Encoding.UTF8, "application/json");

    private static string Type(ReceivedWebhook webhook) => JsonDocument.Parse(webhook.Body).RootElement.GetProperty("type").GetString()!;

    private static JsonElement Data(ReceivedWebhook webhook) => JsonDocument.Parse(webhook.Body).RootElement.GetProperty("data").Clone();

    private static Dictionary<string, string> WithSignature(ReceivedWebhook webhook, string signature) =>
        new(webhook.Headers, StringComparer.OrdinalIgnoreCase) { ["webhook-signature"] = signature };

    /// <summary>A fresh tenant with a key that may submit jobs and read the webhook secret, and that secret.</summary>
    public static async Task<(string Key, string Secret)> TenantAsync(GatewayServer gateway)
    {
        var key = await gateway.CreateKeyAsync(TestStack.UniqueName("tenant"), Scopes.JobsRead, Scopes.JobsWrite, Scopes.Webhooks);
        using var client = gateway.CreateClient(key);
        var secret = await SecretAsync(client, HttpMethod.Get);
        return (key, secret.GetProperty("secret").GetString()!);
    }

    private static async Task<JsonElement> SecretAsync(HttpClient client, HttpMethod method)
    {
        using var response = await client.SendAsync(new HttpRequestMessage(method, "/v1/webhooks/secret")).WaitAsync(Timeout);
        var body = await response.Content.ReadAsStringAsync();
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), body);
        return JsonDocument.Parse(body).RootElement.Clone();
    }

    public static async Task<string> SubmitAsync(GatewayServer gateway, string key, object webhook)
    {
        var (status, body) = await TrySubmitAsync(gateway, key, webhook);
        Assert.That(status, Is.EqualTo(HttpStatusCode.Accepted), body.ToString());
        Assert.That(body.GetProperty("webhook").GetProperty("url").GetString(), Is.Not.Empty);
        return body.GetProperty("id").GetString()!;
    }

    private static async Task<(HttpStatusCode, JsonElement)> TrySubmitAsync(GatewayServer gateway, string key, object webhook) =>
        await TrySubmitRawAsync(gateway, key, JsonSerializer.Serialize(webhook));

    private static async Task<(HttpStatusCode, JsonElement)> TrySubmitRawAsync(GatewayServer gateway, string key, string webhookJson)
    {
        using var client = gateway.CreateClient(key);
        using var content = new StringContent(
            $$"""{"model":"all-minilm-l6-v2","input":{"texts":["hello"]},"webhook":{{webhookJson}}}""",
            System.Text.Encoding.UTF8,
            "application/json");
        using var response = await client.PostAsync("/v1/jobs", content).WaitAsync(Timeout);
        var text = await response.Content.ReadAsStringAsync();
        if (response.StatusCode != HttpStatusCode.Accepted)
        {
            Assert.That(response.Content.Headers.ContentType?.MediaType, Is.EqualTo("application/problem+json"), text);
        }

        return (response.StatusCode, JsonDocument.Parse(text).RootElement.Clone());
    }

    /// <summary>Writes a job record with a webhook straight into the store, bypassing the submit-time check.</summary>
    private async Task<string> CreateJobDirectlyAsync(string outbox, string url, string tenant)
    {
        var jobId = "job_" + Guid.NewGuid().ToString("N");
        var created = await _store.CreateAsync(jobId, tenant, "all-minilm-l6-v2", DateTimeOffset.UtcNow, new JobWebhook(url, ["completed"], outbox));
        Assert.That(created.Outcome, Is.EqualTo(AppendOutcome.Appended));
        return jobId;
    }

    /// <summary>Moves a job on as a worker would: started, optionally a progress event, completed with a result.</summary>
    private async Task CompleteAsync(string jobId, bool progress = false)
    {
        var now = RedisJobStore.Format(DateTimeOffset.UtcNow);
        await _store.AppendAsync(jobId, JobEventTypes.Started, null, [new(JobFields.Status, JobStatuses.Running), new(JobFields.StartedAt, now)]);
        if (progress)
        {
            await _store.AppendAsync(jobId, JobEventTypes.Progress, """{"done":1,"total":1}""", []);
        }

        const string Result = """{"model":"all-minilm-l6-v2","dimensions":3,"embeddings":[[1,0,0]]}""";
        var completed = await _store.AppendAsync(
            jobId,
            JobEventTypes.Completed,
            $$"""{"result":{{Result}}}""",
            [new(JobFields.Status, JobStatuses.Completed), new(JobFields.Result, Result), new(JobFields.CompletedAt, now)]);
        Assert.That(completed.Outcome, Is.EqualTo(AppendOutcome.Appended));
    }

    /// <summary>Reads <c>GET /v1/jobs/{id}/webhooks</c> until <paramref name="done"/> holds for its deliveries.</summary>
    public static async Task<List<Delivery>> WaitForLogAsync(GatewayServer gateway, string key, string jobId, Func<List<Delivery>, bool> done)
    {
        using var client = gateway.CreateClient(key);
        List<Delivery> deliveries = [];
        await Eventually.HoldsAsync(
            async () =>
            {
                var view = JsonDocument.Parse(await client.GetStringAsync($"/v1/jobs/{jobId}/webhooks")).RootElement;
                Assert.That(view.GetProperty("jobId").GetString(), Is.EqualTo(jobId));
                deliveries = [.. view.GetProperty("deliveries").EnumerateArray().Select(Delivery.From)];
                return done(deliveries);
            },
            Timeout,
            $"the delivery log of {jobId}");
        return deliveries;
    }

    /// <summary>One entry of the delivery log, as the API shows it.</summary>
    public sealed record Delivery(string WebhookId, long Seq, string EventType, int Attempt, int? StatusCode, string Outcome, string? Error)
    {
        public static Delivery From(JsonElement e) => new(
            e.GetProperty("webhookId").GetString()!,
            e.GetProperty("seq").GetInt64(),
            e.GetProperty("eventType").GetString()!,
            e.GetProperty("attempt").GetInt32(),
            e.GetProperty("statusCode").ValueKind == JsonValueKind.Number ? e.GetProperty("statusCode").GetInt32() : null,
            e.GetProperty("outcome").GetString()!,
            e.GetProperty("error").GetString());
    }
}
