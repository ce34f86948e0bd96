using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

namespace InferenceGateway.FaultSoak;

/// <summary>
/// The clients' side of the soak over HTTP: submits that go to either gateway and, on a connection
/// error, a timeout, <c>409</c>, <c>429</c> or <c>5xx</c>, try again with the same Idempotency-Key
/// (so a gateway killed mid-request is not a loss the client sees); reads and cancels.
/// </summary>
internal sealed class SoakClient : IDisposable
{
    private static readonly TimeSpan SubmitDeadline = TimeSpan.FromSeconds(90);

    private readonly Uri[] _gateways;
    private readonly HttpClient _http;

    public SoakClient(IEnumerable<int> gatewayPorts)
    {
        _gateways = [.. gatewayPorts.Select(p => new Uri($"http://127.0.0.1:{p}"))];
        _http = new HttpClient(new SocketsHttpHandler
        {
            ConnectTimeout = TimeSpan.FromSeconds(2),
            PooledConnectionLifetime = TimeSpan.FromSeconds(30),
            MaxConnectionsPerServer = 256,
        })
        {
            Timeout = TimeSpan.FromSeconds(15),
        };
    }

    public IReadOnlyList<Uri> Gateways => _gateways;

    public HttpClient Http => _http;

    /// <summary>
    /// POST /v1/jobs until a <c>202</c>, alternating gateways on failures; every answered id goes to
    /// <paramref name="answered"/>. Null when no gateway accepted it within the deadline (the client
    /// never held a 202: not a loss), with the last failure.
    /// </summary>
    public async Task<(string? Id, string? Failure)> SubmitAsync(string key, string body, string idempotencyKey, int gateway, Action<string>? answered, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        var delay = TimeSpan.FromMilliseconds(100);
        string? failure = null;
        for (var attempt = 0; clock.Elapsed < SubmitDeadline; attempt++)
        {
            var target = _gateways[(gateway + attempt) % _gateways.Length];
            try
            {
                using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(target, "/v1/jobs"))
                {
                    Content = new StringContent(body, Encoding.UTF8, "application/json"),
                };
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
                request.Headers.Add("Idempotency-Key", idempotencyKey);
                using var response = await _http.SendAsync(request, cancellationToken);
                var text = await response.Content.ReadAsStringAsync(cancellationToken);
                if (response.StatusCode == HttpStatusCode.Accepted)
                {
                    var id = JsonDocument.Parse(text).RootElement.GetProperty("id").GetString()!;
                    answered?.Invoke(id);
                    return (id, null);
                }

                failure = $"{(int)response.StatusCode} {Truncate(text)}";
                var status = (int)response.StatusCode;
                if (status is not (409 or 429) && status < 500)
                {
                    return (null, failure); // refused for good: a bug in the soak's request
                }
            }
            catch (Exception ex) when (ex is HttpRequestException or IOException || (ex is TaskCanceledException && !cancellationToken.IsCancellationRequested))
            {
                failure = ex.GetType().Name + ": " + ex.Message;
            }

            await Task.Delay(delay, cancellationToken);
            delay = TimeSpan.FromMilliseconds(Math.Min(delay.TotalMilliseconds * 2, 2000));
        }

        return (null, failure);
    }

    /// <summary>GET /v1/jobs/{id}: its status, "404", or null when no gateway answered.</summary>
    public async Task<(string? Status, JsonElement? Job)> GetAsync(string key, string id, int gateway, CancellationToken cancellationToken)
    {
        for (var attempt = 0; attempt < _gateways.Length; attempt++)
        {
            try
            {
                using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(_gateways[(gateway + attempt) % _gateways.Length], $"/v1/jobs/{id}"));
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
                using var response = await _http.SendAsync(request, cancellationToken);
                if (response.StatusCode == HttpStatusCode.NotFound)
                {
                    return ("404", null);
                }

                if (response.IsSuccessStatusCode)
                {
                    var job = JsonDocument.Parse(await response.Content.ReadAsStringAsync(cancellationToken)).RootElement.Clone();
                    return (job.GetProperty("status").GetString(), job);
                }
            }
            catch (Exception ex) when (ex is HttpRequestException or IOException || (ex is TaskCanceledException && !cancellationToken.IsCancellationRequested))
            {
                // The other gateway.
            }
        }

        return (null, null);
    }

    /// <summary>DELETE /v1/jobs/{id}, retried on either gateway until a 200, 202, 404 or 409 (or 20 s).</summary>
    public async Task<int> CancelAsync(string key, string id, int gateway, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        for (var attempt = 0; clock.Elapsed < TimeSpan.FromSeconds(20); attempt++)
        {
            try
            {
                using var request = new HttpRequestMessage(HttpMethod.Delete, new Uri(_gateways[(gateway + attempt) % _gateways.Length], $"/v1/jobs/{id}"));
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
                using var response = await _http.SendAsync(request, cancellationToken);
                var status = (int)response.StatusCode;
                if (status is 200 or 202 or 404 or 409)
                {
                    return status;
                }
            }
            catch (Exception ex) when (ex is HttpRequestException or IOException || (ex is TaskCanceledException && !cancellationToken.IsCancellationRequested))
            {
                // Try again.
            }

            await Task.Delay(250, cancellationToken);
        }

        return 0;
    }

    /// <summary>
    /// POST /v1/chat/completions with <c>stream: true</c>, read to <c>[DONE]</c>. Returns the job id
    /// (<c>X-Job-Id</c>), whether the stream ended with <c>[DONE]</c>, the failure, and whether it
    /// was refused outright (connection refused, or <c>429</c>, <c>5xx</c> without a job: safe to
    /// send again; a chat completion takes no Idempotency-Key, so nothing else is retried).
    /// </summary>
    public async Task<(string? JobId, bool Done, string? Failure, bool Refused)> ChatStreamAsync(string key, string body, int gateway, Action<string> accepted, CancellationToken cancellationToken)
    {
        string? jobId = null;
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(_gateways[gateway % _gateways.Length], "/v1/chat/completions"))
            {
                Content = new StringContent(body, Encoding.UTF8, "application/json"),
            };
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(TimeSpan.FromSeconds(120));
            using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token);
            jobId = response.Headers.TryGetValues("X-Job-Id", out var ids) ? ids.FirstOrDefault() : null;
            if (jobId is not null)
            {
                accepted(jobId); // in the ledger from its first byte on, whatever happens to the stream
            }

            if (!response.IsSuccessStatusCode)
            {
                var status = (int)response.StatusCode;
                return (jobId, false, $"{status} {Truncate(await response.Content.ReadAsStringAsync(timeout.Token))}", jobId is null && (status == 429 || status >= 500));
            }

            using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(timeout.Token));
            while (await reader.ReadLineAsync(timeout.Token) is { } line)
            {
                if (line == "data: [DONE]")
                {
                    return (jobId, true, null, false);
                }
            }

            return (jobId, false, "the stream ended without [DONE]", false);
        }
        catch (Exception ex) when (ex is HttpRequestException or IOException or OperationCanceledException)
        {
            // Connection refused: nothing was sent (the gateway is down), so the other one may take it.
            var refused = jobId is null && ex is HttpRequestException { InnerException: System.Net.Sockets.SocketException { SocketErrorCode: System.Net.Sockets.SocketError.ConnectionRefused } };
            return (jobId, false, ex.GetType().Name + ": " + ex.Message, refused);
        }
    }

    /// <summary>True when <paramref name="gateway"/>'s /readyz answers 200.</summary>
    public async Task<bool> ReadyAsync(int gateway, CancellationToken cancellationToken)
    {
        try
        {
            using var response = await _http.GetAsync(new Uri(_gateways[gateway], "/readyz"), cancellationToken);
            return response.IsSuccessStatusCode;
        }
        catch (Exception ex) when (ex is HttpRequestException or IOException || (ex is TaskCanceledException && !cancellationToken.IsCancellationRequested))
        {
            return false;
        }
    }

    public void Dispose() => _http.Dispose();

    private static string Truncate(string text) => text.Length > 200 ? text[..200] + "…" : text;
}
